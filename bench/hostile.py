"""Peak memory and wall time of the commands under the hostile answers of issue 19.

Each case runs an installed command against a hostile server, file or plugin of the test
suite's own (``tests/hostile_server.py``, ``tests/plugin_dir.py``), as the child of a
small process that reads its peak resident memory, and times it. ``--write`` puts the
table into BENCHMARKS.md between ``<!-- hostile:begin -->`` and ``<!-- hostile:end -->``
(``bench/run.py`` keeps the section when it rewrites the file). ``--quick`` runs every
case at tiny sizes, so the harness cannot rot (the suite does).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import load  # noqa: E402
from hostile_server import (  # noqa: E402
    HostileServer,
    Request,
    answer,
    coordinator_session,
    delayed,
    endless_chunk,
    event_stream,
    frame,
    gzip_bomb,
)
from peak_memory import measure  # noqa: E402
from plugin_dir import install  # noqa: E402

from ao_plugins.api.client import MAX_JSON_VALUES, MAX_RESPONSE_BYTES  # noqa: E402

BIN = Path(sys.executable).parent
BEGIN, END = "<!-- hostile:begin -->", "<!-- hostile:end -->"
SID = "ses_0123456789ab"


def env_for(url: str, project: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_ORCHESTRATOR_")}
    env.update(
        AGENT_ORCHESTRATOR_PROJECT_DIR=str(project),
        AGENT_ORCHESTRATOR_BACKENDS="",
        AGENT_ORCHESTRATOR_SESSION_MANAGER_URL=url,
        **extra,
    )
    return env


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str, str]:
    """Peak MiB, seconds, exit status, stdout and stderr of one installed command."""
    started = time.monotonic()
    done = measure([str(BIN / argv[0]), *argv[1:]], env, timeout=600)
    return done.peak_mib, time.monotonic() - started, done.status, done.out, done.err


def listing(count: int, width: int) -> bytes:
    entries = b",".join(b'{"session_id":"%s"}' % (b"%0*d" % (width, i)) for i in range(count))
    return b'{"sessions":[' + entries + b"]}"


def cases(quick: bool) -> Iterator[tuple[str, Callable[[Path], tuple]]]:
    """(what, run it in a project directory) for each case."""
    scale = 100 if quick else 1
    size = MAX_RESPONSE_BYTES // scale
    values = MAX_JSON_VALUES // scale
    slow_ok = {"AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT": "60"}

    def served(routes, argv, **extra):
        def go(project: Path):
            with HostileServer() as server:
                for method, path, behaviour in routes:
                    server.route(method, path, behaviour)
                figures = run(argv, env_for(server.url, project, **{**slow_ok, **extra}))
                return (*figures, len(server.requests))

        return go

    sessions = (330_000 // scale, 80)
    body = listing(*sessions)
    for flags in ([], ["--json"]):
        yield (
            f"`ao-list-sessions {' '.join(flags)}`".replace(" `", "`")
            + f": {sessions[0]:,} sessions in {len(body) >> 20} MiB, "
            f"{sum(body.count(c) for c in b',:{['):,} JSON values",
            served([("GET", "/sessions", answer(body))], ["ao-list-sessions", *flags]),
        )
    strings = b",".join(b'"%030d"' % i for i in range(values - 10))
    results = {
        f"a result text of {size >> 20} MiB": b'{"result_text": "' + b"x" * (size - 100) + b'"}',
        f"a result of {(size - 100) // 6:,} escapes": b'{"result_text": "'
        + b"\\u001b" * ((size - 100) // 6)
        + b'"}',
        f"a structured result of {values - 10:,} strings": b'{"result_data": [' + strings + b"]}",
    }
    lookup = ("GET", f"/sessions/{SID}", answer(coordinator_session(SID, "finished")))
    for what, result in results.items():
        for flags in ([], ["--json"]):
            routes = [lookup, ("GET", f"/sessions/{SID}/result", answer(result))]
            yield (
                f"`ao-get-result {' '.join(flags)}`".replace(" `", "`") + f": {what}",
                served(routes, ["ao-get-result", SID, *flags]),
            )
    absurd = {"sessions": [{"session_id": "%" * ((24 << 20) // scale), "session_name": "x"}]}
    yield (
        f"`ao-list-sessions`: a session id of {(24 << 20) // scale >> 20} MiB of `%`",
        served([("GET", "/sessions", answer(absurd))], ["ao-list-sessions"]),
    )
    yield (
        "`ao-list-sessions`: a gzip bomb of 4 GiB",
        served([("GET", "/sessions", gzip_bomb((4 << 30) // scale))], ["ao-list-sessions"]),
    )

    running = ("GET", f"/sessions/{SID}", answer(coordinator_session(SID, "running")))
    wait = ["ao-status", SID, "--wait", "--timeout", "4", "--interval", "0.5"]

    def init(request: Request) -> Iterator[bytes]:
        yield frame("init", {"sessions": [{"session_id": SID, "status": "running"}]})

    def never_ends(request: Request) -> Iterator[bytes]:
        yield from init(request)
        line = b"data: " + b"x" * 65536 + b"\n"
        while not request.closed.is_set():
            yield line

    def tiny(count: int):
        def pieces(request: Request) -> Iterator[bytes]:
            yield from init(request)
            data = b"[" + b"0," * (count - 1) + b"0]"
            while not request.closed.is_set():
                yield frame("session_updated", data)

        return pieces

    def missing(request: Request) -> Iterator[bytes]:
        yield frame("init", {"sessions": []})

    streams = {
        "a frame that never ends": event_stream(never_ends),
        "one chunk of 2 GiB without a newline": endless_chunk(),
        f"frames of {MAX_JSON_VALUES + 1:,} JSON values": event_stream(tiny(MAX_JSON_VALUES + 1)),
        f"frames of {MAX_JSON_VALUES - 10:,} JSON values, one after another": event_stream(
            tiny(MAX_JSON_VALUES - 10)
        ),
        "an init without the session (before: 5,447 requests in 10 s)": event_stream(missing),
    }
    for what, behaviour in streams.items():
        yield (
            f"`ao-status ID --wait --timeout 4`, event stream: {what}",
            served([running, ("GET", "/sse/sessions", behaviour)], wait),
        )
    yield (
        "`ao-status ID --wait --timeout 2` against a server answering in 0.4 s",
        served(
            [("GET", f"/sessions/{SID}", delayed(answer(coordinator_session(SID)), 0.4))],
            ["ao-status", SID, "--wait", "--timeout", "2", "--interval", "0.2"],
            AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT="5",
        ),
    )

    def stuck_plugin(project: Path):
        source = (
            "import time\nfrom ao_core import Session, hookimpl\n\n"
            "class Backend:\n"
            "    @hookimpl\n    def resolve_session(self, name, config):\n"
            "        while True:\n            try:\n                time.sleep(3600)\n"
            "            except BaseException:\n                pass\n"
        )
        env = env_for("http://127.0.0.1:9", project)
        env["AGENT_ORCHESTRATOR_BACKENDS"] = "stuck,file"
        env.update(install(project / "plugins", {"stuck": source}))
        argv = ["ao-status", "alpha", "--wait", "--timeout", "2"]
        return (*run(argv, env), 0)

    yield "`ao-status --wait --timeout 2` with a plugin whose hook never returns", stuck_plugin


def measure_all(quick: bool) -> list[tuple[str, float, float, int, int]]:
    rows = []
    for what, go in cases(quick):
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp)
            sessions = project / ".agent-orchestrator" / "agent-sessions"
            sessions.mkdir(parents=True)
            (sessions / "alpha.meta.json").write_text(json.dumps({"session_id": "a"}))
            peak, seconds, status, _out, _err, requests = go(project)
        rows.append((what, peak, seconds, status, requests))
        print(f"{what}: {peak:.0f} MiB, {seconds:.2f} s, exit {status}, {requests} requests")
    return rows


def render(rows: list[tuple[str, float, float, int, int]], quick: bool) -> str:
    cpus = os.cpu_count()
    lines = [
        BEGIN,
        "## Hostile answers: peak memory and time (issue 19)",
        "",
        "`python bench/hostile.py --write`: each installed command against a hostile "
        "server or plugin of the suite's own, as the child of a process that reads its "
        "peak resident memory (`getrusage`). The bound for every one is 200 MiB. "
        f"Machine: {platform.system()} {platform.release()}, {cpus} CPUs, "
        f"Python {platform.python_version()}{' (quick: tiny sizes)' if quick else ''}.",
        "",
        "| case | peak memory | wall time | exit | requests |",
        "|---|---|---|---|---|",
    ]
    for what, peak, seconds, status, requests in rows:
        lines.append(f"| {what} | {peak:.0f} MiB | {seconds:.2f} s | {status} | {requests} |")
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the suite's run)")
    parser.add_argument("--write", action="store_true", help="write the table into --out")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    if shutil.which("ao-status", path=str(BIN)) is None:
        parser.error("install the project first: pip install -e '.[test]'")
    block = render(measure_all(args.quick), args.quick)
    print(block)
    if args.write:
        load.write(block, args.out, BEGIN, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
