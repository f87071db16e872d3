"""ao-status NAME...: print each session's status (one word for one name)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ao_core import cli, console, options
from ao_core.errors import TimedOut, UsageError
from ao_core.session import IN_PROGRESS, Session
from ao_core.text import printable

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ("ao-status architect", "print one word: finished, running, not_existent or another status"),
    (
        "ao-status planner coder tester --wait --any",
        "wait until the first of three sessions ends, then print NAME STATUS for each",
    ),
    ("ao-status reviewer --json", 'print {"name", "status", "backend"} for a program'),
)


def parser() -> argparse.ArgumentParser:
    """The ao-status parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-status",
        "Print the status of a session: running, finished or not_existent, or another "
        "status the answering backend reports (pending, idle, stopping, stopped, failed). "
        "With several names, one line per name: NAME STATUS, in the order given.",
        epilog=options.ASKS_IN_ORDER,
        json_help='print {"name", "status", "backend"} as JSON (an array of them for '
        'several names); "reason" says why a failed session failed, when known',
        examples=EXAMPLES,
    )
    p.add_argument("names", nargs="+", metavar="NAME", help=options.NAME_HELP)
    options.add_wait_options(p)
    p.add_argument(
        "--any",
        action="store_true",
        help="with --wait and several names: return when the first session ends",
    )
    return p


def status(args: argparse.Namespace) -> int:
    options.check_wait_options(args)
    if args.any and not args.wait:
        raise UsageError("--any needs --wait")
    names = list(dict.fromkeys(args.names))
    ctx = cli.start(args, names)
    statuses, timed_out = ctx.settled_statuses(names, args)
    if args.json:
        from ao_core import answers  # only --json prints records

        found = records(ctx, args.names, statuses, timed_out=timed_out)
        if len(found) == 1:
            console.emit(answers.json_text(answers.with_unavailable(found[0], ctx.unavailable())))
        else:
            console.emit(answers.json_text(found))
    elif len(args.names) == 1:
        console.emit(printable(statuses[args.names[0]][1]))
    else:
        console.emit("\n".join(f"{name} {printable(statuses[name][1])}" for name in args.names))
    return cli.TIMED_OUT if timed_out else 0


def records(
    ctx: cli.Context,
    names: Sequence[str],
    statuses: dict[str, tuple[Session | None, str]],
    *,
    timed_out: bool,
) -> list[dict[str, Any]]:
    """``{"name", "status", "backend"}`` per name, in the order given: the ``--json``
    records of ``ao-status`` and of the ``status`` and ``wait`` tools. After a wait that
    timed out, a status that is no final answer carries the error saying why."""
    from ao_core import answers

    found = []
    for name in names:
        session, state = statuses[name]
        error = _timed_out(name, state, ctx.incomplete) if timed_out else None
        found.append(answers.status_record(name, session, state, error))
    return found


def _timed_out(name: str, state: str, incomplete: bool) -> TimedOut | None:
    """Why a status is no final answer after a wait that timed out: the session is still
    in progress, or (``incomplete``: the only round was cut by the deadline) it was never
    fully asked."""
    if state in IN_PROGRESS:
        return TimedOut(f"Session '{name}' is still {state} after --timeout", name=name)
    if incomplete:
        return TimedOut(f"Session '{name}' could not be fully asked before --timeout", name=name)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(status, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
