"""The command-line options the ao-* commands share, and the help text about backends.

Every parser is built here from the same pieces, so ``--help``, the man pages (rendered
from these parsers) and the completion scripts agree. Their formatter asks for the
terminal's width only when it formats text (see :class:`HelpFormatter`).

Each command's examples are one constant in its own module, ``EXAMPLES``: a tuple of
(command line, what it does). :func:`make_parser` keeps them on the parser
(:class:`Parser`), whose ``--help`` ends with them; the man page's EXAMPLES section
(``tools/build_manpages.py``) and the README (``tests/test_docs.py``) are made and checked
from the same tuples, so none of the three can differ. They are plain strings: nothing is
imported or formatted for them unless help is printed.
"""

from __future__ import annotations

import argparse

from ao_core.errors import UsageError
from ao_core.manager import ORDER_TEXT
from ao_core.session import MAX_NAME_LENGTH
from ao_core.settings import MAX_SECONDS, seconds
from ao_core.version import __version__

#: ``--wait``'s pauses: the first one, and the default and least ``--interval`` (the
#: longest pause). The loop itself is :mod:`ao_core.waiting`, imported only by a wait.
FIRST_PAUSE = 0.1
DEFAULT_INTERVAL = 2.0
MIN_INTERVAL = FIRST_PAUSE

#: What each command's epilog says about the backends, true for that command.
ASKS_IN_ORDER = (
    f"Backends are asked in order ({ORDER_TEXT}); the first that knows the session answers."
)
ASKS_EVERY_BACKEND = f"Every backend is asked ({ORDER_TEXT})."


#: One example: the command line, and what it does (a phrase, no final full stop).
Example = tuple[str, str]
#: The heading of the examples at the end of ``--help``.
EXAMPLES_HEADING = "examples:"


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, except that it looks up the terminal's width only once it
    formats text.

    argparse builds a formatter for every option added, only to check its metavar, and
    the width comes from :func:`shutil.get_terminal_size`: importing shutil (and zlib,
    bz2, lzma with it) cost every command's start what only ``--help`` and usage errors
    use. The width and the help position are argparse's own, computed on first use.
    """

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
        **more: object,  # what a newer argparse passes on
    ) -> None:
        given = 80 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, given, **more)
        if width is None:
            self._asked = (indent_increment, max_help_position)
            del self._width, self._max_help_position

    def __getattr__(self, name: str) -> int:
        if name not in ("_width", "_max_help_position") or "_asked" not in vars(self):
            raise AttributeError(name)
        import shutil

        indent_increment, max_help_position = self._asked
        self._width = shutil.get_terminal_size().columns - 2
        self._max_help_position = min(
            max_help_position, max(self._width - 20, indent_increment * 2)
        )
        return getattr(self, name)


class Parser(argparse.ArgumentParser):
    """An argparse parser whose ``--help`` ends with the command's examples.

    ``examples`` are kept as given (see :data:`Example`) for the man page generator and
    the tests; they are formatted only when help is. argparse-manpage renders the epilog
    as COMMENTS and never calls :meth:`format_help`, so a page shows them once, in its
    EXAMPLES section.
    """

    def __init__(self, *args: object, examples: tuple[Example, ...] = (), **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.examples = tuple(examples)
        self._named = self.prog

    def format_help(self) -> str:
        text = super().format_help()
        if not self.examples:
            return text
        examples = self.examples
        if self.prog != self._named:  # run as ``ao status``: so are its examples
            examples = tuple(
                (line.replace(self._named, self.prog), what.replace(self._named, self.prog))
                for line, what in examples
            )
        return f"{text}\n{format_examples(examples, self._get_formatter())}"


def format_examples(examples: tuple[Example, ...], formatter: argparse.HelpFormatter) -> str:
    """The examples block of ``--help``: each command line, then what it does, indented
    and wrapped at the formatter's width."""
    import textwrap  # only help pays for this

    width = max(getattr(formatter, "_width", 78), 40)
    lines = [EXAMPLES_HEADING]
    for command, what in examples:
        lines.append(f"  {command}")
        lines += textwrap.wrap(what, width, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return "\n".join(lines) + "\n"


def make_parser(
    prog: str,
    description: str,
    *,
    epilog: str,
    json_help: str | None = None,
    examples: tuple[Example, ...] = (),
    sessions: bool = True,
) -> Parser:
    """A parser with the options every command takes; ``json_help`` adds ``--json``.

    ``examples`` end its ``--help`` and fill its man page's EXAMPLES. ``sessions`` False:
    a command that asks no backend (``ao-skill``) takes ``--project-dir`` only, not
    ``--sessions-dir`` and ``--backends``, which would do nothing there.
    """
    parser = Parser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=HelpFormatter,
        examples=examples,
    )
    parser.add_argument(
        "--project-dir",
        metavar="DIR",
        help="project directory (default: $AGENT_ORCHESTRATOR_PROJECT_DIR, else the current "
        "directory)",
    )
    if sessions:
        _add_session_options(parser)
    if json_help:
        parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _add_session_options(parser: argparse.ArgumentParser) -> None:
    """``--sessions-dir`` and ``--backends``: where sessions are and which backends to ask."""
    parser.add_argument(
        "--sessions-dir",
        metavar="DIR",
        help="backup files directory (default: $AGENT_ORCHESTRATOR_SESSIONS_DIR, else "
        "PROJECT_DIR/.agent-orchestrator/agent-sessions)",
    )
    parser.add_argument(
        "--backends",
        metavar="LIST",
        help="comma-separated backends to ask, in order (default: "
        f"$AGENT_ORCHESTRATOR_BACKENDS, else {ORDER_TEXT})",
    )


NAME_HELP = f"session name (1-{MAX_NAME_LENGTH} of A-Z a-z 0-9 _ -)"


def add_name_argument(parser: argparse.ArgumentParser) -> None:
    """The positional session name taken by the single-session commands."""
    parser.add_argument("name", metavar="NAME", help=NAME_HELP)


def add_wait_options(parser: argparse.ArgumentParser) -> None:
    """``--wait``, ``--timeout`` and ``--interval``, for commands that can wait."""
    parser.add_argument(
        "--wait",
        action="store_true",
        help="wait until the session is no longer pending, running or stopping",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up waiting after SECONDS and exit with status 124 (default: "
        "$AGENT_ORCHESTRATOR_WAIT_TIMEOUT, else 600; 0 asks once)",
    )
    parser.add_argument(
        "--interval",
        type=_seconds,
        metavar="SECONDS",
        help=f"longest pause between two polls (default: {DEFAULT_INTERVAL:g}, at least "
        f"{MIN_INTERVAL:g}); pauses start at {FIRST_PAUSE:g} s and grow",
    )


def add_turn_options(parser: argparse.ArgumentParser) -> None:
    """``-p``, ``--detach``, ``--timeout`` and ``--interval``: what ``ao-start`` and
    ``ao-resume`` share (the prompt, and waiting for the turn they started)."""
    parser.add_argument(
        "-p",
        "--prompt",
        metavar="PROMPT",
        help="the prompt; piped standard input is read too (after PROMPT and a newline)",
    )
    parser.add_argument(
        "--detach",
        action="store_true",
        help="return as soon as the server accepted the turn (print the session's name)",
    )
    add_timeout_option(
        parser, "give up waiting for the turn after SECONDS, leaving the session running"
    )
    parser.add_argument(
        "--interval",
        type=_seconds,
        metavar="SECONDS",
        help=f"longest pause between two polls where the server cannot push changes "
        f"(default: {DEFAULT_INTERVAL:g}, at least {MIN_INTERVAL:g})",
    )


def add_timeout_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--timeout SECONDS`` of a command that waits by default; ``what`` says for what."""
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help=f"{what}; the exit status is then 124 (default: "
        "$AGENT_ORCHESTRATOR_WAIT_TIMEOUT, else 600)",
    )


def check_turn_options(args: argparse.Namespace) -> None:
    """``--timeout`` and ``--interval`` wait for the turn, which ``--detach`` does not."""
    if args.detach:
        for option in ("timeout", "interval"):
            if getattr(args, option) is not None:
                raise UsageError(f"--{option} cannot be used with --detach")
    if args.interval is not None and args.interval < MIN_INTERVAL:
        raise UsageError(f"--interval must be at least {MIN_INTERVAL:g} seconds")


def check_wait_options(args: argparse.Namespace) -> None:
    """``--timeout`` and ``--interval`` only make sense with ``--wait``; no busy polling."""
    if not args.wait:
        for option in ("timeout", "interval"):
            if getattr(args, option) is not None:
                raise UsageError(f"--{option} needs --wait")
    elif args.interval is not None and args.interval < MIN_INTERVAL:
        raise UsageError(f"--interval must be at least {MIN_INTERVAL:g} seconds")


_parse_seconds = seconds(zero_ok=True)


def _seconds(value: str) -> float:
    try:
        return _parse_seconds(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a number of seconds >= 0 (at most {MAX_SECONDS:.0f}): {value!r}"
        ) from None
