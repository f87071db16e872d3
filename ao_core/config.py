"""Settings for one command: CLI flag > environment variable > default, validated once."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ao_core.errors import AoError

ENV_PROJECT_DIR = "AGENT_ORCHESTRATOR_PROJECT_DIR"
ENV_SESSIONS_DIR = "AGENT_ORCHESTRATOR_SESSIONS_DIR"
ENV_API_URL = "AGENT_ORCHESTRATOR_SESSION_MANAGER_URL"
ENV_API_URL_NEW = "AGENT_ORCHESTRATOR_API_URL"
ENV_API_TIMEOUT = "AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT"
ENV_API_KEY = "AGENT_ORCHESTRATOR_API_KEY"
ENV_BACKENDS = "AGENT_ORCHESTRATOR_BACKENDS"
ENV_DEBUG = "AGENT_ORCHESTRATOR_DEBUG"
ENV_TRACE = "AGENT_ORCHESTRATOR_TRACE"
ENV_WAIT_TIMEOUT = "AGENT_ORCHESTRATOR_WAIT_TIMEOUT"

DEFAULT_API_URL = "http://127.0.0.1:8765"
DEFAULT_API_TIMEOUT = 5.0
DEFAULT_WAIT_TIMEOUT = 600.0
SESSIONS_SUBDIR = Path(".agent-orchestrator") / "agent-sessions"


class ConfigError(AoError):
    """A setting that cannot be used (missing project directory, bad number, ...)."""


@dataclass(frozen=True, kw_only=True)
class Config:
    """The resolved settings every hook receives.

    ``backends`` is the backend order asked for (``None``: the default order).
    ``api_key`` is kept out of ``repr`` so it never reaches a log or a traceback.
    """

    project_dir: Path
    sessions_dir: Path
    api_url: str = DEFAULT_API_URL
    timeout: float = DEFAULT_API_TIMEOUT
    api_key: str | None = field(default=None, repr=False)
    backends: tuple[str, ...] | None = None
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    debug: bool = False
    trace: bool = False

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

        Raises :class:`ConfigError` when the project directory does not exist or a
        value cannot be parsed.
        """
        env = os.environ if environ is None else environ
        project = _absolute(project_dir or env.get(ENV_PROJECT_DIR) or os.getcwd())
        if not project.is_dir():
            what = "is not a directory" if project.exists() else "does not exist"
            raise ConfigError(f"Project directory {what}: {project}")
        sessions_value = sessions_dir or env.get(ENV_SESSIONS_DIR)
        sessions = _absolute(sessions_value) if sessions_value else project / SESSIONS_SUBDIR
        return cls(
            project_dir=project,
            sessions_dir=sessions,
            api_url=(env.get(ENV_API_URL) or env.get(ENV_API_URL_NEW) or DEFAULT_API_URL).rstrip(
                "/"
            ),
            timeout=_seconds(ENV_API_TIMEOUT, env.get(ENV_API_TIMEOUT), DEFAULT_API_TIMEOUT),
            wait_timeout=_seconds(
                ENV_WAIT_TIMEOUT, env.get(ENV_WAIT_TIMEOUT), DEFAULT_WAIT_TIMEOUT, zero_ok=True
            ),
            api_key=env.get(ENV_API_KEY) or None,
            backends=parse_backends(backends or env.get(ENV_BACKENDS)),
            debug=is_on(env.get(ENV_DEBUG)),
            trace=is_on(env.get(ENV_TRACE)),
        )


def parse_backends(value: str | None) -> tuple[str, ...] | None:
    """Turn ``"api, file"`` into ``("api", "file")``; empty or unset means the default."""
    if not value or not value.strip():
        return None
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if len(set(names)) != len(names):
        raise ConfigError(f"Backend named twice in {value!r}")
    return names


def is_on(value: str | None) -> bool:
    """True for the usual spellings of a switched-on environment variable."""
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _absolute(path: str) -> Path:
    return Path(os.path.abspath(os.path.expanduser(path)))


def _seconds(variable: str, value: str | None, default: float, *, zero_ok: bool = False) -> float:
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and (seconds > 0 or (zero_ok and seconds == 0))):
        least = "0 or more" if zero_ok else "a positive number of"
        raise ConfigError(f"{variable} must be {least} seconds, not {value!r}")
    return seconds
