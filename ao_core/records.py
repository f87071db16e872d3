"""The records the hooks that drive sessions answer with: a started turn, what is known
about one session, and a blueprint (an agent sessions can be started with).

Like :class:`~ao_core.session.Session`, these are plain frozen records a backend fills
from its store; the commands only read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ao_core.session import Session


@dataclass(frozen=True, kw_only=True)
class Turn:
    """A turn a backend has just started (``start_session``) or asked for
    (``resume_session``): the session it belongs to and, where the store has runs, the
    id of the run that carries it, so a wait follows this turn and not the previous one.
    """

    session: Session
    run_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Details:
    """What a backend knows about one session, for ``ao-show-config`` (None: not known).

    ``run_id``, ``run_status`` and ``run_error`` describe the session's latest run.
    """

    session_id: str | None = None
    project_dir: str | None = None
    agent: str | None = None
    created_at: str | None = None
    last_resumed_at: str | None = None
    status: str | None = None
    parent_session: str | None = None
    runner_host: str | None = None
    runner_profile: str | None = None
    run_id: str | None = None
    run_status: str | None = None
    run_error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Blueprint:
    """An agent sessions can be started with (``ao-start --agent NAME``).

    ``kind`` is the store's word for how it runs (``autonomous``: it takes further turns;
    ``procedural``: one run, no resume); ``parameters_schema`` is the JSON schema of the
    object ``--params`` must give it, None when it takes a prompt.
    """

    name: str
    kind: str | None = None
    description: str | None = None
    active: bool = True
    tags: tuple[str, ...] = ()
    parameters_schema: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def summary(self) -> str:
        """The first line of the description ('' when there is none)."""
        lines = (self.description or "").strip().splitlines()
        return lines[0].strip() if lines else ""

    @property
    def required(self) -> list[str]:
        """The fields the parameters schema requires (none when it has no schema)."""
        required = (self.parameters_schema or {}).get("required")
        return [str(r) for r in required] if isinstance(required, list) else []
