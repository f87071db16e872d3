"""The api backend against today's server, the Agent Coordinator (and, where the behaviour
is shared, against the older Session Manager too): ids as names, the seven statuses,
text and structured results, the 409 on deleting a live session, answers that are not
failures, request counts, and ``--wait`` following the event stream.

Everything runs against the real test servers on 127.0.0.1. Waits are watched through a
pseudo-terminal (the live line says the command is waiting) and the server's own
conditions (``wait_streams``: the stream is connected), never by sleeping.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable

import pytest
from coordinator import STATUSES
from pty_waiter import wait_until
from server_fixtures import SSE_PATH, CoordinatorServer, RunningServer

from ao_core import Config, Session
from ao_plugins.api import ApiBackend

SID = "ses_3f9a0c12d4e5"
ANSWER = "the answer"
IN_PROGRESS = ("pending", "running", "stopping")


def still_running(name: str) -> str:
    return (
        f"Error: Session '{name}' is still running. "
        "Wait for completion or check status with ao-status.\n"
    )


def no_result(name: str, status: str) -> str:
    return f"Error: Session '{name}' has no result: its status is '{status}'\n"


def busy(name: str) -> str:
    return (
        f"Error: Session '{name}' is still running or idle on the Agent Coordinator: stop it first"
    )


#: What ao-get-result does with each status (exit, stdout, stderr), for a session NAME
#: whose result, when it has one, is ANSWER.
def get_result_outcome(name: str, status: str) -> tuple[int, str, str]:
    if status in IN_PROGRESS:
        return 1, "", still_running(name)
    if status in ("finished", "idle"):
        return 0, f"{ANSWER}\n", ""
    return 1, "", no_result(name, status)


def paths(server, method: str = "GET", since: int = 0) -> list[str]:
    """The ``method`` requests the server received (path and query), in order, leaving
    out the first ``since`` requests (of any method)."""
    return [
        r.raw_path + (f"?{r.query}" if r.query else "")
        for r in server.requests[since:]
        if r.method == method
    ]


# --- both generations: the same commands, the same answers ------------------------------


class Seeder:
    """Puts a session NAME with a status (and ANSWER as its result) on either server."""

    def __init__(self, server: RunningServer | CoordinatorServer) -> None:
        self.server = server
        self.coordinator = isinstance(server, CoordinatorServer)

    def put(self, name: str, status: str) -> None:
        if self.coordinator:
            self.server.add(name, status, result_text=ANSWER)
        else:
            self.server.add(f"{name}-id", name, result=ANSWER)
            assert self.server.store.set_status(f"{name}-id", status)


@pytest.fixture(params=["session-manager", "coordinator"])
def either(request: pytest.FixtureRequest) -> Seeder:
    """Each test using this runs against the older server and against today's."""
    fixture = "session_manager" if request.param == "session-manager" else "coordinator"
    return Seeder(request.getfixturevalue(fixture))


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_through_both_commands(ao, either, status) -> None:
    either.put("job", status)
    env = either.server.env()
    outcome = ao("ao-status", "job", extra_env=env)
    assert (outcome.status, outcome.out, outcome.err) == (0, f"{status}\n", "")
    as_json = json.loads(ao("ao-status", "--json", "job", extra_env=env).out)
    assert as_json == {"name": "job", "status": status, "backend": "api"}
    outcome = ao("ao-get-result", "job", extra_env=env)
    assert (outcome.status, outcome.out, outcome.err) == get_result_outcome("job", status)


def test_an_unknown_session_is_an_answer_not_a_failure(ao, either, backups) -> None:
    either.put("job", "finished")
    env = either.server.env()
    for name in ("ghost", SID):
        outcome = ao("ao-status", name, extra_env=env)
        assert (outcome.status, outcome.out, outcome.err) == (0, "not_existent\n", "")
        outcome = ao("ao-get-result", name, extra_env=env)
        assert (outcome.status, outcome.err) == (1, f"Error: Session '{name}' does not exist\n")


def test_backup_file_sessions_answer_what_the_server_does_not_know(ao, either, backups) -> None:
    either.put("job", "running")
    backups.finished("local", "file answer", session_id="local-id")
    env = either.server.env()
    outcome = ao("ao-get-result", "local", extra_env=env)
    assert (outcome.status, outcome.out, outcome.err) == (0, "file answer\n", "")
    listed = ao("ao-list-sessions", extra_env=env).out.splitlines()
    assert "local (session-id: local-id, project-dir: /proj)" in listed
    assert len(listed) == 2


# --- today's server: ids are the names --------------------------------------------------


def test_a_generated_id_is_the_name(ao, coordinator, backups) -> None:
    coordinator.add(SID, "finished", result_text=ANSWER, project_dir="/p")
    coordinator.add("architect", "running", project_dir=None, created_at="2026-01-01T00:00:00")
    backups.finished("local", "file answer", session_id="local-id")
    env = coordinator.env()
    assert ao("ao-status", SID, extra_env=env).out == "finished\n"
    assert ao("ao-get-result", SID, extra_env=env).out == f"{ANSWER}\n"
    assert ao("ao-status", "architect", extra_env=env).out == "running\n"
    listed = ao("ao-list-sessions", extra_env=env)
    assert (listed.status, listed.err) == (0, "")
    assert listed.out.splitlines() == [
        f"{SID} (session-id: {SID}, project-dir: /p)",
        "architect (session-id: architect, project-dir: unknown)",
        "local (session-id: local-id, project-dir: /proj)",
    ]
    as_json = json.loads(ao("ao-list-sessions", "--json", extra_env=env).out)
    assert [(s["name"], s["session_id"], s["backend"]) for s in as_json] == [
        (SID, SID, "api"),
        ("architect", "architect", "api"),
        ("local", "local-id", "file"),
    ]


def test_request_counts(call, coordinator) -> None:
    """A generated id is looked up by id (no listing); its answer holds the status. A
    status a run may correct (finished: a resumed turn may be pending behind it) costs
    the runs' listing too; a running session's does not."""
    coordinator.add(SID, "finished", result_text=ANSWER)
    coordinator.add("architect", "finished", result_text=ANSWER)
    coordinator.add("worker", "running")
    env = coordinator.env()
    expected = {
        ("ao-status", SID): [f"/sessions/{SID}", "/runs"],
        ("ao-get-result", SID): [f"/sessions/{SID}", "/runs", f"/sessions/{SID}/result"],
        # a name that is not a generated id is found by listing while the server is unknown
        ("ao-status", "architect"): ["/sessions?session_name=architect", "/runs"],
        ("ao-status", "worker"): ["/sessions?session_name=worker"],
        ("ao-list-sessions",): ["/sessions"],
    }
    for argv, requests in expected.items():
        before = len(coordinator.requests)
        assert call(*argv, extra_env=env).status == 0
        assert paths(coordinator, since=before) == requests, argv
    before = len(coordinator.requests)
    assert call("ao-clean", SID, extra_env=env).out == f"Deleted session '{SID}'\n"
    assert paths(coordinator, since=before) == [f"/sessions/{SID}"]
    assert paths(coordinator, "DELETE", since=before) == [f"/sessions/{SID}"]


def test_once_known_a_coordinator_is_asked_by_id(coordinator, tmp_path) -> None:
    """After one listing showed the generation, names are looked up by id, not listed."""
    coordinator.add("architect", "finished", result_text=ANSWER)
    coordinator.add("reviewer", "running")
    config = Config.load(project_dir=str(tmp_path), environ=coordinator.env())
    backend = ApiBackend()
    assert [s.name for s in backend.list_sessions(config)] == ["reviewer", "architect"]
    found = backend.resolve_session("architect", config)
    assert found == Session(
        name="architect", session_id="architect", project_dir="/p", backend="api"
    )
    assert backend.fetch_status(found, config) == "finished"
    assert backend.resolve_session("ghost", config) is None
    # finished: the runs are asked too, for a turn pending behind it
    assert paths(coordinator) == ["/sessions", "/sessions/architect", "/runs", "/sessions/ghost"]


# --- results ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [{"items": [1, 2], "ok": True, "note": "ünïcode"}, [1, "two", None], "just text"]
)
def test_a_structured_result_is_printed_as_its_json(ao, coordinator, data) -> None:
    coordinator.add(SID, "idle", result_data=data)
    outcome = ao("ao-get-result", SID, extra_env=coordinator.env())
    assert (outcome.status, outcome.err) == (0, "")
    assert json.loads(outcome.out) == data
    as_json = ao("ao-get-result", "--json", SID, extra_env=coordinator.env())
    assert json.loads(as_json.out) == {"name": SID, "result": data}


def test_result_text_is_printed_as_it_is(ao, coordinator) -> None:
    text = 'line one\n{"not": "parsed"}\n  ünïcode ✓'
    coordinator.add(SID, "finished", result_text=text)
    outcome = ao("ao-get-result", SID, extra_env=coordinator.env())
    assert (outcome.status, outcome.out, outcome.err) == (0, f"{text}\n", "")
    as_json = ao("ao-get-result", "--json", SID, extra_env=coordinator.env())
    assert json.loads(as_json.out) == {"name": SID, "result": text}


@pytest.mark.parametrize("status", ["finished", "idle"])
def test_no_result_is_one_error_line(ao, coordinator, status) -> None:
    coordinator.add(SID, status)
    outcome = ao("ao-get-result", SID, extra_env=coordinator.env())
    assert (outcome.status, outcome.out) == (1, "")
    assert outcome.err == f"Error: Session '{SID}' is {status} but has no result\n"
    assert paths(coordinator)[-1] == f"/sessions/{SID}/result"


# --- ao-clean and the 409 ------------------------------------------------------------------


def test_clean_refuses_a_live_session_and_deletes_the_others(ao, coordinator, backups) -> None:
    coordinator.add("worker", "running")
    coordinator.add("chat", "idle")
    coordinator.add("done", "finished", result_text=ANSWER)
    backups.running("worker", session_id="worker")
    backups.finished("done", session_id="done")
    outcome = ao("ao-clean", "worker", "done", "chat", extra_env=coordinator.env())
    assert outcome.status == 1
    assert outcome.out == "Deleted session 'done'\n"
    assert outcome.err.splitlines() == [busy("worker"), busy("chat")]
    assert coordinator.get("worker") is not None and coordinator.get("chat") is not None
    assert coordinator.get("done") is None
    assert backups.names() == ["worker.jsonl", "worker.meta.json"]  # not half-deleted
    assert paths(coordinator, "DELETE") == ["/sessions/worker", "/sessions/done", "/sessions/chat"]


def test_clean_all_deletes_what_it_may_and_reports_the_rest(ao, coordinator, backups) -> None:
    for status in STATUSES:
        coordinator.add(f"s-{status}", status)
    backups.finished("local")
    outcome = ao("ao-clean", "--all", extra_env=coordinator.env())
    assert outcome.status == 1
    deleted = {f"s-{s}" for s in STATUSES if s not in ("running", "idle")} | {"local"}
    assert sorted(outcome.out.splitlines()) == sorted(f"Deleted session '{n}'" for n in deleted)
    assert sorted(outcome.err.splitlines()) == sorted([busy("s-running"), busy("s-idle")])
    assert [s["session_id"] for s in coordinator.store.sessions()] == ["s-idle", "s-running"]
    assert backups.names() == []


# --- answers are not failures; failures are ------------------------------------------------


def test_answers_about_one_session_keep_the_server_in_use(
    call, coordinator, backups, capsys
) -> None:
    """404 unknown, 400 not finished, 404 no result, 409: no warning, the server still asked."""
    coordinator.add("live", "running")
    coordinator.add("empty", "finished")
    coordinator.add("done", "finished", result_text=ANSWER)
    backups.finished("ghost", "file answer", session_id="ghost-id")
    env = coordinator.env()
    outcome = call("ao-clean", "live", "empty", "ghost", extra_env=env)
    assert outcome.status == 1
    assert outcome.err == busy("live") + "\n"
    assert paths(coordinator, "DELETE") == ["/sessions/live", "/sessions/empty"]
    outcome = call("ao-get-result", "ghost", extra_env=env)
    assert (outcome.status, outcome.err) == (1, "Error: Session 'ghost' does not exist\n")
    backend = ApiBackend()
    config = Config.load(project_dir=str(backups.path), environ=env)
    live = backend.resolve_session("live", config)
    assert backend.fetch_result(live, config) is None  # 400: not finished
    assert backend.fetch_result(backend.resolve_session("done", config), config) == ANSWER
    assert "Warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "status, body, reason",
    [
        (500, "Internal Server Error", f"GET /sessions/{SID}: HTTP 500 Internal Server Error"),
        (401, '{"detail": "no"}', f"GET /sessions/{SID}: HTTP 401 Unauthorized"),
        (200, '{"session": []}', "unexpected response: 'session' is not a session object"),
        (200, "<html>", "the response is not JSON"),
    ],
)
def test_a_failing_server_warns_once_and_the_files_answer(
    ao, coordinator, backups, status, body, reason
):
    coordinator.add(SID, "running")
    backups.finished(SID, "file answer", session_id=SID)
    coordinator.inject("GET", f"/sessions/{SID}", status, body)
    outcome = ao("ao-get-result", SID, extra_env=coordinator.env())
    assert (outcome.status, outcome.out) == (0, "file answer\n")
    (line,) = outcome.err.splitlines()
    assert line.startswith(f"Warning: cannot use the server at {coordinator.url} (")
    assert reason in line


def test_a_server_known_as_the_coordinator_is_named_so(call, coordinator, backups) -> None:
    coordinator.add(SID, "finished", result_text=ANSWER)
    backups.finished(SID, "file answer", session_id=SID)
    coordinator.inject("GET", f"/sessions/{SID}/result", 503, "busy")
    outcome = call("ao-get-result", SID, extra_env=coordinator.env())
    assert (outcome.status, outcome.out) == (0, "file answer\n")
    assert outcome.err == (
        f"Warning: cannot use the Agent Coordinator at {coordinator.url} "
        f"(GET /sessions/{SID}/result: HTTP 503 Service Unavailable); "
        "falling back to the other backends\n"
    )


# --- --wait follows the event stream --------------------------------------------------------


@pytest.mark.parametrize(
    "change, command, expected",
    [
        ("finish", "ao-get-result", (0, f"{ANSWER}\n")),
        ("finish", "ao-status", (0, "finished\n")),
        ("structured", "ao-get-result", (0, '{\n  "done": true\n}\n')),
        ("fail", "ao-get-result", (1, "")),
        ("fail", "ao-status", (0, "failed\n")),
        ("delete", "ao-status", (0, "not_existent\n")),
    ],
)
def test_a_change_is_seen_on_the_stream_whatever_the_interval(
    coordinator, waiter, change, command, expected
) -> None:
    coordinator.add(SID, "running")
    w = waiter(command, SID, "--wait", "--interval", "600", extra_env=coordinator.env())
    w.wait_for_stderr(f"{SID}: running")
    coordinator.wait_streams(1)
    if change == "finish":
        coordinator.finish(SID, result_text=ANSWER)
    elif change == "structured":
        coordinator.finish(SID, result_data={"done": True}, status="idle")
    elif change == "fail":
        coordinator.fail(SID)
    else:
        coordinator.delete(SID)
    assert w.finish() == expected
    if change == "fail" and command == "ao-get-result":
        assert no_result(SID, "failed").encode().replace(b"\n", b"\r\n") in w.seen
    assert b"Warning" not in w.seen
    assert coordinator.sse_connections == 1
    # the first round, then the one the event asked for: no polling in between
    assert paths(coordinator).count(f"/sessions/{SID}") <= 3


def test_in_progress_changes_keep_the_wait_on_one_stream(coordinator, waiter) -> None:
    coordinator.add(SID, "pending")
    w = waiter("ao-status", SID, "--wait", "--interval", "600", extra_env=coordinator.env())
    w.wait_for_stderr(f"{SID}: pending")
    coordinator.wait_streams(1)
    coordinator.set_status(SID, "running")
    w.wait_for_stderr(f"{SID}: running")  # the event asked for a round: the line follows
    coordinator.emit(SID, {"event_type": "message", "role": "assistant"})
    coordinator.set_status(SID, "stopping")
    w.wait_for_stderr(f"{SID}: stopping")
    coordinator.set_status(SID, "stopped")
    assert w.finish() == (0, "stopped\n")
    assert coordinator.sse_connections == 1


def test_a_session_that_already_ended_is_answered_at_once(ao, coordinator) -> None:
    coordinator.add(SID, "failed")
    outcome = ao("ao-status", SID, "--wait", "--timeout", "300", extra_env=coordinator.env())
    assert (outcome.status, outcome.out, outcome.err) == (0, "failed\n", "")
    assert coordinator.sse_connections == 0  # nothing to wait for: no stream


def test_a_stream_that_drops_is_reconnected(coordinator, waiter) -> None:
    coordinator.add(SID, "running")
    coordinator.drop_stream(after=1, times=1)  # the first stream ends right after init
    w = waiter("ao-get-result", SID, "--wait", "--interval", "600", extra_env=coordinator.env())
    w.wait_for_stderr(f"{SID}: running")
    coordinator.wait_sse_connections(2)
    coordinator.wait_streams(1)
    coordinator.finish(SID, result_text=ANSWER)
    assert w.finish() == (0, f"{ANSWER}\n")
    assert coordinator.sse_connections == 2
    assert b"Warning" not in w.seen


def test_a_change_while_the_stream_was_down_is_read_in_the_next_init(coordinator, waiter):
    coordinator.add(SID, "running")
    coordinator.stall_stream(times=1)  # the first stream sends nothing; the next works
    w = waiter(
        "ao-status", SID, "--wait", "--interval", "600", extra_env=coordinator.env(
            AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT="1"
        ),
    )  # fmt: skip
    w.wait_for_stderr(f"{SID}: running")
    coordinator.wait_sse_connections(1)
    coordinator.finish(SID, result_text=ANSWER)  # the stalled stream does not tell
    assert w.finish() == (0, "finished\n")
    assert coordinator.sse_connections >= 2


@pytest.mark.parametrize("headers", [False, True])
def test_a_silent_stream_cannot_outlive_the_timeout(ao, coordinator, headers) -> None:
    coordinator.add(SID, "running")
    coordinator.stall_stream(headers=headers)
    outcome = ao(
        "ao-status", SID, "--wait", "--timeout", "2", "--interval", "600",
        extra_env=coordinator.env(),
    )  # fmt: skip
    assert (outcome.status, outcome.out, outcome.err) == (124, "running\n", "")
    assert coordinator.sse_connections >= 1
    wait_until(lambda: not stream_threads(), "the stream's threads to end")


def test_no_stream_endpoint_means_polling_without_a_warning(ao, coordinator) -> None:
    coordinator.add(SID, "running")
    coordinator.inject(
        "GET", SSE_PATH, 404, '{"detail": "Not Found"}', content_type="application/json"
    )
    outcome = ao(
        "ao-status", SID, "--wait", "--timeout", "1", "--interval", "0.1",
        extra_env=coordinator.env(),
    )  # fmt: skip
    assert (outcome.status, outcome.out, outcome.err) == (124, "running\n", "")
    assert coordinator.sse_connections == 1  # asked once, then polled
    assert paths(coordinator).count(f"/sessions/{SID}") > 3


def test_a_stream_that_keeps_failing_hands_over_to_polling(ao, coordinator) -> None:
    coordinator.add(SID, "running")
    coordinator.inject("GET", SSE_PATH, 500)
    outcome = ao(
        "ao-status", SID, "--wait", "--timeout", "4", "--interval", "0.1",
        extra_env=coordinator.env(),
    )  # fmt: skip
    assert (outcome.status, outcome.out, outcome.err) == (124, "running\n", "")
    assert coordinator.sse_connections == 3


def test_the_older_server_is_polled_and_never_asked_for_a_stream(ao, session_manager) -> None:
    session_manager.add("job-id", "job")
    outcome = ao(
        "ao-status", "job", "--wait", "--timeout", "1", "--interval", "0.1",
        extra_env=session_manager.env(),
    )  # fmt: skip
    assert (outcome.status, outcome.out, outcome.err) == (124, "running\n", "")
    assert SSE_PATH not in paths(session_manager)
    assert paths(session_manager).count("/sessions/job-id/status") > 3


def test_a_session_from_the_files_is_polled(ao, coordinator, backups) -> None:
    coordinator.add(SID, "finished")
    backups.running("local", session_id="local-id")
    outcome = ao(
        "ao-status", "local", "--wait", "--timeout", "1", "--interval", "0.1",
        extra_env=coordinator.env(),
    )  # fmt: skip
    assert (outcome.status, outcome.out, outcome.err) == (124, "running\n", "")
    assert coordinator.sse_connections == 0


@pytest.mark.parametrize("signum, expected", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupting_a_stream_wait_is_quiet(coordinator, waiter, signum, expected) -> None:
    coordinator.add(SID, "running")
    w = waiter("ao-get-result", SID, "--wait", extra_env=coordinator.env())
    w.wait_for_stderr(f"{SID}: running")
    coordinator.wait_streams(1)
    w.proc.send_signal(signum)
    assert w.finish() == (expected, "")
    assert b"Traceback" not in w.seen
    coordinator.wait_streams_closed()


# --- in-process runs leave no stream behind ---------------------------------------------------


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ao-sse-")]


def later(action: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


def test_an_in_process_wait_closes_its_stream_when_the_session_ends(call, coordinator) -> None:
    coordinator.add(SID, "running")

    def finish() -> None:
        coordinator.wait_streams(1)
        coordinator.finish(SID, result_text=ANSWER)

    helper = later(finish)
    outcome = call("ao-get-result", SID, "--wait", "--interval", "600", extra_env=coordinator.env())
    helper.join(10)
    assert (outcome.status, outcome.out) == (0, f"{ANSWER}\n")
    coordinator.wait_streams_closed(timeout=2)
    wait_until(lambda: not stream_threads(), "the stream's threads to end", deadline=2)


def test_an_in_process_wait_that_times_out_leaves_no_stream(call, coordinator) -> None:
    coordinator.add(SID, "running")
    outcome = call("ao-status", SID, "--wait", "--timeout", "1", extra_env=coordinator.env())
    assert (outcome.status, outcome.out) == (124, "running\n")
    coordinator.wait_streams_closed()
    wait_until(lambda: not stream_threads(), "the stream's threads to end")


# --- several sessions: one unfiltered stream ------------------------------------------------


def test_several_sessions_share_one_stream(coordinator, tmp_path) -> None:
    coordinator.add("alpha", "running")
    coordinator.add("beta", "running")
    config = Config.load(project_dir=str(tmp_path), environ=coordinator.env())
    backend = ApiBackend()
    sessions = [backend.resolve_session(name, config) for name in ("alpha", "beta")]
    assert backend.wait_for_change(sessions, config, 0.2) is False
    coordinator.wait_streams(1)
    coordinator.add("gamma", "finished")  # not watched
    coordinator.set_status("alpha", "running")  # no change
    assert backend.wait_for_change(sessions, config, 0.3) is False
    coordinator.set_status("beta", "finished")
    assert backend.wait_for_change(sessions, config, 5) is True
    assert backend.wait_for_change(sessions[:1], config, 0.2) is False  # same stream
    assert coordinator.sse_connections == 1
    assert [r.query for r in coordinator.requests if r.raw_path == SSE_PATH] == [""]
    coordinator.delete("alpha")
    assert backend.wait_for_change(sessions[:1], config, 5) is True
    coordinator.wait_streams_closed()  # every watched session ended: closed at once


def test_a_change_before_the_stream_opened_is_read_from_init(coordinator, tmp_path) -> None:
    """Events are compared with what the last round saw, not with the first frame."""
    coordinator.add(SID, "pending")
    config = Config.load(project_dir=str(tmp_path), environ=coordinator.env())
    backend = ApiBackend()
    session = backend.resolve_session(SID, config)
    assert backend.fetch_status(session, config) == "pending"
    coordinator.set_status(SID, "running")  # before any stream: only init can tell
    assert backend.wait_for_change([session], config, 5) is True
    backend.start_round()
    assert backend.fetch_status(backend.resolve_session(SID, config), config) == "running"
    assert backend.wait_for_change([session], config, 0.3) is False
    assert coordinator.sse_connections == 1


def test_list_long_takes_the_statuses_from_the_listing(call, coordinator) -> None:
    coordinator.add(SID, "idle", created_at="2026-02-01T00:00:00+00:00")
    coordinator.add("architect", "failed", created_at="2026-01-01T00:00:00+00:00")
    outcome = call("ao-list-sessions", "--long", extra_env=coordinator.env())
    assert (outcome.status, outcome.err) == (0, "")
    assert outcome.out.splitlines() == [
        f"{SID} idle (session-id: {SID}, project-dir: /p)",
        "architect failed (session-id: architect, project-dir: /p)",
    ]
    assert paths(coordinator) == ["/sessions"]  # no status asked session by session
