"""ao-resume NAME: give a session another turn and, by default, wait for that turn's result."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ao_core import cli, options, turns
from ao_core.errors import NotExistent, StillRunning
from ao_core.prompt import read_prompt
from ao_core.records import Turn
from ao_core.session import IN_PROGRESS

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ('ao-resume architect -p "Now add refunds"', "another turn; print that turn's answer"),
    (
        'ao-resume architect -p "And returns" --detach',
        "return once the server took the turn (then: ao-status architect --wait)",
    ),
)


def parser() -> argparse.ArgumentParser:
    """The ao-resume parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-resume",
        "Give a session another turn and wait for its result. The prompt comes from -p "
        "and/or piped standard input; once that turn has ended, it prints what "
        "ao-get-result NAME prints then: that turn's result, never the previous turn's, "
        "even while the new turn is still pending.",
        epilog="The backend that has the session takes the turn (the Agent Coordinator "
        f"can; the Session Manager and the backup files cannot). {options.ASKS_IN_ORDER}",
        json_help='print the ao-get-result --json document; with --detach, {"name", '
        '"run_id", "detached"}',
        examples=EXAMPLES,
    )
    options.add_name_argument(p)
    options.add_turn_options(p)
    return p


def resume(args: argparse.Namespace) -> int:
    options.check_turn_options(args)
    name = args.name
    ctx = cli.start(args, [name])
    prompt = read_prompt(args.prompt)
    return turns.finish(ctx, args, name, begin(ctx, name, prompt))


def begin(ctx: cli.Context, name: str, prompt: str) -> Turn:
    """Give session ``name`` another turn with ``prompt``, refused while it is still in
    progress; the turn asked for. What ``ao-resume`` does once its prompt is read, and the
    ``resume`` tool."""
    session, status = ctx.status_of(name)
    if session is None:
        raise NotExistent.to_resume(name)
    if status in IN_PROGRESS:
        raise StillRunning.session(name)
    turn = ctx.pm.hook.resume_session(session=session, prompt=prompt, config=ctx.config)
    if turn is None:
        raise ctx.unsupported("resume sessions")
    return turn


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(resume, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
