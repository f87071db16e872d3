"""The peak memory of a command, measured from outside: it runs as the child of a small
Python process, which reads ``getrusage(RUSAGE_CHILDREN)`` once it has ended."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

#: The most memory any command may reach, whatever a server, plugin or file gives it (MiB).
BOUND_MIB = 200

_SHIM = (
    "import json, resource, subprocess, sys\n"
    "proc = subprocess.run(sys.argv[2:], capture_output=True, timeout=float(sys.argv[1]))\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "sys.stdout.write(json.dumps([peak, proc.returncode, proc.stdout.decode('utf-8', 'replace'),"
    " proc.stderr.decode('utf-8', 'replace')]))\n"
)


@dataclass
class Measured:
    """What one command did, and the most memory it held."""

    peak_mib: float
    status: int
    out: str
    err: str


def measure(argv: list[str], env: dict[str, str], timeout: float = 120) -> Measured:
    """Run ``argv`` with ``env``; its peak resident memory (MiB), exit status and output."""
    done = subprocess.run(
        [sys.executable, "-c", _SHIM, str(timeout), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout + 30,
    )
    assert done.returncode == 0, done.stderr
    peak, status, out, err = json.loads(done.stdout)
    return Measured(peak / 1024, status, out, err)
