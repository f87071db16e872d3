"""Signals during long work: SIGTERM ends the command quietly, like Ctrl-C does."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ao_core import console
from ao_core.errors import Terminated


@contextmanager
def quiet_termination() -> Iterator[None]:
    """Inside this block SIGTERM raises :class:`Terminated` (exit status 143, no traceback);
    a live line on stderr is cleared on the way out."""

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        console.end_live()


@contextmanager
def deferred_termination() -> Iterator[Callable[[], bool]]:
    """Inside this block SIGTERM is noted, not acted on: the block asks the function it is
    given between two steps and stops there, so no step is left half done. When the block
    ends after a SIGTERM, :class:`Terminated` is raised (exit status 143)."""
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        yield lambda: bool(received)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if received:
        raise Terminated
