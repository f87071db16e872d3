"""Finding backends, putting them in order and registering them with pluggy.

Built-in backends are named here by module and attribute so that an unselected one is never
imported; third-party backends come from the ``ao.plugins`` entry-point group, the
entry-point name being the backend's name. An entry point may name a module or a
class; a class is instantiated once per command, so it can keep per-command state.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points

import pluggy

from ao_core import console, hookspecs
from ao_core.config import Config
from ao_core.errors import UsageError
from ao_core.version import DISTRIBUTION, __version__

ENTRY_POINT_GROUP = "ao.plugins"
FIRST, LAST = "api", "file"
#: Built-in backends: name -> "module:attribute". Asked first (api) and last (file).
BUILTIN_BACKENDS = {
    "api": "ao_plugins.api:ApiBackend",
    "file": "ao_plugins.file:FileBackend",
}


@dataclass(frozen=True)
class Backend:
    """A backend that can be loaded: its name, where it comes from, how to load it."""

    name: str
    distribution: str | None
    version: str | None
    load: Callable[[], object]
    builtin: bool = False


def available_backends() -> dict[str, Backend]:
    """Every backend installed: the built-ins plus the ``ao.plugins`` entry points."""
    found = {
        name: Backend(name, DISTRIBUTION, __version__, _loader(target), builtin=True)
        for name, target in BUILTIN_BACKENDS.items()
    }
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        if ep.name in found:
            console.warn(f"plugin {ep.name!r} from {_dist_name(dist)} ignored: name already taken")
            continue
        found[ep.name] = Backend(ep.name, _dist_name(dist), dist.version if dist else None, ep.load)
    return found


def default_order(names: Iterable[str]) -> list[str]:
    """``api`` first, then third-party backends sorted by name, then ``file``."""
    names = set(names)
    middle = sorted(names - {FIRST, LAST})
    return [n for n in [FIRST] if n in names] + middle + [n for n in [LAST] if n in names]


def call_order(config: Config, available: Iterable[str]) -> list[str]:
    """The backends to ask, in order: ``config.backends`` if set, else the default.

    Raises :class:`UsageError` when the configured order names a backend that is not
    installed.
    """
    available = list(available)
    if config.backends is None:
        return default_order(available)
    unknown = [name for name in config.backends if name not in available]
    if unknown:
        known = ", ".join(default_order(available)) or "none"
        raise UsageError(f"Unknown backend {', '.join(map(repr, unknown))} (installed: {known})")
    return list(config.backends)


def get_plugin_manager(config: Config) -> pluggy.PluginManager:
    """A plugin manager holding the configured backends, to be asked in call order.

    A backend that fails to load is reported with one warning and left out.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    backends = available_backends()
    # pluggy calls the most recently registered implementation first.
    for name in reversed(call_order(config, backends)):
        _register(pm, backends[name])
    return pm


def _register(pm: pluggy.PluginManager, backend: Backend) -> None:
    try:
        plugin = backend.load()
        pm.register(plugin() if isinstance(plugin, type) else plugin, name=backend.name)
    except Exception as exc:  # a broken plugin must not take the command down
        origin = "" if backend.builtin else f" (from {backend.distribution})"
        console.warn(f"backend {backend.name!r}{origin} failed to load: {exc}")


def _loader(target: str) -> Callable[[], object]:
    module, _, attribute = target.partition(":")
    return lambda: getattr(importlib.import_module(module), attribute)


def _dist_name(dist: object) -> str:
    metadata = getattr(dist, "metadata", None)
    return metadata["Name"] if metadata is not None else "an unknown distribution"
