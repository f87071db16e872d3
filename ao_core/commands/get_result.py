"""ao-get-result NAME: print the result of a session that is done."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ao_core import cli, console, options, results
from ao_core.errors import TimedOut
from ao_core.session import IN_PROGRESS

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ("ao-get-result architect > architect.txt", "save a finished session's result in a file"),
    (
        "ao-get-result reviewer --wait --timeout 600",
        "wait until the session ends, then print its result (exit status 124 after ten minutes)",
    ),
    ("ao-get-result tester --json", 'print {"name", "result"}, or {"name", "error"} on failure'),
)


def parser() -> argparse.ArgumentParser:
    """The ao-get-result parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-get-result",
        "Print the result of a finished session. A session still in progress, one that "
        "ended in failure, or one that does not exist is an error (exit status 1).",
        epilog=options.ASKS_IN_ORDER,
        json_help='print {"name", "result"} as JSON (a structured result as its JSON value); '
        'an error as {"name", "error": {"code", "message"}}',
        examples=EXAMPLES,
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
    answer = results.answer(ctx, name, session, state, timed_out=timed_out, as_json=args.json)
    console.emit_lines(answer, separator="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(get_result, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
