"""For agents: --json answers that carry error codes, several sessions in one command, the
list with status, and ao-clean's dry run (backup files; the servers have their own tests)."""

from __future__ import annotations

import json

import pytest
from test_wait import finish_run


def parsed(outcome) -> object:
    """stdout as exactly one JSON document."""
    return json.loads(outcome.out)


def error_of(outcome) -> dict:
    document = parsed(outcome)
    assert set(document) == {"name", "error"}, document
    assert set(document["error"]) == {"code", "message"}
    assert outcome.err == f"Error: {document['error']['message']}\n"
    return document


# --- --json always answers in JSON ------------------------------------------------------


@pytest.mark.parametrize("command", ["ao-status", "ao-get-result"])
def test_an_invalid_name_is_a_json_error(ao, command) -> None:
    outcome = ao(command, "../x", "--json")
    assert outcome.status == 1
    document = error_of(outcome)
    assert document["name"] == "../x"
    assert document["error"]["code"] == "invalid_name"


@pytest.mark.parametrize(
    "prepare, code, message",
    [
        (lambda b: None, "not_existent", "Session 'it' does not exist"),
        (lambda b: b.running("it"), "still_running", "Session 'it' is still running."),
        (lambda b: b.failed("it"), "failed", "Session 'it' ended in error: error_max_turns"),
    ],
    ids=["not_existent", "still_running", "failed"],
)
def test_get_result_errors_carry_their_code(ao, backups, prepare, code, message) -> None:
    prepare(backups)
    outcome = ao("ao-get-result", "it", "--json")
    assert outcome.status == 1
    document = error_of(outcome)
    assert document["name"] == "it"
    assert document["error"]["code"] == code
    assert document["error"]["message"].startswith(message)


def test_get_result_timed_out_is_124_with_its_code(ao, backups) -> None:
    backups.running("busy")
    outcome = ao("ao-get-result", "busy", "--json", "--wait", "--timeout", "0")
    assert outcome.status == 124
    assert error_of(outcome)["error"]["code"] == "timed_out"


def test_a_status_that_timed_out_carries_its_status_and_the_code(ao, backups) -> None:
    backups.running("busy")
    outcome = ao("ao-status", "busy", "--json", "--wait", "--timeout", "0")
    assert outcome.status == 124
    document = parsed(outcome)
    assert (document["name"], document["status"]) == ("busy", "running")
    assert document["error"]["code"] == "timed_out"


def test_an_unreadable_store_is_a_storage_error(ao, backups, tmp_path) -> None:
    not_a_directory = tmp_path / "plain-file"
    not_a_directory.write_text("")
    outcome = ao("ao-list-sessions", "--json", "--sessions-dir", str(not_a_directory))
    assert outcome.status == 1
    document = error_of(outcome)
    assert (document["name"], document["error"]["code"]) == (None, "storage_error")


def test_a_successful_answer_has_no_error_member(ao, backups) -> None:
    backups.finished("done", "the answer")
    status = parsed(ao("ao-status", "done", "--json"))
    assert status == {"name": "done", "status": "finished", "backend": "file"}
    assert parsed(ao("ao-get-result", "done", "--json")) == {"name": "done", "result": "the answer"}


# --- failed means failed ----------------------------------------------------------------


def test_a_run_that_ended_in_an_sdk_error_is_failed_with_its_reason(ao, backups) -> None:
    backups.failed("tester", "error_max_turns")
    assert ao("ao-status", "tester").out == "failed\n"
    document = parsed(ao("ao-status", "tester", "--json"))
    assert document == {
        "name": "tester",
        "status": "failed",
        "backend": "file",
        "reason": "error_max_turns",
    }
    outcome = ao("ao-get-result", "tester")
    assert (outcome.status, outcome.err) == (
        1,
        "Error: Session 'tester' ended in error: error_max_turns\n",
    )


# --- several sessions -------------------------------------------------------------------


def test_several_names_one_line_each_in_the_order_given(ao, backups) -> None:
    backups.finished("b-done")
    backups.running("a-busy")
    backups.failed("c-failed")
    outcome = ao("ao-status", "c-failed", "ghost", "b-done", "a-busy")
    assert (outcome.status, outcome.err) == (0, "")
    assert outcome.out.splitlines() == [
        "c-failed failed",
        "ghost not_existent",
        "b-done finished",
        "a-busy running",
    ]


def test_several_names_as_a_json_array(ao, backups) -> None:
    backups.finished("done")
    outcome = ao("ao-status", "done", "ghost", "--json")
    assert parsed(outcome) == [
        {"name": "done", "status": "finished", "backend": "file"},
        {"name": "ghost", "status": "not_existent", "backend": None},
    ]


def test_one_invalid_name_refuses_the_whole_command(ao, backups) -> None:
    backups.finished("done")
    outcome = ao("ao-status", "done", "bad name")
    assert (outcome.status, outcome.out) == (1, "")
    assert outcome.err.startswith("Error: Session name can only contain")


def test_any_without_wait_is_a_usage_error(ao, backups) -> None:
    outcome = ao("ao-status", "a", "b", "--any")
    assert (outcome.status, outcome.err) == (2, "Error: --any needs --wait\n")


def test_waiting_for_several_returns_when_all_have_ended(backups, waiter) -> None:
    backups.running("one")
    backups.running("two")
    backups.finished("three")
    w = waiter("ao-status", "one", "two", "three", "--wait", "--interval", "0.2")
    w.wait_for_stderr("one: running, two: running, three: finished")
    finish_run(backups, "one")
    w.wait_for_stderr("one: finished, two: running")
    finish_run(backups, "two")
    status, out = w.finish()
    assert (status, out) == (0, "one finished\ntwo finished\nthree finished\n")


def test_any_returns_when_the_first_ends_and_prints_every_line(backups, waiter) -> None:
    backups.running("one")
    backups.running("two")
    w = waiter("ao-status", "one", "two", "--wait", "--any", "--interval", "0.2")
    w.wait_for_stderr("one: running, two: running")
    finish_run(backups, "two")
    status, out = w.finish()
    assert (status, out) == (0, "one running\ntwo finished\n")


def test_several_names_time_out_with_124(ao, backups) -> None:
    backups.running("one")
    backups.finished("two")
    outcome = ao("ao-status", "one", "two", "--wait", "--timeout", "0")
    assert (outcome.status, outcome.out) == (124, "one running\ntwo finished\n")


# --- state in the list --------------------------------------------------------------------


def test_long_list_shows_each_status(ao, backups) -> None:
    backups.finished("alpha", session_id="s-a")
    backups.running("beta", session_id="s-b")
    backups.failed("gamma")
    outcome = ao("ao-list-sessions", "--long")
    assert outcome.out.splitlines() == [
        "alpha finished (session-id: s-a, project-dir: /proj)",
        "beta running (session-id: s-b, project-dir: /proj)",
        "gamma failed (session-id: sid, project-dir: /proj)",
    ]
    records = parsed(ao("ao-list-sessions", "--long", "--json"))
    assert [(r["name"], r["status"]) for r in records] == [
        ("alpha", "finished"),
        ("beta", "running"),
        ("gamma", "failed"),
    ]
    assert "status" not in parsed(ao("ao-list-sessions", "--json"))[0]


def test_status_filter_implies_long(ao, backups) -> None:
    backups.finished("alpha")
    backups.running("beta")
    backups.failed("gamma")
    outcome = ao("ao-list-sessions", "--status", "running,failed")
    assert [line.split()[:2] for line in outcome.out.splitlines()] == [
        ["beta", "running"],
        ["gamma", "failed"],
    ]
    assert ao("ao-list-sessions", "--status", "pending").out == "No sessions found\n"


# --- ao-clean -----------------------------------------------------------------------------


def test_dry_run_deletes_nothing(ao, backups) -> None:
    backups.finished("alpha")
    before = backups.names()
    outcome = ao("ao-clean", "alpha", "ghost", "--dry-run")
    assert outcome.status == 1
    assert outcome.out == "Would delete session 'alpha'\n"
    assert outcome.err == "Error: Session 'ghost' does not exist\n"
    assert backups.names() == before


def test_clean_json_says_what_was_deleted_and_why_not(ao, backups) -> None:
    backups.finished("alpha")
    outcome = ao("ao-clean", "alpha", "ghost", "--json")
    assert outcome.status == 1
    assert parsed(outcome) == [
        {"name": "alpha", "deleted": True},
        {
            "name": "ghost",
            "deleted": False,
            "error": {"code": "not_existent", "message": "Session 'ghost' does not exist"},
        },
    ]
    assert backups.names() == []


def test_clean_all_json_with_nothing_to_remove_is_an_empty_array(ao, backups) -> None:
    outcome = ao("ao-clean", "--all", "--json")
    assert (outcome.status, parsed(outcome)) == (0, [])
