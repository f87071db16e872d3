"""The built-in ``api`` backend passes the author kit, seeded through the real test server.

Sessions and their events are posted over HTTP as the agent hooks post them; a failed
run gets its status through the test server's ``set_status`` (the contract's server has
no request for that).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from server_fixtures import RunningServer
from session_manager import assistant_message, now

from ao_core.config import Config
from ao_core.testing import BackendContract
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
