"""What ``ao-get-result`` prints for a session, shared by the commands that end with a
result (``ao-start`` and ``ao-resume`` print exactly the same once their turn is over).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ao_core import answers
from ao_core.cli import Context
from ao_core.errors import NoResult, NotExistent, SessionFailed, StillRunning, TimedOut
from ao_core.session import (
    FAILED,
    IN_PROGRESS,
    NOT_EXISTENT,
    RESULT_READY,
    Session,
)


def answer(
    ctx: Context, name: str, session: Session | None, state: str, *, timed_out: bool, as_json: bool
) -> Iterable[str]:
    """The answer to print for ``name`` whose settled status is ``state``, in pieces for
    :func:`ao_core.console.emit_lines` (``separator=""``), so a result of 64 MiB is never
    copied into a whole JSON document; raises the error ``ao-get-result`` ends with when
    there is no result (a failed session's reason included when the backend knows it)."""
    if not as_json:
        return [fetch(ctx, name, session, state, timed_out=timed_out)]
    return answers.json_members(document(ctx, name, session, state, timed_out=timed_out))


def fetch(ctx: Context, name: str, session: Session | None, state: str, *, timed_out: bool) -> str:
    """The result of ``name`` whose settled status is ``state``; raises the error
    ``ao-get-result`` ends with when there is none (a failed session's reason included when
    the backend knows it). ``timed_out``: the wait for it gave up (:class:`TimedOut`)."""
    if state == NOT_EXISTENT or session is None:
        raise NotExistent(f"Session '{name}' does not exist", name=name)
    if state in IN_PROGRESS:
        raise (TimedOut if timed_out else StillRunning).session(name)
    if state not in RESULT_READY and state != FAILED:
        raise NoResult(f"Session '{name}' has no result: its status is '{state}'", name=name)
    try:
        result = ctx.pm.hook.fetch_result(session=session, config=ctx.config)
    except SessionFailed as exc:
        exc.name = name
        raise
    if state == FAILED:
        reason = getattr(state, "reason", None)
        if reason:
            raise SessionFailed(f"Session '{name}' ended in error: {reason}", name=name)
        raise SessionFailed(f"Session '{name}' has no result: its status is '{state}'", name=name)
    if result is None:
        raise NoResult(f"Session '{name}' is {state} but has no result", name=name)
    return result


def document(
    ctx: Context, name: str, session: Session | None, state: str, *, timed_out: bool = False
) -> dict[str, Any]:
    """``{"name", "result"}`` (and ``unavailable``): the ``--json`` answer of
    ``ao-get-result`` and of the ``get_result`` tool, a structured result as its JSON
    value; raises as :func:`fetch` does. The result's text is let go once its value is
    made, so it is not held while the document is written."""
    value = answers.result_value(fetch(ctx, name, session, state, timed_out=timed_out), session)
    return answers.with_unavailable({"name": name, "result": value}, ctx.unavailable())
