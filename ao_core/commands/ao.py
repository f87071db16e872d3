"""ao COMMAND ...: every ao-* command under one name; ``ao status NAME`` is ``ao-status NAME``.

``ao status ...`` imports only the status module and runs that command's own parser, renamed
``ao status`` (its usage line and errors say so), so it starts as cheaply as ``ao-status``
and prints and exits exactly as it does. Only ``ao --help``, a usage error of ``ao``
itself, the man page and the completions build the whole parser, which imports every
command module.

A command module offers ``parser()`` and ``main(argv)``; ``ao`` calls that ``main`` with
:data:`ao_core.cli.RUN_AS` set, which :func:`ao_core.cli.run` gives the parser as its name.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence

from ao_core import cli
from ao_core.commands import COMMANDS
from ao_core.options import Parser
from ao_core.version import __version__

PROG = "ao"
#: A subcommand is a command of COMMANDS without this prefix: ao-get-result -> get-result.
PREFIX = "ao-"
#: ``status`` -> ``ao_core.commands.status``, in the order of COMMANDS.
SUBCOMMANDS = {script.removeprefix(PREFIX): module for script, module in COMMANDS.items()}
DESCRIPTION = (
    "Run any ao command by its short name: ao status NAME is ao-status NAME, with the same "
    "options, output and exit status, and so for every command listed below; only its usage "
    "line and usage errors call it ao status."
)
EPILOG = (
    "ao COMMAND --help shows the options of COMMAND. Only COMMAND is loaded, so ao status "
    "starts as quickly as ao-status. python -m ao_core is the same as ao."
)

#: The examples ending ``ao --help`` and ao(1) (see :mod:`ao_core.options`).
EXAMPLES = (
    ("ao status architect", "the same as ao-status architect"),
    ("ao get-result --wait reviewer", "the same as ao-get-result --wait reviewer"),
    ("ao status --help", "the options of ao-status"),
    ("python -m ao_core status architect", "the same, when the scripts are not on PATH"),
)


class _OneLineCommands(argparse.HelpFormatter):
    """Help that lists the commands under ``commands:`` one per line, with no ``COMMAND`` line.

    argparse would indent them under a ``COMMAND`` line, measure them without that indent,
    and so put the summary of ``list-sessions`` on a line of its own.
    """

    def _format_action(self, action: argparse.Action) -> str:
        if isinstance(action, argparse._SubParsersAction):
            return "".join(self._format_action(a) for a in action._get_subactions())
        return super()._format_action(action)


def summary(parser: argparse.ArgumentParser) -> str:
    """The first clause of ``parser``'s description: one line for a list of commands."""
    first = re.split(r"[.:;]\s", parser.description or "", maxsplit=1)[0].strip().rstrip(".")
    if not first:
        raise ValueError(f"{parser.prog}: the parser needs a description to be listed")
    return first


def scripts() -> dict[str, str]:
    """Every console script and the module of its ``parser()`` and ``main()``: ao, then COMMANDS.

    What pyproject installs and what the man pages and completions are generated for.
    """
    return {PROG: "ao_core.commands.ao", **COMMANDS}


def command_parser(name: str) -> argparse.ArgumentParser:
    """Subcommand ``name``'s parser (its command's own), renamed ``ao NAME``."""
    own = importlib.import_module(SUBCOMMANDS[name]).parser()
    own.prog = f"{PROG} {name}"
    return own


def parser(*, options: bool = True) -> argparse.ArgumentParser:
    """The ao parser (also the source of its man page and completions).

    Every subcommand takes the options of its command, so ``ao status --help`` and the
    completion of ``ao status --backends`` are those of ``ao-status``. With ``options``
    False (the man page) a subcommand has only its synopsis and points to its own page.
    Building it imports every command module: :func:`main` does so only for ``ao``
    without a command.
    """
    p = Parser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_OneLineCommands,
        examples=EXAMPLES,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = p.add_subparsers(dest="command", metavar="COMMAND", title="commands", required=True)
    for name in SUBCOMMANDS:
        own = command_parser(name)
        if options:
            details = {
                "description": own.description,
                "epilog": own.epilog,
                "parents": [own],
                "examples": getattr(own, "examples", ()),
            }
        else:
            synopsis = own.format_usage().removeprefix("usage: ").strip()
            details = {"usage": synopsis, "description": f"See {PREFIX}{name}(1)."}
        # add_help=False: with options, the parent's -h is copied; without, there is none
        commands.add_parser(name, help=summary(own), add_help=False, **details)
    return p


def run(name: str, argv: Sequence[str]) -> int:
    """Run subcommand ``name`` with ``argv``: its command's own ``main``, named ``ao NAME``."""
    module = importlib.import_module(SUBCOMMANDS[name])
    cli.RUN_AS = f"{PROG} {name}"
    try:
        return module.main(argv)
    finally:
        cli.RUN_AS = None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ao`` with ``argv`` (default: the command line); return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        return run(args[0], args[1:])
    # --help, --version, or a usage error; or a command after options such as `--`.
    namespace = parser().parse_args(args)
    return run(namespace.command, args[args.index(namespace.command) + 1 :])


if __name__ == "__main__":
    raise SystemExit(main())
