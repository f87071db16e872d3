"""The test Agent Coordinator speaks coordinator-contract.md, stream included.

Everything goes through real HTTP to the server on 127.0.0.1. Every read is bounded by a
timeout, and nothing waits by sleeping: tests wait on the server's own conditions.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from coordinator import SESSION_FIELDS, STATUSES
from server_fixtures import CoordinatorServer

HERE = Path(__file__).parent
TIMEOUT = 10


def get(server: CoordinatorServer, path: str, **kw: Any) -> requests.Response:
    return requests.get(server.url + path, timeout=TIMEOUT, **kw)


def post(server: CoordinatorServer, path: str, body: object = None) -> requests.Response:
    return requests.post(server.url + path, json=body, timeout=TIMEOUT)


def delete(server: CoordinatorServer, path: str) -> requests.Response:
    return requests.delete(server.url + path, timeout=TIMEOUT)


def start(prompt: str, **fields: str) -> dict[str, Any]:
    """The body of ``POST /runs`` starting a session with ``prompt``."""
    return {"type": "start_session", "parameters": {"prompt": prompt}, **fields}


@dataclass
class Frame:
    """One thing read from the stream: an event frame, or a comment (``event`` None)."""

    id: str | None = None
    event: str | None = None
    data: Any = None
    comment: str | None = None


class Stream:
    """``GET /sse/sessions`` read frame by frame; each socket read waits at most ``read``."""

    def __init__(self, url: str, read: float = TIMEOUT, **params: str) -> None:
        self.response = requests.get(
            url + "/sse/sessions", params=params, stream=True, timeout=(TIMEOUT, read)
        )
        self._lines: Iterator[bytes] = self.response.iter_lines()

    def frame(self) -> Frame:
        """The next frame or comment; StopIteration at the end of the stream."""
        frame, lines = Frame(), []
        for line in self._lines:
            if not line:
                if lines:
                    return frame
                continue
            lines.append(line)
            text = line.decode()
            if text.startswith(":"):
                frame.comment = text[1:].strip()
                return frame
            key, _, value = text.partition(": ")
            if key == "data":
                frame.data = json.loads(value)
            else:
                setattr(frame, key, value)
        raise StopIteration

    def event(self) -> Frame:
        """The next event frame, skipping heartbeats."""
        while True:
            frame = self.frame()
            if frame.event is not None:
                return frame

    def close(self) -> None:
        self.response.close()


@pytest.fixture
def open_stream(coordinator: CoordinatorServer) -> Iterator[Any]:
    """Open streams on the shared Coordinator; all closed at the end."""
    streams: list[Stream] = []

    def open_(**params: str) -> Stream:
        stream = Stream(coordinator.url, **params)
        streams.append(stream)
        return stream

    yield open_
    for stream in streams:
        stream.close()


# Requests


def test_list_newest_first_with_the_fields_of_s(coordinator: CoordinatorServer) -> None:
    coordinator.add("ses_old", created_at="2026-01-01T00:00:00+00:00")
    coordinator.add("ses_new", "finished", created_at="2026-03-01T00:00:00+00:00")
    coordinator.add("ses_mid", "idle", created_at="2026-02-01T00:00:00+00:00", hostname="h")
    sessions = get(coordinator, "/sessions").json()["sessions"]
    assert [s["session_id"] for s in sessions] == ["ses_new", "ses_mid", "ses_old"]
    assert all(tuple(s) == SESSION_FIELDS for s in sessions)
    assert "session_name" not in sessions[0]
    assert (sessions[1]["status"], sessions[1]["hostname"]) == ("idle", "h")
    assert get(coordinator, "/sessions/ses_mid").json() == {"session": sessions[1]}


def test_unknown_session(coordinator: CoordinatorServer) -> None:
    for path in ("/sessions/nope", "/sessions/nope/result"):
        answer = get(coordinator, path)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Session not found"})
    status = get(coordinator, "/sessions/nope/status")
    assert (status.status_code, status.json()) == (200, {"status": "not_existent"})
    assert delete(coordinator, "/sessions/nope").status_code == 404
    assert post(coordinator, "/sessions/nope/stop").status_code == 404


def test_every_status_is_reported(coordinator: CoordinatorServer) -> None:
    coordinator.add("ses_a")
    for status in STATUSES:
        coordinator.set_status("ses_a", status)
        assert get(coordinator, "/sessions/ses_a/status").json() == {"status": status}


def test_results_text_structured_and_missing(coordinator: CoordinatorServer) -> None:
    coordinator.add("ses_t")
    coordinator.finish("ses_t", result_text="the answer")
    coordinator.add("ses_d")
    coordinator.finish("ses_d", result_data={"items": [1, 2]}, status="idle")
    coordinator.add("ses_l", "finished", result_data=[1, "two"])
    coordinator.add("ses_none", "finished")
    assert get(coordinator, "/sessions/ses_t/result").json() == {
        "result_text": "the answer",
        "result_data": None,
    }
    assert get(coordinator, "/sessions/ses_d/result").json() == {
        "result_text": None,
        "result_data": {"items": [1, 2]},
    }
    assert get(coordinator, "/sessions/ses_l/result").json()["result_data"] == [1, "two"]
    missing = get(coordinator, "/sessions/ses_none/result")
    assert (missing.status_code, missing.json()) == (404, {"detail": "No result found"})


@pytest.mark.parametrize("status", ["pending", "running", "stopping", "stopped", "failed"])
def test_no_result_before_the_end_or_without_one(
    coordinator: CoordinatorServer, status: str
) -> None:
    coordinator.add("ses_a", status, result_text="not yet")
    answer = get(coordinator, "/sessions/ses_a/result")
    assert (answer.status_code, answer.json()) == (400, {"detail": "Session not finished or idle"})


@pytest.mark.parametrize("status", ["running", "idle"])
def test_deleting_a_live_session_is_409(coordinator: CoordinatorServer, status: str) -> None:
    coordinator.add("ses_a", status)
    answer = delete(coordinator, "/sessions/ses_a")
    assert (answer.status_code, answer.json()) == (409, {"detail": "Stop session first"})
    assert coordinator.get("ses_a") is not None


def test_delete_counts_events_and_runs(coordinator: CoordinatorServer) -> None:
    run = post(coordinator, "/runs", start("p", session_id="ses_a")).json()
    coordinator.emit("ses_a", {"event_type": "message", "role": "assistant"})
    coordinator.emit("ses_a", {"event_type": "session_stop"})
    coordinator.fail_run("ses_a")
    coordinator.add("ses_b", "failed")
    coordinator.finish("ses_a", result_text="x")
    answer = delete(coordinator, "/sessions/ses_a")
    assert answer.status_code == 200
    assert answer.json() == {
        "ok": True,
        "session_id": "ses_a",
        "deleted": {"session": True, "events_count": 2, "runs_count": 2},
    }
    assert run["session_id"] == "ses_a"
    assert get(coordinator, "/sessions/ses_a").status_code == 404
    assert delete(coordinator, "/sessions/ses_b").status_code == 200


def test_stop(coordinator: CoordinatorServer) -> None:
    coordinator.add("ses_a", "running")  # no run: as if a runner the server cannot see owns it
    stopping = post(coordinator, "/sessions/ses_a/stop").json()
    assert stopping == {"ok": True, "session_id": "ses_a", "status": "stopping"}
    coordinator.set_status("ses_a", "stopped")  # its runner confirms
    stopped = post(coordinator, "/sessions/ses_a/stop").json()
    assert (stopped["ok"], stopped["status"]) == (True, "stopped")
    coordinator.add("ses_f", "finished")
    assert post(coordinator, "/sessions/ses_f/stop").json()["status"] == "finished"


def test_sessions_are_created_by_runs_only(coordinator: CoordinatorServer) -> None:
    refused = post(coordinator, "/sessions", {"session_id": "s", "session_name": "n"})
    assert refused.status_code == 405
    generated = post(coordinator, "/runs", start("hi")).json()
    assert re.fullmatch(r"ses_[0-9a-f]{12}", generated["session_id"])
    assert re.fullmatch(r"run_[0-9a-f]{12}", generated["run_id"])
    assert generated["status"] == "pending"
    session = get(coordinator, f"/sessions/{generated['session_id']}").json()["session"]
    assert session["status"] == "pending"
    chosen = post(coordinator, "/runs", start("hi", session_id="my-task")).json()
    assert chosen["session_id"] == "my-task"
    assert post(coordinator, "/runs", start("hi", session_id="my-task")).status_code == 409
    resume = {**start("more", session_id="my-task"), "type": "resume_session"}
    assert post(coordinator, "/runs", resume).json()["session_id"] == "my-task"
    resume_unknown = {**resume, "session_id": "nope"}
    assert post(coordinator, "/runs", resume_unknown).status_code == 404


def test_api_key(start_coordinator) -> None:
    server = start_coordinator(api_key="k1")
    refused = get(server, "/sessions")
    assert refused.status_code == 401
    with_header = get(server, "/sessions", headers={"Authorization": "Bearer k1"})
    assert with_header.json() == {"sessions": []}
    assert get(server, "/sse/sessions").status_code == 401
    stream = Stream(server.url, api_key="k1")
    assert stream.event().data == {"sessions": []}
    stream.close()
    assert [r.authorization for r in server.requests] == [None, "Bearer k1", None, None]


def test_injected_faults(coordinator: CoordinatorServer) -> None:
    coordinator.inject("GET", "/sse/sessions", 404, '{"detail":"Not Found"}')
    answer = get(coordinator, "/sse/sessions")
    assert (answer.status_code, answer.text) == (404, '{"detail":"Not Found"}')
    coordinator.clear_faults()
    coordinator.inject("GET", "/sessions/.*/status", 500)
    assert get(coordinator, "/sessions/x/status").status_code == 500


def test_seed_ten_thousand_and_seed_states(coordinator: CoordinatorServer) -> None:
    ids = coordinator.seed(10_000)
    assert ids[0] == "ses_000000000000" and ids[-1] == "ses_00000000270f"
    states = coordinator.seed_states()
    sessions = get(coordinator, "/sessions").json()["sessions"]
    assert len(sessions) == 10_007
    assert sessions[7]["session_id"] == "ses_00000000270f"
    assert {s["session_id"]: s["status"] for s in sessions[:7]} == {
        sid: status for status, sid in states.items()
    }
    assert get(coordinator, "/sessions/ses_0000000003e8/result").json() == {
        "result_text": "result of ses_0000000003e8",
        "result_data": None,
    }
    assert get(coordinator, f"/sessions/{states['idle']}/result").json()["result_data"] == {
        "turn": 1
    }


# The event stream


def test_init_comes_first_with_every_session(coordinator, open_stream) -> None:
    a = coordinator.add("ses_a", created_at="2026-01-01T00:00:00+00:00")
    b = coordinator.add("ses_b", "finished", created_at="2026-02-01T00:00:00+00:00")
    stream = open_stream()
    assert stream.response.status_code == 200
    assert stream.response.headers["content-type"].startswith("text/event-stream")
    init = stream.frame()
    assert init.event == "init" and init.id is not None
    assert init.data == {"sessions": [b, a]}


def test_filtered_init_has_the_session_or_nothing(coordinator, open_stream) -> None:
    coordinator.add("ses_a")
    b = coordinator.add("ses_b", "finished")
    assert open_stream(session_id="ses_b").frame().data == {"sessions": [b]}
    assert open_stream(session_id="nope").frame().data == {"sessions": []}


def test_raw_framing(coordinator: CoordinatorServer) -> None:
    with socket.create_connection(("127.0.0.1", int(coordinator.url.rsplit(":", 1)[1]))) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendall(b"GET /sse/sessions?session_id=nope HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while not received.endswith(b"\n\n\r\n"):  # the end of a chunk holding a frame
            chunk = sock.recv(4096)
            assert chunk, "the server closed the stream"
            received += chunk
    head, body = received.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head.lower()
    size, _, rest = body.partition(b"\r\n")
    payload = rest[: int(size, 16)]
    assert re.fullmatch(rb'id: \d+\nevent: init\ndata: \{"sessions": \[\]\}\n\n', payload)


def test_changes_made_by_helpers_arrive_in_order(coordinator, open_stream) -> None:
    coordinator.add("ses_a")
    stream = open_stream(session_id="ses_a")
    assert stream.event().event == "init"
    coordinator.wait_streams(1)
    coordinator.emit("ses_a", {"event_type": "message", "role": "assistant"})
    coordinator.set_status("ses_a", "idle")
    coordinator.fail_run("ses_a", "timed out")
    coordinator.finish("ses_a", result_text="done")
    coordinator.delete("ses_a")
    frames = [stream.event() for _ in range(5)]
    assert [f.event for f in frames] == [
        "event",
        "session_updated",
        "run_failed",
        "session_updated",
        "session_deleted",
    ]
    assert frames[0].data["data"]["event_type"] == "message"
    assert frames[1].data["session"]["status"] == "idle"
    assert set(frames[2].data) == {"run_id", "error", "session_id"}
    assert frames[2].data["error"] == "timed out"
    assert frames[3].data["session"]["status"] == "finished"
    assert frames[4].data == {"session_id": "ses_a", "runs_deleted": 1}
    ids = [int(f.id) for f in frames]
    assert ids == sorted(ids)


def test_http_changes_arrive_too(coordinator, open_stream) -> None:
    stream = open_stream()
    assert stream.event().data == {"sessions": []}
    coordinator.wait_streams(1)
    created = post(coordinator, "/runs", start("p")).json()
    frame = stream.event()
    assert frame.event == "session_created"
    assert frame.data["session"]["session_id"] == created["session_id"]
    coordinator.set_status(created["session_id"], "running")
    assert stream.event().data["session"]["status"] == "running"
    post(coordinator, f"/sessions/{created['session_id']}/stop")  # its run is still pending
    assert stream.event().data["session"]["status"] == "stopped"


def test_the_filter_keeps_other_sessions_out(coordinator, open_stream) -> None:
    coordinator.add("ses_a")
    coordinator.add("ses_b")
    mine, everyone = open_stream(session_id="ses_a"), open_stream()
    mine.event(), everyone.event()
    coordinator.wait_streams(2)
    coordinator.set_status("ses_b", "finished")
    coordinator.set_status("ses_a", "failed")
    assert mine.event().data["session"] == {**coordinator.get("ses_a")}
    assert [everyone.event().data["session"]["session_id"] for _ in range(2)] == [
        "ses_b",
        "ses_a",
    ]


def test_without_init(coordinator, open_stream) -> None:
    coordinator.add("ses_a")
    stream = open_stream(session_id="ses_a", include_init="false")
    coordinator.wait_streams(1)
    coordinator.set_status("ses_a", "finished")
    assert stream.event().event == "session_updated"


def test_heartbeat_when_quiet(start_coordinator) -> None:
    server = start_coordinator(heartbeat=0.05)
    stream = Stream(server.url)
    assert stream.frame().event == "init"
    assert stream.frame().comment == "heartbeat"
    stream.close()


def test_a_client_going_away_ends_its_stream(coordinator, open_stream) -> None:
    stream = open_stream()
    stream.event()
    coordinator.wait_streams(1)
    stream.close()
    coordinator.wait_streams_closed()


def test_reset_ends_open_streams(coordinator, open_stream) -> None:
    stream = open_stream()
    stream.event()
    coordinator.wait_streams(1)
    coordinator.reset()
    with pytest.raises(StopIteration):
        stream.frame()


def test_stopping_the_server_ends_open_streams(start_coordinator) -> None:
    server = start_coordinator()
    stream = Stream(server.url)
    stream.event()
    server.wait_streams(1)
    server.stop()  # fails if the server does not stop within 10 s
    with pytest.raises((StopIteration, requests.ConnectionError)):
        stream.frame()
    stream.close()


# Hostile streams


def test_streamed_requests_are_recorded(coordinator, open_stream) -> None:
    open_stream().event()
    open_stream(session_id="ses_a").event()
    coordinator.wait_sse_connections(2)
    assert coordinator.sse_connections == 2
    assert [r.query for r in coordinator.requests] == ["", "session_id=ses_a"]


def test_a_stream_that_never_sends_a_byte(coordinator: CoordinatorServer) -> None:
    coordinator.stall_stream(times=1)
    with pytest.raises(requests.ReadTimeout):
        Stream(coordinator.url, read=0.2)
    assert Stream(coordinator.url).event().event == "init"
    assert coordinator.sse_connections == 2


def test_a_hang_fault_on_the_stream_never_sends_a_byte(coordinator) -> None:
    coordinator.inject("GET", "/sse/sessions", hang=True)
    with pytest.raises(requests.ReadTimeout):
        Stream(coordinator.url, read=0.2)


def test_a_stream_that_sends_headers_then_nothing(coordinator: CoordinatorServer) -> None:
    coordinator.stall_stream(headers=True)
    for _ in range(2):  # times=None: every connection
        stream = Stream(coordinator.url, read=0.2)
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        with pytest.raises(requests.ConnectionError):  # requests' name for a read timeout here
            stream.frame()
        stream.close()
    assert coordinator.sse_connections == 2


def test_a_stream_dropped_after_init_twice_then_fine(coordinator, open_stream) -> None:
    coordinator.add("ses_a")
    coordinator.drop_stream(after=1, times=2)
    for _ in range(2):
        stream = open_stream(session_id="ses_a")
        assert stream.event().event == "init"
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            stream.frame()
    stream = open_stream(session_id="ses_a")
    assert stream.event().event == "init"
    coordinator.wait_streams(1)
    coordinator.set_status("ses_a", "finished")
    assert stream.event().data["session"]["status"] == "finished"
    assert coordinator.sse_connections == 3


def test_a_stream_ended_cleanly_after_k_frames(coordinator, open_stream) -> None:
    coordinator.add("ses_a")
    coordinator.drop_stream(after=2, abrupt=False)
    stream = open_stream()
    assert stream.event().event == "init"
    coordinator.wait_streams(1)
    coordinator.set_status("ses_a", "idle")
    assert stream.event().event == "session_updated"
    with pytest.raises(StopIteration):
        stream.frame()
    coordinator.wait_streams_closed()


def test_a_stream_dropped_before_init(coordinator, open_stream) -> None:
    coordinator.drop_stream(after=0)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        open_stream().frame()


def test_standalone_process(tmp_path: Path) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "session_manager.py"), "--coordinator"]
            + ["--fd", str(listening.fileno()), "--db", str(tmp_path / "c.db")]
            + ["--seed", "3", "--seed-states"],
            pass_fds=[listening.fileno()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    try:
        # The socket already listens: the request waits in its backlog until the server runs.
        sessions = requests.get(url + "/sessions", timeout=20).json()["sessions"]
        assert len(sessions) == 10
        assert [s["session_id"] for s in sessions[7:]] == [
            "ses_000000000002",
            "ses_000000000001",
            "ses_000000000000",
        ]
        stream = Stream(url, session_id="ses_57a7e5000005")
        assert stream.event().data["sessions"][0]["status"] == "finished"
        stream.close()
    finally:
        proc.terminate()
        proc.wait(10)
