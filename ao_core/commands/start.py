"""ao-start NAME: start a new session with a prompt and, by default, wait for its result."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from ao_core import cli, options, turns
from ao_core.errors import AgentUnavailable, AlreadyExists, UsageError
from ao_core.prompt import read_prompt
from ao_core.records import Turn

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    (
        'ao-start architect -p "Design the checkout data model"',
        "start a session, wait for its first turn, print the answer",
    ),
    (
        "cat brief.md | ao-start reviewer --agent code-reviewer --detach",
        "pipe the prompt, use a blueprint, return at once (then: ao-get-result reviewer --wait)",
    ),
    (
        """ao-start story --agent topic --params '{"topic": "cats"}'""",
        "give an agent with its own parameters schema an object instead of a prompt",
    ),
)


def parser() -> argparse.ArgumentParser:
    """The ao-start parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-start",
        "Start a new session and wait for its result. The prompt comes from -p and/or "
        "piped standard input; once the first turn has ended, it prints what "
        "ao-get-result NAME prints then: the result, or the error the session ended with. "
        "NAME must be new to every backend; the Agent Coordinator takes it as the "
        "session's id.",
        epilog="The first backend that can start sessions starts it (the Agent Coordinator "
        f"can; the Session Manager and the backup files cannot). {options.ASKS_IN_ORDER}",
        json_help="print the ao-get-result --json document; with --detach, "
        '{"name", "run_id", "detached"}',
        examples=EXAMPLES,
    )
    options.add_name_argument(p)
    p.add_argument(
        "--agent",
        metavar="AGENT",
        help="the blueprint to run (see ao-list-blueprints); checked before anything starts",
    )
    p.add_argument(
        "--params",
        metavar="JSON",
        type=_json_object,
        help="a JSON object for an agent with its own parameters schema, instead of a prompt",
    )
    options.add_turn_options(p)
    return p


def start(args: argparse.Namespace) -> int:
    options.check_turn_options(args)
    name = args.name
    ctx = cli.start(args, [name])
    if args.params is not None:
        if args.prompt is not None or read_prompt(None, required=False, wait=False):
            raise UsageError("--params replaces the prompt: give no -p and pipe nothing")
        parameters = args.params
    else:
        parameters = {"prompt": read_prompt(args.prompt)}
    return turns.finish(ctx, args, name, begin(ctx, name, parameters, args.agent))


def begin(ctx: cli.Context, name: str, parameters: dict[str, Any], agent: str | None) -> Turn:
    """Start session ``name`` (new to every backend) with ``parameters`` (``{"prompt": ...}``
    or the agent's own) and, when given, ``agent``, checked first; the turn started. What
    ``ao-start`` does once its arguments are read, and the ``start`` tool."""
    if ctx.resolve(name) is not None:
        raise AlreadyExists.session(name)
    if agent is not None:
        _check_agent(ctx, agent)
    turn = ctx.pm.hook.start_session(
        name=name, parameters=parameters, agent=agent, config=ctx.config
    )
    if turn is None:
        raise ctx.unsupported("start sessions")
    return turn


def _check_agent(ctx: cli.Context, agent: str) -> None:
    """Refuse an agent no backend lists, or an inactive one (a server would run it anyway)."""
    blueprints = ctx.blueprints()
    if blueprints is None:
        return
    found = next((b for b in blueprints if b.name == agent), None)
    if found is None:
        raise AgentUnavailable(f"Agent not found: {agent}")
    if not found.active:
        raise AgentUnavailable(f"Agent '{agent}' is inactive")


def _json_object(text: str) -> dict:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not a JSON number")

    try:
        value = json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError) as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("not a JSON object")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(start, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
