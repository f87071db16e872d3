"""``--wait``: ask for a session's status inside one process until it is no longer in progress.

Each poll goes through the same hook chain as a single call. Pauses start short
(:data:`FIRST_PAUSE`) and grow to at most ``--interval``, so a session that ends soon is
seen soon and a long one costs the server little: after a session ends, the command
returns within the current pause plus one poll.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from ao_core import console
from ao_core.errors import UsageError
from ao_core.session import IN_PROGRESS

FIRST_PAUSE = 0.1
GROWTH = 1.5
DEFAULT_INTERVAL = 2.0
#: Exit status when the wait timed out, as timeout(1) does.
TIMED_OUT = 124

T = TypeVar("T")


def add_wait_options(parser: argparse.ArgumentParser) -> None:
    """``--wait``, ``--timeout`` and ``--interval``, for commands that can wait."""
    parser.add_argument(
        "--wait",
        action="store_true",
        help="wait until the session is no longer pending, running or stopping",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up waiting after SECONDS and exit with status 124 (default: "
        "$AGENT_ORCHESTRATOR_WAIT_TIMEOUT, else 600; 0 asks once)",
    )
    parser.add_argument(
        "--interval",
        type=_seconds,
        metavar="SECONDS",
        help=f"longest pause between two polls (default: {DEFAULT_INTERVAL:g}); pauses start "
        f"at {FIRST_PAUSE:g} s and grow",
    )


def check_wait_options(args: argparse.Namespace) -> None:
    """``--timeout`` and ``--interval`` only make sense with ``--wait``."""
    if not args.wait:
        for option in ("timeout", "interval"):
            if getattr(args, option) is not None:
                raise UsageError(f"--{option} needs --wait")
    elif args.interval == 0:
        raise UsageError("--interval must be more than 0")


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


def live_terminal() -> bool:
    """Whether stderr can show a live line: a terminal, and ``TERM`` set and not ``dumb``.

    The line is redrawn with ``\\r`` and ``ESC[K``; a dumb terminal (an editor's shell
    buffer, ``TERM=dumb``) or one that names no type would show those codes as garbage.
    """
    return sys.stderr.isatty() and os.environ.get("TERM", "") not in ("", "dumb")


def progress_line(name: str) -> Callable[[str, float], None] | None:
    """A live ``NAME: status, 12s`` line on stderr when it is a live terminal, else None."""
    if not live_terminal():
        return None

    def show(status: str, elapsed: float) -> None:
        console.live(f"{name}: {status}, {elapsed:.0f}s")

    return show


@contextmanager
def quiet_interruptions() -> Iterator[None]:
    """During a wait, SIGTERM ends the command like Ctrl-C; the live line is cleared."""

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        console.end_live()


class Terminated(BaseException):
    """SIGTERM arrived during a wait; the command exits with status 143."""

    exit_status = 143


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise argparse.ArgumentTypeError(f"not a number of seconds >= 0: {value!r}")
    return seconds
