"""Settings read where they are used, selection mistakes as usage errors, and ao-clean
stopped by SIGTERM between two sessions (issue 15), through the installed commands."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from conftest import BIN_DIR, clean_environ


@pytest.mark.parametrize("value", [",,", "file,file", "api, ,file"])
def test_a_broken_backend_list_is_a_usage_error(ao, backups, value) -> None:
    outcome = ao("ao-status", "x", extra_env={"AGENT_ORCHESTRATOR_BACKENDS": value})
    assert (outcome.status, outcome.out) == (2, "")
    assert outcome.err.startswith("Error: AGENT_ORCHESTRATOR_BACKENDS: ")
    flag = ao("ao-status", "x", "--backends", value)
    assert flag.status == 2
    assert flag.err.startswith("Error: --backends: ")


def test_a_bad_wait_timeout_fails_only_a_wait_that_reads_it(ao, backups) -> None:
    backups.running("busy")
    bad = {"AGENT_ORCHESTRATOR_WAIT_TIMEOUT": "soon"}
    assert ao("ao-list-sessions", extra_env=bad).status == 0
    assert ao("ao-status", "busy", extra_env=bad).out == "running\n"
    outcome = ao("ao-status", "busy", "--wait", "--timeout", "0", extra_env=bad)
    assert (outcome.status, outcome.out) == (124, "running\n")  # the flag wins, unread
    outcome = ao("ao-status", "busy", "--wait", extra_env=bad)
    assert outcome.status == 1
    assert outcome.err.startswith("Error: AGENT_ORCHESTRATOR_WAIT_TIMEOUT must be 0 or more")


def test_a_huge_server_timeout_is_one_clear_line(ao, backups) -> None:
    backups.finished("done")
    settings = {
        "AGENT_ORCHESTRATOR_BACKENDS": "api,file",
        "AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT": "1e308",
    }
    outcome = ao("ao-status", "done", extra_env=settings)
    assert (outcome.status, outcome.out) == (1, "")
    assert outcome.err == (
        "Error: AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT must be a positive number of "
        "seconds (at most 1000000), not '1e308'\n"
    )


def test_an_undeletable_session_is_reported_and_the_others_are_deleted(ao, backups) -> None:
    backups.finished("a")
    backups.finished("b")
    backups.finished("c")
    log = backups.path / "a.jsonl"
    log.unlink()
    log.mkdir()
    (log / "keep").write_text("a directory cannot be unlinked as a file")
    outcome = ao("ao-clean", "a", "b", "c")
    assert outcome.status == 1
    assert outcome.out == "Deleted session 'b'\nDeleted session 'c'\n"
    assert outcome.err.startswith(f"Error: Cannot delete {log}: ")
    assert backups.names() == ["a.jsonl", "a.meta.json"]  # still a session, still cleanable


def test_sigterm_during_clean_all_stops_between_sessions(env, backups, tmp_path) -> None:
    count = 3000
    for i in range(count):
        backups.finished(f"s-{i:04d}")
    # unbuffered: the first line is read byte by byte, so no line after it is read ahead
    # into a buffer that communicate() (which reads the pipe itself) would never look at
    proc = subprocess.Popen(
        [str(BIN_DIR / "ao-clean"), "--all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=clean_environ(**env),
        bufsize=0,
    )
    first = proc.stdout.readline().decode()
    assert first.startswith("Deleted session 's-")
    os.kill(proc.pid, signal.SIGTERM)
    rest, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (143, b"")
    deleted = {line.split("'")[1] for line in [first, *rest.decode().splitlines()]}
    assert 0 < len(deleted) < count, "the signal came too late to stop anything"
    left = backups.names()
    for i in range(count):
        name = f"s-{i:04d}"
        files = {f"{name}.jsonl", f"{name}.meta.json"} & set(left)
        # every session printed as deleted is gone; every other one is whole
        assert files == (set() if name in deleted else {f"{name}.jsonl", f"{name}.meta.json"})
