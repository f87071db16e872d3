"""A test-only Agent Session Manager: the contract's HTTP API over a real SQLite file.

Three ways to use it: :func:`create_app` (an ASGI app), :class:`ServerThread` (uvicorn on
127.0.0.1 in a background thread, used by the pytest fixtures), and as a process:
``python tests/session_manager.py --port 8765 --db /tmp/sm.db [--seed 10000]``.

``--coordinator`` serves today's Agent Coordinator instead (:mod:`coordinator`):
``python tests/session_manager.py --coordinator --port 8765 --db /tmp/c.db [--seed N]
[--seed-states] [--heartbeat S]``. There ``--seed N`` adds N finished sessions with a text
result, ids ``ses_000000000000`` (oldest) to ``ses_`` + N-1 in 12 hex digits (newest);
``--seed-states`` adds one session in each of the seven statuses, ids
``ses_57a7e5000000`` (pending), ``...01`` running, ``...02`` idle (structured result
``{"turn": 1}``), ``...03`` stopping, ``...04`` stopped, ``...05`` finished (text
result), ``...06`` failed; ``--heartbeat`` sets the event stream's quiet interval;
``--poll-timeout``, ``--no-match-timeout``, ``--stale-after`` and ``--remove-after`` set
the runs' timings in seconds (:class:`coordinator_runners.RunSettings`). Sessions move only
when a runner reports: start one with ``python tests/agent_runner.py --url URL``.

Besides the contract it has test-only tools, never part of the real server: request
recording, injected faults (a canned answer or a hang for matching requests), an
optional API key check, and direct store helpers to seed sessions in bulk or to set a
session's status to any word.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    session_name TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    project_dir TEXT,
    agent_name TEXT,
    last_resumed_at TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_created ON sessions (created_at);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_session ON events (session_id, id);
"""
SESSION_COLUMNS = (
    "session_id",
    "session_name",
    "status",
    "created_at",
    "project_dir",
    "agent_name",
    "last_resumed_at",
)
#: What every event carries (more fields are kept as they come).
EVENT_FIELDS = ("event_type", "session_id", "session_name", "timestamp")
#: Statuses whose session has a result (``idle`` only arises through :meth:`set_status`).
RESULT_READY = ("finished", "idle")


def now() -> str:
    """The server's timestamp format: ISO 8601, UTC, microseconds."""
    return datetime.now(timezone.utc).isoformat()


@contextmanager
def open_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to the SQLite file ``path``, rows as mappings, committed on success."""
    with closing(sqlite3.connect(path, timeout=30)) as db, db:
        db.row_factory = sqlite3.Row
        yield db


class SessionStore:
    """The server's SQLite file. Tests may use it directly to seed or to alter sessions."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with self._db() as db:
            db.executescript(SCHEMA)

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        return open_db(self.path)

    def create(
        self,
        session_id: str,
        session_name: str,
        project_dir: str | None = None,
        agent_name: str | None = None,
        *,
        created_at: str | None = None,
    ) -> dict[str, Any] | None:
        """Add a session (status ``running``); None when the id is taken."""
        created_at = created_at or now()
        row = (session_id, session_name, "running", created_at, project_dir, agent_name, None)
        try:
            with self._db() as db:
                db.execute(f"INSERT INTO sessions VALUES ({', '.join('?' * 7)})", row)
        except sqlite3.IntegrityError:
            return None
        return dict(zip(SESSION_COLUMNS, row, strict=True))

    def get(self, session_id: str) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM sessions WHERE session_id = ?", (session_id,))
            found = row.fetchone()
        return dict(found) if found else None

    def sessions(self) -> list[dict[str, Any]]:
        """Every session, newest ``created_at`` first (the later insert first on a tie)."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM sessions ORDER BY created_at DESC, rowid DESC")
            return [dict(row) for row in rows]

    def set_status(self, session_id: str, status: str) -> bool:
        """TEST-ONLY: give a session any status word (``pending``, ``idle``, ``failed`` ...)."""
        with self._db() as db:
            changed = db.execute(
                "UPDATE sessions SET status = ? WHERE session_id = ?", (status, session_id)
            )
            return changed.rowcount == 1

    def add_event(self, event: dict[str, Any]) -> None:
        """Store an event of an existing session; ``session_stop`` finishes the session."""
        with self._db() as db:
            db.execute(
                "INSERT INTO events (session_id, event_type, body) VALUES (?, ?, ?)",
                (event["session_id"], event["event_type"], json.dumps(event)),
            )
            if event["event_type"] == "session_stop":
                db.execute(
                    "UPDATE sessions SET status = 'finished' WHERE session_id = ?",
                    (event["session_id"],),
                )

    def events(self, session_id: str) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute(
                "SELECT body FROM events WHERE session_id = ? ORDER BY id", (session_id,)
            )
            return [json.loads(row["body"]) for row in rows]

    def result(self, session_id: str) -> str | None:
        """The text of the session's latest assistant message that has text."""
        with self._db() as db:
            rows = db.execute(
                "SELECT body FROM events WHERE session_id = ? AND event_type = 'message' "
                "ORDER BY id DESC",
                (session_id,),
            ).fetchall()
        for row in rows:
            event = json.loads(row["body"])
            if event.get("role") == "assistant":
                text = _text(event.get("content"))
                if text is not None:
                    return text
        return None

    def delete(self, session_id: str) -> int | None:
        """Delete a session and its events; the number of events, or None if unknown."""
        with self._db() as db:
            gone = db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
            if gone.rowcount == 0:
                return None
            return db.execute("DELETE FROM events WHERE session_id = ?", (session_id,)).rowcount

    def clear(self) -> None:
        """Delete every session and event."""
        with self._db() as db:
            db.execute("DELETE FROM sessions")
            db.execute("DELETE FROM events")

    def seed(self, count: int, *, prefix: str = "seed") -> None:
        """Add ``count`` finished sessions ``{prefix}-00000``... each with a result, at once.

        The highest number is the newest. Meant for benchmarks with thousands of sessions.
        """
        base = datetime(2025, 1, 1, tzinfo=timezone.utc)
        sessions, events = [], []
        for i in range(count):
            name = f"{prefix}-{i:05d}"
            sid = f"{name}-id"
            stamp = (base + timedelta(seconds=i)).isoformat()
            sessions.append((sid, name, "finished", stamp, "/tmp", None, None))
            message = assistant_message(sid, name, f"result of {name}", stamp)
            events.append((sid, "message", json.dumps(message)))
        with self._db() as db:
            db.executemany(f"INSERT INTO sessions VALUES ({', '.join('?' * 7)})", sessions)
            db.executemany(
                "INSERT INTO events (session_id, event_type, body) VALUES (?, ?, ?)", events
            )


def assistant_message(session_id: str, name: str, text: str, timestamp: str) -> dict[str, Any]:
    """A ``message`` event from the assistant, as the agent hooks post it."""
    return {
        "event_type": "message",
        "session_id": session_id,
        "session_name": name,
        "timestamp": timestamp,
        "role": "assistant",
        "content": [{"type": "text", "text": text}],
    }


def _text(content: object) -> str | None:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    parts = [
        block["text"]
        for block in content
        if isinstance(block, dict) and block.get("type") == "text" and "text" in block
    ]
    return "\n".join(parts) if parts else None


class NewSession(BaseModel):
    session_id: str
    session_name: str
    project_dir: str | None = None
    agent_name: str | None = None


@dataclass(frozen=True)
class Fault:
    """TEST-ONLY: answer requests matching ``method`` and ``path`` (a regex) with this."""

    method: str
    path: str
    status: int = 500
    body: str = "Internal Server Error"
    content_type: str = "text/plain"
    hang: bool = False


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived: ``raw_path`` is the path before percent-decoding."""

    method: str
    raw_path: str
    query: str
    authorization: str | None
    client_port: int | None = None
    user_agent: str | None = None


@dataclass
class Controls:
    """TEST-ONLY state of one app: the faults to inject and the requests seen."""

    api_key: str | None = None
    faults: list[Fault] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    generation: int = 0
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def record(self, request: Recorded) -> None:
        """Note a request as it arrives, and wake whoever waits in :meth:`wait_for`."""
        with self.arrived:
            self.requests.append(request)
            self.arrived.notify_all()

    def wait_for(self, predicate: Callable[[list[Recorded]], bool], timeout: float) -> bool:
        """Wait until ``predicate(requests so far)`` holds; False after ``timeout`` s."""
        with self.arrived:
            return self.arrived.wait_for(lambda: predicate(self.requests), timeout)

    def reset(self) -> None:
        """Forget faults and recorded requests, and let go of requests held by a hang."""
        self.faults.clear()
        with self.arrived:
            self.requests.clear()
        self.generation += 1


def create_app(db_path: Path | str, *, api_key: str | None = None) -> FastAPI:
    """The Session Manager app over the SQLite file ``db_path`` (created if missing).

    ``api_key`` makes every request need ``Authorization: Bearer <key>`` (401 otherwise),
    as later servers do. ``app.state.store`` and ``app.state.controls`` are for tests.
    """
    store = SessionStore(db_path)
    controls = Controls(api_key=api_key)
    app = FastAPI(title="Agent Session Manager (test server)")
    app.state.store = store
    app.state.controls = controls

    @app.middleware("http")
    async def test_controls(request: Request, call_next: Any) -> Response:
        return await intercept(controls, request) or await call_next(request)

    @app.get("/sessions")
    def list_sessions() -> dict[str, Any]:
        return {"sessions": store.sessions()}

    @app.post("/sessions")
    def create_session(body: NewSession) -> dict[str, Any]:
        session = store.create(
            body.session_id, body.session_name, body.project_dir, body.agent_name
        )
        if session is None:
            raise HTTPException(409, "Session already exists")
        return {"ok": True, "session": session}

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
            raise HTTPException(400, "Session not finished")
        result = store.result(session_id)
        if result is None:
            raise HTTPException(404, "No result found")
        return {"result": result}

    @app.get("/sessions/{session_id}/events")
    def get_events(session_id: str) -> dict[str, Any]:
        _existing(store, session_id)
        return {"events": store.events(session_id)}

    @app.post("/sessions/{session_id}/events")
    def add_event(session_id: str, event: dict[str, Any]) -> dict[str, Any]:
        missing = [key for key in EVENT_FIELDS if not isinstance(event.get(key), str)]
        if missing:
            raise HTTPException(422, f"Event fields missing or not text: {', '.join(missing)}")
        _existing(store, session_id)
        if event["session_id"] != session_id:
            raise HTTPException(400, "Session ID mismatch")
        store.add_event(event)
        return {"ok": True}

    @app.delete("/sessions/{session_id}")
    def delete_session(session_id: str) -> dict[str, Any]:
        count = store.delete(session_id)
        if count is None:
            raise HTTPException(404, "Session not found")
        return {
            "ok": True,
            "session_id": session_id,
            "deleted": {"session": True, "events_count": count},
        }

    return app


def _existing(store: SessionStore, session_id: str) -> dict[str, Any]:
    session = store.get(session_id)
    if session is None:
        raise HTTPException(404, "Session not found")
    return session


async def intercept(
    controls: Controls, request: Request, *, key_param: str | None = None
) -> Response | None:
    """TEST-ONLY: record ``request``, then the answer to send instead of the app's, if any.

    That answer is a 401 when an API key is set and the request lacks it (as
    ``Authorization: Bearer <key>``, or as query parameter ``key_param`` when given), or
    the first matching injected fault (after holding the request, for a hang).
    """
    authorization = request.headers.get("authorization")
    controls.record(
        Recorded(
            request.method,
            request.scope.get("raw_path", b"").decode("latin-1"),
            request.url.query,
            authorization,
            request.client.port if request.client else None,
            request.headers.get("user-agent"),
        )
    )
    key = controls.api_key
    if (
        key is not None
        and authorization != f"Bearer {key}"
        and not (key_param and request.query_params.get(key_param) == key)
    ):
        return JSONResponse({"detail": "Invalid or missing API key"}, status_code=401)
    for fault in list(controls.faults):
        if fault.method == request.method and re.fullmatch(fault.path, request.url.path):
            if fault.hang:
                await _hang(controls)
            return Response(fault.body, fault.status, media_type=fault.content_type)
    return None


async def _hang(controls: Controls, limit: float = 60.0) -> None:
    """Hold a request until a reset or a stop (or ``limit`` seconds, a safety net)."""
    deadline = time.monotonic() + limit
    generation = controls.generation
    while (
        controls.generation == generation
        and not controls.released.is_set()
        and time.monotonic() < deadline
    ):
        await asyncio.sleep(0.05)


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 and an ephemeral port, in a daemon thread."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1") -> None:
        self.app = app
        # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on connections whose
        # socket says so, and without it every answer waited 40 ms for a delayed ACK
        # (Nagle's algorithm holding the body behind the headers), as a real server's doesn't.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.bind((host, 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self, deadline: float = 10.0) -> None:
        """Start serving and return once a connection is accepted; fail after ``deadline`` s."""
        self._thread.start()
        end = time.monotonic() + deadline
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > end:
                raise RuntimeError(f"test Session Manager did not start on {self.url}")
            time.sleep(0.01)
        with socket.create_connection(("127.0.0.1", self.port), timeout=deadline):
            pass

    def stop(self) -> None:
        """Stop serving at once: release hung requests, drop open connections, then wait."""
        self.app.state.controls.released.set()
        close_streams = getattr(self.app.state, "close_streams", None)
        if close_streams is not None:  # the Coordinator's event streams: end them first
            close_streams()
        self._server.should_exit = self._server.force_exit = True
        self._thread.join(10)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError(f"test Session Manager on {self.url} did not stop")


def main(argv: list[str] | None = None) -> None:
    """Run the test server as a process (for trying the commands by hand, or benchmarks)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", required=True, help="SQLite file (created if missing)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="add N sessions first")
    parser.add_argument("--api-key", help="require Authorization: Bearer KEY")
    parser.add_argument(
        "--fd",
        type=int,
        help="serve on this inherited, already listening socket instead of --host/--port "
        "(a test can then connect at once, with no polling for the server to start)",
    )
    parser.add_argument(
        "--coordinator", action="store_true", help="serve today's Agent Coordinator API"
    )
    parser.add_argument(
        "--seed-states",
        action="store_true",
        help="(--coordinator) add one session in each of the seven statuses",
    )
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=30.0,
        metavar="S",
        help="(--coordinator) seconds between heartbeats on a quiet event stream",
    )
    timings = (
        ("--poll-timeout", "poll_timeout", "how long a runner's long poll is held"),
        ("--no-match-timeout", "no_match_timeout", "how long a run may wait for a runner"),
        ("--stale-after", "stale_after", "quiet seconds before a runner is stale"),
        ("--remove-after", "remove_after", "quiet seconds before a runner is removed"),
    )
    for option, dest, text in timings:
        parser.add_argument(
            option, dest=dest, type=float, metavar="S", help=f"(--coordinator) {text}"
        )
    args = parser.parse_args(argv)
    if args.coordinator:
        from coordinator import create_coordinator_app  # imports this module: not at the top
        from coordinator_runners import RunSettings

        given = {dest: getattr(args, dest) for _, dest, _ in timings}
        settings = RunSettings(**{k: v for k, v in given.items() if v is not None})
        app = create_coordinator_app(
            args.db, api_key=args.api_key, heartbeat=args.heartbeat, settings=settings
        )
        if args.seed_states:
            app.state.store.seed_states()
    elif args.seed_states:
        parser.error("--seed-states needs --coordinator")
    else:
        app = create_app(args.db, api_key=args.api_key)
    if args.seed:
        app.state.store.seed(args.seed)
    if args.fd is None:
        config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
        _ReleasingServer(config).run()
    else:
        sock = socket.socket(fileno=args.fd)
        _ReleasingServer(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


class _ReleasingServer(uvicorn.Server):
    """uvicorn that lets go of held requests (event streams, runners' long polls) first on
    SIGTERM or SIGINT, so its graceful stop does not wait for them to end by themselves."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        release = getattr(self.config.app.state, "close_streams", None)
        if release is not None:
            release()
        super().handle_exit(sig, frame)


if __name__ == "__main__":
    main()
