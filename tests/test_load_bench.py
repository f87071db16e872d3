"""The load harness (bench/load.py) runs, tiny, so it cannot rot; no timings asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # pytest -m 'not slow' leaves these out

ROOT = Path(__file__).resolve().parent.parent


def test_the_load_harness_runs_and_finds_no_wrong_answer(tmp_path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nkept\n")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--concurrency", "3", "--seconds", "1"]
        + ["--write", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nkept\n")
    assert "| **wrong answers** | **0** |" in text
    assert "| commands per second |" in text
    assert text.count("<!-- load:begin -->") == 1
