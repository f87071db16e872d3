"""--wait against the real test Session Manager (and real backup files): issue 8's API half.

Sessions finish on the server mid-wait, every newer status is passed through, a server
that stops or comes back mid-wait is handled poll by poll with one warning per command,
a hanging server costs one timeout per poll, one HTTP connection serves a whole wait,
and a wait on plain pipes adds nothing to stderr.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from backup_files import result_message
from conftest import BIN_DIR, clean_environ
from pty_waiter import DEADLINE, wait_until
from server_fixtures import api_env
from session_manager import assistant_message, now

SID = "api-busy"
ANSWER = "server answer"
STILL_RUNNING = (
    "Error: Session 'busy' is still running. Wait for completion or check status with ao-status.\n"
)
FALLING_BACK = "; falling back to the other backends"

#: What ao-get-result does with each status the server may report: (exit, stdout, stderr).
GET_RESULT = {
    "pending": (1, "", STILL_RUNNING),
    "running": (1, "", STILL_RUNNING),
    "stopping": (1, "", STILL_RUNNING),
    "idle": (0, f"{ANSWER}\n", ""),
    "finished": (0, f"{ANSWER}\n", ""),
    "failed": (1, "", "Error: Session 'busy' has no result: its status is 'failed'\n"),
    "stopped": (1, "", "Error: Session 'busy' has no result: its status is 'stopped'\n"),
    "paused": (1, "", "Error: Session 'busy' has no result: its status is 'paused'\n"),
}
STATUSES = list(GET_RESULT)
WAITED_FOR = {"pending", "running", "stopping"}


def say(server, text: str, session_id: str = SID, name: str = "busy") -> None:
    """The agent posts an assistant message: the session's result once it is done."""
    server.store.add_event(assistant_message(session_id, name, text, now()))


def stop(server, session_id: str = SID, name: str = "busy") -> None:
    """The agent's ``session_stop`` event, which finishes the session on the server."""
    event = {"event_type": "session_stop", "session_id": session_id, "session_name": name}
    server.store.add_event({**event, "timestamp": now(), "exit_code": 0, "reason": "completed"})


FINISH = {
    "session_stop": stop,
    "set_status": lambda server: server.store.set_status(SID, "finished"),
}


def busy_on(server, status: str = "running") -> None:
    """The session ``busy`` on ``server`` with ``status`` and an assistant message."""
    server.add(SID, "busy")
    say(server, ANSWER)
    assert server.store.set_status(SID, status)


def finish_in_files(backups, text: str) -> None:
    with open(backups.path / "busy.jsonl", "a") as f:
        f.write(json.dumps(result_message(text, session_id=SID)) + "\n")


def paths(server, path: str) -> list[str]:
    return [r.raw_path for r in server.requests if r.raw_path == path]


def starts_a_line(seen: bytes, text: bytes) -> bool:
    """True when ``text`` is on the terminal at the start of a line (not after the live line)."""
    before = seen[: seen.index(text)]
    return before == b"" or before.endswith((b"\n", b"\r\x1b[K"))


def warning(url: str, reason: str, server: str = "the server") -> str:
    return f"Warning: cannot use {server} at {url} ({reason}){FALLING_BACK}"


# --- finishing on the server mid-wait --------------------------------------------------


@pytest.mark.parametrize("how", list(FINISH))
@pytest.mark.parametrize("command, answer", [("ao-status", "finished"), ("ao-get-result", ANSWER)])
def test_a_session_that_finishes_on_the_server_during_the_wait(
    backups, session_manager, waiter, command, answer, how
):
    busy_on(session_manager)
    w = waiter(command, "busy", "--wait", "--interval", "0.2", extra_env=session_manager.env())
    w.wait_for_stderr("busy: running")
    FINISH[how](session_manager)
    status, out = w.finish()
    assert (status, out) == (0, f"{answer}\n")
    assert w.seen.endswith(b"\r\x1b[K")
    assert b"Warning" not in w.seen
    assert backups.names() == []  # nothing in the files: the answer is the server's


def test_a_session_nobody_has_is_answered_at_once(ao, session_manager):
    settings = session_manager.env()
    outcome = ao("ao-status", "ghost", "--wait", "--timeout", "300", extra_env=settings)
    assert (outcome.status, outcome.out, outcome.err) == (0, "not_existent\n", "")
    outcome = ao("ao-get-result", "ghost", "--wait", "--timeout", "300", extra_env=settings)
    assert (outcome.status, outcome.out) == (1, "")
    assert outcome.err == "Error: Session 'ghost' does not exist\n"
    assert len(paths(session_manager, "/sessions")) == 2  # one look each, no polling


# --- the newer statuses ------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_each_status_through_both_commands(ao, session_manager, status):
    busy_on(session_manager, status)
    settings = session_manager.env()
    outcome = ao("ao-status", "busy", extra_env=settings)
    assert (outcome.status, outcome.out, outcome.err) == (0, f"{status}\n", "")
    as_json = ao("ao-status", "busy", "--json", extra_env=settings)
    assert json.loads(as_json.out) == {"name": "busy", "status": status, "backend": "api"}
    outcome = ao("ao-get-result", "busy", extra_env=settings)
    assert (outcome.status, outcome.out, outcome.err) == GET_RESULT[status]


@pytest.mark.parametrize("status", sorted(set(STATUSES) - WAITED_FOR))
def test_wait_ends_on_every_status_not_in_progress(ao, session_manager, status):
    busy_on(session_manager, status)
    settings = session_manager.env()
    outcome = ao("ao-status", "busy", "--wait", "--timeout", "10", extra_env=settings)
    assert (outcome.status, outcome.out, outcome.err) == (0, f"{status}\n", "")
    outcome = ao("ao-get-result", "busy", "--wait", "--timeout", "10", extra_env=settings)
    assert (outcome.status, outcome.out, outcome.err) == GET_RESULT[status]


@pytest.mark.parametrize("status", sorted(WAITED_FOR))
def test_wait_goes_on_while_in_progress(ao, session_manager, status):
    busy_on(session_manager, status)
    settings = session_manager.env()
    wait = ("--wait", "--timeout", "0.3", "--interval", "0.1")
    outcome = ao("ao-status", "busy", *wait, extra_env=settings)
    assert (outcome.status, outcome.out, outcome.err) == (124, f"{status}\n", "")
    outcome = ao("ao-get-result", "busy", *wait, extra_env=settings)
    assert (outcome.status, outcome.out, outcome.err) == (124, "", STILL_RUNNING)
    assert len(paths(session_manager, f"/sessions/{SID}/status")) > 2  # it polled


# --- the server goes away, or comes back, mid-wait ---------------------------------------


def test_a_server_stopped_mid_wait_hands_over_to_the_files(backups, start_session_manager, waiter):
    server = start_session_manager()
    busy_on(server)
    backups.running("busy", session_id=SID)
    settings = server.env(AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT="1")
    w = waiter("ao-get-result", "busy", "--wait", "--interval", "0.2", extra_env=settings)
    w.wait_for_stderr("busy: running")
    assert paths(server, f"/sessions/{SID}/status")  # the server answered so far
    server.stop()
    line = warning(server.url, "connection refused", "the Agent Session Manager")
    # the files are finished only once the live line is back under the warning: else the
    # round that warned could read them finished at once, and no live line would follow
    w.wait_for_stderr(line + "\r\n\r\x1b[Kbusy: running")
    finish_in_files(backups, "answer from the files")
    status, out = w.finish()
    assert (status, out) == (0, "answer from the files\n")
    assert w.seen.count(b"Warning:") == 1
    line = line.encode()
    assert line + b"\r\n" in w.seen
    assert starts_a_line(w.seen, line)
    assert w.seen.endswith(b"\r\x1b[K")


def test_a_server_that_comes_back_is_used_again(backups, session_manager, waiter):
    busy_on(session_manager)
    backups.running("busy", session_id=SID)
    session_manager.inject("GET", "/sessions")
    w = waiter(
        "ao-get-result", "busy", "--wait", "--interval", "0.1", extra_env=session_manager.env()
    )
    w.wait_for_stderr("busy: running")
    wait_until(lambda: len(paths(session_manager, "/sessions")) >= 3, "three failing polls")
    session_manager.clear_faults()
    stop(session_manager)
    status, out = w.finish()
    assert (status, out) == (0, f"{ANSWER}\n")  # the files still say running
    assert w.seen.count(b"Warning:") == 1
    line = warning(session_manager.url, "GET /sessions: HTTP 500 Internal Server Error")
    assert line.encode() + b"\r\n" in w.seen
    assert paths(session_manager, f"/sessions/{SID}/result") == [f"/sessions/{SID}/result"]


def test_a_hanging_server_costs_one_timeout_per_poll(script, backups, hanging_server):
    backups.running("busy")
    timeout, api_timeout, interval = 2.0, 0.5, 0.5
    settings = api_env(
        hanging_server.url,
        AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT=f"{api_timeout:g}",
        AGENT_ORCHESTRATOR_TRACE="1",
    )
    started = time.monotonic()
    outcome = script(
        "ao-status", "busy", "--wait", "--timeout", f"{timeout:g}", "--interval", f"{interval:g}",
        extra_env=settings,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert (outcome.status, outcome.out) == (124, "running\n")
    lines = outcome.err.splitlines()
    notes = [line for line in lines if not line.startswith("Trace: ")]
    assert notes == [warning(hanging_server.url, f"no answer within {api_timeout:g} s")]
    polls = sum(line.startswith("Trace: resolve_session(") for line in lines)
    assert polls >= 2
    assert hanging_server.connections() == polls  # one try per poll, none after it failed
    assert elapsed < timeout + 4 * (api_timeout + interval) + 2


# --- one connection, and quiet pipes ----------------------------------------------------


def test_one_connection_serves_the_whole_wait(ao, session_manager):
    busy_on(session_manager)
    outcome = ao(
        "ao-status", "busy", "--wait", "--timeout", "1", "--interval", "0.1",
        extra_env=session_manager.env(),
    )  # fmt: skip
    assert (outcome.status, outcome.out, outcome.err) == (124, "running\n", "")
    requests = session_manager.requests
    assert len(paths(session_manager, "/sessions")) >= 3
    assert len({r.client_port for r in requests}) == 1, requests


def test_a_wait_on_plain_pipes_adds_nothing_to_stderr(env, session_manager, tmp_path):
    busy_on(session_manager)
    proc = subprocess.Popen(
        [str(BIN_DIR / "ao-get-result"), "busy", "--wait", "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=clean_environ(**{**env, **session_manager.env()}),
        text=True,
    )
    try:
        status_path = f"/sessions/{SID}/status"
        wait_until(lambda: len(paths(session_manager, status_path)) >= 3, "three polls")
        stop(session_manager)
        out, err = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out, err) == (0, f"{ANSWER}\n", "")
