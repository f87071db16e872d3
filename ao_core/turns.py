"""What ``ao-start`` and ``ao-resume`` do once a backend accepted their turn: return at
once (``--detach``), or wait for *that* turn to end and print what ``ao-get-result``
prints then.
"""

from __future__ import annotations

import argparse

from ao_core import answers, console, results
from ao_core.cli import Context
from ao_core.errors import TimedOut
from ao_core.records import Turn
from ao_core.text import printable


def finish(ctx: Context, args: argparse.Namespace, name: str, turn: Turn) -> int:
    """Print the outcome of ``turn`` of session ``name``; the exit status."""
    if args.detach:
        if args.json:
            console.emit(answers.json_text({"name": name, "run_id": turn.run_id, "detached": True}))
        else:
            console.emit(printable(name))
        return 0
    statuses, timed_out = ctx.wait_for(
        [name],
        lambda: {name: (turn.session, ctx.turn_status(turn))},
        timeout=args.timeout,
        interval=args.interval,
    )
    if timed_out:
        raise TimedOut(
            f"Session '{name}' is still {statuses[name][1]} after --timeout; it goes on: "
            f"wait for it with ao-get-result {name} --wait",
            name=name,
        )
    state = ctx.session_status(turn.session)  # in the wait's last round: what it just saw
    answer = results.answer(ctx, name, turn.session, state, timed_out=False, as_json=args.json)
    console.emit_lines(answer, separator="")
    return 0
