"""The settings every command shares: CLI flag > environment variable > default.

Only what the core itself needs lives here: where the project and the backup files are,
which backends to ask, debugging and tracing. A backend's own settings (the ``api``
backend's URL, timeout and key, say) are declared and read by that backend through
:meth:`Config.get`, from the environment kept here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ao_core.errors import ConfigError, UsageError
from ao_core.settings import Setting, is_on

T = TypeVar("T")

SESSIONS_SUBDIR = Path(".agent-orchestrator") / "agent-sessions"

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


@dataclass(frozen=True, kw_only=True)
class Config:
    """What every hook receives: the resolved core settings and the environment.

    ``backends`` is the backend order asked for (``None``: the default order).
    ``environ`` is where :meth:`get` reads the other settings; it is kept out of
    ``repr`` so no secret in it reaches a log or a traceback.
    """

    project_dir: Path
    sessions_dir: Path
    backends: tuple[str, ...] | None = None
    debug: bool = False
    trace: bool = False
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

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
        if not project.is_dir():
            what = "is not a directory" if project.exists() else "does not exist"
            raise ConfigError(f"Project directory {what}: {project}")
        sessions_value = sessions_dir or env.get(SESSIONS_DIR.variable)
        sessions = _absolute(sessions_value) if sessions_value else project / SESSIONS_SUBDIR
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


def _absolute(path: str) -> Path:
    """``path`` made absolute against the current directory, which must still exist."""
    path = os.path.expanduser(path)
    if os.path.isabs(path):
        return Path(os.path.normpath(path))
    return Path(os.path.normpath(os.path.join(_current_directory(), path)))


def _current_directory() -> str:
    try:
        return os.getcwd()
    except OSError as exc:  # deleted under the command (or unreadable)
        raise ConfigError(
            f"The current directory cannot be used ({exc.strerror or exc}): "
            f"give --project-dir or set {PROJECT_DIR.variable}"
        ) from None
