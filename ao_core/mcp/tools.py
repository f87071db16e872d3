"""The tools ``ao mcp`` offers: each one's name, description, argument and result schemas,
hints, and the function doing its job with the same core functions as the command of the
same job (never a subprocess of ``ao-*``).

Nothing here imports the MCP SDK (:mod:`ao_core.mcp.server` does): a tool is a function
from its arguments to the document ``--json`` prints for that job, and raises the error
that command ends with. The result schemas come from :mod:`ao_core.schemas`; what
``--json`` prints as an array is here an object holding that array (an MCP result is an
object), beside ``unavailable`` when a backend could not be used.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ao_core import answers, cli, results, schemas, turns
from ao_core.commands import clean as clean_command
from ao_core.commands import list_blueprints, list_sessions, show_config, start, status
from ao_core.commands import resume as resume_command
from ao_core.commands import stop as stop_command
from ao_core.commands.plugins import as_json as plugin_record
from ao_core.errors import AoError, NoPrompt, UsageError
from ao_core.inventory import survey
from ao_core.mcp import DEFAULT_WAIT
from ao_core.prompt import checked as checked_prompt
from ao_core.records import Turn
from ao_core.session import MAX_NAME_LENGTH, Session
from ao_core.settings import MAX_SECONDS

Document = dict[str, Any]
Progress = Callable[[Mapping[str, tuple[Session | None, str]], float], None]


class Call:
    """One tool call: the server's settings (fixed for its life), where its waits report,
    and the context it worked in (for the ``unavailable`` of its error)."""

    def __init__(self, settings: argparse.Namespace, progress: Progress | None = None) -> None:
        self.settings = settings
        self.progress = progress
        self.context: cli.Context | None = None

    def start(self, names: Sequence[str] = ()) -> cli.Context:
        """Validate ``names`` and load the backends, as a command starts."""
        ctx = cli.start(self.settings, names)
        if self.progress is not None:
            ctx.report_waits(self.progress)
        self.context = ctx
        return ctx

    def unavailable(self) -> list[dict[str, str]]:
        return self.context.unavailable() if self.context is not None else []


class Failures(AoError):
    """Some names of a tool working through several failed: its answer holds each one's
    error (``ao-stop`` and ``ao-clean`` exit 1 then); the message is their lines."""

    def __init__(self, document: Document, errors: list[AoError]) -> None:
        super().__init__("\n".join(f"Error: {e}" for e in errors))
        self.document = document
        self.code = errors[0].code


@dataclass(frozen=True)
class Tool:
    """One tool: what a host lists, and ``run(call, arguments)`` giving its document."""

    name: str
    title: str
    description: str
    arguments: dict[str, schemas.Schema]
    required: tuple[str, ...]
    output: schemas.Schema
    run: Callable[[Call, dict[str, Any]], Document]
    read_only: bool = False
    destructive: bool = False
    waits: bool = False

    @property
    def input_schema(self) -> schemas.Schema:
        return {
            "type": "object",
            "properties": self.arguments,
            "required": list(self.required),
            "additionalProperties": False,
        }


NAME = {
    "type": "string",
    "description": f"a session name: 1-{MAX_NAME_LENGTH} of A-Z a-z 0-9 _ - (on the Agent "
    "Coordinator, the session id, such as ses_3f9a0c12d4e5)",
}
NAMES = {"type": "array", "items": NAME, "minItems": 1, "description": "session names"}
TIMEOUT = {
    "type": "number",
    "minimum": 0,
    "maximum": MAX_SECONDS,
    "default": DEFAULT_WAIT,
    "description": f"seconds to wait at most (default {DEFAULT_WAIT:g}, under the usual tool "
    "time limit); when it passes the answer says the wait has not ended: call wait again",
}
DETACH = {
    "type": "boolean",
    "default": False,
    "description": "return as soon as the turn is accepted, without waiting for it",
}
SESSIONS = schemas.object_of({"sessions": schemas.array(schemas.STATUS)})
WAITED = schemas.object_of(
    {"ended": {"type": "boolean"}, "sessions": schemas.array(schemas.STATUS)}
)
TURN = {"type": "object", **schemas.one_of(schemas.RESULT, schemas.DETACHED, schemas.GOES_ON)}


def _statuses(call: Call, args: dict[str, Any]) -> Document:
    names = list(dict.fromkeys(args["names"]))
    ctx = call.start(names)
    found = status.records(ctx, args["names"], ctx.statuses(names), timed_out=False)
    return answers.with_unavailable({"sessions": found}, ctx.unavailable())


def _get_result(call: Call, args: dict[str, Any]) -> Document:
    name = args["name"]
    ctx = call.start([name])
    session, state = ctx.status_of(name)
    return results.document(ctx, name, session, state)


def _list_sessions(call: Call, args: dict[str, Any]) -> Document:
    ctx = call.start()
    only = frozenset(args["status"]) if "status" in args else None
    sessions, statuses = list_sessions.listing(ctx, long=args.get("long", False), only=only)
    found = [answers.session_record(s, statuses.get(s.name)) for s in sessions]
    return answers.with_unavailable({"sessions": found}, ctx.unavailable())


def _wait(call: Call, args: dict[str, Any]) -> Document:
    names = list(dict.fromkeys(args["names"]))
    ctx = call.start(names)
    statuses, timed_out = ctx.wait_for(
        names,
        lambda: ctx.statuses(names),
        timeout=args.get("timeout", DEFAULT_WAIT),
        interval=None,
        any_one=args.get("any", False),
    )
    found = status.records(ctx, args["names"], dict(statuses), timed_out=False)
    return answers.with_unavailable({"ended": not timed_out, "sessions": found}, ctx.unavailable())


def _start(call: Call, args: dict[str, Any]) -> Document:
    name = args["name"]
    ctx = call.start([name])
    if "params" in args:
        if "prompt" in args:
            raise UsageError("params replaces the prompt: give one of them")
        parameters = args["params"]
    elif args.get("prompt"):
        parameters = {"prompt": checked_prompt(args["prompt"])}
    else:
        raise NoPrompt("No prompt provided: give prompt (or params, for an agent with its own)")
    turn = start.begin(ctx, name, parameters, args.get("agent"))
    return _turn(ctx, name, turn, args)


def _resume(call: Call, args: dict[str, Any]) -> Document:
    name = args["name"]
    ctx = call.start([name])
    if not args["prompt"]:
        raise NoPrompt("No prompt provided: give prompt")
    turn = resume_command.begin(ctx, name, checked_prompt(args["prompt"]))
    return _turn(ctx, name, turn, args)


def _turn(ctx: cli.Context, name: str, turn: Turn, args: dict[str, Any]) -> Document:
    """What became of a turn just started: detached, ended (its result), or going on."""
    if args.get("detach", False):
        return turns.detached(name, turn)
    timeout = args.get("timeout", DEFAULT_WAIT)
    state, timed_out = turns.wait(ctx, name, turn, timeout=timeout, interval=None)
    if timed_out:
        return {"name": name, "run_id": turn.run_id, "status": str(state), "ended": False}
    return results.document(ctx, name, turn.session, state)


def _stop(call: Call, args: dict[str, Any]) -> Document:
    names = list(dict.fromkeys(args["names"]))
    ctx = call.start(names)
    wait = args.get("wait", True)
    outcomes = stop_command.stop_all(
        ctx, names, wait=wait, timeout=args.get("timeout", DEFAULT_WAIT) if wait else None
    )
    found = [stop_command.record(name, outcomes[name]) for name in names]
    errors = [outcomes[name].error for name in names if outcomes[name].error is not None]
    return _checked({"sessions": found}, ctx, errors)


def _clean(call: Call, args: dict[str, Any]) -> Document:
    names, every = args.get("names", []), args.get("all", False)
    if bool(names) == every:
        raise UsageError("give session names or all (not both)")
    ctx = call.start(names)
    found, errors = [], []
    for name, session in clean_command.targets(ctx, names, every=every):
        outcome = clean_command.clean_one(
            ctx,
            name,
            session,
            dry_run=args.get("dry_run", False),
            stop=args.get("stop", False),
            listed=every,
        )
        if outcome is not None:
            found.append(outcome[0])
            if outcome[1] is not None:
                errors.append(outcome[1])
    return _checked({"sessions": found}, ctx, errors)


def _checked(document: Document, ctx: cli.Context, errors: Sequence[AoError | None]) -> Document:
    """``document`` with ``unavailable``; raises :class:`Failures` when some name failed."""
    answers.with_unavailable(document, ctx.unavailable())
    failed = [e for e in errors if e is not None]
    if failed:
        raise Failures(document, failed)
    return document


def _list_blueprints(call: Call, args: dict[str, Any]) -> Document:
    ctx = call.start()
    found = [list_blueprints.record(b) for b in list_blueprints.listing(ctx, args.get("tags", []))]
    return answers.with_unavailable({"blueprints": found}, ctx.unavailable())


def _show_config(call: Call, args: dict[str, Any]) -> Document:
    name = args["name"]
    ctx = call.start([name])
    session, details = show_config.describe(ctx, name)
    return show_config.document(name, session, details)


def _plugins(call: Call, args: dict[str, Any]) -> Document:
    return {"backends": [plugin_record(r) for r in survey(cli.load_config(call.settings))]}


TOOLS: tuple[Tool, ...] = (
    Tool(
        "status",
        "Session status",
        "The status of one or more agent sessions, without waiting: pending, running, "
        "idle (a turn ended; it takes another with resume), finished, failed, stopping, "
        "stopped, or not_existent. A failed session's reason is given when known.",
        {"names": NAMES},
        ("names",),
        SESSIONS,
        _statuses,
        read_only=True,
    ),
    Tool(
        "get_result",
        "Session result",
        "The result of a session whose turn has ended (finished or idle): its text, or the "
        "JSON value an agent with an output schema gave. A session still in progress, one "
        "that failed or was stopped, or an unknown one is an error with its code.",
        {"name": NAME},
        ("name",),
        schemas.RESULT,
        _get_result,
        read_only=True,
    ),
    Tool(
        "list_sessions",
        "List sessions",
        "Every session any backend knows: name, session id, project directory, the backend "
        "that has it, and with long (or a status filter) its status.",
        {
            "long": {"type": "boolean", "default": False, "description": "include statuses"},
            "status": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "description": "only sessions in these statuses (running, pending, ...)",
            },
        },
        (),
        schemas.object_of({"sessions": schemas.array(schemas.SESSION)}),
        _list_sessions,
        read_only=True,
    ),
    Tool(
        "wait",
        "Wait for sessions",
        "Wait until the sessions are no longer pending, running or stopping (with any: "
        f"until one is), reporting progress meanwhile. Returns within timeout (default "
        f"{DEFAULT_WAIT:g} s) with each session's status and ended: false when they are "
        "still going; then call wait again.",
        {
            "names": NAMES,
            "any": {
                "type": "boolean",
                "default": False,
                "description": "return when the first of the sessions ends",
            },
            "timeout": TIMEOUT,
        },
        ("names",),
        WAITED,
        _wait,
        read_only=True,
        waits=True,
    ),
    Tool(
        "start",
        "Start a session",
        "Start a new agent session with a prompt (or params, for an agent whose blueprint "
        "has a parameters schema) and wait for its first turn: its result, as get_result "
        "gives it. If the turn is still going when timeout passes, the answer has ended: "
        "false and its status: wait for it, then get_result. With detach, return at once.",
        {
            "name": {
                **NAME,
                "description": "the new session's name; must be new to every "
                "backend (the Agent Coordinator takes it as the session id)",
            },
            "prompt": {"type": "string", "description": "what the agent is asked"},
            "params": {
                "type": "object",
                "description": "the agent's own parameters instead of a prompt "
                "(see list_blueprints: parameters_schema)",
            },
            "agent": {"type": "string", "description": "the blueprint to run (list_blueprints)"},
            "detach": DETACH,
            "timeout": TIMEOUT,
        },
        ("name",),
        TURN,
        _start,
        waits=True,
    ),
    Tool(
        "resume",
        "Resume a session",
        "Give a session whose turn has ended (idle) another turn with a prompt, and wait for "
        "that turn's result (never the previous turn's). Like start: ended: false when "
        "timeout passes first; detach returns at once.",
        {
            "name": NAME,
            "prompt": {"type": "string", "description": "what the agent is asked next"},
            "detach": DETACH,
            "timeout": TIMEOUT,
        },
        ("name", "prompt"),
        TURN,
        _resume,
        waits=True,
    ),
    Tool(
        "stop",
        "Stop sessions",
        "Stop running or idle sessions and wait until each has ended. A session that had "
        "already ended is left as it is (stopped: false, no error); an unknown name is an "
        "error, the others are still stopped.",
        {
            "names": NAMES,
            "wait": {
                "type": "boolean",
                "default": True,
                "description": "wait until each has ended (false: return once the stop is asked)",
            },
            "timeout": TIMEOUT,
        },
        ("names",),
        schemas.object_of({"sessions": schemas.array(schemas.STOPPED)}),
        _stop,
        destructive=True,
        waits=True,
    ),
    Tool(
        "clean",
        "Delete sessions",
        "Delete sessions (names, or all) from every backend that has them: the server's "
        "record and the backup files. A running session is refused unless stop is true. "
        "dry_run says what would be deleted and deletes nothing.",
        {
            "names": {**NAMES, "description": "sessions to delete"},
            "all": {"type": "boolean", "default": False, "description": "every listed session"},
            "stop": {
                "type": "boolean",
                "default": False,
                "description": "stop running and idle sessions first, then delete them",
            },
            "dry_run": {
                "type": "boolean",
                "default": False,
                "description": "only say what would be deleted",
            },
        },
        (),
        schemas.object_of({"sessions": schemas.array(schemas.CLEANED)}),
        _clean,
        destructive=True,
    ),
    Tool(
        "list_blueprints",
        "List agents",
        "The agents (blueprints) sessions can be started with: name, type, description, "
        "whether active, tags, and the parameters schema of those that take params.",
        {
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "description": "only agents having every one of these tags",
            }
        },
        (),
        schemas.object_of({"blueprints": schemas.array(schemas.BLUEPRINT)}),
        _list_blueprints,
        read_only=True,
    ),
    Tool(
        "show_config",
        "Session details",
        "What is known about one session: id, project directory, agent, times, status, "
        "parent session, runner host and profile, latest run and its error (null: unknown).",
        {"name": NAME},
        ("name",),
        schemas.CONFIG,
        _show_config,
        read_only=True,
    ),
    Tool(
        "plugins",
        "Storage backends",
        "The storage backends in the order they are asked, whether each is used, where it "
        "comes from and the hooks it implements.",
        {},
        (),
        schemas.object_of({"backends": schemas.array(schemas.PLUGIN)}),
        _plugins,
        read_only=True,
    ),
)

BY_NAME = {tool.name: tool for tool in TOOLS}
