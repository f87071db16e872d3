"""A load figure: many ao-* commands at once against the test Session Manager under churn.

Run by hand from the environment where ao and its test extra are installed:

    python bench/load.py                      # 50 concurrent commands for 20 s
    python bench/load.py --write              # ... and put the figures in BENCHMARKS.md
    python bench/load.py --concurrency 10 --seconds 5

It starts the test Session Manager as a process (``tests/session_manager.py``, on a
socket this harness opened, so no polling for it to start), puts *stable* sessions on it
(finished ones with a known result, running ones), and while ``--concurrency`` workers
each run the installed commands one after another, a churn thread keeps creating
sessions, finishing them and deleting them.

A **wrong answer** is any command whose outcome is not one its session allows:

- a stable finished session: ``ao-status`` prints ``finished``, ``ao-get-result`` its
  exact result, both exit 0;
- a stable running session: ``ao-status`` prints ``running`` (exit 0), ``ao-get-result``
  the still-running error (exit 1);
- a churned session (it may be created, running, finished or gone at any moment):
  ``ao-status`` prints ``running``, ``finished`` or ``not_existent`` (exit 0);
  ``ao-get-result`` prints its own result (exit 0) or fails with the does-not-exist,
  still-running or no-result error (exit 1: ``is finished but has no result`` when it
  was deleted between its status and its result);
- ``ao-list-sessions``: exit 0, every stable session listed exactly once, every line
  ``NAME (session-id: ID, project-dir: DIR)``;
- and for every command: no traceback, nothing on stderr but the one expected error line.

A ``Warning:`` (the server did not answer within its timeout, so the files answered) is
counted apart: it is the fallback working, not a wrong answer, but it is not the API's
answer either. Latencies are whole processes, measured by this harness.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVER = ROOT / "tests" / "session_manager.py"
BEGIN, END = "<!-- load:begin -->", "<!-- load:end -->"
LINE = re.compile(r"[A-Za-z0-9_-]{1,60} \(session-id: [^,]+, project-dir: .+\)")
STABLE_FINISHED = 10
STABLE_RUNNING = 5


@dataclass
class Tally:
    """What the workers saw, shared between them (under ``lock``)."""

    latencies: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    warnings: int = 0
    churned: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Api:
    """Just enough of the Session Manager's API to create, finish and delete sessions."""

    def __init__(self, url: str) -> None:
        import requests

        self.url = url
        self.http = requests.Session()

    def create(self, session_id: str, name: str) -> None:
        body = {"session_id": session_id, "session_name": name, "project_dir": "/load"}
        self.http.post(f"{self.url}/sessions", json=body, timeout=30).raise_for_status()

    def finish(self, session_id: str, name: str, result: str) -> None:
        from session_manager import assistant_message, now

        events = [
            assistant_message(session_id, name, result, now()),
            {
                "event_type": "session_stop",
                "session_id": session_id,
                "session_name": name,
                "timestamp": now(),
                "exit_code": 0,
                "reason": "completed",
            },
        ]
        for event in events:
            url = f"{self.url}/sessions/{session_id}/events"
            self.http.post(url, json=event, timeout=30).raise_for_status()

    def delete(self, session_id: str) -> None:
        self.http.delete(f"{self.url}/sessions/{session_id}", timeout=30).raise_for_status()


def result_of(name: str) -> str:
    return f"the result of {name}"


def start_server(db: Path) -> tuple[subprocess.Popen, str]:
    """The test Session Manager as a process, on a socket already listening."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--db", str(db), "--fd", str(listener.fileno())],
        pass_fds=[listener.fileno()],
    )
    listener.close()  # the server holds its own copy; connections queue until it serves
    return proc, url


def churn(api: Api, tally: Tally, stop: threading.Event) -> None:
    """Create, finish and delete sessions ``churn-N`` until ``stop``."""
    n = 0
    while not stop.is_set():
        name = f"churn-{n % 20}"
        session_id = f"churn-id-{n}"
        api.create(session_id, name)
        api.finish(session_id, name, result_of(name))
        api.delete(session_id)
        n += 1
        with tally.lock:
            tally.churned += 1


def judge(argv: list[str], code: int, out: str, err: str) -> str | None:
    """Why this outcome is wrong (see the module docstring), or None when it is right."""
    command, *names = argv
    name = names[0] if names else ""
    errors = [line for line in err.splitlines() if not line.startswith("Warning: ")]
    if "Traceback" in err:
        return "traceback"
    if command == "ao-list-sessions":
        lines = out.splitlines()
        listed = [line.split(" ", 1)[0] for line in lines]
        stable = [f"done-{i}" for i in range(STABLE_FINISHED)]
        stable += [f"busy-{i}" for i in range(STABLE_RUNNING)]
        if code != 0 or errors:
            return f"exit {code}, {errors}"
        if any(listed.count(s) != 1 for s in stable):
            return "a stable session missing or twice"
        if not all(LINE.fullmatch(line) for line in lines):
            return "a malformed line"
        return None
    exists = f"Error: Session '{name}' does not exist"
    running = (
        f"Error: Session '{name}' is still running. "
        "Wait for completion or check status with ao-status."
    )
    no_result = (f"Error: Session '{name}' has no result", f"Error: Session '{name}' is ")
    if name.startswith("done-"):
        expected = {"ao-status": "finished\n", "ao-get-result": result_of(name) + "\n"}
        ok = (code, out, errors) == (0, expected[command], [])
    elif name.startswith("busy-"):
        if command == "ao-status":
            ok = (code, out, errors) == (0, "running\n", [])
        else:
            ok = (code, out, errors) == (1, "", [running])
    elif command == "ao-status":
        ok = code == 0 and out in {"running\n", "finished\n", "not_existent\n"} and not errors
    else:
        right = (code, out, errors) == (0, result_of(name) + "\n", [])
        failed = code == 1 and out == "" and len(errors) == 1
        ok = right or (
            failed
            and (
                errors[0] in (exists, running)
                or errors[0].startswith(no_result[0])
                or (errors[0].startswith(no_result[1]) and errors[0].endswith("has no result"))
            )
        )
    return None if ok else f"exit {code}, out {out[:80]!r}, err {err[:160]!r}"


def commands() -> list[list[str]]:
    """The mix each worker draws from."""
    mix = []
    for i in range(STABLE_FINISHED):
        mix += [["ao-status", f"done-{i}"], ["ao-get-result", f"done-{i}"]]
    for i in range(STABLE_RUNNING):
        mix += [["ao-status", f"busy-{i}"], ["ao-get-result", f"busy-{i}"]]
    for i in range(10):
        mix += [["ao-status", f"churn-{i}"], ["ao-get-result", f"churn-{i}"]]
    mix += [["ao-list-sessions"]] * 5
    return mix


def worker(env: dict[str, str], until: float, tally: Tally, seed: int) -> None:
    draw = random.Random(seed)
    mix = commands()
    while time.monotonic() < until:
        argv = draw.choice(mix)
        started = time.perf_counter()
        proc = subprocess.run(
            [str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True, env=env
        )
        took = time.perf_counter() - started
        wrong = judge(argv, proc.returncode, proc.stdout, proc.stderr)
        with tally.lock:
            tally.latencies.append(took)
            tally.warnings += "Warning: " in proc.stderr
            if wrong:
                tally.wrong.append(f"{' '.join(argv)}: {wrong}")


def run(concurrency: int, seconds: float) -> tuple[Tally, float]:
    with tempfile.TemporaryDirectory(prefix="ao-load-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        server, url = start_server(Path(tmp) / "sm.db")
        try:
            api = Api(url)
            for i in range(STABLE_FINISHED):
                api.create(f"done-id-{i}", f"done-{i}")
                api.finish(f"done-id-{i}", f"done-{i}", result_of(f"done-{i}"))
            for i in range(STABLE_RUNNING):
                api.create(f"busy-id-{i}", f"busy-{i}")
            env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_ORCHESTRATOR_")}
            env.update(
                AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=url,
                AGENT_ORCHESTRATOR_PROJECT_DIR=str(project),
            )
            tally = Tally()
            stop = threading.Event()
            churner = threading.Thread(target=churn, args=(api, tally, stop), daemon=True)
            churner.start()
            started = time.monotonic()
            until = started + seconds
            workers = [
                threading.Thread(target=worker, args=(env, until, tally, n))
                for n in range(concurrency)
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            elapsed = time.monotonic() - started
            stop.set()
            churner.join(30)
            return tally, elapsed
        finally:
            server.terminate()
            server.wait(30)


def report(tally: Tally, elapsed: float, concurrency: int, seconds: float) -> str:
    lat = sorted(tally.latencies)
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    cpus = os.cpu_count()
    lines = [
        BEGIN,
        "## Load: concurrent commands under churn",
        "",
        f"`python bench/load.py --concurrency {concurrency} --seconds {seconds:g}`: "
        f"{concurrency} workers each running the installed commands one after another "
        f"for {seconds:g} s against the test Session Manager (a process, default 5 s "
        "timeout), while sessions are created, finished and deleted. Machine: "
        f"{platform.system()} {platform.release()}, {cpus} CPUs, "
        f"Python {platform.python_version()}.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| commands run | {len(lat)} |",
        f"| commands per second | {len(lat) / elapsed:.1f} |",
        f"| latency p50 / p99 (whole process) | {p50 * 1000:.0f} ms / {p99 * 1000:.0f} ms |",
        f"| sessions churned (created, finished, deleted) | {tally.churned} |",
        f"| answered from the files after a warning | {tally.warnings} |",
        f"| **wrong answers** | **{len(tally.wrong)}** |",
        "",
        "A wrong answer is an outcome the session cannot have at any moment of its life "
        "(see `bench/load.py`); a warning is the fallback at work, counted apart.",
        END,
    ]
    return "\n".join(lines)


def write(block: str, path: Path, begin: str = BEGIN, end: str = END) -> None:
    """Put ``block`` (a section between ``begin`` and ``end``) in ``path`` in place of the
    previous one (else at the end)."""
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--write", action="store_true", help="put the figures in BENCHMARKS.md (its own section)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    tally, elapsed = run(args.concurrency, args.seconds)
    block = report(tally, elapsed, args.concurrency, args.seconds)
    print(block)
    for wrong in tally.wrong[:20]:
        print(f"wrong: {wrong}", file=sys.stderr)
    if args.write:
        write(block, args.out)
    return 1 if tally.wrong else 0


if __name__ == "__main__":
    sys.exit(main())
