"""Watching sessions on the Agent Coordinator's event stream (``GET /sse/sessions``) during
``--wait``.

Imported only when a wait uses it. One :class:`EventStream` is one connection, read by a
daemon thread that parses each frame, keeps of it only what concerns the watched sessions
(their ids and statuses: :class:`Update`) and puts that into a bounded queue; the
command's thread only ever takes from that queue with a timeout, so nothing it does
blocks longer than it may (:mod:`ao_core.deadline`), whatever the server does. A stream
obeys the bounds of every other answer: a frame of more than
:data:`~ao_plugins.api.client.MAX_RESPONSE_BYTES` bytes (as they arrive) or
:data:`~ao_plugins.api.client.MAX_JSON_VALUES` JSON values, an encoding not asked for, or
an ``init`` frame that is not the contract's, ends it as a failure.

The :class:`Watcher` keeps one stream open across the calls of a wait, tells from its
frames whether a watched session may have changed, reconnects a stream that dropped
(reading ``init`` again) after a pause that doubles with each failure, and gives up for
the rest of the command when the server has no stream (404), when connecting keeps
failing, or when the stream keeps claiming changes the rounds of questions do not find
(an ``init`` that leaves out a session the server still runs); the commands then poll. It
never warns: the rounds of questions between two watches meet the same server and warn if
it is really gone.

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import requests

from ao_core import deadline
from ao_core.session import IN_PROGRESS
from ao_plugins.api.client import (
    CHUNK,
    MAX_JSON_VALUES,
    MAX_RESPONSE_BYTES,
    _Bearer,
    _values,
    shut_down,
)
from ao_plugins.api.sse import Frame, FrameTooLarge, Parser

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
#: After this many changes in a row that the next round found false, the watcher gives up.
MAX_DISAGREEMENTS = 3
#: The pause before reconnecting after a failure: the first, and the longest it grows to.
FIRST_BACKOFF, MAX_BACKOFF = 0.1, 5.0
#: Updates the reader may hold for the command's thread before it waits for it to take some.
QUEUED = 64
#: What an :class:`Update` says of a session the frame says is gone (deleted, or left out
#: of ``init``), and of one whose run failed (its status may have changed).
GONE, RUN_FAILED = None, "\0run_failed"


@dataclass(frozen=True)
class Update:
    """What a frame said about the watched sessions: by id, the status it gave (any value
    the server sent), :data:`GONE` or :data:`RUN_FAILED`; for an ``event`` frame (asked
    for by ``ao-logs``), the frame's data as it came."""

    event: str
    sessions: Mapping[str, object]


@dataclass(frozen=True)
class Ended:
    """The stream is over: ``absent`` when the server has no such endpoint (404)."""

    reason: str
    absent: bool = False


class _Malformed(Exception):
    """A frame that ends the stream: too large, too many values, an ``init`` that is not one."""


class EventStream:
    """One ``GET /sse/sessions`` connection about the sessions ``ids``, read by its own
    daemon thread into a queue.

    The server is asked for the one session when ``ids`` holds one, else for all (and the
    frames are filtered here). ``connect`` and ``first_byte`` bound the connection and the
    wait for the response's headers; after them each read may wait :data:`SILENCE`
    seconds. ``limit`` and ``values`` bound one frame's bytes and JSON values. ``kinds``:
    the frames queued (``ao-logs`` adds ``event``).
    """

    def __init__(
        self,
        url: str,
        ids: frozenset[str],
        *,
        key: str | None,
        connect: float,
        first_byte: float,
        limit: int = MAX_RESPONSE_BYTES,
        values: int = MAX_JSON_VALUES,
        kinds: frozenset[str] = FRAMES,
    ) -> None:
        self.ids = ids
        self.kinds = kinds
        self.opened = time.monotonic()
        self.items: queue.Queue[Update | Ended] = queue.Queue(QUEUED)
        self._limit, self._max_values = limit, values
        self._lock = threading.Lock()
        self._closed = False
        self._response: requests.Response | None = None
        self._asked = threading.Event()
        params = {"session_id": next(iter(ids))} if len(ids) == 1 else None
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
        """The next update or the end, waiting at most ``timeout`` seconds (None: nothing)."""
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

    def _read(self, request: dict) -> None:
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
            encoding = response.headers.get("Content-Encoding", "").strip().lower()
            if encoding not in ("", "identity"):
                self._end(f"an encoding not asked for ({encoding})")
                return
            sock = _socket(response)
            if sock is not None:
                sock.settimeout(SILENCE)
            parser = Parser(self._limit)
            for chunk in _pieces(response):
                for frame in parser.feed(chunk):
                    update = self._update(frame) if frame.event in self.kinds else None
                    if update is not None:
                        self._put(update)
            self._end("the stream ended")
        except (FrameTooLarge, _Malformed) as exc:
            self._end(str(exc))
        except Exception as exc:  # whatever ends the stream ends it; the watcher decides
            self._end(type(exc).__name__)
        finally:
            if response is not None:
                response.close()

    def _update(self, frame: Frame) -> Update | None:
        """What ``frame`` says about the watched sessions (None: nothing); the parsed JSON
        is dropped here, on the reader's thread, however large it was."""
        if _values(frame.data) > self._max_values:
            raise _Malformed(f"a frame of more than {self._max_values:,} JSON values")
        text = frame.data.decode("utf-8", "replace")
        if isinstance(frame.data, bytearray):
            frame.data.clear()  # so the bytes and the text are not both held while parsing
        try:
            data = json.loads(text, parse_constant=_refuse)
        except (ValueError, RecursionError):
            data = None
        del text
        if frame.event == "init":
            entries = data.get("sessions") if isinstance(data, dict) else None
            if not isinstance(entries, list):
                raise _Malformed("an init frame without a list of sessions")
            found = dict.fromkeys(self.ids, GONE)
            for entry in entries:
                if isinstance(entry, dict) and entry.get("session_id") in self.ids:
                    found[entry["session_id"]] = entry.get("status")
            return Update("init", found)
        if not isinstance(data, dict):
            return None
        if frame.event == "event":  # a session's event (ao-logs): the frame as it came
            inner = data.get("data")
            inside = inner.get("session_id") if isinstance(inner, dict) else None
            return Update("event", data) if inside in self.ids else None
        if frame.event in ("session_deleted", "run_failed"):
            session_id = data.get("session_id")
            if isinstance(session_id, str) and session_id in self.ids:
                said = GONE if frame.event == "session_deleted" else RUN_FAILED
                return Update(frame.event, {session_id: said})
            return None
        session = data.get("session")
        session_id = session.get("session_id") if isinstance(session, dict) else None
        if isinstance(session_id, str) and session_id in self.ids:
            return Update(frame.event, {session_id: session.get("status")})
        return None

    def _put(self, item: Update | Ended) -> None:
        """Queue ``item``, waiting while the queue is full, until the stream is closed."""
        while not self._closed:
            try:
                self.items.put(item, timeout=SLICE)
                return
            except queue.Full:
                continue

    def _end(self, reason: str, *, absent: bool = False) -> None:
        """Report the end, unless the stream was closed on purpose (nobody waits for it)."""
        if not self._closed:
            self._put(Ended(reason, absent))
            self.close()

    def _watch(self) -> None:
        """Close the stream once no wait has asked for :data:`IDLE` seconds."""
        while not self._closed:
            if not self._asked.wait(IDLE):
                self.close()
                return
            self._asked.clear()


def _refuse(literal: str) -> object:
    raise ValueError(f"{literal} is not JSON")


def _pieces(response: requests.Response) -> Iterator[bytes]:
    """The body's bytes as they arrive, at most :data:`CHUNK` at a time (a chunk of the
    chunked encoding, however large, is read in such pieces), never decoded."""
    raw = response.raw
    if hasattr(raw, "read1"):  # urllib3 2.3 and newer: whatever has arrived, chunked or not
        while piece := raw.read1(CHUNK, decode_content=False):
            yield piece
    elif raw.chunked:
        yield from raw.read_chunked(CHUNK, decode_content=False)
    else:
        while piece := raw.read(1, decode_content=False):
            yield piece


def _socket(response: requests.Response) -> socket.socket | None:
    """The socket under a streamed response (urllib3's public ``connection.sock``), if any."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    return sock if isinstance(sock, socket.socket) else None


class Watcher:
    """Watches sessions by id across the calls of one wait, on one stream at a time.

    ``open_stream(ids)`` opens a stream about those sessions.
    """

    def __init__(self, open_stream: Callable[[frozenset[str]], EventStream]) -> None:
        self._open = open_stream
        self._stream: EventStream | None = None
        self._delivered = False
        self._failures = 0
        self._disagreements = 0
        self._backoff = 0.0
        self._next_open = 0.0
        #: What the stream said when the last wait returned True, by id, for the next
        #: wait to compare with what the round then found.
        self._claims: dict[str, object] = {}
        self.gave_up = False
        #: The last status each session was seen with; None once it was deleted.
        self._seen: dict[str, object] = {}

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
        self._judge_claims(statuses)
        if self.gave_up:
            return None
        wanted = frozenset(statuses)
        self._seen.update({i: status for i, status in statuses.items() if status})
        end = time.monotonic() + deadline.remaining(timeout)
        while True:
            stream = self._stream_for(wanted, end)
            if stream is None:
                return False
            item = stream.next(min(end - time.monotonic(), SLICE))
            if item is None:
                if time.monotonic() >= end or not deadline.remaining(SLICE):
                    return False  # the time is up, or the wait was told to stop
                continue
            if isinstance(item, Ended):
                if self._ended(stream, item):
                    continue
                return None if self.gave_up else False
            self._delivered = True
            if self._changed(item, wanted):
                self._claims = {i: self._seen.get(i) for i in wanted}
                if all(self._seen.get(i, "running") not in IN_PROGRESS for i in wanted):
                    self.close()
                return True

    def close(self) -> None:
        """Close the stream, if one is open; the next wait opens another."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _judge_claims(self, statuses: Mapping[str, str | None]) -> None:
        """Compare what the stream last claimed with what the round after it found: a
        session the stream said had changed that the round still sees as before is a
        disagreement; after :data:`MAX_DISAGREEMENTS` in a row the stream is given up."""
        claims, self._claims = self._claims, {}
        if not claims:
            return
        if any(i in statuses and statuses[i] != said for i, said in claims.items()):
            self._disagreements += 1
            self._fail_later()
            if self._disagreements >= MAX_DISAGREEMENTS:
                self.gave_up = True
                self.close()
        else:
            self._disagreements = 0

    def _fail_later(self) -> None:
        """Reconnect no sooner than the back-off, which doubles with each failure."""
        self._backoff = min(MAX_BACKOFF, max(FIRST_BACKOFF, self._backoff * 2))
        self._next_open = time.monotonic() + self._backoff

    def _stream_for(self, wanted: frozenset[str], end: float) -> EventStream | None:
        """The stream to read: the current one if it covers ``wanted`` and still has
        something to say, else a new one once the back-off is over (None when no time is
        left to open it).
        """
        stream = self._stream
        if stream is not None:
            spent = stream.closed and stream.items.empty()
            if wanted <= stream.ids and not spent:
                return stream
            self.close()
        pause = min(self._next_open, end) - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if time.monotonic() >= end:
            return None
        self._stream = self._open(wanted)
        self._delivered = False
        return self._stream

    def _ended(self, stream: EventStream, ended: Ended) -> bool:
        """Account for a stream that ended by itself; True to reconnect at once.

        A stream that ended before it delivered a frame, or within :data:`STABLE` seconds,
        is a failure (and the next one waits for the back-off). One that had delivered
        ``init`` is reconnected (the next ``init`` fills the gap), others at the next wait.
        A 404 (no stream on this server) or :data:`MAX_FAILURES` failures in a row: give up.
        """
        self._stream = None
        if ended.absent:
            self.gave_up = True
            return False
        lived = time.monotonic() - stream.opened
        steady = self._delivered and lived >= STABLE
        if steady:
            self._failures, self._backoff = 0, 0.0
        else:
            self._failures += 1
            self._fail_later()
        if self._failures >= MAX_FAILURES:
            self.gave_up = True
            return False
        return self._delivered

    def _changed(self, update: Update, wanted: frozenset[str]) -> bool:
        """Whether ``update`` says a watched session changed status, ended or went away."""
        changed = False
        for session_id, said in update.sessions.items():
            if session_id in wanted:
                changed |= self._note(session_id, said)
        return changed

    def _note(self, session_id: str, said: object) -> bool:
        """Record what a frame said of a session; True when it went away, or changed from
        what was last seen (the commands' last answer, or an earlier frame), or, with
        nothing seen before, when it has ended."""
        if said is GONE:
            self._seen[session_id] = None
            return True
        if not isinstance(said, str) or said == RUN_FAILED:
            return True
        before = self._seen.get(session_id)
        self._seen[session_id] = said
        if before is None:  # nothing seen yet: an ended session may have ended unseen
            return said not in IN_PROGRESS
        return said != before
