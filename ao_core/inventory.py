"""What ``ao-plugins`` reports: every installed backend, in effective call order.

This loads every backend, selected or not, to see which hooks it implements: acceptable
for a diagnostic command, never done by the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ao_core.config import Config
from ao_core.hookspecs import CONTRACT
from ao_core.manager import (
    Backend,
    BackendManager,
    available_backends,
    call_order,
    default_order,
    load_backends,
)


@dataclass(frozen=True)
class BackendReport:
    """One backend as ``ao-plugins`` shows it.

    ``position`` is its place in the call order (1 is asked first), ``None`` when the
    selection leaves it out. ``error`` is why it failed to load, if it did (a hook name
    that matches no hook of the contract is such a reason).
    """

    name: str
    position: int | None
    distribution: str | None
    version: str | None
    builtin: bool
    hooks: tuple[str, ...] = ()
    error: str | None = None

    @property
    def selected(self) -> bool:
        return self.position is not None

    @property
    def enabled(self) -> bool:
        """Asked by the commands: selected and loaded."""
        return self.selected and self.error is None


def survey(config: Config, available: Mapping[str, Backend] | None = None) -> list[BackendReport]:
    """Every installed backend (or those ``available``): the selected ones in call order,
    then the others.

    Raises :class:`~ao_core.errors.UsageError` when the selection names an unknown backend.
    """
    available = available_backends() if available is None else available
    order = call_order(config, available)
    rest = [name for name in default_order(available) if name not in order]
    pm = BackendManager()
    errors = dict(load_backends(pm, order + rest, available, config))
    reports = []
    for index, name in enumerate(order + rest):
        backend = available[name]
        guarded = pm.get_plugin(name)
        implemented = {caller.name for caller in pm.get_hookcallers(guarded) or ()}
        reports.append(
            BackendReport(
                name=name,
                position=index + 1 if index < len(order) else None,
                distribution=backend.distribution,
                version=backend.version,
                builtin=backend.builtin,
                hooks=tuple(hook for hook in CONTRACT if hook in implemented),
                error=errors[backend],
            )
        )
    return reports
