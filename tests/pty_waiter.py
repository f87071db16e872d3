"""An installed command running in the background with its stderr on a pseudo-terminal.

The live line of ``--wait`` only appears on a terminal; a test reads it to know that the
command is waiting before it changes the session. Also :func:`wait_until`, the bounded
wait on a condition the tests use instead of sleeping.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import BIN_DIR, clean_environ

DEADLINE = 20.0


#: The terminal type the pseudo-terminal claims, whatever the test run's own TERM (CI has none).
TERM = "xterm"


class Waiter:
    """One installed command started with ``env`` (a clean environment plus these settings).

    ``TERM`` is :data:`TERM` unless ``env`` sets it; a value of None removes the variable.
    """

    def __init__(self, env: dict[str, str | None], cwd: Path, *argv: str) -> None:
        self.master, slave = pty.openpty()
        settings = {"TERM": TERM, **env}
        environ = clean_environ(**{k: v for k, v in settings.items() if v is not None})
        for key in (k for k, v in settings.items() if v is None):
            environ.pop(key, None)
        self.proc = subprocess.Popen(
            [str(BIN_DIR / argv[0]), *argv[1:]],
            stdout=subprocess.PIPE,
            stderr=slave,
            cwd=cwd,
            env=environ,
            text=True,
        )
        os.close(slave)
        self.seen = b""

    def wait_for_stderr(self, text: str | None) -> None:
        """Read the terminal until ``text`` appears, or to its end when ``text`` is None."""
        deadline = time.monotonic() + DEADLINE
        while text is None or text.encode() not in self.seen:
            assert time.monotonic() < deadline, f"never saw {text!r} in {self.seen!r}"
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # Linux: the command exited and closed the terminal
                    chunk = b""
                if not chunk:
                    assert text is None, f"terminal closed before {text!r}: {self.seen!r}"
                    return
                self.seen += chunk

    def finish(self) -> tuple[int, str]:
        """Wait for the command to exit; its status and stdout (the terminal is read to its end)."""
        out, _ = self.proc.communicate(timeout=DEADLINE)
        self.wait_for_stderr(None)
        os.close(self.master)
        return self.proc.returncode, out


def wait_until(condition: Callable[[], object], what: str, deadline: float = DEADLINE) -> None:
    """Return once ``condition()`` is true; fail the test after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, f"gave up waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def waiter(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Waiter]]:
    """Start Waiters with the ``env`` settings plus ``extra_env``; killed at the end if alive."""
    started: list[Waiter] = []

    def start(*argv: str, extra_env: dict[str, str | None] | None = None) -> Waiter:
        started.append(Waiter({**env, **(extra_env or {})}, tmp_path, *argv))
        return started[-1]

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()
