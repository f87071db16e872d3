"""What ``ao-start`` and ``ao-resume`` do once a backend accepted their turn: return at
once (``--detach``), or wait for *that* turn to end and print what ``ao-get-result``
prints then.
"""

from __future__ import annotations

import argparse
from typing import Any

from ao_core import answers, console, results
from ao_core.cli import Context
from ao_core.errors import TimedOut
from ao_core.records import Turn
from ao_core.session import FAILED
from ao_core.text import printable


def finish(ctx: Context, args: argparse.Namespace, name: str, turn: Turn) -> int:
    """Print the outcome of ``turn`` of session ``name``; the exit status."""
    if args.detach:
        if args.json:
            console.emit(answers.json_text(detached(name, turn)))
        else:
            console.emit(printable(name))
        return 0
    state, timed_out = wait(ctx, name, turn, timeout=args.timeout, interval=args.interval)
    if timed_out:
        raise TimedOut(
            f"Session '{name}' is still {state} after --timeout; it goes on: "
            f"wait for it with ao-get-result {name} --wait",
            name=name,
        )
    answer = results.answer(ctx, name, turn.session, state, timed_out=False, as_json=args.json)
    console.emit_lines(answer, separator="")
    return 0


def detached(name: str, turn: Turn) -> dict[str, Any]:
    """``{"name", "run_id", "detached"}``: a turn started and not waited for."""
    return {"name": name, "run_id": turn.run_id, "detached": True}


def wait(
    ctx: Context, name: str, turn: Turn, *, timeout: float | None, interval: float | None
) -> tuple[str, bool]:
    """Wait for ``turn`` to end, within ``timeout`` seconds (None: the wait timeout
    setting); the status it got to, and True when the wait timed out (the turn goes on).

    Once it has ended the status is the session's, as the wait's last round just saw it;
    but a turn whose own run failed is ``failed`` with the run's reason, whatever the
    session shows by then (a runner's late report about an earlier stop can still turn
    it ``finished``).
    """
    statuses, timed_out = ctx.wait_for(
        [name],
        lambda: {name: (turn.session, ctx.turn_status(turn))},
        timeout=timeout,
        interval=interval,
    )
    if timed_out:
        return statuses[name][1], True
    if statuses[name][1] == FAILED:
        return statuses[name][1], False
    return ctx.session_status(turn.session), False
