"""The built-in ``api`` backend passes the author kit against both generations of the
server, seeded through the real test servers.

On the Session Manager, sessions and their events are posted over HTTP as the agent
hooks post them; a failed run gets its status through the test server's ``set_status``
(the contract's server has no request for that). On the Agent Coordinator, sessions are
put in its store as its runners would report them; there a session's name is its id.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from server_fixtures import CoordinatorServer, RunningServer
from session_manager import assistant_message, now

from ao_core.config import Config
from ao_core.session import Session
from ao_core.testing import Asker, BackendContract, DrivingContract
from ao_plugins.api import ApiBackend
from ao_plugins.api.backend import URL


class ServerStore:
    """The kit's seeding interface, writing to the Session Manager as an agent run would."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.http = requests.Session()

    def _post(self, path: str, body: dict) -> None:
        response = self.http.post(self.server.url + path, json=body, timeout=10)
        assert response.status_code == 200, response.text

    def _start(self, name: str, session_id: str) -> None:
        self._post("/sessions", {"session_id": session_id, "session_name": name})

    def _say(self, name: str, session_id: str, text: str) -> None:
        self._post(
            f"/sessions/{session_id}/events", assistant_message(session_id, name, text, now())
        )

    def _stop(self, name: str, session_id: str, exit_code: int, reason: str) -> None:
        stop = {
            "event_type": "session_stop",
            "session_id": session_id,
            "session_name": name,
            "timestamp": now(),
            "exit_code": exit_code,
            "reason": reason,
        }
        self._post(f"/sessions/{session_id}/events", stop)

    def add_finished(self, name: str, result: str, session_id: str) -> None:
        self._start(name, session_id)
        self._say(name, session_id, "working on it")
        self._say(name, session_id, result)
        self._stop(name, session_id, 0, "completed")

    def add_running(self, name: str, session_id: str) -> None:
        self._start(name, session_id)
        self._say(name, session_id, "working on it")

    def add_failed(self, name: str, reason: str) -> None:
        """An assistant message is there, so a backend ignoring the status would return it."""
        session_id = f"failed-{name}"
        self._start(name, session_id)
        self._say(name, session_id, "partial work before the failure")
        self._stop(name, session_id, 1, reason)
        assert self.server.store.set_status(session_id, "failed")


class TestApiBackend(BackendContract):
    @pytest.fixture
    def backend(self) -> type[ApiBackend]:
        return ApiBackend

    @pytest.fixture
    def backend_name(self) -> str:
        return "api"

    @pytest.fixture
    def config(self, tmp_path: Path, session_manager: RunningServer) -> Config:
        project = tmp_path / "project"
        project.mkdir()
        return Config.load(project_dir=str(project), environ={URL.variable: session_manager.url})

    @pytest.fixture
    def store(self, session_manager: RunningServer) -> ServerStore:
        return ServerStore(session_manager)


def test_the_failed_seed_has_text_the_backend_must_not_return(session_manager) -> None:
    """What makes the kit's failed-run test bite for this backend: there is text to leak."""
    ServerStore(session_manager).add_failed("gamma", "error_max_turns")
    assert session_manager.store.result("failed-gamma") == "partial work before the failure"
    assert session_manager.store.get("failed-gamma")["status"] == "failed"


class CoordinatorStore:
    """The kit's seeding interface on the Agent Coordinator: the name is the session id.

    The kit's ``session_id`` argument cannot be honoured there (the Coordinator has no
    names, so a session is found by its id); the tests that check ids are restated below.
    """

    def __init__(self, server: CoordinatorServer) -> None:
        self.server = server

    def add_finished(self, name: str, result: str, session_id: str) -> None:
        self.server.add(name, "finished", result_text=result)

    def add_running(self, name: str, session_id: str) -> None:
        self.server.add(name, "running")

    def add_failed(self, name: str, reason: str) -> None:
        """The text is there, so a backend ignoring the status would return it."""
        self.server.add(name, "failed", result_text="partial work before the failure")


class TestApiBackendOnTheCoordinator(BackendContract):
    @pytest.fixture
    def backend(self) -> type[ApiBackend]:
        return ApiBackend

    @pytest.fixture
    def backend_name(self) -> str:
        return "api"

    @pytest.fixture
    def config(self, tmp_path: Path, coordinator: CoordinatorServer) -> Config:
        project = tmp_path / "project"
        project.mkdir()
        return Config.load(project_dir=str(project), environ={URL.variable: coordinator.url})

    @pytest.fixture
    def store(self, coordinator: CoordinatorServer) -> CoordinatorStore:
        return CoordinatorStore(coordinator)

    def test_resolves_a_finished_session(self, store, ask: Asker, backend_name) -> None:
        store.add_finished("alpha", "the answer", "sid-alpha")
        assert ask.resolve("alpha") == Session(
            name="alpha",
            session_id="alpha",
            project_dir="/p",
            backend=backend_name,
            status="finished",  # the Coordinator's listing carries it
        )

    def test_resolves_a_running_session(self, store, ask: Asker) -> None:
        store.add_running("beta", "sid-beta")
        session = ask.resolve("beta")
        assert session is not None
        assert (session.name, session.session_id) == ("beta", "beta")

    def test_lists_every_session(self, store, ask: Asker) -> None:
        store.add_finished("alpha", "the answer", "sid-alpha")
        store.add_running("beta", "sid-beta")
        store.add_failed("gamma", "error_during_execution")
        listed = ask.listed()
        assert sorted((s.name, s.session_id) for s in listed) == [
            ("alpha", "alpha"),
            ("beta", "beta"),
            ("gamma", "gamma"),
        ]


def test_the_coordinator_failed_seed_has_text_the_backend_must_not_return(coordinator) -> None:
    CoordinatorStore(coordinator).add_failed("gamma", "error_max_turns")
    assert coordinator.store.result("gamma") == ("partial work before the failure", None)


class TestApiBackendDrivesTheCoordinator(DrivingContract):
    """The driving half of the kit, against the test Coordinator and its runner process."""

    @pytest.fixture
    def backend(self) -> type[ApiBackend]:
        return ApiBackend

    @pytest.fixture
    def config(self, tmp_path: Path, runs_coordinator) -> Config:
        project = tmp_path / "project"
        project.mkdir()
        return Config.load(project_dir=str(project), environ={URL.variable: runs_coordinator.url})
