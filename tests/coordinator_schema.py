"""The small part of JSON Schema the test Agent Coordinator checks run parameters with.

The real server validates ``parameters`` with ``jsonschema``'s Draft 7 validator, which is
not among the test dependencies. This covers what agents' ``parameters_schema`` use in the
tests: ``type`` (one name or a list), ``required``, ``properties`` (nested), ``enum``,
``minLength`` and ``additionalProperties`` (``false`` or a schema), with jsonschema's own
message texts (``'prompt' is a required property``) and the server's error layout.
"""

from __future__ import annotations

from typing import Any

#: What a run's parameters must be when its agent has no ``parameters_schema`` (or there
#: is no agent): exactly ``{"prompt": "<non-empty text>"}``.
IMPLICIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["prompt"],
    "properties": {"prompt": {"type": "string", "minLength": 1}},
    "additionalProperties": False,
}

_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (
        isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer()
    ),
}


def validation_errors(instance: object, schema: dict[str, Any]) -> list[dict[str, str]]:
    """Every way ``instance`` fails ``schema``: ``[{"path", "message", "schema_path"}]``.

    ``path`` is ``$`` for the whole document, ``$.a.b`` below it; ``schema_path`` joins
    the keywords that failed with dots (``properties.prompt.type``).
    """
    errors: list[dict[str, str]] = []
    _check(instance, schema, "$", (), errors)
    return errors


def _check(
    instance: object,
    schema: dict[str, Any],
    path: str,
    at: tuple[str, ...],
    errors: list[dict[str, str]],
) -> None:
    def fail(keyword: str, message: str) -> None:
        errors.append({"path": path, "message": message, "schema_path": ".".join((*at, keyword))})

    for keyword, value in schema.items():
        if keyword == "type":
            names = value if isinstance(value, list) else [value]
            if not any(_TYPES.get(name, lambda v: True)(instance) for name in names):
                fail(keyword, f"{instance!r} is not of type {', '.join(map(repr, names))}")
        elif keyword == "enum" and instance not in value:
            fail(keyword, f"{instance!r} is not one of {value!r}")
        elif keyword == "minLength" and isinstance(instance, str) and len(instance) < value:
            too_short = "should be non-empty" if value == 1 else "is too short"
            fail(keyword, f"{instance!r} {too_short}")
        elif not isinstance(instance, dict):
            continue
        elif keyword == "required":
            for name in value:
                if name not in instance:
                    fail(keyword, f"{name!r} is a required property")
        elif keyword == "properties":
            for name, subschema in value.items():
                if name in instance:
                    where = (*at, keyword, name)
                    _check(instance[name], subschema, f"{path}.{name}", where, errors)
        elif keyword == "additionalProperties":
            extra = [name for name in instance if name not in schema.get("properties", {})]
            if value is False and extra:
                were = "was" if len(extra) == 1 else "were"
                listed = ", ".join(map(repr, extra))
                fail(keyword, f"Additional properties are not allowed ({listed} {were} unexpected)")
            elif isinstance(value, dict):
                for name in extra:
                    _check(instance[name], value, f"{path}.{name}", (*at, keyword), errors)
