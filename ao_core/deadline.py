"""The deadline of the wait under way, which every blocking call inside it must respect.

``--wait --timeout 2`` bounds the whole command, HTTP included: a backend that is about
to block (a request, a stream read) asks :func:`remaining` for how long it may, and
never waits longer than that. Outside a wait there is no deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class _Current:
    at: float | None = None


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Set the deadline ``seconds`` from now for the block (an outer, earlier one wins)."""
    previous = _Current.at
    at = time.monotonic() + seconds
    _Current.at = at if previous is None else min(previous, at)
    try:
        yield
    finally:
        _Current.at = previous


def active() -> bool:
    """Whether a wait's deadline is set now."""
    return _Current.at is not None


def remaining(limit: float) -> float:
    """How long a call may block now: ``limit``, or less when the deadline is nearer (>= 0)."""
    if _Current.at is None:
        return limit
    return max(0.0, min(limit, _Current.at - time.monotonic()))
