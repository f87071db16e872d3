"""``--wait``: ask for a session's status inside one process until it is no longer in progress.

Each poll goes through the same hook chain as a single call, preceded by the
``start_round`` hook. Pauses start short (:data:`FIRST_PAUSE`) and grow to at most
``--interval``, so a session that ends soon is seen soon and a long one costs the server
little: after a session ends, the command returns within the current pause plus one poll.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

from ao_core import console
from ao_core.session import IN_PROGRESS
from ao_core.settings import Setting, seconds

FIRST_PAUSE = 0.1
GROWTH = 1.5
DEFAULT_INTERVAL = 2.0
#: The shortest ``--interval``: polling faster than this only loads the server.
MIN_INTERVAL = FIRST_PAUSE

WAIT_TIMEOUT = Setting(
    "AGENT_ORCHESTRATOR_WAIT_TIMEOUT",
    600.0,
    "Seconds --wait waits before giving up with exit status 124, when --timeout is not "
    "given; 0 asks once.",
    parse=seconds(zero_ok=True),
)

T = TypeVar("T")


def wait_until_done(
    poll: Callable[[], tuple[T, str]],
    *,
    timeout: float,
    interval: float,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[T, str, bool]:
    """Call ``poll`` until its status is not in progress, or ``timeout`` seconds passed.

    Returns the last poll's value and status, and whether the wait timed out.
    """
    started = time.monotonic()
    pause = FIRST_PAUSE
    value, status = poll()
    while status in IN_PROGRESS:
        remaining = started + timeout - time.monotonic()
        if remaining <= 0:
            return value, status, True
        if progress:
            progress(status, time.monotonic() - started)
        time.sleep(min(pause, remaining))
        pause = min(pause * GROWTH, interval)
        value, status = poll()
    return value, status, False


def progress_line(name: str) -> Callable[[str, float], None] | None:
    """A live ``NAME: status, 12s`` line on stderr when it is a terminal, else None."""
    if not sys.stderr.isatty():
        return None

    def show(status: str, elapsed: float) -> None:
        console.live(f"{name}: {status}, {elapsed:.0f}s")

    return show
