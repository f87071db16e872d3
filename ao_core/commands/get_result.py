"""ao-get-result NAME: print the result of a session that is done."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ao_core import answers, cli, console, options
from ao_core.errors import NoResult, NotExistent, SessionFailed, StillRunning, TimedOut
from ao_core.session import FAILED, IN_PROGRESS, NOT_EXISTENT, RESULT_READY


def parser() -> argparse.ArgumentParser:
    """The ao-get-result parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-get-result",
        "Print the result of a finished session. A session still in progress, one that "
        "ended in failure, or one that does not exist is an error (exit status 1).",
        epilog=options.ASKS_IN_ORDER,
        json_help='print {"name", "result"} as JSON (a structured result as its JSON value); '
        'an error as {"name", "error": {"code", "message"}}',
    )
    options.add_name_argument(p)
    options.add_wait_options(p)
    return p


def get_result(args: argparse.Namespace) -> int:
    options.check_wait_options(args)
    name = args.name
    ctx = cli.start(args, [name])
    statuses, timed_out = ctx.settled_statuses([name], args)
    session, state = statuses[name]
    if ctx.incomplete and state not in IN_PROGRESS:
        raise TimedOut(f"Session '{name}' could not be fully asked before --timeout", name=name)
    if state == NOT_EXISTENT:
        raise NotExistent(f"Session '{name}' does not exist", name=name)
    if state in IN_PROGRESS:
        still = TimedOut if timed_out else StillRunning
        raise still(
            f"Session '{name}' is still running. "
            "Wait for completion or check status with ao-status.",
            name=name,
        )
    if state not in RESULT_READY and state != FAILED:
        raise NoResult(f"Session '{name}' has no result: its status is '{state}'", name=name)
    try:
        result = ctx.pm.hook.fetch_result(session=session, config=ctx.config)
    except SessionFailed as exc:
        exc.name = name
        raise
    if state == FAILED:
        raise SessionFailed(f"Session '{name}' has no result: its status is '{state}'", name=name)
    if result is None:
        raise NoResult(f"Session '{name}' is {state} but has no result", name=name)
    if args.json:
        value = answers.result_value(result, session)
        del result  # a result of megabytes is not held twice, as text and as its value
        document = answers.with_unavailable({"name": name, "result": value}, ctx.unavailable())
        del value
        console.emit_lines(answers.json_members(document), separator="")
    else:
        console.emit(result)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(get_result, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
