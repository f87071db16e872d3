"""Every ao-* command on backup files, run in-process and through the console scripts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from backup_files import result_message
from conftest import BIN_DIR, clean_environ

STILL_RUNNING = (
    "Error: Session 'busy' is still running. Wait for completion or check status with ao-status.\n"
)
BAD_NAME = "Error: Session name can only contain alphanumeric characters, dashes, and underscores\n"


def test_status_prints_one_word(ao, backups):
    backups.finished("done")
    backups.running("busy")
    backups.failed("broken")
    backups.meta("starting", session_id=None)
    for name, word in [
        ("done", "finished"),
        ("busy", "running"),
        ("broken", "failed"),
        ("starting", "running"),
        ("ghost", "not_existent"),
    ]:
        outcome = ao("ao-status", name)
        assert (outcome.status, outcome.out, outcome.err) == (0, word + "\n", "")


def test_status_json(ao, backups):
    backups.finished("done")
    assert json.loads(ao("ao-status", "done", "--json").out) == {
        "name": "done",
        "status": "finished",
        "backend": "file",
    }
    assert json.loads(ao("ao-status", "ghost", "--json").out)["status"] == "not_existent"


def test_get_result(ao, backups):
    backups.finished("done", result="line one\nline two")
    outcome = ao("ao-get-result", "done")
    assert (outcome.status, outcome.out, outcome.err) == (0, "line one\nline two\n", "")
    assert json.loads(ao("ao-get-result", "done", "--json").out) == {
        "name": "done",
        "result": "line one\nline two",
    }


def test_get_result_errors_use_the_contracts_words(ao, backups):
    backups.running("busy")
    outcome = ao("ao-get-result", "busy")
    assert (outcome.status, outcome.out, outcome.err) == (1, "", STILL_RUNNING)
    outcome = ao("ao-get-result", "ghost")
    assert (outcome.status, outcome.err) == (1, "Error: Session 'ghost' does not exist\n")


def test_get_result_of_a_failed_run_names_the_failure(ao, backups):
    backups.failed("broken", subtype="error_during_execution")
    outcome = ao("ao-get-result", "broken")
    assert outcome.status == 1
    assert outcome.out == ""
    assert outcome.err == ("Error: Session 'broken' ended in error: error_during_execution\n")


def test_get_result_of_a_success_without_text(ao, backups):
    backups.meta("empty")
    backups.log("empty", result_message(None))
    outcome = ao("ao-get-result", "empty")
    assert (outcome.status, outcome.err) == (
        1,
        "Error: Session 'empty' is finished but has no result\n",
    )


def test_a_5mb_result_line_is_printed_whole(script, backups):
    big = "é" + "y" * (5 * 1024 * 1024)
    backups.finished("big", result=big)
    outcome = script("ao-get-result", "big")
    assert outcome.status == 0
    assert outcome.out == big + "\n"
    assert script("ao-status", "big").out == "finished\n"


def test_list_sessions_in_the_contracts_format(ao, backups):
    assert ao("ao-list-sessions").out == "No sessions found\n"
    backups.meta("beta", session_id="b-1", project_dir="/work/b")
    backups.meta("alpha", session_id=None, project_dir="/work/a")
    (backups.path / "gamma.meta.json").write_text("{truncated")
    outcome = ao("ao-list-sessions")
    assert (outcome.status, outcome.err) == (0, "")
    assert outcome.out == (
        "alpha (session-id: unknown, project-dir: /work/a)\n"
        "beta (session-id: b-1, project-dir: /work/b)\n"
        "gamma (session-id: unknown, project-dir: unknown)\n"
    )


def test_list_sessions_json(ao, backups):
    backups.meta("beta", session_id="b-1", project_dir="/work/b")
    assert json.loads(ao("ao-list-sessions", "--json").out) == [
        {"name": "beta", "session_id": "b-1", "project_dir": "/work/b", "backend": "file"}
    ]
    backups.path.joinpath("beta.meta.json").unlink()
    assert json.loads(ao("ao-list-sessions", "--json").out) == []


def test_clean_deletes_exactly_the_named_sessions(ao, backups):
    for name in ["keep", "drop", "drop-too", "dropx"]:
        backups.finished(name)
    (backups.path / "drop.meta.json.tmp").write_text("{}")
    (backups.path / "README").write_text("not a session")
    outcome = ao("ao-clean", "drop", "drop-too")
    assert (outcome.status, outcome.err) == (0, "")
    assert outcome.out == "Deleted session 'drop'\nDeleted session 'drop-too'\n"
    assert backups.names() == [
        "README",
        "dropx.jsonl",
        "dropx.meta.json",
        "keep.jsonl",
        "keep.meta.json",
    ]


def test_clean_reports_unknown_names_and_still_cleans_the_rest(ao, backups):
    backups.finished("real")
    outcome = ao("ao-clean", "ghost", "real")
    assert outcome.status == 1
    assert outcome.out == "Deleted session 'real'\n"
    assert outcome.err == "Error: Session 'ghost' does not exist\n"
    assert backups.names() == []


def test_clean_all_removes_session_files_only(ao, backups):
    backups.finished("one")
    backups.running("two")
    backups.meta("three", session_id=None)
    (backups.path / "two.meta.json.tmp").write_text("{}")
    (backups.path / "notes.md").write_text("mine")
    (backups.path / "orphan.jsonl").write_text("{}\n")
    outcome = ao("ao-clean", "--all")
    assert outcome.status == 0
    assert outcome.out.splitlines() == [
        "Deleted session 'one'",
        "Deleted session 'three'",
        "Deleted session 'two'",
    ]
    assert backups.names() == ["notes.md", "orphan.jsonl"]
    assert ao("ao-clean", "--all").out == "No sessions to remove\n"


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "no session names and no --all: name the sessions to delete, or give --all"),
        (
            ["--all", "x"],
            "session names and --all cannot be used together: give one or the other",
        ),
    ],
)
def test_clean_needs_names_or_all_and_deletes_nothing_otherwise(ao, backups, args, message):
    backups.finished("safe")
    outcome = ao("ao-clean", *args)
    assert outcome.status == 2
    assert outcome.err == f"Error: {message}\n"
    assert len(backups.names()) == 2


def test_clean_usage_error_with_json_is_a_usage_document(ao, backups) -> None:
    """``--json`` usage errors found after parsing are a document with the code ``usage``."""
    outcome = ao("ao-clean", "--json")
    assert outcome.status == 2
    assert json.loads(outcome.out) == {
        "name": None,
        "error": {
            "code": "usage",
            "message": "no session names and no --all: name the sessions to delete, or give --all",
        },
    }


@pytest.mark.parametrize(
    "name, message",
    [
        ("../../etc/passwd", BAD_NAME),
        ("a b", BAD_NAME),
        ("ünïcode", BAD_NAME),
        ("x" * 61, "Error: Session name too long (max 60 characters, got 61)\n"),
        ("", "Error: Session name cannot be empty\n"),
    ],
)
def test_invalid_names_are_rejected_before_any_backend(ao, backups, name, message):
    backups.finished("safe")
    for command in ["ao-status", "ao-get-result", "ao-clean"]:
        # An unknown backend would be exit 2: the name is checked first.
        outcome = (
            ao(command, "safe", name, extra_env={"AGENT_ORCHESTRATOR_BACKENDS": "nope"})
            if command == "ao-clean"
            else ao(command, name, extra_env={"AGENT_ORCHESTRATOR_BACKENDS": "nope"})
        )
        assert (outcome.status, outcome.out, outcome.err) == (1, "", message)
    assert len(backups.names()) == 2


def test_sixty_character_names_are_fine(ao, backups):
    name = "A-z_0" * 12
    backups.finished(name)
    assert ao("ao-status", name).out == "finished\n"


def test_missing_project_directory_is_one_line(ao, tmp_path):
    missing = tmp_path / "nowhere"
    outcome = ao("ao-list-sessions", "--project-dir", str(missing))
    assert (outcome.status, outcome.out) == (1, "")
    assert outcome.err == f"Error: Project directory does not exist: {missing}\n"


def test_a_deleted_current_directory_is_a_config_error(tmp_path):
    """Issue 19, item 10: the current directory deleted under the command (no
    --project-dir): the config error, in text and --json, not an internal one."""
    gone = tmp_path / "gone"
    gone.mkdir()
    env = clean_environ(AGENT_ORCHESTRATOR_BACKENDS="file")
    probe = (
        "import os, sys\n"
        f"os.chdir({str(gone)!r}); os.rmdir({str(gone)!r})\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(BIN_DIR / "ao-status"), "alpha", "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    message = (
        "The current directory cannot be used (No such file or directory): "
        "give --project-dir or set AGENT_ORCHESTRATOR_PROJECT_DIR"
    )
    assert done.stderr == f"Error: {message}\n"
    assert json.loads(done.stdout) == {
        "name": None,
        "error": {"code": "config", "message": message},
    }


def test_unreadable_sessions_directory_is_one_line(ao, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    outcome = ao("ao-list-sessions", "--sessions-dir", str(not_a_dir))
    assert outcome.status == 1
    assert outcome.err.startswith(f"Error: Cannot read sessions directory {not_a_dir}: ")
    assert len(outcome.err.splitlines()) == 1


def test_unknown_backend_is_a_usage_error(ao):
    outcome = ao("ao-list-sessions", "--backends", "file,mystore")
    assert outcome.status == 2
    assert outcome.err.startswith("Error: Unknown backend 'mystore' (installed: ")


def test_bad_flags_are_usage_errors(ao):
    outcome = ao("ao-status", "--no-such-flag", "x")
    assert outcome.status == 2
    assert "unrecognized arguments: --no-such-flag" in outcome.err
    assert "Traceback" not in outcome.err


def test_version_and_help(ao):
    from ao_core import __version__

    assert ao("ao-status", "--version").out == f"ao-status {__version__}\n"
    helped = ao("ao-clean", "-h")
    assert helped.status == 0
    assert "--all" in helped.out and "--sessions-dir" in helped.out


def test_no_traceback_without_debug_and_one_with_it(script, backups, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    quiet = script("ao-list-sessions", "--sessions-dir", str(not_a_dir))
    assert "Traceback" not in quiet.err
    loud = script(
        "ao-list-sessions",
        "--sessions-dir",
        str(not_a_dir),
        extra_env={"AGENT_ORCHESTRATOR_DEBUG": "1"},
    )
    assert loud.status == 1
    assert "Traceback (most recent call last)" in loud.err
    assert loud.err.endswith(quiet.err)
