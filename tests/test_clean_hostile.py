"""Issue 19, items 3 and 10: ``ao-clean`` deletes a session everywhere or nowhere.

A session the server was seen to hold in this command goes only when the server confirms
its deletion; otherwise nothing of it goes (its backup files stay), the line says why,
and the exit status is 1, whatever the order of the backends. A session only the files
know, or a server unreachable from the command's start, keeps the fallback: the files
are deleted. Two ``ao-clean --all`` at once never both report the same deletion.
Against the real test servers and real files.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import BIN_DIR, clean_environ

SID = "ses_3f9a0c12d4e5"


def busy(name: str) -> str:
    return (
        f"Error: Session '{name}' is still running or idle on the Agent Coordinator: stop it first"
    )


def not_deleted(name: str, url: str, reason: str, server: str = "Agent Coordinator") -> str:
    return f"Error: Session '{name}' not deleted: cannot use the {server} at {url} ({reason})"


def warning(url: str, reason: str, server: str = "Agent Coordinator") -> str:
    return (
        f"Warning: cannot use the {server} at {url} ({reason}); falling back to the other backends"
    )


def test_after_one_failed_delete_no_session_the_server_holds_is_deleted(ao, coordinator, backups):
    for name in ("alpha", "beta", "gamma"):
        coordinator.add(name, "finished", result_text="r")
        backups.finished(name, session_id=name)
    backups.finished("local", session_id="local-id")  # the files' alone: deleted as ever
    coordinator.inject("DELETE", "/sessions/gamma", 500)  # the first listed: the newest
    outcome = ao("ao-clean", "--all", extra_env=coordinator.env())
    assert outcome.status == 1
    assert outcome.out == "Deleted session 'local'\n"
    reason = "DELETE /sessions/gamma: HTTP 500 Internal Server Error"
    assert outcome.err.splitlines() == [
        warning(coordinator.url, reason),
        *(not_deleted(name, coordinator.url, reason) for name in ("gamma", "beta", "alpha")),
    ]
    assert sorted(s["session_id"] for s in coordinator.store.sessions()) == [
        "alpha",
        "beta",
        "gamma",
    ]
    assert backups.names() == [
        f"{name}.{suffix}"
        for name in ("alpha", "beta", "gamma")
        for suffix in ("jsonl", "meta.json")
    ]


@pytest.mark.parametrize("order", ["api,file", "file,api"])
def test_a_refusal_deletes_nothing_whatever_the_order(ao, coordinator, backups, order) -> None:
    coordinator.add(SID, "running")
    backups.running(SID, session_id=SID)
    outcome = ao("ao-clean", SID, "--backends", order, extra_env=coordinator.env())
    assert (outcome.status, outcome.out, outcome.err) == (1, "", busy(SID) + "\n")
    assert coordinator.get(SID) is not None
    assert backups.names() == [f"{SID}.jsonl", f"{SID}.meta.json"]


@pytest.mark.parametrize("order", ["api,file", "file,api"])
def test_a_failed_delete_deletes_nothing_whatever_the_order(ao, coordinator, backups, order):
    coordinator.add(SID, "finished")
    backups.finished(SID, session_id=SID)
    coordinator.inject("DELETE", f"/sessions/{SID}", 503, "busy")
    outcome = ao("ao-clean", SID, "--backends", order, "--json", extra_env=coordinator.env())
    assert outcome.status == 1
    reason = f"DELETE /sessions/{SID}: HTTP 503 Service Unavailable"
    message = not_deleted(SID, coordinator.url, reason)[len("Error: ") :]
    assert json.loads(outcome.out) == [
        {"name": SID, "deleted": False, "error": {"code": "storage_error", "message": message}}
    ]
    assert coordinator.get(SID) is not None
    assert backups.names() == [f"{SID}.jsonl", f"{SID}.meta.json"]


def test_a_server_that_confirms_deletes_everywhere(ao, coordinator, backups) -> None:
    coordinator.add(SID, "finished")
    backups.finished(SID, session_id=SID)
    outcome = ao("ao-clean", SID, "--backends", "file,api", extra_env=coordinator.env())
    assert (outcome.status, outcome.out, outcome.err) == (0, f"Deleted session '{SID}'\n", "")
    assert coordinator.get(SID) is None and backups.names() == []


def test_a_server_down_from_the_start_keeps_the_fallback(ao, backups, refusing_port) -> None:
    backups.finished("job", session_id="job-id")
    env = {
        "AGENT_ORCHESTRATOR_BACKENDS": "",
        "AGENT_ORCHESTRATOR_SESSION_MANAGER_URL": refusing_port.url,
    }
    outcome = ao("ao-clean", "job", extra_env=env)
    assert (outcome.status, outcome.out) == (0, "Deleted session 'job'\n")
    assert outcome.err == warning(refusing_port.url, "connection refused", "server")[0:0] + (
        f"Warning: cannot use the server at {refusing_port.url} (connection refused); "
        "falling back to the other backends\n"
    )
    assert backups.names() == []


def test_the_session_manager_too(ao, session_manager, backups) -> None:
    session_manager.add("job-id", "job", result="r")
    backups.finished("job", session_id="job-id")
    session_manager.inject("DELETE", "/sessions/job-id", 500)
    outcome = ao("ao-clean", "job", "--backends", "file,api", extra_env=session_manager.env())
    assert (outcome.status, outcome.out) == (1, "")
    reason = "DELETE /sessions/job-id: HTTP 500 Internal Server Error"
    server = "Agent Session Manager"
    assert outcome.err.splitlines() == [
        warning(session_manager.url, reason, server),
        not_deleted("job", session_manager.url, reason, server),
    ]
    assert backups.names() == ["job.jsonl", "job.meta.json"]


# --- 10. two ao-clean --all at once ---------------------------------------------------------


def test_two_clean_all_at_once_never_report_the_same_deletion(env, backups, tmp_path) -> None:
    names = [f"s-{i:03d}" for i in range(150)]
    for name in names:
        backups.finished(name)
    command = [str(BIN_DIR / "ao-clean"), "--all", "--json"]
    procs = [
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_environ(**env),
            cwd=tmp_path,
        )  # fmt: skip
        for _ in range(2)
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, err) == (0, "")
        reports.append({r["name"] for r in json.loads(out) if r["deleted"]})
    assert reports[0] | reports[1] == set(names)
    assert reports[0] & reports[1] == set()
    assert backups.names() == []
