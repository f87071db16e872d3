"""A test-only Agent Coordinator: today's server, as coordinator-contract.md describes it.

It shares the test-only machinery of :mod:`session_manager` (request recording, injected
faults, the API key check, :class:`~session_manager.ServerThread`) but speaks the
Coordinator's API over its own SQLite file: sessions known by id only, seven statuses,
results as ``result_text``/``result_data``, sessions created by ``POST /runs``, a 409 for
deleting a live session, and the event stream ``GET /sse/sessions``.

The stream is real: uvicorn sends each frame as it happens. Every change to the store,
made over HTTP or by a test calling the store from its own thread, is published at once to
the connected streams (:class:`Broadcaster`). :class:`StreamControls` make the stream
hostile on purpose: never answer, answer the headers then nothing, or drop the connection
after some frames, a number of times.

Runs, agents, stopping and the runner's endpoints (coordinator-runs.md) are in
:mod:`coordinator_runs` (runners and matching: :mod:`coordinator_runners`; agents:
:mod:`coordinator_agents`). A session moves only when a runner reports, and
:mod:`agent_runner` is a runner process for tests (fixtures: :mod:`runs_fixtures`).

As a process: ``python tests/session_manager.py --coordinator ...`` (see that module).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from coordinator_agents import Agents
from coordinator_runners import Dispatcher, RunSettings
from coordinator_runs import Runs, add_run_routes
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from session_manager import Controls, _hang, intercept, now, open_db
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

STATUSES = ("pending", "running", "idle", "stopping", "stopped", "finished", "failed")
#: Statuses whose session has a result.
RESULT_READY = ("finished", "idle")
#: Statuses in which ``DELETE`` answers 409 ``Stop session first``.
LIVE = ("running", "idle")
#: The fields of a session object S, in the contract's order.
SESSION_FIELDS = (
    "session_id",
    "status",
    "created_at",
    "project_dir",
    "agent_name",
    "parent_session_id",
    "executor_session_id",
    "executor_profile",
    "hostname",
    "last_resumed_at",
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    project_dir TEXT,
    agent_name TEXT,
    parent_session_id TEXT,
    executor_session_id TEXT,
    executor_profile TEXT,
    hostname TEXT,
    last_resumed_at TEXT,
    result_text TEXT,
    result_data TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_created ON sessions (created_at);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_session ON events (session_id, id);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    session_id TEXT NOT NULL,
    agent_name TEXT,
    parameters TEXT NOT NULL,
    status TEXT NOT NULL,
    project_dir TEXT,
    parent_session_id TEXT,
    execution_mode TEXT NOT NULL,
    demands TEXT,
    runner_id TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    claimed_at TEXT,
    started_at TEXT,
    completed_at TEXT,
    timeout_at TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_session ON runs (session_id);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status);
"""
#: The fields of a run, in the order ``GET /runs/{id}`` gives them.
RUN_FIELDS = (
    "run_id",
    "type",
    "session_id",
    "agent_name",
    "parameters",
    "status",
    "project_dir",
    "parent_session_id",
    "execution_mode",
    "demands",
    "runner_id",
    "error",
    "created_at",
    "claimed_at",
    "started_at",
    "completed_at",
    "timeout_at",
)
#: Run fields stored as JSON text.
_JSON_RUN_FIELDS = ("parameters", "demands")
#: The fields of an event E (besides its ``id``); those not given are null.
EVENT_FIELDS = (
    "session_id",
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
#: At most this many events answer ``GET /sessions/{id}/events`` (the oldest).
EVENTS_LIMIT = 100
_COLUMNS = ", ".join(SESSION_FIELDS)
#: The comment line a stream sends when nothing happened for a while.
HEARTBEAT = b": heartbeat\n\n"


def new_id(prefix: str) -> str:
    """A generated id as the Coordinator makes them: ``ses_`` or ``run_`` + 12 hex digits."""
    return f"{prefix}_{secrets.token_hex(6)}"


def frame(event_id: int, event: str, data: object) -> bytes:
    """One Server-Sent Events frame: ``id:``, ``event:``, one line of JSON ``data:``."""
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data)}\n\n".encode()


_CLOSE = object()  # put in a subscriber's queue: end that stream cleanly


@dataclass(eq=False)
class Subscriber:
    """One connected stream: the session it follows (None: all) and its frames to send."""

    session_id: str | None
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[object]


class Broadcaster:
    """Fans published frames out to the connected streams, from any thread.

    Streams live on uvicorn's event loop; changes come from request handlers (a thread
    pool) and from tests (their own thread). So a frame goes into each subscriber's
    ``asyncio.Queue`` through ``loop.call_soon_threadsafe``, never directly.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._subscribers: list[Subscriber] = []
        self._last_id = 0
        #: Streams that subscribed since the start (a reset does not clear it).
        self.total = 0

    def subscribe(self, session_id: str | None) -> Subscriber:
        """Register a stream; call on the event loop that will read its queue."""
        subscriber = Subscriber(session_id, asyncio.get_running_loop(), asyncio.Queue())
        with self._changed:
            self._subscribers.append(subscriber)
            self.total += 1
            self._changed.notify_all()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._changed:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)
                self._changed.notify_all()

    def next_id(self) -> int:
        """The next frame id (ids grow across all streams, as one event log)."""
        with self._changed:
            self._last_id += 1
            return self._last_id

    def publish(self, event: str, data: object, session_id: str) -> None:
        """Send ``event`` about ``session_id`` to every stream following it or all sessions."""
        with self._changed:
            self._last_id += 1
            chunk = frame(self._last_id, event, data)
            for subscriber in self._subscribers:
                if subscriber.session_id in (None, session_id):
                    _deliver(subscriber, chunk)

    def close_all(self) -> None:
        """End every connected stream cleanly (a reset between tests, or a server stop)."""
        with self._changed:
            for subscriber in self._subscribers:
                _deliver(subscriber, _CLOSE)
            self._subscribers.clear()
            self._changed.notify_all()

    @property
    def active(self) -> int:
        """How many streams are connected and past their subscription (before ``init``)."""
        with self._changed:
            return len(self._subscribers)

    def wait_active(self, accept: Callable[[int], bool], timeout: float) -> bool:
        """Wait until ``accept(number of subscribed streams)``; False after ``timeout`` s."""
        with self._changed:
            return self._changed.wait_for(lambda: accept(len(self._subscribers)), timeout)


def _deliver(subscriber: Subscriber, item: object) -> None:
    with contextlib.suppress(RuntimeError):  # its loop is closed: the server stopped
        subscriber.loop.call_soon_threadsafe(subscriber.queue.put_nowait, item)


def _session(row: Any) -> dict[str, Any]:
    return {key: row[key] for key in SESSION_FIELDS}


def _run(row: Any) -> dict[str, Any]:
    run = {key: row[key] for key in RUN_FIELDS}
    for key in _JSON_RUN_FIELDS:
        if run[key] is not None:
            run[key] = json.loads(run[key])
    return run


class CoordinatorStore:
    """The Coordinator's SQLite file. Every change is published to the event streams.

    Tests may call it directly (from their own thread) to seed sessions or to move them
    through any status, as a runner reporting on them would. Every change also wakes
    whoever waits on :attr:`changed` (the runners' long polls, the housekeeping of runs,
    a test's :meth:`wait_until`).
    """

    def __init__(self, path: Path | str, broadcaster: Broadcaster | None = None) -> None:
        self.path = Path(path)
        self.broadcaster = broadcaster or Broadcaster()
        # Held across a change and its publication, so streams see changes in order.
        self._lock = threading.RLock()
        #: Notified (under the store's lock) after every change.
        self.changed = threading.Condition(self._lock)
        with open_db(self.path) as db:
            db.executescript(SCHEMA)

    def wait_until(self, predicate: Callable[[], Any], timeout: float) -> Any:
        """Wait until ``predicate()`` (called under the store's lock) is truthy; its value.

        Falsy after ``timeout`` seconds.
        """
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def create(
        self,
        session_id: str | None = None,
        *,
        status: str = "pending",
        created_at: str | None = None,
        result_text: str | None = None,
        result_data: object = None,
        **fields: str | None,
    ) -> dict[str, Any] | None:
        """Add a session (id generated when None) and publish ``session_created``.

        ``fields`` are the other fields of S (``project_dir``, ``hostname`` ...). Answers
        the session, or None when the id is taken.
        """
        unknown = set(fields) - set(SESSION_FIELDS)
        if unknown:
            raise TypeError(f"not a session field: {', '.join(sorted(unknown))}")
        session = dict.fromkeys(SESSION_FIELDS)
        session.update(fields)
        session.update(
            session_id=session_id or new_id("ses"), status=status, created_at=created_at or now()
        )
        data = None if result_data is None else json.dumps(result_data)
        with self._lock:
            try:
                with open_db(self.path) as db:
                    db.execute(
                        f"INSERT INTO sessions ({_COLUMNS}, result_text, result_data) "
                        f"VALUES ({', '.join('?' * (len(SESSION_FIELDS) + 2))})",
                        (*session.values(), result_text, data),
                    )
            except sqlite3.IntegrityError:
                return None
            self.broadcaster.publish("session_created", {"session": session}, session["session_id"])
            self.changed.notify_all()
        return session

    def get(self, session_id: str) -> dict[str, Any] | None:
        with open_db(self.path) as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
        return _session(row) if row else None

    def sessions(self) -> list[dict[str, Any]]:
        """Every session, newest ``created_at`` first (the later insert first on a tie)."""
        with open_db(self.path) as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM sessions ORDER BY created_at DESC, rowid DESC"
            )
            return [_session(row) for row in rows]

    def update(
        self, session_id: str, status: str | None = None, *, publish: bool = True, **fields: object
    ) -> dict[str, Any] | None:
        """Set a session's status, its ``result_text``/``result_data``, or other fields of S.

        Publishes ``session_updated`` with the whole session (unless ``publish`` is
        false); None when it is unknown.
        """
        changes: dict[str, object] = {}
        if status is not None:
            changes["status"] = status
        for key, value in fields.items():
            if key not in ("result_text", "result_data") and key not in SESSION_FIELDS[2:]:
                raise TypeError(f"not a session field: {key}")
            changes[key] = (
                json.dumps(value) if key == "result_data" and value is not None else value
            )
        with self._lock:
            if changes:
                with open_db(self.path) as db:
                    assignments = ", ".join(f"{key} = ?" for key in changes)
                    db.execute(
                        f"UPDATE sessions SET {assignments} WHERE session_id = ?",
                        (*changes.values(), session_id),
                    )
            session = self.get(session_id)
            if session is not None and publish:
                self.broadcaster.publish("session_updated", {"session": session}, session_id)
            self.changed.notify_all()
        return session

    def set_status(self, session_id: str, status: str) -> dict[str, Any] | None:
        """Give a session any status word and publish ``session_updated``."""
        return self.update(session_id, status)

    def result(self, session_id: str) -> tuple[str | None, object] | None:
        """``(result_text, result_data)`` of a session, or None when it is unknown."""
        with open_db(self.path) as db:
            row = db.execute(
                "SELECT result_text, result_data FROM sessions WHERE session_id = ?",
                (session_id,),
            ).fetchone()
        if row is None:
            return None
        data = row["result_data"]
        return row["result_text"], None if data is None else json.loads(data)

    def add_event(self, session_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Store an event of a session and publish it as an ``event`` frame (without ``id``).

        The event gets every field of E (null where not given; others are dropped) and
        a ``timestamp`` when it has none. A ``result`` event becomes the session's
        result. Answers the stored event, ``id`` first.
        """
        event = {key: event.get(key) for key in EVENT_FIELDS}
        event["session_id"] = session_id
        event["timestamp"] = event["timestamp"] or now()
        with self._lock:
            with open_db(self.path) as db:
                cursor = db.execute(
                    "INSERT INTO events (session_id, body) VALUES (?, ?)",
                    (session_id, json.dumps(event)),
                )
                event_id = cursor.lastrowid
            if event["event_type"] == "result":
                self.update(
                    session_id,
                    publish=False,
                    result_text=event["result_text"],
                    result_data=event["result_data"],
                )
            self.broadcaster.publish("event", {"data": event}, session_id)
            self.changed.notify_all()
        return {"id": event_id, **event}

    def events(self, session_id: str, limit: int = EVENTS_LIMIT) -> list[dict[str, Any]]:
        """The oldest ``limit`` events of a session, oldest first, each with its ``id``."""
        with open_db(self.path) as db:
            rows = db.execute(
                "SELECT id, body FROM events WHERE session_id = ? ORDER BY id LIMIT ?",
                (session_id, limit),
            ).fetchall()
        return [{"id": row["id"], **json.loads(row["body"])} for row in rows]

    def add_run(
        self,
        session_id: str,
        run_type: str = "start_session",
        *,
        parameters: dict[str, Any] | None = None,
        agent_name: str | None = None,
        project_dir: str | None = None,
        parent_session_id: str | None = None,
        execution_mode: str = "sync",
        demands: dict[str, Any] | None = None,
        timeout_at: str | None = None,
    ) -> str:
        """Record a run of a session (pending); its ``run_`` id. Wakes the long polls."""
        run = dict.fromkeys(RUN_FIELDS)
        run.update(
            run_id=new_id("run"),
            type=run_type,
            session_id=session_id,
            agent_name=agent_name,
            parameters=json.dumps(parameters or {}),
            status="pending",
            project_dir=project_dir,
            parent_session_id=parent_session_id,
            execution_mode=execution_mode,
            demands=None if demands is None else json.dumps(demands),
            created_at=now(),
            timeout_at=timeout_at,
        )
        with self._lock:
            with open_db(self.path) as db:
                db.execute(
                    f"INSERT INTO runs ({', '.join(RUN_FIELDS)}) "
                    f"VALUES ({', '.join('?' * len(RUN_FIELDS))})",
                    tuple(run.values()),
                )
            self.changed.notify_all()
        return str(run["run_id"])

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        with open_db(self.path) as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def runs(
        self, status: str | None = None, *, session_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Runs in the order they were created, of one status and/or session when given."""
        where, args = [], []
        for column, value in (("status", status), ("session_id", session_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        with open_db(self.path) as db:
            rows = db.execute(f"SELECT * FROM runs {clause}ORDER BY rowid", args).fetchall()
        return [_run(row) for row in rows]

    def update_run(self, run_id: str, **changes: object) -> dict[str, Any] | None:
        """Change fields of a run (``status``, ``runner_id``, ``completed_at`` ...); the run.

        None when it is unknown. Publishes nothing (a run has no frame of its own).
        """
        unknown = set(changes) - set(RUN_FIELDS[1:])
        if unknown:
            raise TypeError(f"not a run field: {', '.join(sorted(unknown))}")
        values = [
            json.dumps(value) if key in _JSON_RUN_FIELDS and value is not None else value
            for key, value in changes.items()
        ]
        with self._lock:
            if changes:
                with open_db(self.path) as db:
                    assignments = ", ".join(f"{key} = ?" for key in changes)
                    db.execute(f"UPDATE runs SET {assignments} WHERE run_id = ?", (*values, run_id))
            self.changed.notify_all()
            return self.get_run(run_id)

    def fail_run(self, session_id: str, error: str, run_id: str | None = None) -> str:
        """Fail a run of a session (a new one when ``run_id`` is None); publish ``run_failed``.

        The session's status is left as it is, as the Coordinator does for a run that
        timed out waiting for a runner or lost its runner.
        """
        with self._lock:
            run_id = run_id or self.add_run(session_id)
            self.update_run(run_id, status="failed", error=error, completed_at=now())
            data = {"run_id": run_id, "error": error, "session_id": session_id}
            self.broadcaster.publish("run_failed", data, session_id)
        return run_id

    def delete(self, session_id: str) -> tuple[int, int] | None:
        """Delete a session, its events and runs, whatever its status; publish it.

        Answers ``(events_count, runs_count)``, or None when the session is unknown.
        """
        with self._lock:
            with open_db(self.path) as db:
                gone = db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
                if gone.rowcount == 0:
                    return None
                events = db.execute("DELETE FROM events WHERE session_id = ?", (session_id,))
                runs = db.execute("DELETE FROM runs WHERE session_id = ?", (session_id,))
                counts = events.rowcount, runs.rowcount
            data = {"session_id": session_id, "runs_deleted": counts[1]}
            self.broadcaster.publish("session_deleted", data, session_id)
            self.changed.notify_all()
        return counts

    def clear(self) -> None:
        """Delete everything, publishing nothing (between tests, with the streams closed)."""
        with self._lock:
            with open_db(self.path) as db:
                for table in ("sessions", "events", "runs"):
                    db.execute(f"DELETE FROM {table}")
            self.changed.notify_all()

    def seed(self, count: int) -> list[str]:
        """Add ``count`` finished sessions at once, publishing nothing (for benchmarks).

        Ids are ``ses_`` + the number in 12 hex digits (``ses_000000000000``...), the
        highest the newest; each has ``result_text`` ``result of <id>``. Answers the ids.
        """
        base = datetime(2026, 1, 1, tzinfo=timezone.utc)
        rows, ids = [], []
        for i in range(count):
            sid = f"ses_{i:012x}"
            stamp = (base + timedelta(seconds=i)).isoformat()
            session = dict.fromkeys(SESSION_FIELDS)
            session.update(session_id=sid, status="finished", created_at=stamp, project_dir="/p")
            rows.append((*session.values(), f"result of {sid}", None))
            ids.append(sid)
        with self._lock, open_db(self.path) as db:
            db.executemany(
                f"INSERT INTO sessions ({_COLUMNS}, result_text, result_data) "
                f"VALUES ({', '.join('?' * (len(SESSION_FIELDS) + 2))})",
                rows,
            )
        return ids

    def seed_states(self) -> dict[str, str]:
        """Add one session in each of the seven statuses; ``{status: session_id}``.

        Ids are ``ses_57a7e5000000`` + the status's position in :data:`STATUSES`
        (``ses_57a7e5000000`` is pending ... ``ses_57a7e5000006`` failed). The finished
        one has a text result, the idle one a structured result (``{"turn": 1}``).
        """
        ids = {}
        for i, status in enumerate(STATUSES):
            sid = f"ses_57a7e500000{i}"
            result: dict[str, object] = {
                "finished": {"result_text": f"result of {sid}"},
                "idle": {"result_data": {"turn": 1}},
            }.get(status, {})
            self.create(sid, status=status, project_dir="/p", **result)  # type: ignore[arg-type]
            ids[status] = sid
        return ids


@dataclass(frozen=True)
class StreamPlan:
    """What one event stream connection does, as :class:`StreamControls` decided."""

    stall: Literal["no-headers", "headers"] | None = None
    drop_after: int | None = None
    abrupt: bool = True


@dataclass
class StreamControls:
    """TEST-ONLY hostile behaviour of ``GET /sse/sessions``, each for a number of connections.

    ``stall``: ``"no-headers"`` accepts the request and sends nothing at all;
    ``"headers"`` sends the 200 and its headers, then nothing (no ``init``, no heartbeat).
    A stalled stream is held until a reset or a server stop. ``drop_after`` K: the stream
    ends after K frames (heartbeats not counted; 1 = right after ``init``), by closing the
    connection mid-body when ``abrupt`` (the client sees a broken chunked body), else by
    ending the response properly. A ``*_times`` of None means every connection.
    """

    heartbeat: float = 30.0
    stall: Literal["no-headers", "headers"] | None = None
    stall_times: int | None = None
    drop_after: int | None = None
    drop_times: int | None = None
    abrupt: bool = True
    _default_heartbeat: float = field(default=30.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def configure(self, **changes: Any) -> None:
        """Set some of the fields above at once (a connecting stream sees all or none)."""
        with self._lock:
            for key, value in changes.items():
                if key.startswith("_") or not hasattr(self, key):
                    raise TypeError(f"not a stream control: {key}")
                setattr(self, key, value)

    def take(self) -> StreamPlan:
        """The plan for a new connection, using up one of the counted misbehaviours."""
        with self._lock:
            if self.stall is not None:
                stall = self.stall
                self.stall_times, self.stall = _spend(self.stall_times, stall)
                return StreamPlan(stall=stall)
            if self.drop_after is not None:
                plan = StreamPlan(drop_after=self.drop_after, abrupt=self.abrupt)
                self.drop_times, self.drop_after = _spend(self.drop_times, self.drop_after)
                return plan
            return StreamPlan()

    def reset(self) -> None:
        """Behave again, with the app's own heartbeat interval."""
        with self._lock:
            self.heartbeat = self._default_heartbeat
            self.stall = self.stall_times = self.drop_after = self.drop_times = None
            self.abrupt = True


def _spend(times: int | None, what: Any) -> tuple[int | None, Any]:
    """One use of a misbehaviour: its remaining count, and the misbehaviour or None if done."""
    if times is None:
        return None, what
    return times - 1, what if times > 1 else None


@dataclass
class CoordinatorControls(Controls):
    """The shared test-only controls plus the event stream's."""

    stream: StreamControls = field(default_factory=StreamControls)

    def reset(self) -> None:
        super().reset()
        self.stream.reset()


class DroppedStream(Exception):
    """Raised inside a stream to make uvicorn close its connection mid-body (a drop)."""


class _QuietDrops(logging.Filter):
    """Keep uvicorn from logging a traceback for each stream dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedStream))


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


class _ControlsMiddleware:
    """Pure ASGI (not ``@app.middleware``), so a streamed response passes through untouched."""

    def __init__(self, app: ASGIApp, controls: Controls) -> None:
        self.app = app
        self.controls = controls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            answer = await intercept(self.controls, request, key_param="api_key")
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_coordinator_app(
    db_path: Path | str,
    *,
    api_key: str | None = None,
    heartbeat: float = 30.0,
    settings: RunSettings | None = None,
) -> FastAPI:
    """The Agent Coordinator app over the SQLite file ``db_path`` (created if missing).

    ``api_key`` makes every request need ``Authorization: Bearer <key>`` or
    ``?api_key=<key>`` (401 otherwise). ``heartbeat``: seconds of quiet before a stream
    sends ``: heartbeat``. ``settings``: the runs' timings (poll, no-match timeout,
    runner staleness). ``app.state`` holds ``store``, ``controls``, ``broadcaster``,
    ``agents`` and ``dispatcher`` for tests, and ``close_streams``, which
    :class:`~session_manager.ServerThread` calls when stopping (it also answers the
    runners' held polls).
    """
    broadcaster = Broadcaster()
    store = CoordinatorStore(db_path, broadcaster)
    stream = StreamControls(heartbeat=heartbeat, _default_heartbeat=heartbeat)
    controls = CoordinatorControls(api_key=api_key, stream=stream)
    agents = Agents()
    dispatcher = Dispatcher(store, settings or RunSettings())
    app = FastAPI(title="Agent Coordinator (test server)")
    app.state.store = store
    app.state.controls = controls
    app.state.broadcaster = broadcaster
    app.state.agents = agents
    app.state.dispatcher = dispatcher

    def close_streams() -> None:
        broadcaster.close_all()
        dispatcher.close()

    app.state.close_streams = close_streams
    app.add_middleware(_ControlsMiddleware, controls=controls)
    add_run_routes(app, Runs(store, agents, dispatcher))

    @app.get("/sessions")
    def list_sessions() -> dict[str, Any]:
        return {"sessions": store.sessions()}

    @app.get("/sessions/{session_id}")
    def get_session(session_id: str) -> dict[str, Any]:
        return {"session": _existing(store, session_id)}

    @app.get("/sessions/{session_id}/status")
    def get_status(session_id: str) -> dict[str, Any]:
        session = store.get(session_id)
        return {"status": session["status"] if session else "not_existent"}

    @app.get("/sessions/{session_id}/result")
    def get_result(session_id: str) -> dict[str, Any]:
        session = _existing(store, session_id)
        if session["status"] not in RESULT_READY:
            raise HTTPException(400, "Session not finished or idle")
        text, data = store.result(session_id) or (None, None)
        if text is None and data is None:
            raise HTTPException(404, "No result found")
        return {"result_text": text, "result_data": data}

    @app.delete("/sessions/{session_id}")
    def delete_session(session_id: str) -> dict[str, Any]:
        if _existing(store, session_id)["status"] in LIVE:
            raise HTTPException(409, "Stop session first")
        counts = store.delete(session_id)
        if counts is None:
            raise HTTPException(404, "Session not found")
        return {
            "ok": True,
            "session_id": session_id,
            "deleted": {"session": True, "events_count": counts[0], "runs_count": counts[1]},
        }

    @app.get("/sse/sessions")
    async def sse_sessions(session_id: str | None = None, include_init: bool = True) -> Response:
        plan = stream.take()
        if plan.stall == "no-headers":
            await _hang(controls)
            return Response(status_code=503)
        return StreamingResponse(
            _frames(session_id, include_init, plan),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _frames(
        session_id: str | None, include_init: bool, plan: StreamPlan
    ) -> AsyncIterator[bytes]:
        """The frames of one stream until the client goes, the server stops, or a drop."""
        if plan.stall == "headers":
            await _hang(controls)
            return
        # Subscribe before reading the sessions for init: a change made in between shows
        # in both, never in neither.
        subscriber = broadcaster.subscribe(session_id)
        sent = 0

        def drop_due() -> bool:
            return plan.drop_after is not None and sent >= plan.drop_after

        try:
            if include_init and not drop_due():
                sessions = await run_in_threadpool(_init_sessions, store, session_id)
                yield frame(broadcaster.next_id(), "init", {"sessions": sessions})
                sent += 1
            while not drop_due():
                try:
                    item = await asyncio.wait_for(subscriber.queue.get(), stream.heartbeat)
                except asyncio.TimeoutError:
                    yield HEARTBEAT
                    continue
                if item is _CLOSE:
                    return
                assert isinstance(item, bytes)
                yield item
                sent += 1
            if plan.abrupt:
                raise DroppedStream
        finally:
            broadcaster.unsubscribe(subscriber)

    return app


def _init_sessions(store: CoordinatorStore, session_id: str | None) -> list[dict[str, Any]]:
    if session_id is None:
        return store.sessions()
    session = store.get(session_id)
    return [session] if session else []


def _existing(store: CoordinatorStore, session_id: str) -> dict[str, Any]:
    session = store.get(session_id)
    if session is None:
        raise HTTPException(404, "Session not found")
    return session
