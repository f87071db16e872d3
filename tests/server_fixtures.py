"""Fixtures with real servers on 127.0.0.1: the test Session Manager, the test Agent
Coordinator, and the fault servers.

The Coordinator's fixtures, for the api backend's tests against today's server:
``coordinator`` (a shared server, emptied per test) and ``start_coordinator`` (a server
of the test's own, which it may stop). Both give a :class:`CoordinatorServer`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from coordinator import CoordinatorControls, CoordinatorStore, create_coordinator_app
from fault_servers import HangingServer, RefusingPort
from session_manager import (
    Controls,
    Fault,
    Recorded,
    ServerThread,
    SessionStore,
    assistant_message,
    create_app,
)

#: The event stream's path, as recorded requests show it.
SSE_PATH = "/sse/sessions"


class ServerHandle:
    """What every started test server offers: URL, faults, recorded requests, settings."""

    def __init__(self, thread: ServerThread) -> None:
        self.url = thread.url
        self._thread = thread
        self._controls: Controls = thread.app.state.controls

    def inject(
        self,
        method: str,
        path: str,
        status: int = 500,
        body: str = "Internal Server Error",
        **kw: object,
    ) -> None:
        """Answer ``method`` requests whose path fully matches regex ``path`` with a fault."""
        self._controls.faults.append(Fault(method, path, status, body, **kw))

    def clear_faults(self) -> None:
        self._controls.faults.clear()

    @property
    def requests(self) -> list[Recorded]:
        """Every request received so far, in order."""
        return list(self._controls.requests)

    def wait_for_requests(
        self, count: int, *, path: str | None = None, timeout: float = 10.0
    ) -> list[Recorded]:
        """Wait until ``count`` requests (to ``path`` when given) arrived; those requests.

        Fails the test after ``timeout`` seconds.
        """

        def matching(requests: list[Recorded]) -> list[Recorded]:
            return [r for r in requests if path is None or r.raw_path == path]

        if not self._controls.wait_for(lambda rs: len(matching(rs)) >= count, timeout):
            raise AssertionError(
                f"{len(matching(self.requests))} of {count} requests to {path or 'any path'} "
                f"arrived within {timeout} s"
            )
        return matching(self.requests)

    def env(self, **extra: str) -> dict[str, str]:
        """Command settings asking this server first, in the default backend order."""
        return api_env(self.url, **extra)


class RunningServer(ServerHandle):
    """A started test Session Manager: its URL, its store, and its test-only controls."""

    def __init__(self, thread: ServerThread) -> None:
        super().__init__(thread)
        self.store: SessionStore = thread.app.state.store

    def add(
        self,
        session_id: str,
        name: str,
        *,
        result: str | None = None,
        project_dir: str | None = "/srv",
        created_at: str | None = None,
    ) -> None:
        """Put a session on the server: running, or finished with ``result`` when given."""
        self.store.create(session_id, name, project_dir, created_at=created_at)
        if result is not None:
            stamp = "2024-01-01T00:00:00Z"
            self.store.add_event(assistant_message(session_id, name, result, stamp))
            self.store.add_event(
                {
                    "event_type": "session_stop",
                    "session_id": session_id,
                    "session_name": name,
                    "timestamp": stamp,
                    "exit_code": 0,
                    "reason": "completed",
                }
            )


class Stoppable(ServerHandle):
    """A server of one test's own, which that test may stop."""

    def stop(self) -> None:
        """Stop serving: open connections are dropped, new ones refused (idempotent)."""
        self._thread.stop()


class DedicatedServer(RunningServer, Stoppable):
    """A test Session Manager of one test's own, which that test may stop."""


class CoordinatorServer(ServerHandle):
    """A started test Agent Coordinator: sessions by id, and its event stream's controls.

    Every change made here is published at once to the connected event streams. Session
    helpers raise ``KeyError`` for an unknown id.
    """

    def __init__(self, thread: ServerThread) -> None:
        super().__init__(thread)
        self.store: CoordinatorStore = thread.app.state.store
        self._controls: CoordinatorControls = thread.app.state.controls

    # Sessions

    def add(
        self,
        session_id: str | None = None,
        status: str = "running",
        *,
        result_text: str | None = None,
        result_data: object = None,
        project_dir: str | None = "/p",
        created_at: str | None = None,
        **fields: str | None,
    ) -> dict[str, Any]:
        """Put a session on the server (id generated when None); the session object S.

        ``fields`` are other fields of S (``agent_name``, ``hostname`` ...).
        """
        session = self.store.create(
            session_id,
            status=status,
            created_at=created_at,
            result_text=result_text,
            result_data=result_data,
            project_dir=project_dir,
            **fields,
        )
        if session is None:
            raise ValueError(f"session {session_id!r} already exists")
        return session

    def get(self, session_id: str) -> dict[str, Any] | None:
        return self.store.get(session_id)

    def set_status(self, session_id: str, status: str) -> dict[str, Any]:
        """Give a session any status (as its runner would report it); the new S."""
        return _known(self.store.set_status(session_id, status), session_id)

    def finish(
        self,
        session_id: str,
        *,
        result_text: str | None = None,
        result_data: object = None,
        status: str = "finished",
    ) -> dict[str, Any]:
        """End a session's run with a text or structured result (``status="idle"`` too)."""
        session = self.store.update(
            session_id, status, result_text=result_text, result_data=result_data
        )
        return _known(session, session_id)

    def fail(self, session_id: str) -> dict[str, Any]:
        """The session failed: status ``failed``, no result."""
        return self.set_status(session_id, "failed")

    def fail_run(self, session_id: str, error: str = "run failed") -> str:
        """Publish ``run_failed`` for the session, leaving its status alone; the run id."""
        _known(self.store.get(session_id), session_id)
        return self.store.fail_run(session_id, error)

    def emit(self, session_id: str, event: dict[str, Any]) -> None:
        """Publish one of the session's events (``{"event_type": ..., ...}``)."""
        _known(self.store.get(session_id), session_id)
        self.store.add_event(session_id, event)

    def delete(self, session_id: str) -> None:
        """Delete a session whatever its status (no 409 here) and publish it."""
        _known(self.store.delete(session_id), session_id)

    def seed(self, count: int) -> list[str]:
        """Add ``count`` finished sessions in one insert, unpublished (for benchmarks)."""
        return self.store.seed(count)

    def seed_states(self) -> dict[str, str]:
        """Add one session in each of the seven statuses; ``{status: session_id}``."""
        return self.store.seed_states()

    # The event stream

    def stall_stream(self, *, headers: bool = False, times: int | None = None) -> None:
        """Make event streams send nothing: not a byte, or (``headers``) the headers only.

        Applies to the next ``times`` connections (None: all). A stalled stream is held
        until the test ends; the client must give up by itself.
        """
        self._controls.stream.configure(
            stall="headers" if headers else "no-headers", stall_times=times
        )

    def drop_stream(self, after: int = 1, *, times: int | None = 1, abrupt: bool = True) -> None:
        """Make the next ``times`` event streams (None: all) end after ``after`` frames.

        ``after=1`` drops right after ``init``; heartbeats do not count. ``abrupt``: the
        connection is closed mid-body (``requests`` raises ``ChunkedEncodingError``);
        otherwise the response ends properly and the client just sees the end.
        """
        self._controls.stream.configure(drop_after=after, drop_times=times, abrupt=abrupt)

    def set_heartbeat(self, seconds: float) -> None:
        """Seconds of quiet before a stream sends ``: heartbeat`` (until the test ends)."""
        self._controls.stream.configure(heartbeat=seconds)

    @property
    def sse_connections(self) -> int:
        """How many ``GET /sse/sessions`` requests arrived (faulted or stalled ones too)."""
        return sum(r.raw_path == SSE_PATH for r in self.requests)

    def wait_sse_connections(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` event stream requests arrived; fail after ``timeout`` s."""
        self.wait_for_requests(count, path=SSE_PATH, timeout=timeout)

    @property
    def open_streams(self) -> int:
        """How many event streams are connected and following changes now."""
        return self.store.broadcaster.active

    def wait_streams(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` streams follow changes (so a change now reaches them).

        A stream follows changes from just before its ``init`` frame is read from the store.
        """
        if not self.store.broadcaster.wait_active(lambda n: n >= count, timeout):
            raise AssertionError(
                f"{self.open_streams} of {count} event streams open within {timeout} s"
            )

    def wait_streams_closed(self, timeout: float = 10.0) -> None:
        """Wait until no stream is open (each client went and the server noticed)."""
        if not self.store.broadcaster.wait_active(lambda n: n == 0, timeout):
            raise AssertionError(f"{self.open_streams} event streams still open after {timeout} s")

    def reset(self) -> None:
        """Empty: no sessions, runs, runners, faults, recorded requests or misbehaviour;
        streams ended; the default agents and timings back."""
        self._controls.reset()
        self.store.broadcaster.close_all()
        self.store.clear()
        self._thread.app.state.agents.reset()
        self._thread.app.state.dispatcher.reset()


class DedicatedCoordinator(CoordinatorServer, Stoppable):
    """A test Agent Coordinator of one test's own, which that test may stop."""


def _known(found: Any, session_id: str) -> Any:
    if found is None:
        raise KeyError(f"no session {session_id!r} on the test Coordinator")
    return found


def api_env(url: str, **extra: str) -> dict[str, str]:
    """Settings for the commands: the default backend order and the Session Manager at ``url``."""
    return {
        "AGENT_ORCHESTRATOR_BACKENDS": "",
        "AGENT_ORCHESTRATOR_SESSION_MANAGER_URL": url,
        **extra,
    }


@pytest.fixture
def start_session_manager(tmp_path: Path) -> Iterator[Callable[..., DedicatedServer]]:
    """Start test Session Managers (``api_key=`` to require a key); all stopped at the end."""
    threads: list[ServerThread] = []

    def start(api_key: str | None = None) -> DedicatedServer:
        db = tmp_path / f"session-manager-{len(threads)}" / "observability.db"
        db.parent.mkdir()
        thread = ServerThread(create_app(db, api_key=api_key))
        threads.append(thread)
        thread.start()
        return DedicatedServer(thread)

    yield start
    for thread in threads:
        thread.stop()


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One test Session Manager for the whole run (starting one per test is slow to stop)."""
    thread = ServerThread(create_app(tmp_path_factory.mktemp("session-manager") / "sm.db"))
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture
def session_manager(shared_server: ServerThread) -> RunningServer:
    """A running test Session Manager: empty database, no faults, no recorded requests."""
    shared_server.app.state.controls.reset()
    shared_server.app.state.store.clear()
    return RunningServer(shared_server)


@pytest.fixture
def start_coordinator(tmp_path: Path) -> Iterator[Callable[..., DedicatedCoordinator]]:
    """Start test Agent Coordinators; all stopped at the end.

    ``start_coordinator(api_key=None, heartbeat=30.0)``: ``api_key`` requires
    ``Authorization: Bearer <key>`` (or ``?api_key=``); ``heartbeat`` is the quiet interval
    of the event stream in seconds.
    """
    threads: list[ServerThread] = []

    def start(api_key: str | None = None, heartbeat: float = 30.0) -> DedicatedCoordinator:
        db = tmp_path / f"coordinator-{len(threads)}" / "coordinator.db"
        db.parent.mkdir()
        thread = ServerThread(create_coordinator_app(db, api_key=api_key, heartbeat=heartbeat))
        threads.append(thread)
        thread.start()
        return DedicatedCoordinator(thread)

    yield start
    for thread in threads:
        thread.stop()


@pytest.fixture(scope="session")
def shared_coordinator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One test Agent Coordinator for the whole run."""
    db = tmp_path_factory.mktemp("coordinator") / "coordinator.db"
    thread = ServerThread(create_coordinator_app(db))
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture
def coordinator(shared_coordinator: ServerThread) -> CoordinatorServer:
    """A running test Agent Coordinator: no sessions, faults, requests or open streams."""
    server = CoordinatorServer(shared_coordinator)
    server.reset()
    return server


@pytest.fixture
def refusing_port() -> Iterator[RefusingPort]:
    port = RefusingPort()
    yield port
    port.close()


@pytest.fixture
def hanging_server() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.close()
