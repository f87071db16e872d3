"""What the two generations of the server answer, read into sessions, statuses and results.

The Agent Session Manager (the older server) names its sessions (``session_name``); the
Agent Coordinator (today's) has none, so there a session's name is its ``session_id``.
Which one answered is told by the answer itself: a session object with ``session_name``
comes from the Session Manager, one without from the Coordinator; a result with
``result`` from the first, with ``result_text``/``result_data`` from the second. Pure
functions, no I/O: anything that breaks the contract raises :class:`Unexpected` with the
reason a user is shown.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any
from urllib.parse import quote

from ao_core import Session
from ao_core.session import StructuredResult

#: Path segments that a URL library would treat as "this/parent directory".
DOT_SEGMENTS = frozenset({"", ".", ".."})
#: A status the server may report: one word, so it can never forge a line or a colour.
STATUS_WORD = re.compile(r"[A-Za-z0-9_-]{1,60}")


class Generation(Enum):
    """Which server answers, by the name a warning gives it."""

    MANAGER = "Agent Session Manager"
    COORDINATOR = "Agent Coordinator"


class Unexpected(ValueError):
    """An answer that breaks the contract; the message says how."""


@dataclass(frozen=True)
class Listing:
    """``GET /sessions``: the sessions in the server's order (each with the status the
    listing gave), the statuses by id that answer ``fetch_status`` without a request (the
    Coordinator's only: the Session Manager's are asked separately, as they always were),
    and the generation the entries showed (None for an empty list)."""

    sessions: list[Session]
    statuses: dict[str, str]
    generation: Generation | None


def listing(body: dict[str, Any], generation: Generation | None, backend: str) -> Listing:
    """Read ``GET /sessions``; the first entry tells the generation when it is not known."""
    entries = body.get("sessions")
    if not isinstance(entries, list):
        raise Unexpected("'sessions' is not a list")
    sessions, statuses = [], {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise Unexpected(_unusable(generation or Generation.MANAGER))
        generation = generation or generation_of(entry)
        session = _session(entry, generation, backend)
        if session is None:
            raise Unexpected(_unusable(generation))
        status = entry.get("status")
        if _is_word(status):
            session = replace(session, status=status)
            if generation is Generation.COORDINATOR:
                statuses.setdefault(session.session_id, status)
        sessions.append(session)
    return Listing(sessions, statuses, generation)


def looked_up(body: dict[str, Any], name: str, backend: str) -> tuple[Session, Generation, str]:
    """Read ``GET /sessions/{name}``: the session, which server answered, and its status.

    From the Session Manager the session is the one whose *id* is ``name``; a name there
    means something else, so the caller resolves it by listing.
    """
    entry = body.get("session")
    if not isinstance(entry, dict):
        raise Unexpected("'session' is not a session object")
    generation = generation_of(entry)
    session = _session(entry, generation, backend)
    if session is None:
        raise Unexpected(_unusable(generation))
    if generation is Generation.COORDINATOR and session.name != name:
        raise Unexpected(f"asked for {name!r}, got {session.session_id!r}")
    status = entry.get("status")
    return session, generation, status if _is_word(status) else ""


def result(body: dict[str, Any]) -> str | None:
    """Read ``GET /sessions/{id}/result`` of either server.

    The Session Manager's ``result`` must be text. The Coordinator's ``result_text`` is
    returned as it is; otherwise a ``result_data`` value as its JSON
    (:class:`~ao_core.StructuredResult`); neither: None (the session ended without one).
    """
    if "result" in body or not ({"result_text", "result_data"} & body.keys()):
        text = body.get("result")
        if not isinstance(text, str):
            raise Unexpected("'result' is not text")
        return text
    text, data = body.get("result_text"), body.get("result_data")
    if text is not None and not isinstance(text, str):
        raise Unexpected("'result_text' is not text")
    if text is not None:
        return text
    if data is not None:
        return StructuredResult(json.dumps(data, indent=2))
    return None


def generation_of(entry: dict[str, Any]) -> Generation:
    """A session object with ``session_name`` is the Session Manager's."""
    return Generation.MANAGER if "session_name" in entry else Generation.COORDINATOR


def segment(session_id: str | None) -> str | None:
    """``session_id`` quoted as exactly one URL path segment; None if it cannot be one."""
    if session_id is None or session_id in DOT_SEGMENTS:
        return None
    return quote(session_id, safe="")


def _session(entry: dict[str, Any], generation: Generation, backend: str) -> Session | None:
    """A Session from a session object; None when it breaks the contract."""
    session_id = entry.get("session_id")
    if not isinstance(session_id, str) or segment(session_id) is None:
        return None
    name = entry.get("session_name") if generation is Generation.MANAGER else session_id
    if not isinstance(name, str):
        return None
    project_dir = entry.get("project_dir")
    return Session(
        name=name,
        session_id=session_id,
        project_dir=project_dir if isinstance(project_dir, str) and project_dir else None,
        backend=backend,
    )


def _unusable(generation: Generation) -> str:
    if generation is Generation.MANAGER:
        return "a session without a usable 'session_id' and 'session_name'"
    return "a session without a usable 'session_id'"


def _is_word(value: object) -> bool:
    return isinstance(value, str) and STATUS_WORD.fullmatch(value) is not None
