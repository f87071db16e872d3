"""Shared fixtures: a backup-file directory, and the commands run in-process or installed."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from backup_files import BackupDir

from ao_core.commands import COMMANDS

pytest_plugins = ["server_fixtures", "runs_fixtures", "pty_waiter", "built_wheel"]

BIN_DIR = Path(sys.executable).parent


@dataclass
class Outcome:
    """What a command did: exit status, stdout, stderr."""

    status: int
    out: str
    err: str


def clean_environ(**extra: str) -> dict[str, str]:
    """The current environment without any AGENT_ORCHESTRATOR_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_ORCHESTRATOR_")}
    env.update(extra)
    return env


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per CPU (at most 8), since most tests wait on a server or a
    process rather than compute; more than that made timing-bound tests starve."""
    return min(8, 2 * (os.cpu_count() or 1))


@pytest.fixture
def backups(tmp_path: Path) -> BackupDir:
    """An empty sessions directory (tmp/project/.agent-orchestrator/agent-sessions)."""
    return BackupDir(tmp_path / "project" / ".agent-orchestrator" / "agent-sessions")


@pytest.fixture
def env(backups: BackupDir) -> dict[str, str]:
    """Settings for the commands: the backups' project, and only the file backend."""
    return {
        "AGENT_ORCHESTRATOR_PROJECT_DIR": str(backups.path.parent.parent),
        "AGENT_ORCHESTRATOR_BACKENDS": "file",
    }


@pytest.fixture
def script(env: dict[str, str], tmp_path: Path) -> Callable[..., Outcome]:
    """Run an installed console script, as a user would; ``env=`` adds settings."""

    def run(
        command: str,
        *args: str,
        extra_env: dict[str, str] | None = None,
        timeout: float = 60,
        input: str | None = None,
    ) -> Outcome:
        """``input``: piped to its standard input (else it reads /dev/null)."""
        exe = shutil.which(command, path=str(BIN_DIR)) or shutil.which(command)
        assert exe, f"{command} is not installed"
        proc = subprocess.run(
            [exe, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
            env=clean_environ(**{**env, **(extra_env or {})}),
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
        )
        return Outcome(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def call(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Outcome]:
    """Run a command's ``main()`` in this process; ``extra_env=`` adds settings."""

    def run(command: str, *args: str, extra_env: dict[str, str] | None = None) -> Outcome:
        for key in os.environ:
            if key.startswith("AGENT_ORCHESTRATOR_"):
                monkeypatch.delenv(key)
        for key, value in {**env, **(extra_env or {})}.items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        main = importlib.import_module(COMMANDS[command]).main
        try:
            status = main(list(args))
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Outcome(status, captured.out, captured.err)

    return run


@pytest.fixture(params=["in-process", "installed"])
def ao(request: pytest.FixtureRequest) -> Callable[..., Outcome]:
    """Each test using this runs twice: through ``main()`` and through the console script."""
    return request.getfixturevalue("call" if request.param == "in-process" else "script")
