"""The project's wheel, built once per test run: offline, from a copy of the source tree.

``pip wheel --no-deps --no-build-isolation --no-index`` with this environment's
setuptools (the test extra brings it), so nothing is downloaded and the working tree gets
no build/ directory.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clean_environ

ROOT = Path(__file__).resolve().parent.parent
COPY_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The path of the built wheel (``ao_sessions-VERSION-py3-none-any.whl``)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "-w", root / "dist", source],
        capture_output=True, text=True, timeout=300, env=clean_environ(PIP_NO_INPUT="1"),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (path,) = (root / "dist").glob("*.whl")
    return path
