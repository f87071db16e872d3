"""The records the hooks that drive sessions answer with: a started turn, what is known
about one session, a blueprint (an agent sessions can be started with), and a session's
events (``ao-logs``).

Like :class:`~ao_core.session.Session`, these are plain frozen records a backend fills
from its store; the commands only read them.
"""

from __future__ import annotations

from collections.abc import Iterable
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


@dataclass(frozen=True, kw_only=True)
class Event:
    """One thing that happened in a session, as every backend reports it.

    ``time`` is the store's timestamp (ISO 8601) or None; ``kind`` one of
    :data:`ao_core.logs.KINDS`; ``text`` what was said (prompt, message, result, error);
    ``tool`` and ``input`` (a one-line summary, see :func:`ao_core.logs.summary`) for a
    tool call; ``output`` what it printed.
    ``key`` identifies the event within the backend, so one seen twice (in the history
    and on a stream) is printed once; it is not shown.
    """

    kind: str
    time: str | None = None
    text: str | None = None
    tool: str | None = None
    input: str | None = None
    output: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class EventLog:
    """A backend's answer to ``fetch_events``: the session's events, oldest first.

    ``events`` may be a generator that reads the store as it is iterated (it must stay
    bounded in memory); the command reads it once.
    """

    events: Iterable[Event]
