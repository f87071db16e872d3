"""Watching sessions on the Agent Coordinator's event stream (``GET /sse/sessions``) during
``--wait``.

Imported only when a wait uses it. One :class:`EventStream` is one connection, read by a
daemon thread that puts the frames that matter into a queue; the command's thread only
ever takes from that queue with a timeout, so nothing it does blocks longer than it may
(:mod:`ao_core.deadline`), whatever the server does. The :class:`Watcher` keeps one
stream open across the calls of a wait, tells from its frames whether a watched session
may have changed, reconnects a stream that dropped (reading ``init`` again), and gives up
for the rest of the command when the server has no stream (404) or connecting keeps
failing; the commands then poll. It never warns: the rounds of questions between two
watches meet the same server and warn if it is really gone.

A stream is closed (its socket shut down, so the reader thread ends at once) when the
watched sessions are seen to end, when the watcher gives up, or when no wait has asked
for :data:`IDLE` seconds: an in-process caller of the commands is left no thread or socket
behind a finished wait.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from ao_core import deadline
from ao_core.session import IN_PROGRESS
from ao_plugins.api.client import _Bearer, shut_down
from ao_plugins.api.sse import frames

PATH = "/sse/sessions"
#: The frames that can tell a watched session changed; others (``event``) are dropped.
FRAMES = frozenset({"init", "session_created", "session_updated", "session_deleted", "run_failed"})
#: Seconds a stream may be silent (the server sends a heartbeat every 30) before it counts
#: as dead and is reconnected.
SILENCE = 75.0
#: Seconds without a wait asking before an open stream is closed.
IDLE = 3.0
#: The longest single wait on the queue (well below IDLE, so a wait keeps its stream).
SLICE = 0.5
#: A stream that ends sooner than this after it was opened counts as a failure ...
STABLE = 5.0
#: ... and after this many failures in a row, the watcher gives up (the commands poll).
MAX_FAILURES = 3


@dataclass(frozen=True)
class Update:
    """A frame about sessions: its event name and its JSON data."""

    event: str
    data: Any


@dataclass(frozen=True)
class Ended:
    """The stream is over: ``absent`` when the server has no such endpoint (404)."""

    reason: str
    absent: bool = False


class EventStream:
    """One ``GET /sse/sessions`` connection, read by its own daemon thread into a queue.

    ``session_id`` None follows every session. ``connect`` and ``first_byte`` bound the
    connection and the wait for the response's headers; after them each read may wait
    :data:`SILENCE` seconds. ``kinds``: the frames queued (``ao-logs`` adds ``event``).
    """

    def __init__(
        self,
        url: str,
        session_id: str | None,
        *,
        key: str | None,
        connect: float,
        first_byte: float,
        kinds: frozenset[str] = FRAMES,
    ) -> None:
        self.session_id = session_id
        self.kinds = kinds
        self.opened = time.monotonic()
        self.items: queue.Queue[Update | Ended] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._response: requests.Response | None = None
        self._asked = threading.Event()
        params = {"session_id": session_id} if session_id is not None else None
        request = {
            "url": url + PATH,
            "params": params,
            "headers": {"Accept": "text/event-stream", "Accept-Encoding": "identity"},
            "auth": _Bearer(key) if key else None,
            "timeout": (connect, first_byte),
            "stream": True,
            "allow_redirects": False,
        }
        self._reader = threading.Thread(
            target=self._read, args=(request,), name="ao-sse-reader", daemon=True
        )
        self._watchdog = threading.Thread(target=self._watch, name="ao-sse-idle", daemon=True)
        self._reader.start()
        self._watchdog.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def next(self, timeout: float) -> Update | Ended | None:
        """The next frame or the end, waiting at most ``timeout`` seconds (None: nothing)."""
        self._asked.set()
        try:
            return self.items.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def close(self) -> None:
        """End the stream now, from any thread; the reader thread then ends too."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            response = self._response
        self._asked.set()
        if response is not None:
            sock = _socket(response)
            if sock is not None:
                shut_down(sock)
            else:
                with contextlib.suppress(OSError):
                    response.close()

    def join(self, timeout: float) -> bool:
        """Wait for both threads to end (tests); True when they did."""
        self._reader.join(timeout)
        self._watchdog.join(timeout)
        return not (self._reader.is_alive() or self._watchdog.is_alive())

    def _read(self, request: dict[str, Any]) -> None:
        response = None
        try:
            response = requests.get(**request)
            with self._lock:
                if self._closed:
                    return
                self._response = response
            if response.status_code != 200:
                self._end(f"HTTP {response.status_code}", absent=response.status_code == 404)
                return
            kind = response.headers.get("Content-Type", "")
            if not kind.startswith("text/event-stream"):
                self._end(f"not an event stream ({kind or 'no content type'})")
                return
            sock = _socket(response)
            if sock is not None:
                sock.settimeout(SILENCE)
            chunk_size = None if response.raw.chunked else 1
            for frame in frames(response.iter_content(chunk_size)):
                if frame.event in self.kinds:
                    self.items.put(Update(frame.event, json.loads(frame.data)))
            self._end("the stream ended")
        except Exception as exc:  # whatever ends the stream ends it; the watcher decides
            self._end(type(exc).__name__)
        finally:
            if response is not None:
                response.close()

    def _end(self, reason: str, *, absent: bool = False) -> None:
        """Report the end, unless the stream was closed on purpose (nobody waits for it)."""
        if not self._closed:
            self.items.put(Ended(reason, absent))
            self.close()

    def _watch(self) -> None:
        """Close the stream once no wait has asked for :data:`IDLE` seconds."""
        while not self._closed:
            if not self._asked.wait(IDLE):
                self.close()
                return
            self._asked.clear()


def _socket(response: requests.Response) -> socket.socket | None:
    """The socket under a streamed response (urllib3's public ``connection.sock``), if any."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    return sock if isinstance(sock, socket.socket) else None


class Watcher:
    """Watches sessions by id across the calls of one wait, on one stream at a time.

    ``open_stream(session_id)`` opens a stream following that session (None: all).
    """

    def __init__(self, open_stream: Callable[[str | None], EventStream]) -> None:
        self._open = open_stream
        self._stream: EventStream | None = None
        self._delivered = False
        self._failures = 0
        self.gave_up = False
        #: The last status each session was seen with; None once it was deleted.
        self._seen: dict[str, str | None] = {}

    def wait(self, statuses: Mapping[str, str | None], timeout: float) -> bool | None:
        """True as soon as one of the sessions may have changed, False after ``timeout``
        seconds without a change, None when the stream cannot be used (for the rest of the
        command).

        ``statuses``: the status the commands last saw for each watched session id (None:
        unknown); a frame is a change when it says otherwise, so a change that happened
        before the stream's ``init`` is not missed.
        """
        if self.gave_up or not statuses:
            return None
        wanted = set(statuses)
        self._seen.update({i: status for i, status in statuses.items() if status})
        end = time.monotonic() + deadline.remaining(timeout)
        while True:
            stream = self._stream_for(wanted, end)
            if stream is None:
                return False
            item = stream.next(min(end - time.monotonic(), SLICE))
            if item is None:
                if time.monotonic() >= end:
                    return False
                continue
            if isinstance(item, Ended):
                if self._ended(stream, item):
                    continue
                return None if self.gave_up else False
            self._delivered = True
            if self._changed(item, wanted):
                if all(self._seen.get(i, "running") not in IN_PROGRESS for i in wanted):
                    self.close()
                return True

    def close(self) -> None:
        """Close the stream, if one is open; the next wait opens another."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _stream_for(self, wanted: set[str], end: float) -> EventStream | None:
        """The stream to read: the current one if it covers ``wanted`` and still has
        something to say, else a new one (None when no time is left to open it).
        """
        stream = self._stream
        if stream is not None:
            covers = stream.session_id is None or {stream.session_id} == wanted
            spent = stream.closed and stream.items.empty()
            if covers and not spent:
                return stream
            self.close()
        if time.monotonic() >= end:
            return None
        self._stream = self._open(next(iter(wanted)) if len(wanted) == 1 else None)
        self._delivered = False
        return self._stream

    def _ended(self, stream: EventStream, ended: Ended) -> bool:
        """Account for a stream that ended by itself; True to reconnect at once.

        A stream that ended before it delivered a frame, or within :data:`STABLE` seconds,
        is a failure. One that had delivered ``init`` is reconnected at once (the next
        ``init`` fills the gap), others at the next wait. A 404 (no stream on this server)
        or :data:`MAX_FAILURES` failures in a row: give up.
        """
        self._stream = None
        if ended.absent:
            self.gave_up = True
            return False
        lived = time.monotonic() - stream.opened
        steady = self._delivered and lived >= STABLE
        self._failures = 0 if steady else self._failures + 1
        if self._failures >= MAX_FAILURES:
            self.gave_up = True
            return False
        return self._delivered

    def _changed(self, update: Update, wanted: set[str]) -> bool:
        """Whether ``update`` says a watched session changed status, ended or went away."""
        data = update.data if isinstance(update.data, dict) else {}
        if update.event == "init":
            present = {
                s.get("session_id"): s.get("status")
                for s in data.get("sessions") or ()
                if isinstance(s, dict)
            }
            changed = False
            for session_id in wanted:
                gone = session_id not in present
                changed |= self._note(session_id, present.get(session_id), deleted=gone)
            return changed
        if update.event == "session_deleted":
            session_id = data.get("session_id")
            return session_id in wanted and self._note(session_id, None, deleted=True)
        if update.event == "run_failed":
            return data.get("session_id") in wanted
        session = data.get("session")
        if not isinstance(session, dict) or session.get("session_id") not in wanted:
            return False
        return self._note(session["session_id"], session.get("status"), deleted=False)

    def _note(self, session_id: str, status: object, *, deleted: bool) -> bool:
        """Record a session's status; True when it went away or changed from what was last
        seen (the commands' last answer, or an earlier frame), or, with nothing seen
        before, when it has ended."""
        if deleted:
            self._seen[session_id] = None
            return True
        if not isinstance(status, str):
            return True
        before = self._seen.get(session_id)
        self._seen[session_id] = status
        if before is None:  # nothing seen yet: an ended session may have ended unseen
            return status not in IN_PROGRESS
        return status != before
