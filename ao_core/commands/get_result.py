"""ao-get-result NAME: print the result text of a session that is done."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from ao_core import cli, console, waiting
from ao_core.errors import AoError
from ao_core.session import IN_PROGRESS, NOT_EXISTENT, RESULT_READY


def parser() -> argparse.ArgumentParser:
    """The ao-get-result parser (also the source of its man page)."""
    p = cli.make_parser(
        "ao-get-result",
        "Print the result of a finished session. A session still in progress, one that "
        "ended in failure, or one that does not exist is an error (exit status 1).",
        json_help='print {"name", "result"} as JSON',
    )
    cli.add_name_argument(p)
    waiting.add_wait_options(p)
    return p


def get_result(args: argparse.Namespace) -> int:
    waiting.check_wait_options(args)
    name = args.name
    ctx = cli.start(args, [name])
    session, state, timed_out = ctx.settled_status(args)
    if state == NOT_EXISTENT:
        raise AoError(f"Session '{name}' does not exist")
    if state in IN_PROGRESS:
        raise AoError(
            f"Session '{name}' is still running. "
            "Wait for completion or check status with ao-status.",
            exit_status=waiting.TIMED_OUT if timed_out else None,
        )
    if state not in RESULT_READY:
        raise AoError(f"Session '{name}' has no result: its status is '{state}'")
    result = ctx.hook.fetch_result(session=session, config=ctx.config)
    if result is None:
        raise AoError(f"Session '{name}' is {state} but has no result")
    console.emit(json.dumps({"name": name, "result": result}) if args.json else result)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(get_result, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
