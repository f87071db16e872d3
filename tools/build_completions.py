"""Regenerate completions/ for bash, zsh and fish: ``python tools/build_completions.py``.

shtab writes each shell's completion script from the same ``parser()`` each console script
runs (and the man pages are made from), so options cannot drift from ``--help``. What the
parsers cannot say, this tool adds: session names complete from what ``ao-list-sessions``
prints, ``--backends`` values from what ``ao-plugins`` lists, directories for the
directory options. Every option that takes a value must have an entry in
:data:`COMPLETERS`, so a new one is a decision, not an accident.

shtab is needed only here, at build time: the committed scripts are plain shell code and
the commands import nothing for them. The scripts depend on shtab's version too, which is
why the dev and test extras pin it. ``--check`` only reports stale scripts.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from unittest import mock

import shtab

from ao_core.commands import ao as ao_command
from ao_core.manager import BUILTIN_BACKENDS, default_order

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "completions"
REGENERATE = "python tools/build_completions.py"
#: Where each shell loads a command's completion from, under the install prefix, and the
#: file name it looks for. The scripts are kept under completions/<shell>/ with that name.
SHELLS = {
    "bash": ("share/bash-completion/completions", "{prog}"),
    "zsh": ("share/zsh/site-functions", "_{prog}"),
    "fish": ("share/fish/vendor_completions.d", "{prog}.fish"),
}
#: Offered for --backends when ao-plugins cannot be asked (the built-in backends).
FALLBACK_BACKENDS = " ".join(default_order(BUILTIN_BACKENDS))
#: As in build_manpages: no wrapping of help text, whatever terminal runs this.
COLUMNS = "10000"

# Shell functions the completions call. Each reads the options already on the command
# line that change the answer (--project-dir, --sessions-dir, --backends) and passes them
# on, and keeps only lines that are sessions: "No sessions found" completes nothing.

BASH_SESSIONS = r"""
# Session names: the first word of each session line of ao-list-sessions, asked with the
# --project-dir, --sessions-dir and --backends already typed. $1: the word typed so far.
_ao_complete_sessions() {
  local i name rest
  local -a settings=()
  for ((i = 1; i + 1 < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      --project-dir | --sessions-dir | --backends)
        settings+=("${COMP_WORDS[i]}" "${COMP_WORDS[i + 1]/#\~/$HOME}")
        ((i++))
        ;;
    esac
  done
  ao-list-sessions "${settings[@]}" 2>/dev/null | while read -r name rest; do
    if [[ $rest == "(session-id: "* && $name == "$1"* ]]; then
      printf '%s\n' "$name"
    fi
  done
}
"""

BASH_BACKENDS = r"""
# Backend names for the comma-separated --backends LIST: those ao-plugins lists (the
# built-in ones if it cannot say), after the names typed up to the last comma, none twice.
_ao_complete_backends() {
  local typed=${1%"${1##*,}"} position name rest
  local -a names=()
  while read -r position name rest; do
    [[ $position == "#" || -z $name ]] || names+=("$name")
  done < <(ao-plugins 2>/dev/null)
  ((${#names[@]})) || names=(@FALLBACK@)
  for name in "${names[@]}"; do
    [[ ",$typed" == *",$name,"* ]] && continue
    [[ $typed$name == "$1"* ]] && printf '%s\n' "$typed$name"
  done
  return 0
}
"""

ZSH_SESSIONS = r"""
# Session names: the first word of each session line of ao-list-sessions, asked with the
# --project-dir, --sessions-dir and --backends already typed.
_ao_complete_sessions() {
  local -a settings names
  local i line
  for (( i = 1; i + 1 < CURRENT; i++ )); do
    case $words[i] in
      (--project-dir|--sessions-dir|--backends)
        settings+=($words[i] ${${(Q)words[i+1]}/#\~/$HOME})
        (( i++ ))
        ;;
    esac
  done
  for line in ${(f)"$(ao-list-sessions $settings 2>/dev/null)"}; do
    [[ $line == *' (session-id: '* ]] && names+=(${line%% *})
  done
  _wanted sessions expl 'session name' compadd -a names
}
"""

ZSH_BACKENDS = r"""
# Backend names for the comma-separated --backends LIST: those ao-plugins lists (the
# built-in ones if it cannot say).
_ao_complete_backends() {
  local -a names fields
  local line
  for line in ${(f)"$(ao-plugins 2>/dev/null)"}; do
    fields=(${=line})
    [[ $fields[1] == '#' || -z $fields[2] ]] || names+=($fields[2])
  done
  (( $#names )) || names=(@FALLBACK@)
  _values -s , 'backend' $names
}
"""

FISH_SESSIONS = r"""
# Session names: the first word of each session line of ao-list-sessions, asked with the
# --project-dir, --sessions-dir and --backends already typed.
function __ao_complete_sessions
    set -l tokens (commandline -opc)
    set -l settings
    for i in (seq 2 (math (count $tokens) - 1))
        if contains -- $tokens[$i] --project-dir --sessions-dir --backends
            set -a settings $tokens[$i] (string replace -r '^~' $HOME -- $tokens[(math $i + 1)])
        end
    end
    ao-list-sessions $settings 2>/dev/null | string replace -rf '^(\S+) \(session-id: .*' '$1'
end
"""

FISH_BACKENDS = r"""
# Backend names for the comma-separated --backends LIST: those ao-plugins lists (the
# built-in ones if it cannot say), after the names typed up to the last comma, none twice.
function __ao_complete_backends
    set -l typed (string replace -r '[^,]*$' '' -- (commandline -ct))
    set -l names (ao-plugins 2>/dev/null | string match -rv '^#' \
        | string replace -rf '^\S+\s+(\S+).*' '$1')
    set -q names[1]; or set names @FALLBACK@
    for name in $names
        contains -- $name (string split , -- $typed); or printf '%s\n' $typed$name
    end
end
"""

SESSIONS: shtab.CompleteType = {
    "bash": "_ao_complete_sessions",
    "zsh": "_ao_complete_sessions",
    "fish": "(__ao_complete_sessions)",
    "preamble": {"bash": BASH_SESSIONS, "zsh": ZSH_SESSIONS, "fish": FISH_SESSIONS},
}
BACKENDS: shtab.CompleteType = {
    "bash": "_ao_complete_backends",
    "zsh": "_ao_complete_backends",
    "fish": "(__ao_complete_backends)",
    "preamble": {
        shell: text.replace("@FALLBACK@", FALLBACK_BACKENDS)
        for shell, text in (("bash", BASH_BACKENDS), ("zsh", ZSH_BACKENDS), ("fish", FISH_BACKENDS))
    },
}


def _agents(shell: str, text: str) -> str:
    """The session-name function of ``shell`` turned into one completing agent names: the
    first word of each line of ``ao-list-blueprints`` (asked with the same settings)."""
    edits = {
        "bash": (
            '[[ $rest == "(session-id: "* && $name == "$1"* ]]',
            '[[ "$name $rest" != "No blueprints found" && $name == "$1"* ]]',
        ),
        "zsh": ("[[ $line == *' (session-id: '* ]]", "[[ $line != 'No blueprints found' ]]"),
        "fish": (
            "string replace -rf '^(\\S+) \\(session-id: .*' '$1'",
            "string match -v 'No blueprints found' | string replace -r ' .*' ''",
        ),
    }
    old, new = edits[shell]
    if old not in text:
        raise ValueError(f"{shell}: the session completer changed; update _agents")
    text = text.replace(old, new).replace("ao-list-sessions", "ao-list-blueprints")
    text = text.replace("_complete_sessions", "_complete_agents")
    text = text.replace(
        "Session names: the first word of each session line",
        "Agent names: the first word of each line",
    )
    return text.replace("'session name'", "'agent name'").replace("sessions expl", "agents expl")


AGENTS: shtab.CompleteType = {
    "bash": "_ao_complete_agents",
    "zsh": "_ao_complete_agents",
    "fish": "(__ao_complete_agents)",
    "preamble": {
        shell: _agents(shell, text)
        for shell, text in (("bash", BASH_SESSIONS), ("zsh", ZSH_SESSIONS), ("fish", FISH_SESSIONS))
    },
}
#: What each value-taking argument (by its ``dest``) completes to; None: nothing (free text).
COMPLETERS: dict[str, shtab.CompleteType | None] = {
    "name": SESSIONS,
    "names": SESSIONS,
    "backends": BACKENDS,
    "project_dir": shtab.DIRECTORY,
    "sessions_dir": shtab.DIRECTORY,
    "timeout": None,
    "interval": None,
    "status": None,
    "agent": AGENTS,
    "params": None,
    "prompt": None,
    "tags": None,
    "tail": None,
    "since": None,
}


def file_name(shell: str, prog: str) -> str:
    """The name ``shell`` looks for when completing ``prog`` (``_ao-status`` for zsh)."""
    return SHELLS[shell][1].format(prog=prog)


def annotate(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Mark each value-taking argument of ``parser`` (and its subcommands) with its completer.

    Fails on an argument :data:`COMPLETERS` does not know, naming it.
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                annotate(sub)
        elif action.nargs != 0:
            if action.dest not in COMPLETERS:
                what = "/".join(action.option_strings) or action.metavar or action.dest
                raise ValueError(
                    f"{parser.prog}: {what} takes a value but has no completer: "
                    f"add {action.dest!r} to COMPLETERS in tools/build_completions.py"
                )
            completer = COMPLETERS[action.dest]
            if completer is not None:
                action.complete = completer  # type: ignore[attr-defined]
    return parser


def fixed_width() -> AbstractContextManager[dict[str, str]]:
    """Let argparse wrap help text at :data:`COLUMNS`, whatever terminal this runs in."""
    return mock.patch.dict(os.environ, COLUMNS=COLUMNS)


def render(prog: str, shell: str) -> str:
    """The ``shell`` completion script of console script ``prog``, from its parser."""
    with fixed_width():
        parser = annotate(importlib.import_module(ao_command.scripts()[prog]).parser())
        text = shtab.complete(parser, shell)
    if shell == "zsh":
        # shtab writes a positional that takes several words (ao-clean's NAME...) as
        # "(*)::..." (nargs "*") or "(*):..." ("+"), which zsh reads as one word: the
        # second NAME would not complete. "(-)*:..." is a rest argument (and, as shtab
        # needs, still starts with a marker); the cost: no options after the first NAME.
        text = re.sub(r'"\(\*\)::?', '"(-)*:', text)
    first, _, rest = text.partition("\n")
    if not first.startswith("#compdef"):  # zsh's first line must stay first
        first, rest = "", text
    header = f"# {shell} completion for {prog}, generated by {REGENERATE}: do not edit.\n"
    return f"{first}\n{header}{rest}" if first else header + rest


def render_all() -> dict[str, str]:
    """Every script's completion for every shell, by path under completions/."""
    return {
        f"{shell}/{file_name(shell, prog)}": render(prog, shell)
        for shell in SHELLS
        for prog in sorted(ao_command.scripts())
    }


def stale_files(out_dir: Path, files: dict[str, str]) -> list[str]:
    """Files under ``out_dir`` that are missing, differ from ``files``, or are for no script."""
    stale = [
        name
        for name, text in files.items()
        if not (out_dir / name).is_file() or (out_dir / name).read_text(encoding="utf-8") != text
    ]
    present = (p.relative_to(out_dir).as_posix() for p in out_dir.glob("*/*") if p.is_file())
    stale += sorted(name for name in present if name not in files)
    return stale


def write_files(out_dir: Path, files: dict[str, str]) -> list[str]:
    """Bring ``out_dir`` in line with ``files``; return the names written or removed."""
    changed = stale_files(out_dir, files) if out_dir.is_dir() else sorted(files)
    for name in changed:
        path = out_dir / name
        if name in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[name], encoding="utf-8")
        else:
            path.unlink()
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    cli.add_argument("--output-dir", type=Path, default=OUT_DIR, help="default: completions/")
    args = cli.parse_args(argv)
    files = render_all()
    if args.check:
        stale = stale_files(args.output_dir, files) if args.output_dir.is_dir() else sorted(files)
        for name in stale:
            print(f"stale: {args.output_dir / name}", file=sys.stderr)
        if stale:
            print(f"Regenerate the shell completions: {REGENERATE}", file=sys.stderr)
        return 1 if stale else 0
    for name in write_files(args.output_dir, files):
        print(f"{'wrote' if name in files else 'removed'} {args.output_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
