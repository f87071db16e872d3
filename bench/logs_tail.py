"""``ao-logs NAME --tail N`` on a big backup log against a small one: whole processes of the
installed command, median of several runs, and the peak memory of the big one.

Run by hand from the environment where ao is installed:

    python bench/logs_tail.py                # a 1 GB log, prints the figures
    python bench/logs_tail.py --size-mb 50   # smaller

The log is generated in a temp dir (real JSON lines of about 200 bytes), so the figure
is the cost of reading backwards from the end, not of a sparse hole.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_session(directory: Path, name: str, size: int) -> None:
    (directory / f"{name}.meta.json").write_text(json.dumps({"session_name": name}) + "\n")
    line = json.dumps({"content": [{"text": "x" * 160}], "model": "m"}).encode() + b"\n"
    block = line * (1024 * 1024 // len(line))
    with open(directory / f"{name}.jsonl", "wb") as f:
        written = 0
        while written < size:
            f.write(block)
            written += len(block)
        f.write(json.dumps({"subtype": "success", "is_error": False, "result": "end"}).encode())
        f.write(b"\n")


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def read_tail(directory: Path, name: str, tail: int) -> float:
    """The read alone, in this process: the backend's reader from open to the last event."""
    from ao_plugins.file_log import LogReader

    started = time.perf_counter()
    events = list(LogReader(str(directory / f"{name}.jsonl"), name).history(tail))
    assert len(events) == tail
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--tail", type=int, default=5)
    args = parser.parse_args()
    exe = shutil.which("ao-logs", path=str(Path(sys.executable).parent)) or "ao-logs"
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_session(directory, "small", 10 * 1024)
        write_session(directory, "big", args.size_mb * 1024 * 1024)
        env = {
            **os.environ,
            "AGENT_ORCHESTRATOR_SESSIONS_DIR": tmp,
            "AGENT_ORCHESTRATOR_BACKENDS": "file",
        }
        rows, reads = {}, {}
        for name in ("small", "big"):
            reads[name] = statistics.median(
                read_tail(directory, name, args.tail) for _ in range(args.runs)
            )
            command = [exe, name, "--tail", str(args.tail)]
            timed(command, env)  # warm the page cache and the imports
            rows[name] = statistics.median(timed(command, env) for _ in range(args.runs))
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run([exe, "big", "--tail", str(args.tail)], env=env, stdout=subprocess.DEVNULL)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"log sizes: small 10 KiB, big {args.size_mb} MiB; --tail {args.tail}; {args.runs} runs")
    print(f"small: {rows['small'] * 1000:.0f} ms   big: {rows['big'] * 1000:.0f} ms")
    print(f"the read alone: small {reads['small'] * 1e6:.0f} us   big {reads['big'] * 1e6:.0f} us")
    print(f"peak RSS of a process (the largest so far): {max(before, peak) / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
