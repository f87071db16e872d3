"""The JSON Schema of every ``--json`` document, the one description of their shapes.

The commands' ``--json`` answers (built in :mod:`ao_core.answers` and the commands) and
the structured results of ``ao mcp``'s tools are the same documents; this module says what
they are, once: the tools' output schemas are made from it (:func:`object_of`), and the
tests check every document the commands print against it, so the two cannot drift apart.

Plain dictionaries, no import beyond the standard library: only ``ao mcp`` and the tests
read them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ao_core.records import Details

Schema = dict[str, Any]


def nullable(kind: str) -> Schema:
    """A value of JSON type ``kind`` or null, spelt with ``anyOf`` (a ``type`` list is
    legal too, but hosts that map schemas onto a one-type dialect may refuse it)."""
    return {"anyOf": [{"type": kind}, {"type": "null"}]}


TEXT: Schema = {"type": "string"}
MAYBE_TEXT: Schema = nullable("string")


def record(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with exactly these members (``optional`` ones may be missing)."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
        "additionalProperties": False,
    }


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


#: ``{"code", "message"}``: a stable word (:mod:`ao_core.errors`) and the ``Error:`` text.
ERROR = record({"code": TEXT, "message": TEXT})
#: The backends an answer could not use, and why (:mod:`ao_core.problems`).
UNAVAILABLE = array(record({"backend": TEXT, "code": TEXT, "message": TEXT}))
#: What every object document may carry besides its own members.
WITH_UNAVAILABLE = {"unavailable": UNAVAILABLE}

#: A failed command's one document (and a failed tool call's structured part).
ERROR_DOCUMENT = record({"name": MAYBE_TEXT, "error": ERROR}, WITH_UNAVAILABLE)

#: ``ao-status``: one session's status.
STATUS = record(
    {"name": TEXT, "status": TEXT, "backend": MAYBE_TEXT},
    {"reason": TEXT, "error": ERROR},
)
#: ``ao-get-result`` (and ``ao-start``, ``ao-resume`` once the turn ended): the result,
#: text or the JSON value of a structured result.
RESULT = record(
    {"name": TEXT, "result": {"description": "text, or any JSON value (a structured result)"}},
    WITH_UNAVAILABLE,
)
#: ``ao-start --detach``, ``ao-resume --detach``: the turn was accepted, not waited for.
DETACHED = record({"name": TEXT, "run_id": MAYBE_TEXT, "detached": {"const": True}})
#: The ``start`` and ``resume`` tools when their wait ended before the turn did (which
#: ``ao-start`` reports as the error ``timed_out``): the turn goes on.
GOES_ON = record({"name": TEXT, "run_id": MAYBE_TEXT, "status": TEXT, "ended": {"const": False}})
#: ``ao-list-sessions``: one listed session (``status`` with ``--long`` or ``--status``).
SESSION = record(
    {"name": TEXT, "session_id": MAYBE_TEXT, "project_dir": MAYBE_TEXT, "backend": MAYBE_TEXT},
    {"status": TEXT},
)
#: ``ao-clean``: what became of one name.
CLEANED = record(
    {"name": TEXT, "deleted": {"type": "boolean"}},
    {
        "would_delete": {"const": True},
        "stopped": {"const": True},
        "would_stop": {"const": True},
        "error": ERROR,
    },
)
#: ``ao-stop``: what became of one name.
STOPPED = record({"name": TEXT, "stopped": {"type": "boolean"}, "status": TEXT}, {"error": ERROR})
#: ``ao-list-blueprints``: one agent sessions can be started with.
BLUEPRINT = record(
    {
        "name": TEXT,
        "type": MAYBE_TEXT,
        "description": MAYBE_TEXT,
        "active": {"type": "boolean"},
        "tags": array(TEXT),
        "parameters_schema": nullable("object"),
    }
)
#: ``ao-show-config``: what the backend knows about one session (null: not known).
CONFIG = record(
    {
        "name": TEXT,
        "backend": MAYBE_TEXT,
        **{f.name: MAYBE_TEXT for f in dataclasses.fields(Details)},
    }
)
#: ``ao-plugins``: one installed backend.
PLUGIN = record(
    {
        "position": nullable("integer"),
        "name": TEXT,
        "enabled": {"type": "boolean"},
        "selected": {"type": "boolean"},
        "builtin": {"type": "boolean"},
        "distribution": MAYBE_TEXT,
        "version": MAYBE_TEXT,
        "hooks": array(TEXT),
        "error": MAYBE_TEXT,
    }
)
#: ``ao-skill``: the agents' guide, and where ``--install`` wrote it (null: printed only).
SKILL = record({"skill": TEXT, "path": MAYBE_TEXT, "text": TEXT})
#: ``ao-logs --json``: one event (one line of JSON Lines).
EVENT = record(
    {
        "time": MAYBE_TEXT,
        "kind": TEXT,
        "text": MAYBE_TEXT,
        "tool": MAYBE_TEXT,
        "input": MAYBE_TEXT,
        "output": MAYBE_TEXT,
        "cut": {"type": "integer", "minimum": 0},
    }
)


def one_of(*schemas: Schema) -> Schema:
    return {"oneOf": list(schemas)}


#: What each command prints with ``--json`` when it succeeds (a failure prints
#: :data:`ERROR_DOCUMENT`); ``ao-logs`` prints one :data:`EVENT` per line.
DOCUMENTS: dict[str, Schema] = {
    "ao-status": one_of(
        {**STATUS, "properties": {**STATUS["properties"], **WITH_UNAVAILABLE}}, array(STATUS)
    ),
    "ao-get-result": RESULT,
    "ao-start": one_of(RESULT, DETACHED),
    "ao-resume": one_of(RESULT, DETACHED),
    "ao-list-sessions": array(SESSION),
    "ao-clean": array(CLEANED),
    "ao-stop": array(STOPPED),
    "ao-list-blueprints": array(BLUEPRINT),
    "ao-show-config": CONFIG,
    "ao-plugins": array(PLUGIN),
    "ao-logs": EVENT,
    "ao-skill": SKILL,
}


def object_of(members: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object document made of these members, and ``unavailable`` when some backend
    could not be used: how ``ao mcp`` answers what ``--json`` prints as an array (an MCP
    tool's structured result is always an object)."""
    return record(members, {**(optional or {}), **WITH_UNAVAILABLE})
