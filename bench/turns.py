"""ao-start and ao-resume against the test Agent Coordinator and its runner process: the
time from the runner's report to the command's exit, and the requests per turn, beside a
2-second polling loop (what the upstream commands do).

Run by hand from the environment where ao and its test extra are installed:

    python bench/turns.py              # 20 turns each, prints the table
    python bench/turns.py --write      # ... and puts it in BENCHMARKS.md (its own section)

"The runner's report" is the moment the server recorded the run's ``completed_at`` (the
same machine's clock); the command's exit is when its process ended. The polling loop is
the upstream tools' way: ``POST /runs``, then ``GET /sessions/{id}/status`` every 2 s until
the turn has ended, then ``GET /sessions/{id}/result``, in one process with one connection.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402
import requests  # noqa: E402
from coordinator import create_coordinator_app  # noqa: E402
from runs_fixtures import FIXTURE_SETTINGS, RunsCoordinator  # noqa: E402
from session_manager import ServerThread  # noqa: E402

BIN = Path(sys.executable).parent
BEGIN, END = "<!-- turns:begin -->", "<!-- turns:end -->"
POLL = 2.0


def completed_at(server: RunsCoordinator, run_id: str) -> float:
    run = server.wait_for_run(run_id, lambda r: bool(r.get("completed_at")), timeout=30)
    return datetime.fromisoformat(run["completed_at"]).timestamp()


def latest_run(server: RunsCoordinator, name: str) -> str:
    return server.runs(session_id=name)[-1]["run_id"]


def command(server: RunsCoordinator, *argv: str) -> tuple[float, int]:
    """Run an installed ao command; when it exited (epoch) and the client requests it made."""
    before = len(server.client_requests)
    env = {**server.env(), "PATH": f"{BIN}:/usr/bin:/bin"}
    done = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], env=env, capture_output=True, text=True, timeout=120
    )
    ended = time.time()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: {done.returncode} {done.stderr}")
    return ended, len(server.client_requests) - before


def polling(server: RunsCoordinator, name: str, body: dict) -> tuple[float, int]:
    """The upstream loop: post the run, poll the status every POLL s, fetch the result."""
    http = requests.Session()
    http.headers["User-Agent"] = "polling-loop/1"
    asked = 1
    http.post(server.url + "/runs", json=body, timeout=10).raise_for_status()
    while True:
        time.sleep(POLL)
        asked += 1
        status = http.get(f"{server.url}/sessions/{name}/status", timeout=10).json()["status"]
        if status in ("idle", "finished", "failed", "stopped"):
            break
    http.get(f"{server.url}/sessions/{name}/result", timeout=10)
    return time.time(), asked + 1


def measure(turns: int) -> list[tuple[str, list[float], float]]:
    """(what, delays in seconds, requests per turn) for ao-start, ao-resume and polling."""
    workdir = Path(tempfile.mkdtemp())
    settings = replace(FIXTURE_SETTINGS)
    thread = ServerThread(create_coordinator_app(workdir / "c.db", settings=settings))
    thread.start()
    server = RunsCoordinator(thread, workdir / "runs")
    server.runner = server.start_runner()
    found: dict[str, tuple[list[float], list[int]]] = {
        k: ([], []) for k in ("ao-start", "ao-resume", "polling start", "polling resume")
    }
    try:
        for i in range(turns):
            name = f"bench-{i}"
            for what, argv in (
                ("ao-start", ["ao-start", name, "-p", "hello"]),
                ("ao-resume", ["ao-resume", name, "-p", "more"]),
            ):
                ended, asked = command(server, *argv)
                found[what][0].append(ended - completed_at(server, latest_run(server, name)))
                found[what][1].append(asked)
            name = f"poll-{i}"
            start = {"type": "start_session", "session_id": name, "parameters": {"prompt": "hi"}}
            resume = {"type": "resume_session", "session_id": name, "parameters": {"prompt": "x"}}
            for what, body in (("polling start", start), ("polling resume", resume)):
                ended, asked = polling(server, name, body)
                found[what][0].append(ended - completed_at(server, latest_run(server, name)))
                found[what][1].append(asked)
    finally:
        server.stop()
    return [(what, delays, statistics.mean(asked)) for what, (delays, asked) in found.items()]


def table(results: list[tuple[str, list[float], float]], turns: int) -> str:
    lines = [
        BEGIN,
        "## Starting and resuming (`bench/turns.py`)",
        "",
        f"{turns} turns each against the test Agent Coordinator and its runner process (echo "
        "agent); delay = the command's exit minus the run's `completed_at` (the runner's "
        f"report). The polling loop asks `GET /sessions/{{id}}/status` every {POLL:g} s, as "
        "the upstream tools do.",
        "",
        "| what | delay median | delay worst | requests per turn |",
        "|---|---|---|---|",
    ]
    for what, delays, asked in results:
        lines.append(
            f"| {what} | {statistics.median(delays) * 1000:.0f} ms | {max(delays) * 1000:.0f} ms "
            f"| {asked:.1f} |"
        )
    lines += [
        "",
        "ao's delay includes its own process exit; its requests are the whole command's "
        "(the name check, the run, the runner check, the turn's status, the stream, the "
        "result). The loop's are the run, its polls and the result.",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--write", action="store_true", help="put the table in BENCHMARKS.md")
    args = parser.parse_args(argv)
    block = table(measure(args.turns), args.turns)
    print(block)
    if args.write:
        load.write(block, ROOT / "BENCHMARKS.md", BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
