"""A Coordinator session's events, for ``ao-logs``: its history and its event stream.

The server's limits shape this module. ``GET /sessions/{id}/events`` gives only the
**oldest** :data:`HISTORY_LIMIT` events, so a history of that length is cut: a ``gap``
event says so where the cut is. The stream's ``event`` frames carry no id, so an event
seen both in the history and on the stream is recognised by its content
(:func:`content_key`: type, time and every field, empty values as null, as the server
stores them).

Following opens the stream (and reads its ``init``) *before* the history is asked, so
an event is either in the history or arrives on the stream; one in both is printed once.
A stream that drops is opened again and the history asked again: what it holds that was
not printed yet is printed, in order; when the history is cut, what happened during the
reconnect cannot be recovered, and one ``gap`` event says so. Only the keys of the first
:data:`HISTORY_LIMIT` events are ever kept (later ones can never be in the history), so
memory stays bounded however long the session runs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable

from ao_core import deadline, logs
from ao_core.records import Event
from ao_plugins.api.events import FRAMES, Ended, EventStream, Update

#: How many events ``GET /sessions/{id}/events`` gives at most (the oldest).
HISTORY_LIMIT = 100
#: The fields of an event compared to recognise it (the server's columns, id aside).
FIELDS = (
    "event_type",
    "timestamp",
    "tool_name",
    "tool_input",
    "tool_output",
    "error",
    "exit_code",
    "reason",
    "role",
    "content",
    "result_text",
    "result_data",
)
#: The longest single wait on the stream's queue.
SLICE = 0.25
#: How often the history is asked while following without a stream.
POLL = 1.0
#: A stream that failed this many times in a row is given up (the history is polled).
MAX_FAILURES = 3
#: The longest wait for the last frames after the session ended.
FINISH = 2.0
#: After the session ended and the history is cut, frames still coming are waited for
#: until the stream was quiet this long.
SETTLE = 0.5

CUT = (
    f"the server gives only the oldest {HISTORY_LIMIT} events of a session: the events "
    "from here until now are not shown"
)
CUT_FOLLOWING = CUT + "; following the new ones from now on"
RECONNECTED = (
    "the event stream reconnected and the server's history is cut at "
    f"{HISTORY_LIMIT} events: events in between may be missing"
)


def content_key(event: dict) -> str:
    """What recognises one event in the history and on the stream (which has no ids)."""
    values = [_empty_as_null(event.get(field)) for field in FIELDS]
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _empty_as_null(value: object) -> object:
    return None if value in ("", [], {}) else value


def to_event(event: dict) -> Event:
    """One Coordinator event as an :class:`Event`."""
    kind_of = _text(event.get("event_type")) or "system"
    when = _text(event.get("timestamp"))
    error = logs.as_text(_empty_as_null(event.get("error")))
    reason = logs.as_text(_empty_as_null(event.get("reason")))
    key = content_key(event)
    if kind_of == "message":
        role = _text(event.get("role")) or "assistant"
        kind = role if role in ("user", "assistant") else "system"
        return Event(kind=kind, time=when, text=_content(event.get("content")), key=key)
    if kind_of in ("post_tool", "pre_tool", "tool"):
        return Event(
            kind="error" if error else "tool",
            time=when,
            text=error,
            tool=logs.as_text(event.get("tool_name")) or "?",
            input=logs.summary(event.get("tool_input")),
            output=logs.as_text(_empty_as_null(event.get("tool_output"))),
            key=key,
        )
    if kind_of == "result":
        text = logs.as_text(event.get("result_text")) or logs.as_text(event.get("result_data"))
        return Event(kind="result", time=when, text=text, key=key)
    if kind_of in ("run_start", "run_started"):
        return Event(kind="run_start", time=when, text=reason, key=key)
    if kind_of.startswith("run_"):
        code = event.get("exit_code")
        parts = [kind_of[4:], reason, error, None if code is None else f"exit code {code}"]
        return Event(kind="run_end", time=when, text=", ".join(p for p in parts if p), key=key)
    kind = "error" if kind_of == "error" or error else "system"
    text = error or reason or _content(event.get("content")) or kind_of
    return Event(kind=kind, time=when, text=text if kind == "error" else text, key=key)


def _content(content: object) -> str | None:
    """A message's text: its ``{"type": "text", "text"}`` blocks, one after the other."""
    if isinstance(content, list):
        texts = [b.get("text") for b in content if isinstance(b, dict)]
        found = [t for t in texts if isinstance(t, str)]
        if found:
            return "\n".join(found)
    return logs.as_text(_empty_as_null(content))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class Follower:
    """One session's events across its history and (when following) its stream.

    ``history()`` asks ``GET /sessions/{id}/events`` (None: the server could not answer);
    ``open_stream()`` opens a stream on this session's frames, ``event`` included.
    """

    def __init__(
        self,
        session_id: str,
        history: Callable[[], list[dict] | None],
        open_stream: Callable[[], EventStream] | None,
        *,
        init_wait: float = 5.0,
    ) -> None:
        self.session_id = session_id
        self._history = history
        self._open = open_stream
        self._stream: EventStream | None = None
        #: Keys of the events printed among the session's first HISTORY_LIMIT.
        self._printed: Counter[str] = Counter()
        self._count = 0
        #: Keys the history gave that the stream may still deliver (printed already).
        self._expected: Counter[str] = Counter()
        self.cut = False
        self._carry: list[Event] = []
        self._failures = 0
        self._init_wait = init_wait
        self._polled_cut = False

    def start(self) -> list[Event] | None:
        """The history, with a ``gap`` where it is cut (the stream opened first when
        following); None when the server could not give it."""
        if self._open is not None:
            self._connect()
        found = self._history()
        if found is None:
            self.close()
            return None
        events = [self._note(e) for e in found]
        self._expected.update(e.key for e in events if e.key)
        if len(found) >= HISTORY_LIMIT:
            self.cut = True
            events.append(Event(kind="gap", text=CUT_FOLLOWING if self._open else CUT))
        return events

    def follow(self, timeout: float, *, last: bool) -> list[Event]:
        """New events within ``timeout`` s, returned as soon as some came (or when a frame
        says the session may have changed status); ``last``: what is left, see
        :meth:`_finish`."""
        if last:
            return self._finish()
        end = time.monotonic() + timeout
        new: list[Event] = []
        while True:
            stream = self._live()
            new += self._carried()
            remaining = end - time.monotonic()
            if new and (stream is None or stream.items.empty()):
                return new
            if remaining <= 0:
                return new
            if stream is None:  # no stream on this server: ask the history again
                time.sleep(min(remaining, POLL))
                new += self._reconcile(gap=False)
                continue
            item = stream.next(min(remaining, SLICE))
            if item is None:
                continue
            if isinstance(item, Ended):
                self._stream = None
                self._failures += 1
                continue
            self._failures = 0  # a stream that delivers is a working one
            event = self._from_frame(item)
            if event is not None:
                new.append(event)
            elif item.event in FRAMES:
                return new  # the session may have changed: let the command ask

    def _finish(self) -> list[Event]:
        """After the session ended: the frames still on their way (until the stream was
        quiet :data:`SETTLE` s, at most :data:`FINISH` s), then, while the whole history
        fits in one answer, whatever it holds that was not printed. Closes the stream."""
        new = self._carried()
        stream = self._stream
        if stream is not None:
            started = quiet = time.monotonic()
            while time.monotonic() - quiet < SETTLE and time.monotonic() - started < FINISH:
                item = stream.next(SETTLE / 5)
                if item is None:
                    continue
                if isinstance(item, Ended):
                    break
                quiet = time.monotonic()
                event = self._from_frame(item)
                if event is not None:
                    new.append(event)
        if self._count < HISTORY_LIMIT:
            new += self._reconcile(gap=False)
        self.close()
        return new

    def _carried(self) -> list[Event]:
        carried, self._carry = self._carry, []
        return carried

    def _live(self) -> EventStream | None:
        """The open stream; a new one (and the history's events not printed, carried) when
        it ended; None once it failed :data:`MAX_FAILURES` times in a row or the server
        has none."""
        stream = self._stream
        if stream is not None and not (stream.closed and stream.items.empty()):
            return stream
        self._stream = None
        if self._open is None or self._failures >= MAX_FAILURES:
            return None
        if self._connect():
            self._carry += self._reconcile(gap=True)
        return self._stream

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _from_frame(self, item: Update) -> Event | None:
        if item.event != "event" or not isinstance(item.sessions, dict):
            return None
        data = item.sessions.get("data")
        if not isinstance(data, dict):
            return None
        key = content_key(data)
        if self._expected[key] > 0:
            self._expected[key] -= 1
            return None
        return self._note(data)

    def _note(self, data: dict) -> Event:
        event = to_event(data)
        self._count += 1
        if self._count <= HISTORY_LIMIT and event.key:
            self._printed[event.key] += 1
        return event

    def _connect(self) -> bool:
        """Open the stream and wait (bounded) for its ``init``, so that nothing published
        from then on is missed; False (and one failure more) when it did not come. Never
        past the deadline of the follow under way."""
        assert self._open is not None
        stream = self._open()
        end = time.monotonic() + deadline.remaining(self._init_wait)
        while (remaining := end - time.monotonic()) > 0:
            item = stream.next(min(remaining, SLICE))
            if isinstance(item, Update) and item.event == "init":
                self._stream = stream
                return True
            if isinstance(item, Ended):
                if item.absent:
                    self._failures = MAX_FAILURES
                break
        stream.close()
        self._failures += 1
        return False

    def _reconcile(self, *, gap: bool = False) -> list[Event]:
        """The history's events not printed yet (a multiset difference, in order); with
        ``gap``, a gap event when the history is cut and events may have fallen between
        (without a stream, once)."""
        found = self._history()
        if found is None:
            return []
        missing: list[Event] = []
        left = Counter(self._printed)
        for data in found:
            key = content_key(data)
            if left[key] > 0:
                left[key] -= 1
                continue
            missing.append(self._note(data))
            self._expected[key] += 1
        if len(found) >= HISTORY_LIMIT and (gap or not self._polled_cut):
            self._polled_cut = True
            missing.append(Event(kind="gap", text=RECONNECTED))
        return missing
