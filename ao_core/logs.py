"""What ``ao-logs`` shows: one :class:`Event` shape for every backend, and how an event
is summarised, cut, filtered by time and printed.

A backend answers ``fetch_events`` with an :class:`EventLog` (an iterable, so a log of a
million events is never held whole) and ``follow_events`` with a short list of the
events that arrived since. Everything in an event is untrusted store text: it reaches
the terminal only through :mod:`ao_core.console`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from ao_core.records import Event

#: The kinds of event the built-in backends report (a third-party one may add others).
KINDS = (
    "user",
    "assistant",
    "thinking",
    "tool",
    "tool_result",
    "result",
    "error",
    "system",
    "run_start",
    "run_end",
    "gap",
    "notice",
)
#: A tool's output is cut to this many lines, and this many characters, unless --full.
OUTPUT_LINES = 5
OUTPUT_CHARS = 2000
#: A tool input's one-line summary is at most this long.
INPUT_CHARS = 200
#: No field of an event is printed longer than this, even with --full (64 MiB).
FIELD_LIMIT = 64 * 1024 * 1024


def summary(value: object, limit: int = INPUT_CHARS) -> str | None:
    """A tool input as one short line: a ``command``, ``file_path``, ``pattern``, ``url``
    or ``query`` field alone when it has one, else its compact JSON; at most ``limit``."""
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, dict):
        for field in ("command", "file_path", "path", "pattern", "url", "query", "prompt"):
            if isinstance(value.get(field), str):
                value = value[field]
                break
    text = value if isinstance(value, str) else _compact(value)
    return cut_chars(" ".join(text.split()), limit)


def as_text(value: object) -> str | None:
    """A store's value as text: a string as it is, anything else as its compact JSON."""
    if value is None:
        return None
    return value if isinstance(value, str) else _compact(value)


def _compact(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (ValueError, RecursionError):
        return repr(value)


def cut_chars(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, ``...`` marking the cut."""
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def cut_output(text: str, *, full: bool) -> tuple[str, int]:
    """An output cut to :data:`OUTPUT_LINES` lines and :data:`OUTPUT_CHARS` characters
    (``full``: only to :data:`FIELD_LIMIT`), and how many lines were left out (a line cut
    short counts as one)."""
    text = text.rstrip("\n")
    if full:
        return text[:FIELD_LIMIT], 0
    shown = "\n".join(text[:OUTPUT_CHARS].split("\n")[:OUTPUT_LINES])
    if shown == text:
        return text, 0
    left_out = text.count("\n") - shown.count("\n")
    return shown, left_out or 1


# -- time ---------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``--since``: a duration back from now (``90s``, ``10m``, ``2h``, ``1d``) or an ISO
    8601 time (a time without a zone is UTC, as the stores write theirs); ValueError."""
    text = value.strip()
    match = _DURATION.fullmatch(text)
    if match:
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        if seconds > 100 * 365 * 86400:
            raise ValueError("too long a duration")
        return (now or datetime.now(timezone.utc)) - timedelta(seconds=seconds)
    parsed = parse_time(text)
    if parsed is None:
        raise ValueError("not a duration (10m, 2h) or an ISO 8601 time")
    return parsed


def parse_time(text: str | None) -> datetime | None:
    """An event's time as an aware datetime (UTC when it names no zone), or None."""
    if not text or len(text) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def shown_time(text: str | None) -> str:
    """An event's time as it heads its block: ``2025-11-26 21:12:05`` (UTC), or the store's
    text when it is not a time, or ``-`` when there is none."""
    parsed = parse_time(text)
    if parsed is None:
        return cut_chars(text, 64) if text else "-"
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class Since:
    """``--since``'s filter: events before the time are dropped; from the first event at or
    after it, every later one is kept, timed or not (a log's order is its time). What ao
    itself says (``gap``, ``notice``) is always kept: it may concern what comes after."""

    def __init__(self, at: datetime | None) -> None:
        self.at = at
        self.open = at is None

    def keep(self, event: Event) -> bool:
        if event.kind in ("gap", "notice"):
            return True
        if not self.open:
            when = parse_time(event.time)
            self.open = when is not None and when >= self.at  # type: ignore[operator]
        return self.open


# -- printing -----------------------------------------------------------------------------


def block(event: Event, *, full: bool) -> str:
    """One event as a readable block: a heading (time, kind, tool and input), then its text
    and output, each line indented, so no line of a store's text can pass for a heading."""
    heading = f"{shown_time(event.time):<19}  {event.kind}"
    if event.tool:
        heading += f"  {event.tool}"
    if event.input:
        heading += f": {event.input}" if event.tool else f"  {event.input}"
    lines = [heading]
    if event.text:
        lines.extend(_indented(event.text[:FIELD_LIMIT]))
    if event.output:
        output, left_out = cut_output(event.output, full=full)
        lines.extend(_indented(output, "  | "))
        if left_out:
            lines.append(f"  | ... ({left_out} more lines; --full shows them)")
    return "\n".join(lines)


def _indented(text: str, prefix: str = "  ") -> list[str]:
    return [prefix + line for line in text.rstrip("\n").split("\n")]


def document(event: Event, *, full: bool) -> dict[str, object]:
    """One event as its JSON Lines document, the same shape for every backend:
    ``{"time", "kind", "text", "tool", "input", "output", "cut"}`` (``cut``: lines of the
    output left out, 0 with --full)."""
    output, left_out = (None, 0) if event.output is None else cut_output(event.output, full=full)
    text = None if event.text is None else event.text[:FIELD_LIMIT]
    return {
        "time": event.time,
        "kind": event.kind,
        "text": text,
        "tool": event.tool,
        "input": event.input,
        "output": output,
        "cut": left_out,
    }
