"""The test Session Manager speaks the contract, so the api backend's tests mean something."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from server_fixtures import RunningServer
from session_manager import assistant_message

HERE = Path(__file__).parent


def post(server: RunningServer, path: str, body: dict) -> requests.Response:
    return requests.post(server.url + path, json=body, timeout=10)


def get(server: RunningServer, path: str) -> requests.Response:
    return requests.get(server.url + path, timeout=10)


def test_create_then_get_list_and_status(session_manager: RunningServer) -> None:
    created = post(
        session_manager,
        "/sessions",
        {"session_id": "s1", "session_name": "one", "project_dir": "/p"},
    )
    assert created.status_code == 200
    body = created.json()
    assert body["ok"] is True
    session = body["session"]
    assert {k: session[k] for k in ("session_id", "session_name", "status", "project_dir")} == {
        "session_id": "s1",
        "session_name": "one",
        "status": "running",
        "project_dir": "/p",
    }
    assert set(session) >= {"created_at", "agent_name", "last_resumed_at"}
    assert get(session_manager, "/sessions/s1").json() == {"session": session}
    assert get(session_manager, "/sessions").json() == {"sessions": [session]}
    assert get(session_manager, "/sessions/s1/status").json() == {"status": "running"}


def test_duplicate_id_is_409(session_manager: RunningServer) -> None:
    post(session_manager, "/sessions", {"session_id": "s1", "session_name": "one"})
    again = post(session_manager, "/sessions", {"session_id": "s1", "session_name": "two"})
    assert again.status_code == 409
    assert again.json() == {"detail": "Session already exists"}


def test_unknown_session(session_manager: RunningServer) -> None:
    assert get(session_manager, "/sessions/nope/status").status_code == 200
    assert get(session_manager, "/sessions/nope/status").json() == {"status": "not_existent"}
    for path in ("/sessions/nope", "/sessions/nope/result", "/sessions/nope/events"):
        assert get(session_manager, path).status_code == 404
    assert requests.delete(session_manager.url + "/sessions/nope", timeout=10).status_code == 404
    event = assistant_message("nope", "n", "x", "2024-01-01T00:00:00Z")
    assert post(session_manager, "/sessions/nope/events", event).status_code == 404


def test_newest_first(session_manager: RunningServer) -> None:
    store = session_manager.store
    store.create("old", "same", created_at="2024-01-01T00:00:00+00:00")
    store.create("new", "same", created_at="2024-06-01T00:00:00+00:00")
    store.create("mid", "other", created_at="2024-03-01T00:00:00+00:00")
    ids = [s["session_id"] for s in get(session_manager, "/sessions").json()["sessions"]]
    assert ids == ["new", "mid", "old"]


def test_result_follows_the_events(session_manager: RunningServer) -> None:
    post(session_manager, "/sessions", {"session_id": "s1", "session_name": "one"})
    first = assistant_message("s1", "one", "first answer", "2024-01-01T00:00:00Z")
    user = {**first, "role": "user", "content": [{"type": "text", "text": "a question"}]}
    last = assistant_message("s1", "one", "last answer", "2024-01-01T00:00:02Z")
    for event in (first, last, user):
        assert post(session_manager, "/sessions/s1/events", event).json() == {"ok": True}
    not_finished = get(session_manager, "/sessions/s1/result")
    assert not_finished.status_code == 400
    assert not_finished.json() == {"detail": "Session not finished"}
    stop = {
        "event_type": "session_stop",
        "session_id": "s1",
        "session_name": "one",
        "timestamp": "2024-01-01T00:00:03Z",
        "exit_code": 0,
        "reason": "completed",
    }
    assert post(session_manager, "/sessions/s1/events", stop).status_code == 200
    assert get(session_manager, "/sessions/s1/status").json() == {"status": "finished"}
    assert get(session_manager, "/sessions/s1/result").json() == {"result": "last answer"}
    events = get(session_manager, "/sessions/s1/events").json()["events"]
    assert [e["event_type"] for e in events] == ["message", "message", "message", "session_stop"]
    assert events[3]["reason"] == "completed"


def test_finished_without_result_is_404(session_manager: RunningServer) -> None:
    session_manager.store.create("s1", "one")
    session_manager.store.set_status("s1", "finished")
    assert get(session_manager, "/sessions/s1/result").status_code == 404


def test_event_for_another_session_is_400(session_manager: RunningServer) -> None:
    post(session_manager, "/sessions", {"session_id": "s1", "session_name": "one"})
    event = assistant_message("s2", "one", "x", "2024-01-01T00:00:00Z")
    assert post(session_manager, "/sessions/s1/events", event).status_code == 400
    assert post(session_manager, "/sessions/s1/events", {"event_type": "x"}).status_code == 422
    assert session_manager.store.events("s1") == []


def test_delete_counts_events_and_spares_others(session_manager: RunningServer) -> None:
    for sid in ("s1", "s2"):
        post(session_manager, "/sessions", {"session_id": sid, "session_name": sid})
        for i in range(2):
            post(
                session_manager, f"/sessions/{sid}/events", assistant_message(sid, sid, str(i), "t")
            )
    deleted = requests.delete(session_manager.url + "/sessions/s1", timeout=10)
    assert deleted.json() == {
        "ok": True,
        "session_id": "s1",
        "deleted": {"session": True, "events_count": 2},
    }
    assert get(session_manager, "/sessions/s1").status_code == 404
    assert len(session_manager.store.events("s2")) == 2


def test_set_status_is_passed_through(session_manager: RunningServer) -> None:
    session_manager.store.create("s1", "one")
    assert session_manager.store.set_status("s1", "pending")
    assert get(session_manager, "/sessions/s1/status").json() == {"status": "pending"}
    assert not session_manager.store.set_status("nope", "idle")


def test_seed(session_manager: RunningServer) -> None:
    session_manager.store.seed(50)
    sessions = get(session_manager, "/sessions").json()["sessions"]
    assert len(sessions) == 50
    assert sessions[0]["session_name"] == "seed-00049"
    assert get(session_manager, "/sessions/seed-00007-id/result").json() == {
        "result": "result of seed-00007"
    }


def test_api_key_mode(start_session_manager) -> None:
    server = start_session_manager(api_key="k1")
    assert get(server, "/sessions").status_code == 401
    answer = requests.get(
        server.url + "/sessions", headers={"Authorization": "Bearer k1"}, timeout=10
    )
    assert answer.json() == {"sessions": []}


def test_standalone_process(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "session_manager.py"), "--port", str(port)]
        + ["--db", str(tmp_path / "sm.db"), "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/sessions"
        deadline = time.monotonic() + 20
        while True:
            try:
                sessions = requests.get(url, timeout=5).json()["sessions"]
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start: {proc.communicate()[1]!r}")
                time.sleep(0.05)
        assert [s["session_name"] for s in sessions] == ["seed-00002", "seed-00001", "seed-00000"]
    finally:
        proc.terminate()
        proc.wait(10)
