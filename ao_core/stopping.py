"""Stopping sessions and following them until they have really ended (``ao-stop``,
``ao-clean --stop``).

A stop is done when the session has ended. A session that comes back ``idle`` was not
stopped: a server may answer a stop during a turn it cannot interrupt and let the turn go
on (the Agent Coordinator does so during a resumed turn), so it is asked again once the
turn is over, up to :data:`ATTEMPTS` times, and otherwise reported as not stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ao_core.cli import Context
from ao_core.errors import AoError, NotExistent, Refused, TimedOut
from ao_core.session import IN_PROGRESS, Session

#: A status from which a session can still be stopped (in progress, or idle between turns).
STOPPABLE = IN_PROGRESS | {"idle"}
#: The statuses ``ao-clean --stop`` stops before deleting (a server refuses to delete them).
LIVE = frozenset({"running", "idle"})
#: How many times a session that comes back ``idle`` is asked to stop.
ATTEMPTS = 3


@dataclass(frozen=True)
class Outcome:
    """What became of one session: its last status, whether a stop was asked, the error."""

    status: str
    asked: bool
    error: AoError | None = None


def ask(ctx: Context, name: str) -> tuple[Session | None, Outcome]:
    """Ask the backends to stop ``name``: the session (None when it had already ended or
    cannot be stopped) and the outcome so far."""
    session, status = ctx.status_of(name)
    if session is None:
        unknown = NotExistent(f"Session '{name}' does not exist", name=name)
        return None, Outcome(status, False, unknown)
    if status not in STOPPABLE:
        return None, Outcome(status, False)
    if ctx.pm.hook.stop_session(session=session, config=ctx.config) is None:
        return None, Outcome(status, False, ctx.unsupported("stop sessions"))
    return session, Outcome("stopping", True)


def stop(ctx: Context, name: str, timeout: float | None = None) -> Outcome:
    """Stop one session and follow it until it has ended."""
    session, outcome = ask(ctx, name)
    if session is None:
        return outcome
    return follow(ctx, {name: session}, timeout)[name]


def follow(ctx: Context, asked: dict[str, Session], timeout: float | None) -> dict[str, Outcome]:
    """Wait until every session in ``asked`` has ended, within ``timeout`` seconds in all
    (None: the wait timeout setting), asking again one that came back idle."""
    from ao_core import waiting

    limit = ctx.config.get(waiting.WAIT_TIMEOUT) if timeout is None else timeout
    ends = time.monotonic() + limit
    done: dict[str, Outcome] = {}
    pending = dict(asked)
    for attempt in range(1, ATTEMPTS + 1):
        statuses, timed_out = ctx.wait_for(
            list(pending),
            lambda waiting_for=pending: {
                n: (s, ctx.session_status(s)) for n, s in waiting_for.items()
            },
            timeout=max(0.0, ends - time.monotonic()),
            interval=None,
        )
        for name, (session, status) in statuses.items():
            if timed_out and status in IN_PROGRESS:
                error = TimedOut(f"Session '{name}' is still {status} after --timeout", name=name)
                done[name] = Outcome(status, True, error)
            elif status != "idle":
                done[name] = Outcome(status, True)
            elif attempt == ATTEMPTS or time.monotonic() >= ends:
                error = Refused(
                    f"Session '{name}' is idle again: the server could not stop its running "
                    "turn (ask again with ao-stop)",
                    name=name,
                )
                done[name] = Outcome(status, True, error)
            elif ctx.pm.hook.stop_session(session=session, config=ctx.config) is None:
                done[name] = Outcome(status, True, ctx.unsupported("stop sessions"))
        pending = {n: s for n, s in pending.items() if n not in done}
        if not pending:
            break
    return done
