"""``--wait``: ask for sessions' statuses inside one process until they are no longer in
progress.

Each round asks the whole backend chain again (after the ``start_round`` hook) about
every name at once. Between rounds the loop either lets a backend watch the sessions
(the ``wait_for_change`` hook: an event stream answers the moment a session ends) or,
when no backend can, sleeps: pauses start short (:data:`FIRST_PAUSE`) and grow to at
most ``--interval``, so a session that ends soon is seen soon and a long one costs the
server little. While watching, a round is still asked at least every ``--interval`` in
case an event was missed, and a watch whose changes the rounds keep finding false gets
its rounds no sooner than the growing pauses would (a stream cannot make the loop spin).
The whole wait runs within :mod:`ao_core.deadline`, so no backend blocks past
``--timeout``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from ao_core import console, deadline
from ao_core.options import FIRST_PAUSE
from ao_core.session import IN_PROGRESS
from ao_core.settings import Setting, seconds

GROWTH = 1.5
#: How often the live line is redrawn while a backend watches.
TICK = 1.0

WAIT_TIMEOUT = Setting(
    "AGENT_ORCHESTRATOR_WAIT_TIMEOUT",
    600.0,
    "Seconds --wait waits before giving up with exit status 124, when --timeout is not "
    "given; 0 asks once.",
    parse=seconds(zero_ok=True),
)

T = TypeVar("T")
#: A round's answer: each name's status, with whatever else the caller keeps beside it.
Statuses = Mapping[str, tuple[T, str]]


class OutOfTime(Exception):
    """Raised by ``ask`` when its round was cut short by the deadline: the wait ends, timed
    out, with ``statuses`` (the last whole round's, as the asker decides)."""

    def __init__(self, statuses: Statuses) -> None:
        super().__init__("the deadline cut the round short")
        self.statuses = statuses


def settled(statuses: Statuses, *, any_one: bool = False) -> bool:
    """True when every session (or, with ``any_one``, at least one) is no longer in progress."""
    ended = [status not in IN_PROGRESS for _, status in statuses.values()]
    return any(ended) if any_one else all(ended)


def wait_until_settled(
    ask: Callable[[], Statuses],
    *,
    timeout: float,
    interval: float,
    any_one: bool = False,
    watch: Callable[[Statuses, float], bool | None] | None = None,
    progress: Callable[[Statuses, float], None] | None = None,
) -> tuple[Statuses, bool]:
    """Ask until :func:`settled`, or until ``timeout`` seconds have passed.

    ``watch(statuses, seconds)`` may block until a change (True), a quiet ``seconds``
    (False), or say it cannot watch (None). Returns the last round's statuses and
    whether the wait timed out (also when ``ask`` raised :class:`OutOfTime`).
    """
    try:
        return _wait(ask, timeout, interval, any_one, watch, progress)
    except OutOfTime as cut:
        return cut.statuses, True


def _wait(
    ask: Callable[[], Statuses],
    timeout: float,
    interval: float,
    any_one: bool,
    watch: Callable[[Statuses, float], bool | None] | None,
    progress: Callable[[Statuses, float], None] | None,
) -> tuple[Statuses, bool]:
    started = time.monotonic()
    with deadline.within(timeout):
        statuses = ask()
        asked = time.monotonic()
        pause = FIRST_PAUSE
        false_alarms, held = 0, 0.0
        while not settled(statuses, any_one=any_one):
            now = time.monotonic()
            remaining = started + timeout - now
            if remaining <= 0:
                return statuses, True
            if progress:
                progress(statuses, now - started)
            watched = min(remaining, max(0.0, asked + interval - now), TICK)
            changed = watch(statuses, watched) if watch else None
            if changed is None:
                deadline.pause(min(pause, remaining))
                pause = min(pause * GROWTH, interval)
            elif not changed:
                deadline.pause(max(0.0, now + watched - time.monotonic()))  # never spin
                if time.monotonic() < asked + interval:
                    continue
            else:
                deadline.pause(max(0.0, min(held, started + timeout) - time.monotonic()))
            before = statuses
            statuses = ask()
            asked = time.monotonic()
            if changed:  # a watch that keeps crying wolf: its rounds back off to --interval
                false_alarms = false_alarms + 1 if _same(before, statuses) else 0
                held = (
                    asked + min(interval, FIRST_PAUSE * GROWTH**false_alarms) if false_alarms else 0
                )
    return statuses, False


def _same(before: Statuses, after: Statuses) -> bool:
    """Whether two rounds saw every session in the same status."""
    return {n: str(s) for n, (_, s) in before.items()} == {n: str(s) for n, (_, s) in after.items()}


def live_terminal() -> bool:
    """Whether stderr can show a live line: a terminal, and ``TERM`` set and not ``dumb``.

    The line is redrawn with ``\\r`` and ``ESC[K``; a dumb terminal (an editor's shell
    buffer, ``TERM=dumb``) or one that names no type would show those codes as garbage.
    """
    return console.stderr_is_terminal() and os.environ.get("TERM", "") not in ("", "dumb")


def progress_line(names: list[str]) -> Callable[[Statuses, float], None] | None:
    """A live ``NAME: status, 12s`` line on stderr when it is a live terminal, else None."""
    if not live_terminal():
        return None

    def show(statuses: Statuses, elapsed: float) -> None:
        shown = ", ".join(f"{name}: {statuses[name][1]}" for name in names)
        console.live(f"{shown}, {elapsed:.0f}s")

    return show
