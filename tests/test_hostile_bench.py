"""The hostile-answers harness (bench/hostile.py) runs, tiny, so it cannot rot; no timings
asserted, and its section survives a rewrite by bench/run.py's writer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # pytest -m 'not slow' leaves these out

ROOT = Path(__file__).resolve().parent.parent


def test_the_hostile_harness_runs_and_writes_its_section(tmp_path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nkept\n")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "hostile.py"),
            "--quick",
            "--write",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nkept\n")
    assert text.count("<!-- hostile:begin -->") == 1
    for row in ("`ao-list-sessions --json`", "`ao-get-result`", "event stream", "never returns"):
        assert row in text, row
