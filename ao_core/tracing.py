"""AGENT_ORCHESTRATOR_TRACE=1: one line on stderr per hook call, saying who was asked and what
each backend answered.

pluggy's hook-call monitoring marks where a call starts and ends and which backends
implement the hook; each backend's guard (:mod:`ao_core.guard`) keeps what that backend
answered. Backends a firstresult call never reached are listed as not asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pluggy

from ao_core import console
from ao_core.guard import Failed, Long
from ao_core.records import Blueprint, Turn
from ao_core.session import Session

#: Results longer than this are shortened in trace lines.
RESULT_PREVIEW = 40
_NOT_ASKED = object()


def install(pm: pluggy.PluginManager) -> None:
    """Trace every hook call made through ``pm`` from now on (one line each, on stderr)."""
    pm.add_hookcall_monitoring(_before, _after)


def _before(
    hook_name: str, hook_impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object]
) -> None:
    for impl in hook_impls:
        answers = getattr(impl.plugin, "answers", None)
        if isinstance(answers, dict):
            answers[hook_name] = _NOT_ASKED


def _after(
    outcome: object,
    hook_name: str,
    hook_impls: Sequence[pluggy.HookImpl],
    kwargs: Mapping[str, object],
) -> None:
    answers = []
    for impl in reversed(hook_impls):  # pluggy calls the last registered first
        answer = getattr(impl.plugin, "answers", {}).get(hook_name, _NOT_ASKED)
        if answer is not _NOT_ASKED:
            answers.append((impl.plugin_name, describe_answer(answer)))
    console.trace(trace_line(hook_name, kwargs, [i.plugin_name for i in hook_impls], answers))


def describe_answer(answer: object) -> str:
    """A few words on what a backend answered, for the trace line."""
    if isinstance(answer, Failed):
        return answer.raised
    if answer is None:
        return "none"
    if isinstance(answer, Session):
        return f"session {answer.session_id or 'without id'}"
    if isinstance(answer, Turn):
        return f"turn {answer.run_id or 'without run id'} of {answer.session.name}"
    if isinstance(answer, list):
        noun = "blueprint" if answer and isinstance(answer[0], Blueprint) else "session"
        return f"{len(answer)} {noun}{'' if len(answer) == 1 else 's'}"
    if isinstance(answer, dict):
        return f"{len(answer)} status{'' if len(answer) == 1 else 'es'}"
    if isinstance(answer, Long):
        return repr(answer.start[:RESULT_PREVIEW]) + f"... ({answer.length} chars)"
    if isinstance(answer, str) and len(answer) > RESULT_PREVIEW:
        return repr(answer[:RESULT_PREVIEW]) + f"... ({len(answer)} chars)"
    return repr(answer)


def trace_line(
    hook_name: str,
    kwargs: Mapping[str, object],
    registered: Sequence[str],
    answers: Sequence[tuple[str, str]],
) -> str:
    """``hook(args): a -> none, b -> 'finished'; not asked: c`` (backends in call order).

    ``registered`` is in pluggy's registration order; pluggy calls the last one first.
    """
    call = f"{hook_name}({_arguments(kwargs)})"
    if not registered:
        return f"{call}: no backend implements it"
    asked = {backend for backend, _ in answers}
    parts = [f"{backend} -> {outcome}" for backend, outcome in answers]
    line = f"{call}: {', '.join(parts) if parts else 'nobody asked'}"
    skipped = [name for name in reversed(registered) if name not in asked]
    return f"{line}; not asked: {', '.join(skipped)}" if skipped else line


def _arguments(kwargs: Mapping[str, object]) -> str:
    """The session a call is about; the config every hook gets is left out."""
    shown = []
    for key, value in kwargs.items():
        if key == "config":
            continue
        if isinstance(value, Turn):
            value = value.session
        shown.append(f"{key}={value.name!r}" if isinstance(value, Session) else f"{key}={value!r}")
    return ", ".join(shown)
