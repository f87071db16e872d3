"""Issue 19, item 2: at the deadline, a slow answer never becomes a false one.

The last round of ``--wait`` gets only what is left of ``--timeout`` (plus a grace). A
server that is slower than that is not a failing server: the round it could not finish is
no answer, so the backup files cannot answer in its place. The wait ends as a timeout
(124) with the status the last whole round saw. Only when the very first round is cut
(``--timeout 0`` against a slow server) does its answer stand, still as a timeout, with
the warning and ``unavailable`` saying why.
"""

from __future__ import annotations

import json

import pytest
from hostile_server import HostileServer, answer, coordinator_session, delayed, in_turn, silence
from server_fixtures import api_env

pytestmark = pytest.mark.slow  # pytest -m 'not slow' leaves these out

SID = "ses_0123456789ab"
FINISHES = 30
STILL_RUNNING = (
    f"Error: Session '{SID}' is still running. "
    "Wait for completion or check status with ao-status.\n"
)
LISTING = {"sessions": [{"session_id": "api-busy", "session_name": "busy"}]}


@pytest.fixture
def stale(backups):
    """An earlier run of the same session, finished in the backup files."""
    backups.finished(SID, "the stale answer of an earlier run", session_id=SID)
    backups.finished("busy", "the stale answer of an earlier run", session_id="api-busy")
    return backups


def coordinator(first, then) -> HostileServer:
    server = HostileServer()
    server.route("GET", f"/sessions/{SID}", in_turn(first, then))
    return server  # no event stream there (404): the wait polls


RUNNING = answer(coordinator_session(SID, "running"))


@pytest.mark.parametrize("later", ["silent", "slower-than-what-is-left"])
@pytest.mark.parametrize(
    "command, expected",
    [("ao-status", (124, "running\n", "")), ("ao-get-result", (124, "", STILL_RUNNING))],
)
def test_a_round_cut_by_the_deadline_is_no_answer(script, stale, later, command, expected):
    """The first round sees the session running; every later one gets a server that
    cannot answer in what is left. Before: the stale backup answered, exit 0."""
    slow = silence() if later == "silent" else delayed(RUNNING, 3)
    with coordinator(RUNNING, slow) as server:
        wait = ("--wait", "--timeout", "2", "--interval", "0.3")
        outcome = script(command, SID, *wait, extra_env=api_env(server.url), timeout=FINISHES)
    assert (outcome.status, outcome.out, outcome.err) == expected


def test_a_slow_honest_server_is_waited_for_to_the_end(script, stale) -> None:
    """The issue's case: every answer takes 0.4 s, far inside the server's own timeout."""
    with HostileServer() as server:
        server.route("GET", f"/sessions/{SID}", delayed(RUNNING, 0.4))
        wait = ("--wait", "--timeout", "2", "--interval", "0.2")
        for _ in range(3):
            outcome = script(
                "ao-status", SID, *wait, extra_env=api_env(server.url), timeout=FINISHES
            )
            assert (outcome.status, outcome.out, outcome.err) == (124, "running\n", "")


def test_the_same_on_the_session_manager(script, stale) -> None:
    with HostileServer() as server:
        server.route("GET", "/sessions", in_turn(answer(LISTING), answer(LISTING), silence()))
        server.route("GET", "/sessions/api-busy/status", answer({"status": "running"}))
        wait = ("--wait", "--timeout", "2", "--interval", "0.3")
        outcome = script("ao-status", "busy", *wait, extra_env=api_env(server.url))
    assert (outcome.status, outcome.out, outcome.err) == (124, "running\n", "")


def test_the_json_of_a_cut_wait_is_the_last_whole_rounds(script, stale) -> None:
    with coordinator(RUNNING, silence()) as server:
        wait = ("--wait", "--timeout", "1", "--interval", "0.3", "--json")
        outcome = script("ao-status", SID, *wait, extra_env=api_env(server.url), timeout=FINISHES)
    assert outcome.status == 124
    assert json.loads(outcome.out) == {
        "name": SID,
        "status": "running",
        "backend": "api",
        "error": {
            "code": "timed_out",
            "message": f"Session '{SID}' is still running after --timeout",
        },
    }


def test_a_first_round_cut_stands_as_a_timeout(script, stale) -> None:
    """``--timeout 0`` asks once: against a server that cannot answer in the grace, the
    files' answer is all there is, and it is said to be no final one."""
    with HostileServer() as server:
        server.route("GET", f"/sessions/{SID}", silence())
        env = api_env(server.url)
        status = script("ao-status", SID, "--wait", "--timeout", "0", "--json", extra_env=env)
        result = script("ao-get-result", SID, "--wait", "--timeout", "0", extra_env=env)
    warning = (
        f"Warning: cannot use the server at {server.url} (no answer within 0.25 s); "
        "falling back to the other backends\n"
    )
    assert (status.status, status.err) == (124, warning)
    message = f"Session '{SID}' could not be fully asked before --timeout"
    assert json.loads(status.out) == {
        "name": SID,
        "status": "finished",
        "backend": "file",
        "error": {"code": "timed_out", "message": message},
        "unavailable": [
            {"backend": "api", "code": "timeout", "message": warning[9:].split(";")[0]}
        ],
    }
    assert (result.status, result.out, result.err) == (124, "", warning + f"Error: {message}\n")
