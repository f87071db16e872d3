"""The shapes of what the commands print: the plain-text lines and the ``--json`` documents.

Everything a backend said passes through :func:`ao_core.text.printable` before it reaches
a terminal; JSON escapes control characters by itself. The JSON shapes are a stable
interface for programs (documented in docs/json.md and the man pages), and every document
parses under a strict JSON parser (:func:`json_text`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ao_core import console
from ao_core.errors import AoError
from ao_core.session import NOT_EXISTENT, Session, StructuredResult
from ao_core.text import printable


def json_text(value: object, *, indent: int | None = None) -> str:
    """``value`` as a JSON document any strict parser reads: a number JSON cannot carry once
    read (NaN, or beyond a double's range, such as ``1e400``) is written ``null``, as
    JavaScript's ``JSON.stringify`` does, never ``NaN`` or ``Infinity``."""
    try:
        return _dumps(value, indent)
    except ValueError:  # such a number somewhere in it (rare: walked only then)
        return _dumps(_finite(value), indent)


def _dumps(value: object, indent: int | None) -> str:
    """``json.dumps``; with ``indent`` (which only Python's own encoder does, a small string
    per token) the tokens are joined as they come, so a value of a million items costs its
    text, not also a list of millions of pieces."""
    if indent is None:
        return json.dumps(value, allow_nan=False)
    blocks, pending = [], []
    for piece in json.JSONEncoder(indent=indent, allow_nan=False).iterencode(value):
        pending.append(piece)
        if len(pending) >= 8192:
            blocks.append("".join(pending))
            pending.clear()
    blocks.append("".join(pending))
    return "".join(blocks)


def json_members(document: dict[str, object]) -> Iterator[str]:
    """The pieces of ``json_text(document)`` (the same text, once joined), made member by
    member, so a result of megabytes in it is escaped once and never copied into a
    second, whole document."""
    yield "{"
    for index, (key, value) in enumerate(document.items()):
        yield ("" if index == 0 else ", ") + json_text(key) + ": "
        yield json_text(value)
    yield "}"


def json_array(items: Iterable[object], *, indent: int = 2, batch: int = 1024) -> Iterator[str]:
    """The pieces of ``json_text(list(items), indent=indent)`` (once joined with line feeds,
    the same text), made ``batch`` items at a time, so a long listing is never held whole."""
    pending: str | None = None
    chunk: list[object] = []

    def pieces() -> Iterator[list[object]]:
        nonlocal chunk
        for item in items:
            chunk.append(item)
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    for part in pieces():
        if pending is not None:
            yield pending + ","
        pending = ("[\n" if pending is None else "") + _inner(part, indent)
    if pending is None:
        yield "[]"
    else:
        yield pending
        yield "]"


def _inner(items: list[object], indent: int) -> str:
    """The lines of ``json_text(items, indent=indent)`` between its brackets' lines."""
    return json_text(items, indent=indent)[2:-2]


def _finite(value: object) -> object:
    if isinstance(value, float):
        import math

        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def error_member(exc: AoError) -> dict[str, str]:
    """``{"code", "message"}`` for an error: a stable word and the ``Error:`` line's text."""
    return {"code": exc.code, "message": str(exc)}


def error_document(exc: AoError, unavailable: list[dict[str, str]] | None = None) -> str:
    """The one JSON document a failed command prints with ``--json``."""
    return json_text(error_record(exc, unavailable))


def error_record(exc: AoError, unavailable: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """``{"name", "error": {"code", "message"}}`` (and ``unavailable``): a failed command's
    ``--json`` document, and the structured part of a failed tool call of ``ao mcp``."""
    return with_unavailable({"name": exc.name, "error": error_member(exc)}, unavailable)


def with_unavailable(
    document: dict[str, Any], unavailable: list[dict[str, str]] | None
) -> dict[str, Any]:
    """``document`` with ``"unavailable"``: the backends the answer could not use and why
    (``{"backend", "code", "message"}`` each), when there are any. Only object documents
    carry it; the arrays keep their shape."""
    if unavailable:
        document["unavailable"] = unavailable
    return document


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


def result_value(result: str, session: Session | None) -> object:
    """What ``--json`` embeds as a result: the JSON value of a structured result, else the
    text. A structured result that is not JSON (a backend's mistake) is embedded as its
    text, with a warning."""
    if not isinstance(result, StructuredResult):
        return result
    try:
        return json.loads(result)
    except (ValueError, RecursionError):
        backend = session.backend if session else None
        console.warn(
            f"backend {backend!r} gave a structured result that is not JSON: shown as text"
        )
        return str(result)


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
