"""Whole-process cost of every ao-* command, side by side with the floor of its stack.

Run by hand from the environment where ao and its test extra are installed:

    python bench/run.py                 # full sizes, writes BENCHMARKS.md
    python bench/run.py --quick --out /tmp/b.md   # tiny sizes, one run (what the suite does)

It builds its own data in a temp dir (backup files, a Session Manager test server, an
Agent Coordinator test server, a closed port, a server that never answers), runs the
installed console scripts and the floor (bench/floor.py) interleaved, and reports medians
and ratios ours / floor, which survive a noisy machine better than absolute times.

    python bench/run.py --before /tmp/venv-old/bin   # also time another install's commands

``--before`` runs the same command lines with the console scripts of another install (an
older version, say) interleaved with the others and adds a table of what changed, so a
saving is measured in the same run as the figures it is compared with.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from backup_files import BackupDir  # noqa: E402
from coordinator import create_coordinator_app  # noqa: E402
from fault_servers import HangingServer, RefusingPort  # noqa: E402
from session_manager import ServerThread, assistant_message, create_app  # noqa: E402

BIN = Path(sys.executable).parent
FLOOR = [sys.executable, str(ROOT / "bench" / "floor.py")]
HANG_TIMEOUT = 1.0
MEMORY_LIMIT_MIB = 40


@dataclass(frozen=True)
class Sizes:
    sessions: int
    big_result: int
    runs: int
    warmup: int
    wait_runs: int
    wait_window: float


FULL = Sizes(
    sessions=10_000, big_result=5 * 1024 * 1024, runs=25, warmup=3, wait_runs=10, wait_window=10.0
)
QUICK = Sizes(sessions=20, big_result=50 * 1024, runs=1, warmup=0, wait_runs=1, wait_window=1.0)


#: Runs a command and prints its peak RSS in KiB. A child forked straight from this
#: harness would be charged the harness's own memory (server, data) before its exec.
PEAK_SHIM = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(os.wait4(proc.pid, 0)[2].ru_maxrss)
"""


@dataclass
class Case:
    """One command line to time, with its environment; collects wall times."""

    argv: list[str]
    env: dict[str, str]
    walls: list[float] = field(default_factory=list)

    def run(self, record: bool = True) -> None:
        started = time.perf_counter()
        subprocess.run(
            self.argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if record:
            self.walls.append(time.perf_counter() - started)

    def peak_mib(self) -> float:
        """Peak resident memory of one run, in MiB (measured through a small shim process)."""
        out = subprocess.run(
            [sys.executable, "-c", PEAK_SHIM, *self.argv],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return int(out) / 1024

    @property
    def median(self) -> float:
        return statistics.median(self.walls)


@dataclass
class Row:
    """A line of the report: ours against a baseline, with a target on the ratio."""

    scenario: str
    ours: Case
    base: Case
    base_label: str
    limit: float

    @property
    def ratio(self) -> float:
        return self.ours.median / self.base.median


def ours(command: str, *args: str, **env: str) -> Case:
    return Case([str(BIN / command), *args], clean_env(**env))


def floor(*args: str) -> Case:
    return Case([*FLOOR, *args], clean_env())


def interpreter() -> Case:
    """``python -c pass``: the interpreter's own start, the least any command costs."""
    return Case([sys.executable, "-c", "pass"], clean_env())


def before(case: Case, bin_dir: Path) -> Case:
    """``case`` with the console script of the install in ``bin_dir`` instead of ours."""
    return Case([str(bin_dir / Path(case.argv[0]).name), *case.argv[1:]], case.env)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_ORCHESTRATOR_")}
    env.update(extra)
    return env


def build_backups(root: Path, sizes: Sizes) -> dict[str, BackupDir]:
    """Sessions directories: one session, many sessions, and a big vs a small result."""
    dirs = {key: BackupDir(root / key) for key in ("one", "many", "results")}
    dirs["one"].finished("solo", result="x" * 20)
    for i in range(sizes.sessions):
        dirs["many"].finished(f"s-{i:05d}", session_id=f"id-{i:05d}")
    dirs["results"].finished("big", result="y" * sizes.big_result)
    dirs["results"].finished("small", result="z" * 20)
    return dirs


def start_server(sessions: int) -> ServerThread:
    """A test Session Manager holding ``sessions`` sessions; the one asked for is the oldest."""
    server = ServerThread(create_app(Path(tempfile.mkdtemp()) / "sm.db"))
    store = server.app.state.store
    store.create("target-id", "target", "/tmp", created_at="2000-01-01T00:00:00+00:00")
    store.add_event(assistant_message("target-id", "target", "x" * 20, "2000-01-01T00:00:01Z"))
    store.add_event(
        {
            "event_type": "session_stop",
            "session_id": "target-id",
            "session_name": "target",
            "timestamp": "2000-01-01T00:00:02Z",
        }
    )
    store.seed(sessions - 1)
    server.start()
    return server


#: The session ``ao-status`` asks the Coordinators about (a generated id).
TARGET_ID = "ses_7a26e7000000"


def start_coordinator(sessions: int) -> ServerThread:
    """A test Agent Coordinator holding ``sessions`` finished sessions, one of them TARGET_ID."""
    server = ServerThread(create_coordinator_app(Path(tempfile.mkdtemp()) / "c.db"))
    store = server.app.state.store
    store.create(TARGET_ID, status="finished", result_text="x" * 20, project_dir="/tmp")
    store.seed(sessions - 1)
    server.start()
    return server


def measure(rows: list[Row], extra: list[Case], sizes: Sizes) -> None:
    """Warm up, then run every case ``sizes.runs`` times, interleaved (ours next to floor)."""
    cases = [c for row in rows for c in (row.ours, row.base)] + extra
    unique = list({id(c): c for c in cases}.values())
    for _ in range(sizes.warmup):
        for case in unique:
            case.run(record=False)
    for _ in range(sizes.runs):
        for case in unique:
            case.run()


def imports_of(case: Case, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` the command imports, beyond what the interpreter itself imports
    at start-up in this environment (an editable install's finder imports pathlib there)
    (read from ``python -X importtime``)."""

    def loaded(*argv: str) -> set[str]:
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", *argv],
            env=case.env,
            capture_output=True,
            text=True,
        )
        return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}

    ours = loaded(*case.argv) - loaded("-c", "pass")
    return [name for name in names if name in ours]


def requests_imported(case: Case) -> bool:
    """Whether the command imports ``requests``."""
    return bool(imports_of(case, ("requests",)))


#: What ``ao-status`` on files need not import (issue 22): importlib.metadata and what it
#: brings, pathlib, and shutil (which argparse's help formatter would import).
UNUSED = ("importlib.metadata", "email", "zipfile", "csv", "pathlib", "shutil")


def wait_delays(server: ServerThread, sizes: Sizes, *options: str) -> list[float]:
    """Seconds between a session finishing and ``ao-status --wait`` returning.

    On a Session Manager (polling) or an Agent Coordinator (its event stream), told apart
    by the app's store, as the command tells them apart by the server's answers.
    """
    store = server.app.state.store
    coordinator = hasattr(store, "broadcaster")
    name = f"ses_{random.getrandbits(48):012x}" if coordinator else "waiter"
    if coordinator:
        store.create(name, status="running", project_dir="/tmp")
    else:
        store.create(f"{name}-id", name, "/tmp")
    sid = name if coordinator else f"{name}-id"
    env = clean_env(
        AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=server.url, AGENT_ORCHESTRATOR_BACKENDS="api"
    )
    delays = []
    for _ in range(sizes.wait_runs):
        store.set_status(sid, "running")
        proc = subprocess.Popen(
            [str(BIN / "ao-status"), name, "--wait", *options],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(random.uniform(0.5, 4.0) if sizes.runs > 1 else 0.3)
        store.set_status(sid, "finished")
        finished = time.perf_counter()
        out, _ = proc.communicate(timeout=30)
        delays.append(time.perf_counter() - finished)
        assert out == "finished\n", out
    return delays


#: How many sessions the several-session wait waits for.
MANY = 10


def requests_waiting_for_many(server: ServerThread, sizes: Sizes, *, together: bool) -> float:
    """HTTP requests per second while waiting for :data:`MANY` running sessions on a
    Session Manager for ``wait_window`` seconds: one ``ao-status A B ... --wait`` (one
    listing per round for all names), or one ``--wait`` process per session."""
    store = server.app.state.store
    names = [f"many-{random.getrandbits(32):08x}" for _ in range(MANY)]
    for name in names:
        store.create(f"{name}-id", name, "/tmp")
    env = clean_env(
        AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=server.url, AGENT_ORCHESTRATOR_BACKENDS="api"
    )
    wait = ["--wait", "--timeout", f"{sizes.wait_window:g}"]
    argvs = (
        [[str(BIN / "ao-status"), *names, *wait]]
        if together
        else [[str(BIN / "ao-status"), name, *wait] for name in names]
    )
    seen = server.app.state.controls.requests
    before = len(seen)
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL) for argv in argvs]
    for proc in procs:
        proc.wait(timeout=sizes.wait_window + 30)
    return (len(seen) - before) / sizes.wait_window


def requests_per_wait(server: ServerThread, sizes: Sizes) -> int:
    """HTTP requests one ``--wait`` on a running session makes in ``wait_window`` seconds
    (an event stream counts as one)."""
    store = server.app.state.store
    if hasattr(store, "broadcaster"):
        name = "ses_5133b3000000"
        store.create(name, status="running", project_dir="/tmp")
    else:
        name = "sleeper"
        store.create("sleeper-id", name, "/tmp")
    seen = server.app.state.controls.requests
    before = len(seen)
    subprocess.run(
        [str(BIN / "ao-status"), name, "--wait", "--timeout", f"{sizes.wait_window:g}"],
        env=clean_env(
            AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=server.url, AGENT_ORCHESTRATOR_BACKENDS="api"
        ),
        stdout=subprocess.DEVNULL,
        check=False,
    )
    return len(seen) - before


#: Imports the stream code after what any api command already imports, and prints how
#: long the stream code alone took, in seconds.
STREAM_IMPORT = """
import time
import requests, ao_plugins.api.backend
started = time.perf_counter()
import ao_plugins.api.events
print(time.perf_counter() - started)
"""


def stream_import_cost(runs: int) -> float:
    """Median seconds to import the stream reader (events, sse, threading, queue)."""
    return statistics.median(
        float(
            subprocess.run(
                [sys.executable, "-c", STREAM_IMPORT], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(max(runs, 3))
    )


def stream_code_imported(case: Case) -> bool:
    """Whether a command imports the event-stream reader (read from ``-X importtime``)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", case.argv[0], *case.argv[1:]],
        env=case.env,
        capture_output=True,
        text=True,
    )
    return any(line.rstrip().endswith("ao_plugins.api.events") for line in proc.stderr.splitlines())


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        f"{platform.system()} {platform.release()}, {model}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def spread(case: Case) -> str:
    return f"{ms(case.median)} ({ms(min(case.walls))}–{ms(max(case.walls))})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run (for the suite)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument(
        "--before",
        type=Path,
        metavar="BIN",
        help="also time the same commands from another install's bin directory",
    )
    args = parser.parse_args(argv)
    assert args.before is None or (args.before / "ao-status").exists(), "no ao-status there"
    sizes = QUICK if args.quick else FULL
    assert (BIN / "ao-status").exists(), f"ao is not installed next to {sys.executable}"

    with tempfile.TemporaryDirectory() as tmp:
        dirs = build_backups(Path(tmp), sizes)
        small_server, big_server = start_server(1), start_server(sizes.sessions)
        coordinators = start_coordinator(1), start_coordinator(sizes.sessions)
        refused, hanging = RefusingPort(), HangingServer()
        servers = (small_server, big_server, *coordinators)
        try:
            report, failures = run_all(dirs, servers, refused, hanging, sizes, args.before)
        finally:
            for server in servers:
                server.stop()
            refused.close()
            hanging.close()
    text = render(report, sizes)
    args.out.write_text(text + kept_load_section(args.out))
    print(text)
    return 1 if failures and not args.quick else 0


def run_all(dirs, servers, refused, hanging, sizes, before_bin=None):
    small_server, big_server, small_coordinator, big_coordinator = servers
    n = f"{sizes.sessions:,}"
    files = {"AGENT_ORCHESTRATOR_BACKENDS": "file"}
    one = str(dirs["one"].path)
    results = str(dirs["results"].path)
    many = str(dirs["many"].path)
    api = {"AGENT_ORCHESTRATOR_BACKENDS": "api"}
    status_files = ours("ao-status", "solo", "--sessions-dir", one, **files)
    api_up = ours(
        "ao-status",
        "solo",
        "--sessions-dir",
        one,
        AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=small_server.url,
    )
    api_refused = ours(
        "ao-status",
        "solo",
        "--sessions-dir",
        one,
        AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=refused.url,
    )
    api_hanging = ours(
        "ao-status",
        "solo",
        "--sessions-dir",
        one,
        AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=hanging.url,
        AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT=f"{HANG_TIMEOUT:g}",
    )
    rows = [
        Row(
            "`ao-status` via API, 1 session",
            ours(
                "ao-status",
                "target",
                AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=small_server.url,
                **api,
            ),
            floor("api", small_server.url, "target"),
            "floor",
            1.3,
        ),
        Row(
            f"`ao-status` via API, {n} sessions",
            ours(
                "ao-status", "target", AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=big_server.url, **api
            ),
            floor("api", big_server.url, "target"),
            "floor",
            1.3,
        ),
        Row(
            "`ao-status` on files, `BACKENDS=file`",
            status_files,
            floor("file", one, "solo"),
            "floor",
            0.6,
        ),
        Row(
            "`ao-status` on files, `BACKENDS=file`, vs the interpreter",
            status_files,
            interpreter(),
            "`python -c pass`",
            4.0,
        ),
        Row(
            "`ao-status` on files, `BACKENDS=file`, vs the bare floor",
            status_files,
            floor("--bare", "file", one, "solo"),
            "bare floor",
            1.3,
        ),
        Row(
            f"`ao-status` on files, {sizes.big_result:,} B result vs 20 B",
            ours("ao-status", "big", "--sessions-dir", results, **files),
            ours("ao-status", "small", "--sessions-dir", results, **files),
            "20 B result",
            1.2,
        ),
        Row(
            f"`ao-get-result` on files, {sizes.big_result:,} B result vs 20 B",
            ours("ao-get-result", "big", "--sessions-dir", results, **files),
            ours("ao-get-result", "small", "--sessions-dir", results, **files),
            "20 B result",
            1.2,
        ),
        Row(
            f"`ao-list-sessions`, {n} sessions on files",
            ours("ao-list-sessions", "--sessions-dir", many, **files),
            floor("list", many),
            "floor",
            1.5,
        ),
        Row("API refused, answered from files", api_refused, api_up, "API up", 1.1),
        Row(
            f"`ao-status ID` on the Agent Coordinator, {n} sessions vs 1",
            ours(
                "ao-status",
                TARGET_ID,
                AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=big_coordinator.url,
                **api,
            ),
            ours(
                "ao-status",
                TARGET_ID,
                AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=small_coordinator.url,
                **api,
            ),
            "1 session",
            1.2,
        ),
    ]
    rows += [
        Row(
            f"`ao-list-sessions --long` vs without, {n} sessions on files",
            ours("ao-list-sessions", "--long", "--sessions-dir", many, **files),
            ours("ao-list-sessions", "--sessions-dir", many, **files),
            "without status",
            1.5,
        ),
        Row(
            f"`ao-list-sessions --long` vs without, {n} sessions on the Session Manager",
            ours(
                "ao-list-sessions",
                "--long",
                AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=big_server.url,
                **api,
            ),
            ours("ao-list-sessions", AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=big_server.url, **api),
            "without status",
            1.5,
        ),
        Row(
            f"`ao-list-sessions --long` vs without, {n} sessions on the Agent Coordinator",
            ours(
                "ao-list-sessions",
                "--long",
                AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=big_coordinator.url,
                **api,
            ),
            ours(
                "ao-list-sessions",
                AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=big_coordinator.url,
                **api,
            ),
            "without status",
            1.5,
        ),
    ]
    compared = []
    if before_bin is not None:  # rows 0, 1, 2 and 7: via the API, on files, the listing
        compared = [
            (rows[i].scenario, rows[i].ours, before(rows[i].ours, before_bin)) for i in (0, 1, 2, 7)
        ]
    measure(rows, [api_hanging, *(old for _, _, old in compared)], sizes)
    checks = [
        (
            "API hanging (timeout 1 s): median wall",
            ms(api_hanging.median),
            f"≤ {HANG_TIMEOUT + 1:g} s",
            api_hanging.median <= HANG_TIMEOUT + 1,
        ),
    ]
    peak_mib = max(row.ours.peak_mib() for row in rows[:3])
    checks.append(
        (
            "peak memory of `ao-status`",
            f"{peak_mib:.1f} MiB",
            f"≤ {MEMORY_LIMIT_MIB} MiB",
            peak_mib <= MEMORY_LIMIT_MIB,
        )
    )
    if compared:
        old_peak = max(old.peak_mib() for _, _, old in compared[:3])
        checks.append(
            (
                "peak memory of `ao-status` against `--before`",
                f"{peak_mib:.1f} MiB (before: {old_peak:.1f} MiB)",
                "not above",
                peak_mib <= old_peak + 0.5,  # RSS moves by a page or two between runs
            )
        )
    unused = imports_of(status_files, UNUSED)
    checks.append(
        (
            f"imported by `ao-status` on files: {', '.join(UNUSED)}",
            ", ".join(unused) or "none",
            "none",
            not unused,
        )
    )
    imported = requests_imported(status_files)
    checks.append(
        (
            "`requests` imported with `BACKENDS=file`",
            "yes" if imported else "no",
            "no",
            not imported,
        )
    )
    by_id = next(r for r in rows if r.scenario.startswith("`ao-status ID`"))
    streamed = stream_code_imported(by_id.ours)
    checks.append(
        (
            "event-stream reader imported by `ao-status ID` without `--wait`",
            "yes" if streamed else "no",
            "no",
            not streamed,
        )
    )
    delays = wait_delays(small_server, sizes)
    polls = requests_per_wait(small_server, sizes)
    stream_delays = wait_delays(small_coordinator, sizes)
    long_delays = wait_delays(small_coordinator, sizes, "--interval", "600")
    stream_requests = requests_per_wait(small_coordinator, sizes)
    together = requests_waiting_for_many(small_server, sizes, together=True)
    apart = requests_waiting_for_many(small_server, sizes, together=False)
    worst = max(stream_delays + long_delays)
    checks.append(
        (
            "`--wait` on the event stream: worst delay from status change to return",
            ms(worst),
            "≤ 200 ms",
            worst <= 0.2,
        )
    )
    facts = [
        (
            "`--wait`: delay from finish to return, median / worst",
            f"{ms(statistics.median(delays))} / {ms(max(delays))}",
            f"{len(delays)} runs, Session Manager (polling, `--interval` 2)",
        ),
        (
            f"`--wait`: HTTP requests in a {sizes.wait_window:g} s wait",
            str(polls),
            "Session Manager (polling)",
        ),
        (
            "`--wait` on the event stream: delay from change to return, median / worst",
            f"{ms(statistics.median(stream_delays))} / {ms(max(stream_delays))}",
            f"{len(stream_delays)} runs, Agent Coordinator, `--interval` 2",
        ),
        (
            "`--wait --interval 600` on the event stream: median / worst",
            f"{ms(statistics.median(long_delays))} / {ms(max(long_delays))}",
            f"{len(long_delays)} runs, Agent Coordinator",
        ),
        (
            f"`--wait` on the event stream: HTTP requests in a {sizes.wait_window:g} s wait",
            str(stream_requests),
            "Agent Coordinator: the stream, plus a round every `--interval` (2 s)",
        ),
        (
            f"waiting for {MANY} sessions: HTTP requests per second of waiting",
            f"{together:.1f} in one `ao-status A B ... --wait`, {apart:.1f} in {MANY} processes",
            "Session Manager (polling): one listing per round for all names",
        ),
        (
            "importing the event-stream reader",
            ms(stream_import_cost(sizes.runs)),
            "only when a wait watches a stream; after `requests`",
        ),
    ]
    failures = [r.scenario for r in rows if r.ratio > r.limit] + [c[0] for c in checks if not c[3]]
    return (rows, checks, facts, compared, failures), failures


NOTES = """\
## What was found and fixed while measuring

- **Large last lines.** The file backend reads the end of the `.jsonl` with `pread`:
  the last 64 KiB first, then, when the line starts before that, one span of up to
  8 MiB, then what the 64 MiB limit allows, and keeps the line as a view into the span
  that holds it (`ao_plugins/file.py`, `_read_last_line`). A memory map was about 1 ms
  faster for a 5 MB line but a file truncated under it kills the process with SIGBUS;
  reading in doubling blocks and then once more cost 13 MB of copies and 1.3 ms more.
  What is left of the 5 MB cost is `json.loads` (about 5 ms), kept because a
  half-written last line must read as `running`, which only a full parse can tell, and
  the check that the answer carries no control characters, done on the bytes written
  (`bytes.translate`, about 2 ms for 5 MB) rather than on a copy. Measured side by side
  on this machine, the 5 MB / 20 B ratio of `ao-get-result` was 1.24 before this
  session's work and is 1.30 now; the 1.2 target already failed here before it.
- **The list with status.** `ao-list-sessions --long` on 10,000 backup sessions first
  asked each session's status through the hook chain (a `fetch_status` per session, a
  `Session` copied per answer): 2.55 times the plain listing. The optional
  `fetch_statuses` hook lets the file backend read every log's last line in one pass
  (one `open`, `fstat`, `pread`, `close` and `json.loads` each), and the statuses stay
  beside the sessions instead of in copies of them: 1.49 times. The servers give the
  status with the listing, so there `--long` costs nothing more.
- **10,000 meta files.** Building a `pathlib.Path` per file cost about 80 ms per 10,000
  sessions; the listing now uses the paths `os.scandir` already made (in-process:
  349 ms before, 267 ms after, against 230 ms for the floor's own loop).
- **Peak memory.** A child forked straight from the harness was charged the harness's
  own resident memory (test server, 10,000 sessions) before its `exec`, which read as
  50 MiB for `ao-status`; memory is now measured through a small shim process. The real
  peak is the `api` case with 10,000 sessions on the server, whose JSON list (about
  2.5 MB) is parsed whole, because the server has no lookup by name; the file-only
  `ao-status` peaks at about 18 MiB.
- **`requests` at start-up.** Only the `api` backend imports it, inside its first call;
  with `AGENT_ORCHESTRATOR_BACKENDS=file` it is never imported (checked above), and the
  unselected backends' modules are not imported either.
- **The Agent Coordinator.** Resolving an id there is `GET /sessions/ID`, whose answer
  carries the status too, so `ao-status ID` is one request and costs the same with
  10,000 sessions as with one (the Session Manager, which has no lookup by name, still
  lists). `--wait` follows the event stream: the delay from the status change to the
  command's exit is the frame's trip, one round of questions (one request) and the
  process's exit, a few tens of milliseconds whatever `--interval` says, against
  hundreds with polling; a 10 s wait costs the stream plus a safety-net round every
  `--interval`. The stream reader (`events.py`, `sse.py`, `threading`, `queue`) costs
  about 4 ms to import after `requests` and is imported only when a wait watches.
- **Start-up (issue 22).** Every command started with importlib.metadata, to find the
  `ao.plugins` entry points: its import (email, zipfile, csv, pathlib, shutil ...) and
  its reading of every installed distribution's metadata were about half of
  `ao-status` on files. `ao_core/entrypoints.py` now walks the `sys.path` directories as
  importlib.metadata does and reads only the `entry_points.txt` files (first
  distribution of a name wins, as there), and the name and version of a distribution
  that offers the group; whatever it does not read the same way (a zip or egg on
  `sys.path`, a finder with distributions of its own, an odd header) goes to
  importlib.metadata. Nothing is cached: about 20 µs per installed distribution, so a
  plugin installed or uninstalled a moment ago is found or forgotten at once. Then what
  a command on files does not use is no longer imported: pathlib (`Config` keeps its
  directories as strings and makes the Paths on first use), shutil (argparse's help
  formatter asked for the terminal's width for every option added), `math`, the
  tracer, the shapes of `--json` answers, and the compiled escaping pattern (about
  1 ms to compile, needed only by text with control characters). `Config`, `Setting`,
  `Hook`, `Backend` and `Context` are frozen records (`ao_core/records.py`) instead of
  dataclasses, whose decorator compiles each class's methods at start-up; `Session`
  stays the dataclass docs/plugins.md promises plugin authors.
- **What start-up costs now.** Instructions executed (valgrind, deterministic whatever
  the load; `ao-status architect` on the examples, `BACKENDS=file`, from a wheel install
  with the test extra): `python -c pass` 38 M; `import pluggy` 127 M; the bare floor
  136 M; the floor with importlib.metadata 257 M; `ao-status` 311 M in 0.1 (before
  issue 22), 223 M once the driving commands, `ao-logs` and the hardening were merged
  onto issue 22's work, 196 M now (1.44 times the bare floor). The last 27 M: the records
  of the optional hooks (`Turn`, `Details`, `Blueprint`, `Event`, `EventLog`: five
  dataclasses, 3.3 ms) are imported when first used, the escaping patterns compiled on
  first need, and `Problem` is a frozen record. Over the bare floor's 136 M, by
  `-X importtime` and cProfile: argparse with gettext and `locale` (imported by argparse
  itself) and building and running the parser, about 15 M; `dataclasses` and `Session`
  (kept a dataclass: plugins may `dataclasses.replace` it), about 6 M; 22 modules of ours
  (finding, reading and running each, their exception classes, settings and hook
  declarations), about 13 M; pluggy's plugin manager and registering the guarded file
  backend, 5 M; the entry-point scan 1.4 M; the regular expressions the standard library
  compiles for argparse, gettext, dataclasses and json; and the cyclic garbage
  collector's passes over what the imports create, about 8 M (measured with it disabled;
  not touched: a process-wide switch for 2 %). Via the API `requests` imports most of
  what importlib.metadata did anyway (`http.client` imports email; urllib3 2's `http2`
  module imports importlib.metadata itself), so there only the scan of every
  distribution's metadata is saved: a few milliseconds, inside the spread of a run on
  this shared machine (see the min–max above).
- **Against `python -c pass` and the floors.** Wall times on this machine (the table
  above): `python -c pass` about 11 to 13 ms, the bare floor 32 to 39 ms, `ao-status`
  49 to 60 ms. The bare floor alone is 3 times `python -c pass` (pluggy's import is
  most of it: inspect, typing, ast, dis), so 4 times the interpreter would leave about
  10 ms for argparse, our modules and registering a backend, which cost about 15 ms.
  1.3 times the bare floor would need 177 M instructions, 19 M fewer than now: argparse
  (kept: the man pages are made from the parsers), one module per job (kept) and
  `Session` as a dataclass (kept) are most of what is left.
- **The 5 MB rows.** A 5 MB last line costs the same work as before (instructions: 1 M
  to read it, 6 M to decode it, 53 M for `json.loads`; for `ao-get-result` 48 M more to
  check and write the answer), but start-up is cheaper, so the same milliseconds weigh
  more against the 20 B run: the ratio rose with the saving, though nothing in the 5 MB
  path changed.
"""


def kept_load_section(path: Path) -> str:
    """Every section another harness put in the report between its own markers
    (``<!-- NAME:begin -->`` ... ``<!-- NAME:end -->``: ``bench/load.py``,
    ``bench/hostile.py``, ``bench/turns.py``, ``bench/mcp_bench.py``, ``bench/logs_tail.py``'s
    table), kept in their order across a rewrite."""
    old = path.read_text() if path.exists() else ""
    found = re.finditer(r"<!-- ([\w-]+):begin -->.*?<!-- \1:end -->", old, re.DOTALL)
    return "".join("\n" + section.group(0) + "\n" for section in found)


def render(report, sizes: Sizes) -> str:
    rows, checks, facts, compared, failures = report
    lines = [
        "# Benchmarks",
        "",
        f"Machine: {machine()}.  ",
        f"Date: {datetime.date.today().isoformat()}.  ",
        f"Runs: {sizes.runs} per case after {sizes.warmup} warm-up, interleaved; wall times "
        "are whole processes (the installed console scripts), output to /dev/null.",
        "",
        "| scenario | ours: median (min–max) | baseline | baseline median | ratio | target "
        "| pass |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {spread(r.ours)} | {r.base_label} | {ms(r.base.median)} "
            f"| {r.ratio:.2f} | ≤ {r.limit:g} | {'pass' if r.ratio <= r.limit else 'FAIL'} |"
        )
    lines += ["", "| check | measured | target | pass |", "|---|---|---|---|"]
    lines += [f"| {c} | {m} | {t} | {'pass' if ok else 'FAIL'} |" for c, m, t, ok in checks]
    lines += ["", "| `--wait` | measured | note |", "|---|---|---|"]
    lines += [f"| {f} | {m} | {n} |" for f, m, n in facts]
    if compared:
        lines += [
            "",
            "Against `--before` (the same command lines, another install's console scripts, "
            "interleaved in this run):",
            "",
            "| scenario | before: median | now: median | saved |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {scenario} | {ms(old.median)} | {ms(new.median)} | {ms(old.median - new.median)} |"
            for scenario, new, old in compared
        ]
    verdict = "every target passes" if not failures else "FAILED: " + "; ".join(failures)
    lines += ["", f"Result: {verdict}.", "", NOTES]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
