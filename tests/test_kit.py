"""The author kit itself: it passes a correct backend, catches sloppy ones, and stays optional."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import clean_environ

BACKENDS = '''
import pytest
from ao_core import Session, SessionFailed, hookimpl
from ao_core.testing import BackendContract


class MemoryBackend:
    """Sessions in a dict: name -> (session_id, status, result)."""

    def __init__(self, sessions):
        self.sessions = sessions

    def _find(self, name):
        return self.sessions.get(name)

    @hookimpl
    def resolve_session(self, name, config):
        found = self._find(name)
        return Session(name=name, session_id=found[0], backend="memory") if found else None

    @hookimpl
    def fetch_status(self, session, config):
        found = self._find(session.name)
        return found[1] if found else None

    @hookimpl
    def fetch_result(self, session, config):
        found = self._find(session.name)
        if found and found[1] == "failed":
            raise SessionFailed(found[2])
        return found[2] if found else None

    @hookimpl
    def list_sessions(self, config):
        return [Session(name=n, session_id=v[0]) for n, v in sorted(self.sessions.items())]

    @hookimpl
    def delete_session(self, session, config):
        return self.sessions.pop(session.name, None) is not None


class Sloppy(MemoryBackend):
    """Matches names by prefix, and gives a failed run's reason as if it were its result."""

    def _find(self, name):
        return next((v for n, v in self.sessions.items() if n.startswith(name)), None)

    @hookimpl
    def fetch_result(self, session, config):
        found = self._find(session.name)
        return found[2] if found else None


class Quiet(MemoryBackend):
    """None for a failed run (no reason known) and the optional start_round: both allowed."""

    @hookimpl
    def start_round(self):
        pass

    @hookimpl
    def fetch_result(self, session, config):
        found = self._find(session.name)
        return None if found is None or found[1] == "failed" else found[2]


class Store:
    def __init__(self, sessions):
        self.sessions = sessions

    def add_finished(self, name, result, session_id):
        self.sessions[name] = (session_id, "finished", result)

    def add_running(self, name, session_id):
        self.sessions[name] = (session_id, "running", None)

    def add_failed(self, name, reason):
        self.sessions[name] = ("sid-failed", "failed", reason)


class Memory(BackendContract):
    @pytest.fixture
    def sessions(self):
        return {}

    @pytest.fixture
    def store(self, sessions):
        return Store(sessions)

    @pytest.fixture
    def backend_name(self):
        return "memory"


class TestMemory(Memory):
    @pytest.fixture
    def backend(self, sessions):
        return MemoryBackend(sessions)


class TestSloppy(Memory):
    @pytest.fixture
    def backend(self, sessions):
        return Sloppy(sessions)


class TestQuiet(Memory):
    @pytest.fixture
    def backend(self, sessions):
        return Quiet(sessions)
'''


def run_kit(tmp_path: Path) -> tuple[str, set[str], set[str]]:
    (tmp_path / "test_memory.py").write_text(textwrap.dedent(BACKENDS))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rfE",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "test_memory.py",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_environ(),
        timeout=120,
    )
    failed = set(re.findall(r"^FAILED test_memory.py::(\w+::\w+)", proc.stdout, re.M))
    errors = set(re.findall(r"^ERROR test_memory.py::(\S+)", proc.stdout, re.M))
    return proc.stdout, failed, errors


def test_kit_passes_correct_backends_and_catches_a_sloppy_one(tmp_path) -> None:
    out, failed, errors = run_kit(tmp_path)
    assert errors == set(), out
    assert {name.split("::")[0] for name in failed} == {"TestSloppy"}, out
    assert {name.split("::")[1] for name in failed} == {
        "test_unknown_names_resolve_to_none",
        "test_failed_session_yields_no_result",
        "test_delete_removes_that_session_only",
    }, out
    assert re.search(r"\b3 failed, \d+ passed\b", out), out


def test_importing_ao_core_does_not_import_pytest(tmp_path) -> None:
    code = (
        "import sys\n"
        "import ao_core, ao_core.cli, ao_core.manager, ao_core.inventory, ao_plugins.file\n"
        "import ao_core.commands.status, ao_core.commands.plugins\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert (proc.returncode, proc.stdout) == (0, "[]\n"), proc.stderr
