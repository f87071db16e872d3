"""Every way the Session Manager fails ends in one warning and the answer from the files.

Each test checks the warning line (URL and reason), the answer and exit status from the
backup files, that the server was not asked again after failing, and the time bound:
with a 1 s timeout, a command finishes within 2 s whatever the server does.
"""

from __future__ import annotations

import re
import time

import pytest
from server_fixtures import api_env

TIMEOUT = 1.0
BOUND = TIMEOUT + 1.0
JSON = "application/json"
KEY_HINT = "check AGENT_ORCHESTRATOR_API_KEY"

#: What each command answers from the backup files written by the ``on_disk`` fixture.
FROM_FILES = {
    "ao-status": (["test-session"], 0, "finished\n"),
    "ao-get-result": (["test-session"], 0, "answer from the files\n"),
    "ao-list-sessions": (
        [],
        0,
        "bystander (session-id: other-id, project-dir: /proj)\n"
        "test-session (session-id: file-id, project-dir: /proj)\n",
    ),
    "ao-clean": (["test-session"], 0, "Deleted session 'test-session'\n"),
}
ALL_COMMANDS = list(FROM_FILES)


@pytest.fixture
def on_disk(backups):
    """The session ``test-session``, finished, in the backup files only."""
    backups.finished("test-session", "answer from the files", session_id="file-id")
    backups.finished("bystander", "not to be touched", session_id="other-id")
    return backups


def run(ao, command: str, url: str, *, key: str | None = None):
    """Run ``command`` against the server at ``url``; the outcome and the seconds it took."""
    settings = api_env(url, AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT=f"{TIMEOUT:g}")
    if key is not None:
        settings["AGENT_ORCHESTRATOR_API_KEY"] = key
    started = time.monotonic()
    outcome = ao(command, *FROM_FILES[command][0], extra_env=settings)
    return outcome, time.monotonic() - started


def assert_fell_back(outcome, elapsed: float, command: str, url: str, reason: str, backups):
    """One warning naming ``url`` and ``reason``; the files' answer; within the bound."""
    _, status, answer = FROM_FILES[command]
    assert (outcome.status, outcome.out) == (status, answer)
    lines = outcome.err.splitlines()
    assert len(lines) == 1, outcome.err
    server = "the (server|Agent Session Manager)"  # "the server" until an answer showed which
    assert re.match(rf"Warning: cannot use {server} at {url} \(", lines[0])
    assert reason in lines[0]
    assert elapsed < BOUND
    expected_files = ["bystander.jsonl", "bystander.meta.json"]
    if command != "ao-clean":
        expected_files = sorted([*expected_files, "test-session.jsonl", "test-session.meta.json"])
    assert backups.names() == expected_files


# --- below HTTP: refused, and accepted but never answered -------------------------------


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_connection_refused(ao, on_disk, refusing_port, command) -> None:
    outcome, elapsed = run(ao, command, refusing_port.url)
    assert_fell_back(outcome, elapsed, command, refusing_port.url, "(connection refused)", on_disk)


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_server_that_never_answers_costs_one_timeout(ao, on_disk, hanging_server, command):
    outcome, elapsed = run(ao, command, hanging_server.url)
    reason = f"(no answer within {TIMEOUT:g} s)"
    assert_fell_back(outcome, elapsed, command, hanging_server.url, reason, on_disk)
    assert hanging_server.connections() == 1


def test_hang_on_a_later_request_still_costs_one_timeout(ao, on_disk, session_manager) -> None:
    session_manager.add("api-id", "test-session", result="server answer")
    session_manager.inject("GET", r"/sessions/[^/]+/status", hang=True)
    outcome, elapsed = run(ao, "ao-get-result", session_manager.url)
    reason = f"(no answer within {TIMEOUT:g} s)"
    assert_fell_back(outcome, elapsed, "ao-get-result", session_manager.url, reason, on_disk)
    assert [r.raw_path for r in session_manager.requests] == [
        "/sessions",
        "/sessions/api-id/status",
    ]


# --- the listing (GET /sessions) fails: every command falls back at once ----------------

LIST_FAULTS = {
    "http-500": (500, "Internal Server Error", "text/plain", "(GET /sessions: HTTP 500 "),
    "http-401": (401, '{"detail": "Invalid API key"}', JSON, f"HTTP 401 Unauthorized, {KEY_HINT}"),
    "http-403": (403, '{"detail": "Forbidden"}', JSON, f"HTTP 403 Forbidden, {KEY_HINT}"),
    "html-body": (
        200,
        "<!doctype html><html><body><h1>It works!</h1></body></html>",
        "text/html",
        "(GET /sessions: the response is not JSON (text/html",
    ),
    "malformed-json": (
        200,
        '{"sessions": [{"session_id": ',
        JSON,
        "(GET /sessions: the response is not JSON (application/json",
    ),
    "not-an-object": (200, '["test-session"]', JSON, "unexpected response: not a JSON object"),
    "nested-too-deep": (200, "[" * 100_000 + "]" * 100_000, JSON, "the response is not JSON"),
    "sessions-not-a-list": (
        200,
        '{"sessions": {"test-session": {"session_id": "x"}}}',
        JSON,
        "(GET /sessions: unexpected response: 'sessions' is not a list)",
    ),
    "session-without-id": (
        200,
        '{"sessions": [{"session_name": "test-session", "status": "finished"}]}',
        JSON,
        "(GET /sessions: unexpected response: a session without a usable 'session_id'",
    ),
    "id-not-a-string": (
        200,
        '{"sessions": [{"session_id": 42, "session_name": "test-session"}]}',
        JSON,
        "a session without a usable 'session_id'",
    ),
    "entry-not-an-object": (
        200,
        '{"sessions": ["test-session"]}',
        JSON,
        "a session without a usable 'session_id'",
    ),
}


@pytest.mark.parametrize("command", ALL_COMMANDS)
@pytest.mark.parametrize("fault", list(LIST_FAULTS))
def test_listing_fails(ao, on_disk, session_manager, fault, command) -> None:
    status, body, content_type, reason = LIST_FAULTS[fault]
    session_manager.add("api-id", "test-session", result="server answer")
    session_manager.inject("GET", "/sessions", status, body, content_type=content_type)
    outcome, elapsed = run(ao, command, session_manager.url)
    assert_fell_back(outcome, elapsed, command, session_manager.url, reason, on_disk)
    assert len(session_manager.requests) == 1  # out after the first failure
    assert session_manager.store.get("api-id") is not None


# --- a later request fails: the answer still comes from the files ----------------------

STATUS_FAULTS = {
    "http-500": (500, "boom", "text/plain", "(GET /sessions/api-id/status: HTTP 500 "),
    "status-not-a-string": (
        200,
        '{"status": 1}',
        JSON,
        "(GET /sessions/api-id/status: unexpected response: 'status' is not a word)",
    ),
    "status-missing": (200, '{"state": "finished"}', JSON, "'status' is not a word"),
    "html-body": (200, "<html>maintenance</html>", "text/html", "the response is not JSON"),
}


@pytest.mark.parametrize("command", ["ao-status", "ao-get-result"])
@pytest.mark.parametrize("fault", list(STATUS_FAULTS))
def test_status_fails(ao, on_disk, session_manager, fault, command) -> None:
    status, body, content_type, reason = STATUS_FAULTS[fault]
    session_manager.add("api-id", "test-session")  # running on the server
    session_manager.inject(
        "GET", r"/sessions/[^/]+/status", status, body, content_type=content_type
    )
    outcome, elapsed = run(ao, command, session_manager.url)
    assert_fell_back(outcome, elapsed, command, session_manager.url, reason, on_disk)
    assert [r.raw_path for r in session_manager.requests] == [
        "/sessions",
        "/sessions/api-id/status",
    ]


RESULT_FAULTS = {
    "http-502": (502, "Bad Gateway", "text/plain", "(GET /sessions/api-id/result: HTTP 502 "),
    "result-not-text": (200, '{"result": null}', JSON, "'result' is not text"),
    "malformed-json": (200, '{"result": "trunc', JSON, "the response is not JSON"),
}


@pytest.mark.parametrize("fault", list(RESULT_FAULTS))
def test_result_fails(ao, on_disk, session_manager, fault) -> None:
    status, body, content_type, reason = RESULT_FAULTS[fault]
    session_manager.add("api-id", "test-session", result="server answer")
    session_manager.inject(
        "GET", r"/sessions/[^/]+/result", status, body, content_type=content_type
    )
    outcome, elapsed = run(ao, "ao-get-result", session_manager.url)
    assert_fell_back(outcome, elapsed, "ao-get-result", session_manager.url, reason, on_disk)
    assert len(session_manager.requests) == 3


def test_a_failed_delete_on_the_server_deletes_nothing(ao, on_disk, session_manager) -> None:
    """The server holds the session and cannot confirm its deletion: its backup files stay
    too (issue 19: everywhere or nowhere)."""
    session_manager.add("api-id", "test-session", result="server answer")
    session_manager.inject("DELETE", r"/sessions/[^/]+", 500)
    outcome, elapsed = run(ao, "ao-clean", session_manager.url)
    assert (outcome.status, outcome.out) == (1, "")
    reason = "DELETE /sessions/api-id: HTTP 500 Internal Server Error"
    where = f"cannot use the Agent Session Manager at {session_manager.url} ({reason})"
    assert outcome.err.splitlines() == [
        f"Warning: {where}; falling back to the other backends",
        f"Error: Session 'test-session' not deleted: {where}",
    ]
    assert elapsed < BOUND
    assert session_manager.store.get("api-id") is not None
    assert "test-session.meta.json" in on_disk.names()


# --- a server that wants a key ------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "wrong-key"])
@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_server_rejects_the_key(ao, on_disk, start_session_manager, key, command) -> None:
    server = start_session_manager(api_key="the-right-key")
    server.add("api-id", "test-session", result="server answer")
    outcome, elapsed = run(ao, command, server.url, key=key)
    reason = f"(GET /sessions: HTTP 401 Unauthorized, {KEY_HINT})"
    assert_fell_back(outcome, elapsed, command, server.url, reason, on_disk)
    assert len(server.requests) == 1


# --- the exit status is the one the files' answer deserves --------------------------------


def test_unknown_everywhere_while_the_server_is_down(ao, on_disk, refusing_port) -> None:
    settings = api_env(refusing_port.url, AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT="1")
    outcome = ao("ao-get-result", "ghost", extra_env=settings)
    assert (outcome.status, outcome.out) == (1, "")
    warning, error = outcome.err.splitlines()
    assert warning.startswith("Warning: ") and "(connection refused)" in warning
    assert error == "Error: Session 'ghost' does not exist"
    status = ao("ao-status", "ghost", extra_env=settings)
    assert (status.status, status.out) == (0, "not_existent\n")
    assert status.err.count("Warning:") == 1
