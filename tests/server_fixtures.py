"""Fixtures with real servers on 127.0.0.1: the test Session Manager and the fault servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
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


class RunningServer:
    """A started test Session Manager: its URL, its store, and its test-only controls."""

    def __init__(self, thread: ServerThread) -> None:
        self.url = thread.url
        self.store: SessionStore = thread.app.state.store
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

    def clear_faults(self) -> None:
        self._controls.faults.clear()

    @property
    def requests(self) -> list[Recorded]:
        """Every request received so far, in order."""
        return list(self._controls.requests)

    def env(self, **extra: str) -> dict[str, str]:
        """Command settings asking this server first, in the default backend order."""
        return api_env(self.url, **extra)


class DedicatedServer(RunningServer):
    """A test Session Manager of one test's own, which that test may stop."""

    def __init__(self, thread: ServerThread) -> None:
        super().__init__(thread)
        self._thread = thread

    def stop(self) -> None:
        """Stop serving: open connections are dropped, new ones refused (idempotent)."""
        self._thread.stop()


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
def refusing_port() -> Iterator[RefusingPort]:
    port = RefusingPort()
    yield port
    port.close()


@pytest.fixture
def hanging_server() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.close()
