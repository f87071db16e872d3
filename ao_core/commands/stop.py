"""ao-stop NAME...: stop sessions and, by default, wait until each has really ended."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ao_core import answers, cli, console, options, stopping
from ao_core.errors import UsageError
from ao_core.session import Session
from ao_core.text import printable

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ("ao-stop architect reviewer", "stop two sessions and wait until both have ended"),
    ("ao-stop architect --no-wait", "ask for the stop and return at once"),
)


def parser() -> argparse.ArgumentParser:
    """The ao-stop parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-stop",
        "Stop sessions and wait until each has really ended: Stopped session 'NAME'. A "
        "session that had already ended is said so (exit status 0); an unknown name is an "
        "error (exit status 1) and the others are still stopped.",
        epilog="The backend that has the session stops it (the Agent Coordinator can; the "
        f"Session Manager and the backup files cannot). {options.ASKS_IN_ORDER}",
        json_help='print a JSON array of {"name", "stopped", "status"}, with "error": '
        '{"code", "message"} for a name that was not stopped',
        examples=EXAMPLES,
    )
    p.add_argument("names", nargs="+", metavar="NAME", help=options.NAME_HELP)
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="return once the server accepted each stop: Stopping session 'NAME'",
    )
    options.add_timeout_option(p, "give up waiting for the sessions to end after SECONDS")
    return p


def stop(args: argparse.Namespace) -> int:
    if args.no_wait and args.timeout is not None:
        raise UsageError("--timeout cannot be used with --no-wait")
    names = list(dict.fromkeys(args.names))
    ctx = cli.start(args, names)
    outcomes = stop_all(ctx, names, wait=not args.no_wait, timeout=args.timeout)
    status = 0
    records = []
    for name in names:
        outcome = outcomes[name]
        records.append(record(name, outcome))
        if outcome.error is not None:
            console.error(str(outcome.error))
            status = max(status, cli.exit_status(outcome.error))
        elif not args.json:
            console.emit(_line(name, outcome))
    if args.json:
        console.emit(answers.json_text(records))
    return status


def stop_all(
    ctx: cli.Context, names: Sequence[str], *, wait: bool, timeout: float | None
) -> dict[str, stopping.Outcome]:
    """Ask the backends to stop each of ``names`` (given once each) and, with ``wait``,
    follow them until each has ended, within ``timeout``; each name's outcome. What
    ``ao-stop`` does, and the ``stop`` tool."""
    outcomes: dict[str, stopping.Outcome] = {}
    asked: dict[str, Session] = {}
    for name in names:
        session, outcomes[name] = stopping.ask(ctx, name)
        if session is not None:
            asked[name] = session
    if asked and wait:
        outcomes.update(stopping.follow(ctx, asked, timeout))
    return outcomes


def record(name: str, outcome: stopping.Outcome) -> dict[str, Any]:
    """``{"name", "stopped", "status"}`` (and ``error``): one name's ``--json`` record."""
    record: dict[str, Any] = {
        "name": name,
        "stopped": outcome.asked and outcome.error is None,
        "status": str(outcome.status),
    }
    if outcome.error is not None:
        record["error"] = answers.error_member(outcome.error)
    return record


def _line(name: str, outcome: stopping.Outcome) -> str:
    if not outcome.asked:
        return f"Session '{printable(name)}' has already ended ({printable(outcome.status)})"
    if outcome.status == "stopping":
        return f"Stopping session '{printable(name)}'"
    return f"Stopped session '{printable(name)}'"


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(stop, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
