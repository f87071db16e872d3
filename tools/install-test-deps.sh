#!/usr/bin/env bash
# Install the Debian packages the test suite needs besides Python's (pip install '.[test]'),
# those that are missing only. The same list as .ci/run's; run as root or with sudo.
#   zsh, fish, bash-completion  the shell completions are tried in each shell
#   groff-base, man-db          the man pages are rendered (groff) and read (man)
#   curl                        the migration plan's verification sequence (docs/servers.md)
#   util-linux                  setpriv: the permission tests drop root's CAP_DAC_OVERRIDE
# Debian and Ubuntu (apt-get). Usage: tools/install-test-deps.sh [--print]
# --print: only print the packages that are missing, one per line.
set -euo pipefail

need=()
command -v groff >/dev/null || need+=(groff-base)
command -v man >/dev/null || need+=(man-db)
command -v curl >/dev/null || need+=(curl)
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
[ -f /usr/share/bash-completion/bash_completion ] || need+=(bash-completion)
command -v setpriv >/dev/null || need+=(util-linux)

if [ "${1:-}" = "--print" ]; then
    [ "${#need[@]}" -eq 0 ] || printf '%s\n' "${need[@]}"
    exit 0
fi
if [ "${#need[@]}" -eq 0 ]; then
    echo "The test suite's system packages are all installed."
    exit 0
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
