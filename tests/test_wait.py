"""--wait on backup files: finishing mid-wait, time-outs, interruptions, quiet output."""

from __future__ import annotations

import json
import signal
import time

import pytest
from backup_files import result_message

from ao_core.console import CLEAR_LINE


def finish_run(backups, name: str, text: str = "done at last") -> None:
    with open(backups.path / f"{name}.jsonl", "a") as f:
        f.write(json.dumps(result_message(text)) + "\n")


@pytest.mark.parametrize("command", ["ao-status", "ao-get-result"])
def test_a_session_that_finishes_during_the_wait(backups, waiter, command):
    backups.running("busy")
    w = waiter(command, "busy", "--wait", "--interval", "0.2")
    w.wait_for_stderr("busy: running")  # the live line: it is waiting
    finish_run(backups, "busy")
    status, out = w.finish()
    assert status == 0
    assert out == ("finished\n" if command == "ao-status" else "done at last\n")
    assert w.seen.endswith(b"\r\x1b[K")  # the live line was cleared before the answer


@pytest.mark.parametrize(
    "term, live", [("xterm", True), ("dumb", False), ("", False), (None, False)]
)
def test_no_live_line_on_a_dumb_terminal_or_without_term(backups, waiter, term, live):
    """A terminal whose TERM is dumb, empty or unset gets no live line (as a pipe gets none)."""
    backups.running("busy")
    w = waiter(
        "ao-status", "busy", "--wait", "--timeout", "1", "--interval", "0.1",
        extra_env={"TERM": term},
    )  # fmt: skip
    status, out = w.finish()
    assert (status, out) == (124, "running\n")
    if live:
        assert b"busy: running" in w.seen and w.seen.endswith(CLEAR_LINE.encode())
    else:
        assert w.seen == b""


@pytest.mark.parametrize("signum, expected", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupting_a_wait_is_quiet(backups, waiter, signum, expected):
    backups.running("busy")
    w = waiter("ao-get-result", "busy", "--wait")
    w.wait_for_stderr("busy: running")
    w.proc.send_signal(signum)
    status, out = w.finish()
    assert (status, out) == (expected, "")
    assert b"Traceback" not in w.seen


def test_timeout_prints_the_current_status_and_exits_124(script, backups):
    backups.running("busy")
    outcome = script("ao-status", "busy", "--wait", "--timeout", "0.3")
    assert (outcome.status, outcome.out, outcome.err) == (124, "running\n", "")


def test_get_result_timeout_is_the_still_running_error_with_124(script, backups):
    backups.running("busy")
    outcome = script("ao-get-result", "busy", "--wait", "--timeout", "0.3", "--interval", "0.1")
    assert (outcome.status, outcome.out) == (124, "")
    assert outcome.err == (
        "Error: Session 'busy' is still running. Wait for completion or check status with "
        "ao-status.\n"
    )


def test_timeout_zero_asks_once(ao, backups):
    backups.running("busy")
    backups.finished("done")
    assert (ao("ao-status", "busy", "--wait", "--timeout", "0").status) == 124
    outcome = ao("ao-status", "done", "--wait", "--timeout", "0")
    assert (outcome.status, outcome.out) == (0, "finished\n")


def test_wait_timeout_from_the_environment(script, backups):
    backups.running("busy")
    outcome = script(
        "ao-status", "busy", "--wait", extra_env={"AGENT_ORCHESTRATOR_WAIT_TIMEOUT": "0.2"}
    )
    assert (outcome.status, outcome.out) == (124, "running\n")


def test_a_missing_session_is_answered_at_once(ao, backups):
    started = time.monotonic()
    assert ao("ao-status", "ghost", "--wait", "--timeout", "300").out == "not_existent\n"
    outcome = ao("ao-get-result", "ghost", "--wait", "--timeout", "300")
    assert (outcome.status, outcome.err) == (1, "Error: Session 'ghost' does not exist\n")
    assert time.monotonic() - started < 60  # nowhere near the 300 s it could have burnt


def test_a_failed_run_ends_the_wait_with_its_error(ao, backups):
    backups.failed("broken")
    outcome = ao("ao-get-result", "broken", "--wait", "--timeout", "300")
    assert (outcome.status, outcome.err) == (
        1,
        "Error: Session 'broken' ended in error: error_max_turns\n",
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--timeout", "5"], "Error: --timeout needs --wait\n"),
        (["--interval", "1"], "Error: --interval needs --wait\n"),
        (["--wait", "--interval", "0"], "Error: --interval must be at least 0.1 seconds\n"),
        (["--wait", "--interval", "1e-300"], "Error: --interval must be at least 0.1 seconds\n"),
    ],
)
def test_wait_options_misused_are_usage_errors(ao, backups, args, message):
    outcome = ao("ao-status", "x", *args)
    assert (outcome.status, outcome.err) == (2, message)


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_bad_numbers_of_seconds_are_usage_errors(ao, value):
    outcome = ao("ao-get-result", "x", "--wait", "--timeout", value)
    assert outcome.status == 2
    assert "not a number of seconds >= 0" in outcome.err
