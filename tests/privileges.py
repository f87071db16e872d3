"""Running a command that file permissions really stop, whether the suite runs as root or not.

As root, permission bits stop nothing: root holds CAP_DAC_OVERRIDE (and
CAP_DAC_READ_SEARCH, CAP_FOWNER). ``setpriv`` (util-linux) runs the command with those
capabilities removed from its bounding and inheritable sets, so a file with mode 000 is
as closed to it as to any user. Not as root, a plain ``chmod`` is enough. Either way a
probe checks that the prefix works; a test that needs it fails, never skips, when it does
not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

#: The capabilities that let a process read, search or delete regardless of permissions.
OVERRIDES = ("dac_override", "dac_read_search", "fowner")

_PROBE = """
import sys
try:
    open(sys.argv[1]).read()
except PermissionError:
    sys.exit(13)
"""


def without_overrides(scratch: Path) -> list[str]:
    """A command prefix under which permission bits are enforced (``[]`` when not root).

    ``scratch`` is a directory the probe may write a file in. Fails the calling test with
    what to install or why, when no such prefix exists here.
    """
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.fail(
                "running as root, these tests need setpriv (util-linux) to drop "
                "CAP_DAC_OVERRIDE: apt-get install util-linux"
            )
        drop = ",".join(f"-{cap}" for cap in OVERRIDES)
        prefix = [setpriv, "--inh-caps=-all", f"--bounding-set={drop}", "--"]
    else:
        prefix = []
    probe = scratch / "permission-probe"
    probe.write_text("secret")
    probe.chmod(0)
    try:
        proc = subprocess.run(
            [*prefix, sys.executable, "-c", _PROBE, str(probe)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        probe.unlink()
    if proc.returncode != 13:
        pytest.fail(
            f"cannot run a command that a mode-000 file stops ({' '.join(prefix) or 'chmod'}): "
            f"exit status {proc.returncode}, {proc.stderr.strip() or 'the file was read'}"
        )
    return prefix
