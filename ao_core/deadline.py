"""The deadline of the wait under way, which every blocking call inside it must respect.

``--wait --timeout 2`` bounds the whole command, HTTP included: a backend that is about
to block (a request, a stream read) asks :func:`remaining` for how long it may, and
never waits longer than that. Outside a wait there is no deadline.

The deadline is a context variable, not a global: ``ao mcp`` runs several waits at once,
each on a worker thread of its own, and each must see only its own deadline. A hook a
wait hands to a backend's thread (:mod:`ao_core.runner`) runs in a copy of the waiter's
context, so it sees the waiter's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threading import Event

#: When the wait under way must end (``time.monotonic()``), or None outside a wait.
_at: ContextVar[float | None] = ContextVar("ao_deadline", default=None)
#: Set once the waits of this context must end now (``ao mcp``: the call was cancelled).
_stop: ContextVar[Event | None] = ContextVar("ao_stop", default=None)


class Stopped(Exception):
    """The wait was told to stop (its caller went away): it ends now, unanswered."""


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Set the deadline ``seconds`` from now for the block (an outer, earlier one wins)."""
    previous = _at.get()
    at = time.monotonic() + seconds
    token = _at.set(at if previous is None else min(previous, at))
    try:
        yield
    finally:
        _at.reset(token)


@contextmanager
def stoppable(stop: Event) -> Iterator[None]:
    """Let ``stop`` end the waits of the block at once: their pauses wake and raise
    :class:`Stopped`, and a blocking call asks :func:`remaining` for no more time."""
    token = _stop.set(stop)
    try:
        yield
    finally:
        _stop.reset(token)


def pause(seconds: float) -> None:
    """Sleep ``seconds`` between a wait's rounds; raises :class:`Stopped` as soon as the
    wait is told to stop (:func:`stoppable`)."""
    stop = _stop.get()
    if stop is None:
        time.sleep(seconds)
    elif stop.wait(seconds):
        raise Stopped


def active() -> bool:
    """Whether a wait's deadline is set now."""
    return _at.get() is not None


def remaining(limit: float) -> float:
    """How long a call may block now: ``limit``, or less when the deadline is nearer (>= 0)."""
    stop = _stop.get()
    if stop is not None and stop.is_set():
        return 0.0
    at = _at.get()
    if at is None:
        return limit
    return max(0.0, min(limit, at - time.monotonic()))
