"""The settings every command shares: CLI flag > environment variable > default.

Only what the core itself needs lives here: where the project and the backup files are,
which backends to ask, debugging and tracing. A backend's own settings (the ``api``
backend's URL, timeout and key, say) are declared and read by that backend through
:meth:`Config.get`, from the environment kept here.

pathlib is imported only when a backend asks for a directory as a Path (see
:class:`Config`): the commands start on every call, and it costs them more than the rest
of their settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from ao_core.errors import ConfigError, UsageError
from ao_core.frozen import Record
from ao_core.settings import Setting, is_on

if TYPE_CHECKING:
    from pathlib import Path

T = TypeVar("T")

SESSIONS_SUBDIR = os.path.join(".agent-orchestrator", "agent-sessions")

PROJECT_DIR = Setting(
    "AGENT_ORCHESTRATOR_PROJECT_DIR",
    None,
    "The project directory (as --project-dir). It must exist.",
    default_text="the current directory",
)
SESSIONS_DIR = Setting(
    "AGENT_ORCHESTRATOR_SESSIONS_DIR",
    None,
    "The sessions directory that holds the backup files (as --sessions-dir).",
    default_text=f"PROJECT_DIR/{SESSIONS_SUBDIR}",
)
BACKENDS = Setting(
    "AGENT_ORCHESTRATOR_BACKENDS",
    None,
    "Comma-separated backends to ask, in order (as --backends).",
    default_text="the default order (see DESCRIPTION)",
)
DEBUG = Setting(
    "AGENT_ORCHESTRATOR_DEBUG",
    False,
    "Set to 1, true, yes or on to print a traceback with an error.",
    parse=is_on,
    default_text="off",
)
TRACE = Setting(
    "AGENT_ORCHESTRATOR_TRACE",
    False,
    "Set to 1, true, yes or on to print, per hook call, which backends were asked and "
    "what each answered.",
    parse=is_on,
    default_text="off",
)
#: The settings of the core, in the order the man pages list them.
CORE_SETTINGS = (PROJECT_DIR, SESSIONS_DIR, BACKENDS, DEBUG, TRACE)


class Config(Record):
    """What every hook receives: the resolved core settings and the environment.

    ``project_dir`` and ``sessions_dir`` are :class:`pathlib.Path` objects, built on first
    use; ``project_path`` and ``sessions_path`` are the same directories as strings (what
    ``os.fspath`` gives), for a backend that would rather not import pathlib on every
    command (the ``file`` backend). ``backends`` is the backend order asked for
    (``None``: the default order). ``environ`` is where :meth:`get` reads the other
    settings; it is kept out of ``repr`` and of comparisons, so no secret in it reaches a
    log or a traceback. A Config cannot be changed once made.
    """

    __slots__ = ("project_path", "sessions_path", "backends", "debug", "trace", "environ", "_paths")
    _compared = ("project_dir", "sessions_dir", "backends", "debug", "trace")

    project_path: str
    sessions_path: str
    backends: tuple[str, ...] | None
    debug: bool
    trace: bool
    environ: Mapping[str, str]

    def __init__(
        self,
        *,
        project_dir: str | os.PathLike[str],
        sessions_dir: str | os.PathLike[str],
        backends: tuple[str, ...] | None = None,
        debug: bool = False,
        trace: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._init(
            project_path=os.fspath(project_dir),
            sessions_path=os.fspath(sessions_dir),
            backends=backends,
            debug=debug,
            trace=trace,
            environ={} if environ is None else environ,
            # Paths given are kept as given; strings become Paths on first use
            _paths=[None if isinstance(p, str) else p for p in (project_dir, sessions_dir)],
        )

    @property
    def project_dir(self) -> Path:
        """The project directory."""
        return self._path(0, self.project_path)

    @property
    def sessions_dir(self) -> Path:
        """The sessions directory, which holds the backup files."""
        return self._path(1, self.sessions_path)

    def _path(self, index: int, text: str) -> Path:
        path = self._paths[index]
        if path is None:
            from pathlib import Path

            path = self._paths[index] = Path(text)
        return path

    @classmethod
    def load(
        cls,
        *,
        project_dir: str | None = None,
        sessions_dir: str | None = None,
        backends: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Config:
        """Build a Config from CLI values (``None`` when not given) and the environment.

        Raises :class:`ConfigError` when the project directory does not exist.
        """
        env = dict(os.environ if environ is None else environ)
        project = _absolute(project_dir or env.get(PROJECT_DIR.variable) or _current_directory())
        if not os.path.isdir(project):
            what = "is not a directory" if os.path.exists(project) else "does not exist"
            raise ConfigError(f"Project directory {what}: {project}")
        sessions_value = sessions_dir or env.get(SESSIONS_DIR.variable)
        sessions = (
            _absolute(sessions_value) if sessions_value else os.path.join(project, SESSIONS_SUBDIR)
        )
        return cls(
            project_dir=project,
            sessions_dir=sessions,
            backends=parse_backends(backends, BACKENDS.variable, env),
            debug=DEBUG.read(env),
            trace=TRACE.read(env),
            environ=env,
        )

    def get(self, setting: Setting[T]) -> T:
        """The value of ``setting`` in this command's environment (its default if unset).

        Raises :class:`ConfigError` naming the variable when its value cannot be used.
        """
        return setting.read(self.environ)


def parse_backends(
    flag: str | None, variable: str = BACKENDS.variable, environ: Mapping[str, str] | None = None
) -> tuple[str, ...] | None:
    """``--backends`` (else the variable) as a tuple of names; unset or blank: ``None``.

    Raises :class:`UsageError` for a list with an empty name (``","``) or a name twice.
    """
    if flag is not None:
        value, source = flag, "--backends"
    else:
        value, source = (environ or {}).get(variable), variable
    if value is None or not value.strip():
        return None
    names = tuple(part.strip() for part in value.split(","))
    if not all(names):
        raise UsageError(f"{source}: empty backend name in {value!r}")
    if len(set(names)) != len(names):
        raise UsageError(f"{source}: backend named twice in {value!r}")
    return names


def _absolute(path: str) -> str:
    """``path`` made absolute against the current directory, which must still exist."""
    path = os.path.expanduser(path)
    if os.path.isabs(path):
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(_current_directory(), path))


def _current_directory() -> str:
    try:
        return os.getcwd()
    except OSError as exc:  # deleted under the command (or unreadable)
        raise ConfigError(
            f"The current directory cannot be used ({exc.strerror or exc}): "
            f"give --project-dir or set {PROJECT_DIR.variable}"
        ) from None
