"""The plugin manager: finding backends, putting them in order, loading them into pluggy.

Built-in backends are named here by module and attribute so that an unselected one is never
imported; third-party backends come from the ``ao.plugins`` entry-point group (found by
:mod:`ao_core.entrypoints`, as importlib.metadata finds them but without its start-up
cost), the entry-point name being the backend's name. An entry point may name a module or a
class; a class is instantiated once per command, so it can keep per-command state.

The call order is decided here and only here (:func:`default_order`, described in words
by :data:`ORDER_TEXT` for the help, the man pages and docs/configuration.md).

Every command starts here, so what only some need is imported where it is used: the
tracer (:mod:`ao_core.tracing`) when a trace is asked for, ``difflib`` when a hook name
is misspelt.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping

import pluggy

from ao_core import console, hookspecs
from ao_core.config import CORE_SETTINGS, Config
from ao_core.entrypoints import entry_points
from ao_core.errors import UnknownHook, UsageError
from ao_core.frozen import Record
from ao_core.guard import GuardedBackend
from ao_core.problems import NOT_LOADED, Problem, Problems
from ao_core.settings import Setting, declared
from ao_core.text import describe
from ao_core.version import DISTRIBUTION, __version__

ENTRY_POINT_GROUP = "ao.plugins"
#: The backend asked first and the one asked last; third-party backends go between them.
FIRST, LAST = "api", "file"
#: The default order in words, for help texts, man pages and docs/configuration.md.
ORDER_TEXT = f"{FIRST}, then third-party backends sorted by name, then {LAST}"
#: Built-in backends: name -> "module:attribute". Asked first (api) and last (file).
BUILTIN_BACKENDS = {
    "api": "ao_plugins.api:ApiBackend",
    "file": "ao_plugins.file:FileBackend",
}


class Backend(Record):
    """A backend that can be loaded: its name, where it comes from, how to load it."""

    __slots__ = ("name", "distribution", "version", "load", "builtin")

    name: str
    distribution: str | None
    version: str | None
    load: Callable[[], object]
    builtin: bool

    def __init__(
        self,
        name: str,
        distribution: str | None,
        version: str | None,
        load: Callable[[], object],
        builtin: bool = False,
    ) -> None:
        self._init(
            name=name, distribution=distribution, version=version, load=load, builtin=builtin
        )

    @property
    def origin(self) -> str:
        """Where the backend comes from, for messages: ``built-in`` or ``from DIST VERSION``."""
        if self.builtin:
            return "built-in"
        return f"from {' '.join(filter(None, [self.distribution, self.version]))}"


def available_backends() -> dict[str, Backend]:
    """Every backend installed: the built-ins plus the ``ao.plugins`` entry points."""
    found = {
        name: Backend(name, DISTRIBUTION, __version__, _loader(target), builtin=True)
        for name, target in BUILTIN_BACKENDS.items()
    }
    for ep in entry_points(ENTRY_POINT_GROUP):
        if ep.name in found:
            console.warn(f"plugin {ep.name!r} from {ep.distribution} ignored: name already taken")
            continue
        found[ep.name] = Backend(ep.name, ep.distribution, ep.version, ep.load)
    return found


def all_settings() -> list[Setting]:
    """Every setting the commands read: the core's, then each built-in backend's own
    (imported for it: for documentation, never on a command's path)."""
    from ao_core.waiting import WAIT_TIMEOUT

    found = [*CORE_SETTINGS[:2], WAIT_TIMEOUT, *CORE_SETTINGS[2:]]
    for target in BUILTIN_BACKENDS.values():
        found += declared(_loader(target)())
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


class BackendManager(pluggy.PluginManager):
    """pluggy's plugin manager, with the call order left to the configuration alone.

    A backend's ``tryfirst``/``trylast`` would let it jump the order the user chose, so
    they are ignored (through pluggy's documented ``parse_hookimpl_opts`` override point).
    ``problems`` holds the backends this command could not use, and why.
    """

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.problems = Problems()

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        if name in _OBJECT_NAMES and not _overrides(plugin, name):
            return None  # object's own (dir() lists ~25): a builtin never carries a marker
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None:
            return None
        return {**opts, "tryfirst": False, "trylast": False}


def get_plugin_manager(
    config: Config, available: Mapping[str, Backend] | None = None
) -> pluggy.PluginManager:
    """A plugin manager holding the configured backends, to be asked in call order.

    ``available`` defaults to every installed backend. A backend that fails to load is
    reported with one warning and left out; each one loaded is guarded (see
    :mod:`ao_core.guard`). With ``config.trace`` every hook call is traced to stderr.
    """
    pm = BackendManager()
    if config.trace:
        from ao_core import tracing

        tracing.install(pm)
    backends = available_backends() if available is None else available
    for backend, reason in load_backends(pm, call_order(config, backends), backends, config):
        if reason is not None:
            warning = f"backend {backend.name!r} ({backend.origin}) failed to load: {reason}"
            console.warn(warning)
            pm.problems.report(Problem(backend.name, NOT_LOADED, warning), None, lasting=True)
    return pm


def load_backends(
    pm: pluggy.PluginManager, names: list[str], available: Mapping[str, Backend], config: Config
) -> Iterator[tuple[Backend, str | None]]:
    """Load the backends ``names`` into ``pm``, to be asked in that order.

    Yields each backend with ``None``, or with why it failed to load (it is then left
    out). A broken plugin never takes the command down, whatever it raises (only the
    user's own Ctrl-C or SIGTERM goes through).
    """
    for name in reversed(names):  # pluggy calls the most recently registered first
        backend = available[name]
        try:
            add_backend(pm, backend, debug=config.debug)
        except BaseException as exc:
            from ao_core import interrupts

            if interrupts.from_user(exc):
                raise
            if config.debug:
                console.traceback(exc)
            yield backend, str(exc) if isinstance(exc, UnknownHook) else describe(exc)
        else:
            yield backend, None


def add_backend(pm: pluggy.PluginManager, backend: Backend, *, debug: bool = False) -> object:
    """Import ``backend``, instantiate it if it is a class, and register it guarded.

    A backend implementing a hook the contract does not have (a typo: it would never be
    asked) is refused through pluggy's ``check_pending``. Returns what was registered;
    raises whatever importing, instantiating or registering raised.
    """
    plugin = backend.load()
    instance = plugin() if isinstance(plugin, type) else plugin
    guarded = GuardedBackend(backend.name, instance, pm, debug=debug)
    pm.register(guarded, name=backend.name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError:
        unknown = sorted(c.name for c in pm.get_hookcallers(guarded) or () if not c.has_spec())
        pm.unregister(guarded)
        names = ", ".join(map(_with_suggestion, unknown))
        raise UnknownHook(f"{names}: not a hook") from None
    return guarded


def _with_suggestion(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, hookspecs.CONTRACT, n=1)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)


def _loader(target: str) -> Callable[[], object]:
    module, _, attribute = target.partition(":")
    return lambda: getattr(importlib.import_module(module), attribute)


#: What every object has from ``object`` itself.
_OBJECT_NAMES = frozenset(dir(object))


def _overrides(plugin: object, name: str) -> bool:
    """Whether ``plugin`` has ``name`` from anything but ``object``: its own ``__dict__``
    or a class of its type other than ``object`` (what is registered is a guarded
    backend; what it guards, an instance or a module).

    pluggy looks every name ``dir()`` gives up with :func:`inspect.getattr_static`, the
    greater part of registering a backend; object's own names cannot be hooks.
    """
    if isinstance(plugin, type):
        return True  # a class: its metaclass and its own MRO count; let pluggy look
    try:
        if name in object.__getattribute__(plugin, "__dict__"):
            return True
    except AttributeError:
        pass
    return any(name in vars(klass) for klass in type(plugin).__mro__ if klass is not object)
