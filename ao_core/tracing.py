"""AGENT_ORCHESTRATOR_TRACE=1: one line on stderr per hook call, saying who was asked and what
each backend answered.

pluggy's hook-call monitoring marks where a call starts and ends and which backends
implement the hook; the guards (:mod:`ao_core.guard`) report what each backend they stand
for did. Backends a firstresult call never reached are listed as not asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pluggy

from ao_core import console
from ao_core.session import Session


class Tracer:
    """Collects what each backend did during a hook call and prints it when the call ends."""

    def __init__(self) -> None:
        self._calls: list[list[tuple[str, str]]] = []

    def install(self, pm: pluggy.PluginManager) -> None:
        """Start tracing every hook call made through ``pm``."""
        pm.add_hookcall_monitoring(self.before, self.after)

    def record(self, backend: str, outcome: str) -> None:
        """Note what ``backend`` did in the hook call under way."""
        if self._calls:
            self._calls[-1].append((backend, outcome))

    def before(
        self, hook_name: str, hook_impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object]
    ) -> None:
        self._calls.append([])

    def after(
        self,
        outcome: object,
        hook_name: str,
        hook_impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, object],
    ) -> None:
        answers = self._calls.pop() if self._calls else []
        console.trace(trace_line(hook_name, kwargs, [i.plugin_name for i in hook_impls], answers))


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
        shown.append(f"{key}={value.name!r}" if isinstance(value, Session) else f"{key}={value!r}")
    return ", ".join(shown)
