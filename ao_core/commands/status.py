"""ao-status NAME: print one word, the session's status."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from ao_core import cli, console, waiting
from ao_core.session import NOT_EXISTENT


def parser() -> argparse.ArgumentParser:
    """The ao-status parser (also the source of its man page)."""
    p = cli.make_parser(
        "ao-status",
        "Print the status of a session: running, finished or not_existent, or another "
        "status the answering backend reports (pending, idle, stopping, stopped, failed).",
        json_help='print {"name", "status", "backend"} as JSON',
    )
    cli.add_name_argument(p)
    waiting.add_wait_options(p)
    return p


def status(args: argparse.Namespace) -> int:
    waiting.check_wait_options(args)
    ctx = cli.start(args, [args.name])
    session, state, timed_out = ctx.settled_status(args)
    if args.json:
        backend = session.backend if session and state != NOT_EXISTENT else None
        console.emit(json.dumps({"name": args.name, "status": state, "backend": backend}))
    else:
        console.emit(state)
    return waiting.TIMED_OUT if timed_out else 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(status, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
