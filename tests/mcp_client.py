"""The MCP SDK's own stdio client against the installed ``ao-mcp`` (or ``ao mcp``), as an
agent host runs it: a real process, its standard input and output the protocol.

``serve(scenario, settings, workdir)`` starts the server with those settings (and no
other ``AGENT_ORCHESTRATOR_*`` variable), initializes a session, runs ``await
scenario(session)`` and returns what it returned; the server's stderr is kept in
``workdir / "ao-mcp.stderr"``.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
from conftest import BIN_DIR, clean_environ
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

T = TypeVar("T")


def command(name: str = "ao-mcp") -> str:
    exe = shutil.which(name, path=str(BIN_DIR)) or shutil.which(name)
    assert exe, f"{name} is not installed"
    return exe


def serve(
    scenario: Callable[[ClientSession], Awaitable[T]],
    settings: dict[str, str],
    workdir: Path,
    *,
    argv: tuple[str, ...] = (),
    via_ao: bool = False,
) -> T:
    """Run ``scenario`` against a fresh server (``ao mcp`` with ``via_ao``)."""
    exe, args = (command("ao"), ["mcp", *argv]) if via_ao else (command(), list(argv))
    params = StdioServerParameters(
        command=exe, args=args, env=clean_environ(**settings), cwd=str(workdir)
    )

    async def main() -> T:
        with open(workdir / "ao-mcp.stderr", "a") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                return await scenario(session)

    return anyio.run(main)


def stderr(workdir: Path) -> str:
    """What the servers started in ``workdir`` wrote on stderr."""
    path = workdir / "ao-mcp.stderr"
    return path.read_text(errors="replace") if path.exists() else ""


def texts(result: Any) -> list[str]:
    """The text blocks of a tool's answer."""
    return [block.text for block in result.content if block.type == "text"]
