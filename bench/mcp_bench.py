"""ao mcp as an agent host sees it: the time from spawning ``ao-mcp`` to its answer to
``initialize``, and a ``status`` tool call once it runs, beside ``ao-status`` started as a
process (what an agent without MCP runs for the same answer).

Run by hand from the environment where ao and its ``test`` extra are installed:

    python bench/mcp_bench.py              # 20 rounds, prints the table
    python bench/mcp_bench.py --write      # ... and puts it in BENCHMARKS.md (its own section)

The sessions are the backup files of ``examples/sessions`` (the ``file`` backend), so the
figures are ao's own cost, not a server's. The client is the MCP SDK's own stdio client;
a round spawns a server, times ``initialize``, then times ``--calls`` status calls on it,
and times as many ``ao-status`` processes. Rounds interleave the two, so a busy machine
weighs on both alike. (Not ``bench/mcp.py``: run as a script, that name would hide the
SDK's own ``mcp`` package.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402

BIN = Path(sys.executable).parent
BEGIN, END = "<!-- mcp:begin -->", "<!-- mcp:end -->"
SETTINGS = {
    "AGENT_ORCHESTRATOR_BACKENDS": "file",
    "AGENT_ORCHESTRATOR_PROJECT_DIR": str(ROOT / "examples"),
    "AGENT_ORCHESTRATOR_SESSIONS_DIR": str(ROOT / "examples" / "sessions"),
}


def environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_ORCHESTRATOR_")}
    return {**env, **SETTINGS}


async def server_round(calls: int) -> tuple[float, list[float]]:
    """Spawn ao-mcp: seconds to the initialize answer, and per status call."""
    params = StdioServerParameters(command=str(BIN / "ao-mcp"), env=environ(), cwd=str(ROOT))
    with open(os.devnull, "w") as errlog:
        began = time.perf_counter()
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            ready = time.perf_counter() - began
            await session.list_tools()  # as a host does; the client checks results with it
            each = []
            for _ in range(calls):
                began = time.perf_counter()
                answer = await session.call_tool("status", {"names": ["architect"]})
                each.append(time.perf_counter() - began)
                if answer.is_error or answer.structured_content is None:
                    raise SystemExit(f"status failed: {answer.content}")
    return ready, each


def process_round(calls: int) -> list[float]:
    """Seconds per ``ao-status architect`` process, start to exit."""
    each = []
    for _ in range(calls):
        began = time.perf_counter()
        done = subprocess.run(
            [str(BIN / "ao-status"), "architect"], env=environ(), capture_output=True, text=True
        )
        each.append(time.perf_counter() - began)
        if done.returncode != 0 or done.stdout != "finished\n":
            raise SystemExit(f"ao-status: {done.returncode} {done.stderr}")
    return each


def measure(rounds: int, calls: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"initialize": [], "status call": [], "ao-status": []}
    for _ in range(rounds):
        ready, each = anyio.run(server_round, calls)
        found["initialize"].append(ready)
        found["status call"] += each
        found["ao-status"] += process_round(calls)
    return found


def table(found: dict[str, list[float]], rounds: int, calls: int) -> str:
    what = {
        "initialize": "spawn `ao-mcp` to its `initialize` answer",
        "status call": "a `status` tool call, server running",
        "ao-status": "`ao-status NAME` as a process, start to exit",
    }
    lines = [
        BEGIN,
        "## ao mcp (`bench/mcp_bench.py`)",
        "",
        f"{rounds} servers spawned through the MCP SDK's stdio client, {calls} `status` calls "
        "on each, and as many `ao-status` processes, interleaved; the backup files of "
        "`examples/sessions` (file backend), so the figures are ao's own cost. Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs.",
        "",
        "| what | median | worst |",
        "|---|---|---|",
    ]
    for key, times in found.items():
        lines.append(
            f"| {what[key]} | {statistics.median(times) * 1000:.0f} ms "
            f"| {max(times) * 1000:.0f} ms |"
        )
    lines += [
        "",
        "Starting the server costs the SDK's imports (pydantic, anyio, starlette, jsonschema) "
        "once; a call then loads the backends again (settings fixed for the server's life, "
        "every call a fresh command context) but starts no interpreter.",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--calls", type=int, default=10, help="status calls per round")
    parser.add_argument("--write", action="store_true", help="put the table in BENCHMARKS.md")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "BENCHMARKS.md", help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    block = table(measure(args.rounds, args.calls), args.rounds, args.calls)
    print(block)
    if args.write:
        load.write(block, args.output, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
