"""``ao mcp``'s server: the tools of :mod:`ao_core.mcp.tools` over stdio, with the MCP SDK.

Only ``ao mcp`` imports this module, so only it pays for the SDK (pydantic, anyio,
starlette, jsonschema).

- **stdout is the protocol's.** The SDK's stdio transport writes on a private copy of
  file descriptor 1 and points 1 at stderr; ``sys.stdout`` is stderr too for the server's
  life, so a backend that prints (or a child it starts) cannot break the stream.
- **One call does not hold up another.** Each call runs on a worker thread; the event
  loop keeps reading requests. A call's warnings are collected for its answer
  (:func:`ao_core.console.collecting`), its deadline is its own (a context variable).
- **Failures are tool errors** (``isError``): the text is the ``Error:`` line, the
  structured part the ``--json`` error document with its stable ``code``; a bad argument
  is the error ``usage``; nothing a call does ends the server.
- **Waits report and can be cancelled.** A wait sends a progress notification about
  every second (when the client asked for them), and ends at once when the client
  cancels the request (:func:`ao_core.deadline.stoppable`: its pauses wake, its
  requests get no more time; a watch of the event stream within its 1 s tick).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from ao_core import answers, console, deadline
from ao_core.errors import AoError, Unexpected, UsageError
from ao_core.mcp.tools import BY_NAME, TOOLS, Call, Document, Failures, Progress, Tool
from ao_core.session import Session
from ao_core.text import describe, printable
from ao_core.version import __version__

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

#: Seconds between two progress notifications of a wait, at least.
PROGRESS_EVERY = 1.0
#: The most characters of an argument error shown (it may quote the argument).
ARGUMENT_ERROR_CHARS = 300
INSTRUCTIONS = (
    "ao asks about, starts, continues, stops and deletes agent sessions of the Agent "
    "Orchestrator, through every configured backend (the Agent Coordinator, the older "
    "Session Manager, the backup files). Tools that wait (wait, start, resume, stop) return "
    "within their timeout; when the answer says ended: false, call wait again, then "
    "get_result."
)


class Abandoned(Exception):
    """The client cancelled the call: its wait ends here, and nobody reads its answer."""


def serve(settings: argparse.Namespace) -> None:
    """Serve the tools over stdio until the client closes the stream."""
    anyio.run(_serve, settings)


async def _serve(settings: argparse.Namespace) -> None:
    listed = types.ListToolsResult(tools=[_listed(tool) for tool in TOOLS])

    async def list_tools(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return listed

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await _call(settings, ctx, params)

    server: Server[Any] = Server(
        "ao",
        version=__version__,
        title="ao: agent sessions",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    async with stdio_server() as (read, write):
        stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            await server.run(read, write, server.create_initialization_options())
        finally:
            sys.stdout = stdout


def _listed(tool: Tool) -> types.Tool:
    """How a host sees ``tool``."""
    return types.Tool(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=tool.input_schema,
        output_schema=tool.output,
        annotations=types.ToolAnnotations(
            title=tool.title,
            read_only_hint=tool.read_only,
            destructive_hint=tool.destructive if not tool.read_only else None,
            idempotent_hint=tool.read_only or None,
            open_world_hint=False,
        ),
    )


async def _call(
    settings: argparse.Namespace, ctx: Any, params: types.CallToolRequestParams
) -> types.CallToolResult:
    """One ``tools/call``: checked, then run on a worker thread; its answer."""
    tool = BY_NAME.get(params.name)
    if tool is None:
        raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {params.name}")
    arguments = dict(params.arguments or {})
    problem = _invalid(tool, arguments)
    if problem is not None:
        return _failure(UsageError(f"{tool.name}: {problem}"), [], [])
    cancelled = threading.Event()
    progress = _reporter(ctx, cancelled) if tool.waits else None
    work = partial(_run, tool, Call(settings, progress), arguments, cancelled)
    try:
        return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        cancelled.set()
        raise


def _run(
    tool: Tool, call: Call, arguments: dict[str, Any], cancelled: threading.Event
) -> types.CallToolResult:
    """Do the tool's work (on a worker thread), its warnings collected: the answer. Once
    ``cancelled`` is set its wait wakes from any pause and asks for no more time."""
    with console.collecting() as notes, deadline.stoppable(cancelled):
        try:
            document = tool.run(call, arguments)
        except (Abandoned, deadline.Stopped):
            raise
        except Failures as exc:
            return _failure(exc, call.unavailable(), notes, exc.document)
        except AoError as exc:
            return _failure(exc, call.unavailable(), notes)
        except BaseException as exc:  # noqa: BLE001 - on this thread nothing is the user's Ctrl-C
            return _failure(Unexpected(f"unexpected {describe(exc)}"), call.unavailable(), notes)
    return _success(document, notes)


def _success(document: Document, notes: list[str]) -> types.CallToolResult:
    """The document as structured content and as its JSON text, then the warnings."""
    text = answers.json_text(document)  # strict JSON: what a NaN from a backend becomes
    content = [types.TextContent(type="text", text=text)]
    if notes:
        content.append(types.TextContent(type="text", text="\n".join(notes)))
    return types.CallToolResult(content=content, structured_content=json.loads(text))


def _failure(
    exc: AoError,
    unavailable: list[dict[str, str]],
    notes: list[str],
    document: Document | None = None,
) -> types.CallToolResult:
    """A tool error: the ``Error:`` line(s), the warnings, and the ``--json`` document
    (the error document, or the records of a tool that worked through several names)."""
    if isinstance(exc, Failures):
        lines = "\n".join(printable(line) for line in str(exc).split("\n"))
    else:
        lines = f"Error: {printable(str(exc))}"
    structured = document if document is not None else answers.error_record(exc, unavailable)
    text = answers.json_text(structured)
    content = [types.TextContent(type="text", text=lines)]
    if notes:
        content.append(types.TextContent(type="text", text="\n".join(notes)))
    if document is not None:
        content.append(types.TextContent(type="text", text=text))
    return types.CallToolResult(content=content, structured_content=json.loads(text), is_error=True)


_VALIDATORS: dict[str, Validator] = {}


def _invalid(tool: Tool, arguments: dict[str, Any]) -> str | None:
    """What is wrong with ``arguments`` for ``tool``, in a line; None when nothing is.

    jsonschema is imported by the first call, not before ``initialize`` is answered."""
    import jsonschema

    validator = _VALIDATORS.get(tool.name)
    if validator is None:
        validator = _VALIDATORS[tool.name] = jsonschema.Draft202012Validator(tool.input_schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    if error is None:
        return None
    where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = f"{where.lstrip('.') or 'arguments'}: {error.message}"
    if len(message) > ARGUMENT_ERROR_CHARS:
        message = message[: ARGUMENT_ERROR_CHARS - 3] + "..."
    return message


def _reporter(ctx: Any, cancelled: threading.Event) -> Progress:
    """What a call's waits report to, between their rounds: a progress notification (at
    most one per :data:`PROGRESS_EVERY`; the progress is the seconds since the call began)
    saying each session's status; :class:`Abandoned` once the call was cancelled."""
    began = time.monotonic()
    last = [float("-inf")]

    def report(statuses: Mapping[str, tuple[Session | None, str]], elapsed: float) -> None:
        if cancelled.is_set():
            raise Abandoned
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        shown = ", ".join(f"{name}: {state}" for name, (_, state) in statuses.items())
        message = printable(f"{shown}, {now - began:.0f}s")
        try:
            anyio.from_thread.run(ctx.session.report_progress, round(now - began, 1), None, message)
        except Exception:  # noqa: BLE001 - the connection is closing: the wait goes on
            if cancelled.is_set():
                raise Abandoned from None

    return report
