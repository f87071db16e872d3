"""Completing a command line in a real bash, zsh or fish, as pressing Tab would.

bash: the completion function the file registers is called with ``COMP_WORDS`` and
``COMP_CWORD`` set, and ``COMPREPLY`` printed. zsh: an interactive zsh on a
pseudo-terminal (zsh's own zpty module) gets the line and a Tab, with ``compadd`` wrapped
to print what it adds. fish: ``complete -C``. The files come either from completions/ in
the source tree, or from an install prefix, found there the way each shell finds them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "completions"
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
SHELLS = ("bash", "zsh", "fish")
#: The Debian package that brings each shell (CI installs them: .ci/run).
PACKAGES = {"bash": "bash-completion", "zsh": "zsh", "fish": "fish"}

# $1: the directory of completion files; $2: how to load them ("source" a file of it, or
# "loader": bash-completion's on-demand loader); the rest: the words, the last one being
# completed.
BASH_DRIVER = r"""
dir=$1 how=$2
shift 2
if [[ $how == loader ]]; then
  . /usr/share/bash-completion/bash_completion
  __load_completion "$1" || { echo "bash-completion found no completion for $1" >&2; exit 3; }
else
  . "$dir/$1"
fi
spec=$(complete -p "$1") || exit 3
func=${spec#*-F }
func=${func%% *}
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$func" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""

# $1: a directory to put on fpath; $2: the line to complete. The markers are written split
# in two so that the terminal's echo of the commands typed never matches them.
ZSH_DRIVER = r"""
zmodload zsh/zpty
zpty shell zsh -f -i
zpty -w shell "fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w shell 'compadd() {
  if (( ${@[(I)-[OAD]*]} )); then builtin compadd "$@"; return; fi
  local -a hits; builtin compadd -O hits "$@"
  (( $#hits )) && print -rl -- "<<HI""T>>"${^hits}
  builtin compadd "$@"
}'
zpty -w shell '_ao_test_done() { print -r -- "<<DO""NE>>"; exit }; comppostfuncs=(_ao_test_done)'
zpty -w -n shell "$2"$'\t'
zpty -r shell out '*<<DONE>>*'
print -r -- "$out"
zpty -d shell
"""


def shell_path(shell: str) -> str:
    """The path of ``shell``; a missing one fails the test, naming the package to install."""
    path = shutil.which(shell)
    assert path, f"{shell} is not installed: apt-get install {PACKAGES[shell]}"
    if shell == "bash":
        assert BASH_COMPLETION.is_file(), (
            "bash-completion is not installed: apt-get install bash-completion"
        )
    return path


def complete(
    shell: str, line: str, env: dict[str, str], *, prefix: Path | None = None, cwd: Path
) -> list[str]:
    """What ``shell`` offers to complete the last word of ``line`` (after its last space).

    ``prefix``: use the files installed under ``prefix/share`` rather than completions/.
    """
    exe = shell_path(shell)
    env = dict(env)
    if shell == "bash":
        words = line.split(" ")
        if prefix is None:
            args = [str(SOURCE / "bash"), "source"]
        else:
            env["XDG_DATA_DIRS"] = f"{prefix / 'share'}:/usr/share"
            args = ["", "loader"]
        argv = [exe, "--norc", "--noprofile", "-c", BASH_DRIVER, "bash", *args, *words]
    elif shell == "zsh":
        fpath = SOURCE / "zsh" if prefix is None else prefix / "share/zsh/site-functions"
        argv = [exe, "-f", "-c", ZSH_DRIVER, "zsh", str(fpath), line]
    else:
        if prefix is None:
            setup = f"set -p fish_complete_path {SOURCE / 'fish'}; "
        else:  # fish reads its vendor directories from XDG_DATA_DIRS at start-up
            env["XDG_DATA_DIRS"] = f"{prefix / 'share'}:/usr/share"
            setup = ""
        script = f"{setup}complete -C {quote_fish(line)}"
        argv = [exe, "-c", script]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=60)
    assert proc.returncode == 0, f"{shell} failed ({proc.returncode}): {proc.stderr}"
    if shell == "zsh":
        return re.findall(r"<<HIT>>([^\r\n]*)", proc.stdout)
    if shell == "fish":  # candidate<TAB>description
        return [row.split("\t", 1)[0] for row in proc.stdout.splitlines()]
    return [row for row in proc.stdout.splitlines() if row]


def completed(shell: str, line: str, env: dict[str, str], cwd: Path, **kw: Path) -> set[str]:
    """:func:`complete` as a set of words: a list's last item, a directory without its slash.

    (zsh offers the next item of a comma-separated list alone, bash and fish after the
    items typed; zsh and fish end a directory with a slash, bash does not.)
    """
    return {c.rsplit(",", 1)[-1].rstrip("/") for c in complete(shell, line, env, cwd=cwd, **kw)}


def quote_fish(text: str) -> str:
    """``text`` as one single-quoted fish word."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
