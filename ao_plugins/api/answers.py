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

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any
from urllib.parse import quote

from ao_core import Session
from ao_core.answers import json_text
from ao_core.session import MAX_FIELD_LENGTH, MAX_PATH_LENGTH, StructuredResult

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
    the generation the entries showed (None for an empty list), and how many entries were
    left out because their fields are absurd (see :func:`_session`)."""

    sessions: list[Session]
    statuses: dict[str, str]
    generation: Generation | None
    left_out: int = 0


def listing(body: dict[str, Any], generation: Generation | None, backend: str) -> Listing:
    """Read ``GET /sessions``; the first entry tells the generation when it is not known.

    Each entry is let go as soon as it is read, so the parsed answer and the sessions made
    of it are not both held whole.
    """
    entries = body.get("sessions")
    if not isinstance(entries, list):
        raise Unexpected("'sessions' is not a list")
    sessions, statuses, left_out = [], {}, 0
    for index, entry in enumerate(entries):
        entries[index] = None
        if not isinstance(entry, dict):
            raise Unexpected(_unusable(generation or Generation.MANAGER))
        generation = generation or generation_of(entry)
        session = _session(entry, generation, backend)
        if session is None:
            raise Unexpected(_unusable(generation))
        if session is ABSURD:
            left_out += 1
            continue
        status = entry.get("status")
        if _is_word(status):
            session = replace(session, status=status)
            if generation is Generation.COORDINATOR:
                statuses.setdefault(session.session_id, status)
        sessions.append(session)
    entries.clear()
    return Listing(sessions, statuses, generation, left_out)


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
    if session is None or session is ABSURD:
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
    ``result_data`` is taken out of ``body``, so the parsed value goes once it is written.
    """
    if "result" in body or not ({"result_text", "result_data"} & body.keys()):
        text = body.get("result")
        if not isinstance(text, str):
            raise Unexpected("'result' is not text")
        return text
    text, data = body.get("result_text"), body.pop("result_data", None)
    if text is not None and not isinstance(text, str):
        raise Unexpected("'result_text' is not text")
    if text is not None:
        return text
    if data is None:
        return None
    try:
        shown = json_text(data, indent=2)
    except RecursionError:
        raise Unexpected("'result_data' is nested too deep") from None
    del data  # the parsed value goes before the text is copied into the result
    return StructuredResult(shown)


def generation_of(entry: dict[str, Any]) -> Generation:
    """A session object with ``session_name`` is the Session Manager's."""
    return Generation.MANAGER if "session_name" in entry else Generation.COORDINATOR


def segment(session_id: str | None) -> str | None:
    """``session_id`` quoted as exactly one URL path segment; None if it cannot be one
    (a dot segment, or text no id is: see :func:`_is_text`)."""
    if session_id is None or session_id in DOT_SEGMENTS:
        return None
    if not _is_text(session_id, MAX_FIELD_LENGTH):
        return None
    return quote(session_id, safe="")


def _session(entry: dict[str, Any], generation: Generation, backend: str) -> Session | None:
    """A Session from a session object; None when it breaks the contract, :data:`ABSURD`
    when its id or name is text no session has (longer than :data:`MAX_FIELD_LENGTH`, or
    not even UTF-8: a lone surrogate). Checked before the id is quoted into any URL: 24 MiB
    of ``%`` would cost gigabytes there. A project directory that is no path (too long,
    not UTF-8) is left unknown."""
    session_id = entry.get("session_id")
    if not isinstance(session_id, str) or session_id in DOT_SEGMENTS:
        return None
    name = entry.get("session_name") if generation is Generation.MANAGER else session_id
    if not isinstance(name, str):
        return None
    if not (_is_text(session_id, MAX_FIELD_LENGTH) and _is_text(name, MAX_FIELD_LENGTH)):
        return ABSURD
    project_dir = entry.get("project_dir")
    return Session(
        name=name,
        session_id=session_id,
        project_dir=project_dir if _is_text(project_dir, MAX_PATH_LENGTH) else None,
        backend=backend,
    )


#: What :func:`_session` gives for an entry whose fields are absurd (it is left out).
ABSURD = Session(name="\0absurd")


def _is_text(value: object, limit: int) -> bool:
    """Whether ``value`` is a non-empty string of at most ``limit`` characters, all UTF-8."""
    if not isinstance(value, str) or not value or len(value) > limit:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unusable(generation: Generation) -> str:
    if generation is Generation.MANAGER:
        return "a session without a usable 'session_id' and 'session_name'"
    return "a session without a usable 'session_id'"


def _is_word(value: object) -> bool:
    return isinstance(value, str) and STATUS_WORD.fullmatch(value) is not None
