"""The benchmark harness runs (tiny sizes, once) so it cannot rot; no timings asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # pytest -m 'not slow' leaves these out

ROOT = Path(__file__).resolve().parent.parent


#: Every row a run writes (at the ``--quick`` sizes).
ROWS = [
    "`ao-status` via API, 1 session",
    "`ao-status` on files, `BACKENDS=file`",
    "`ao-status` on files, `BACKENDS=file`, vs the interpreter | ",
    "`ao-status` on files, `BACKENDS=file`, vs the bare floor | ",
    "imported by `ao-status` on files: importlib.metadata, email, zipfile, csv, pathlib, "
    "shutil | none |",
    "`ao-get-result` on files",
    "`ao-list-sessions`, 20 sessions on files",
    "API refused, answered from files",
    "API hanging",
    "peak memory of `ao-status`",
    "`requests` imported with `BACKENDS=file` | no |",
    "`--wait`: delay from finish to return",
    "`--wait`: HTTP requests in a 1 s wait",
    "`ao-status ID` on the Agent Coordinator, 20 sessions vs 1",
    "event-stream reader imported by `ao-status ID` without `--wait` | no |",
    "`--wait` on the event stream: delay from change to return",
    "`--wait --interval 600` on the event stream",
    "`--wait` on the event stream: HTTP requests in a 1 s wait",
    "importing the event-stream reader",
    "`ao-list-sessions --long` vs without, 20 sessions on files",
    "`ao-list-sessions --long` vs without, 20 sessions on the Session Manager",
    "`ao-list-sessions --long` vs without, 20 sessions on the Agent Coordinator",
    "waiting for 10 sessions: HTTP requests per second of waiting",
]


def test_the_harness_writes_every_row_keeps_the_load_section_and_times_before(tmp_path):
    """One run (the harness is the suite's slowest test): every row written and printed,
    the old table replaced but the other harnesses' sections kept, and ``--before BIN``
    (here this very install) adding its table."""
    out = tmp_path / "BENCHMARKS.md"
    kept = (
        "<!-- load:begin -->\nload figures\n<!-- load:end -->\n\n"
        "<!-- mcp:begin -->\nmcp figures\n<!-- mcp:end -->\n"
    )
    out.write_text("old\n" + kept)
    bin_dir = Path(sys.executable).parent
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out),
         "--before", str(bin_dir)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    for row in ROWS:
        assert row in text, row
    assert "old\n" not in text
    assert text.endswith(kept)  # every harness's own section, in its order
    table = text.split("<!-- load:begin -->")[0].strip()
    assert table in proc.stdout  # the table is printed as well as written
    assert "| scenario | before: median | now: median | saved |" in text
    for row in ["`ao-status` via API, 1 session", "`ao-list-sessions`, 20 sessions on files"]:
        assert any(line.startswith(f"| {row} | ") for line in text.split("saved |")[1].splitlines())
    assert "| peak memory of `ao-status` against `--before` | " in text
