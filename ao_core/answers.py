"""The shapes of what the commands print: the plain-text lines and the ``--json`` documents.

Everything a backend said passes through :func:`ao_core.text.printable` before it reaches
a terminal; JSON escapes control characters by itself. The JSON shapes are a stable
interface for programs (documented in the README and the man pages).
"""

from __future__ import annotations

import json
from typing import Any

from ao_core.errors import AoError
from ao_core.session import NOT_EXISTENT, Session
from ao_core.text import printable


def error_member(exc: AoError) -> dict[str, str]:
    """``{"code", "message"}`` for an error: a stable word and the ``Error:`` line's text."""
    return {"code": exc.code, "message": str(exc)}


def error_document(exc: AoError) -> str:
    """The one JSON document a failed command prints with ``--json``."""
    return json.dumps({"name": exc.name, "error": error_member(exc)})


def status_record(
    name: str, session: Session | None, status: str, error: AoError | None = None
) -> dict[str, Any]:
    """``{"name", "status", "backend"}``, with ``reason`` when the backend gave one and
    ``error`` when the status is not a final answer (the wait timed out)."""
    record: dict[str, Any] = {
        "name": name,
        "status": str(status),
        "backend": session.backend if session and status != NOT_EXISTENT else None,
    }
    reason = getattr(status, "reason", None)
    if reason:
        record["reason"] = reason
    if error is not None:
        record["error"] = error_member(error)
    return record


def session_line(session: Session, status: str | None = None) -> str:
    """``NAME (session-id: ID, project-dir: DIR)``, with ``status`` after the name if given."""
    status = f" {printable(status)}" if status is not None else ""
    session_id = printable(session.session_id or "unknown")
    project_dir = printable(session.project_dir or "unknown")
    return (
        f"{printable(session.name)}{status} (session-id: {session_id}, project-dir: {project_dir})"
    )


def session_record(session: Session, status: str | None = None) -> dict[str, Any]:
    """``{"name", "session_id", "project_dir", "backend"}``, and ``status`` if given."""
    record: dict[str, Any] = {
        "name": session.name,
        "session_id": session.session_id,
        "project_dir": session.project_dir,
        "backend": session.backend,
    }
    if status is not None:
        record["status"] = str(status)
    return record
