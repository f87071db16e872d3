"""ao-start, ao-resume, ao-stop, ao-list-blueprints, ao-show-config and ao-clean --stop
against the test Agent Coordinator and its test runner (a separate process executing the
scripted agents), through the installed console scripts and in-process."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from runs_fixtures import RunsCoordinator

SLOW = "sleep 30 please"


@pytest.fixture
def server(runs_coordinator: RunsCoordinator) -> RunsCoordinator:
    return runs_coordinator


@pytest.fixture
def env(server: RunsCoordinator, backups) -> dict[str, str]:
    """The commands ask the Coordinator first, then the backup files."""
    return server.env(AGENT_ORCHESTRATOR_PROJECT_DIR=str(backups.path.parent.parent))


def started(server: RunsCoordinator, name: str) -> list[dict]:
    return server.runs(session_id=name)


# --- ao-start ----------------------------------------------------------------------------


def test_start_waits_for_the_turn_and_prints_its_result(ao, server) -> None:
    outcome = ao("ao-start", "alpha", "-p", "hello")
    assert (outcome.status, outcome.out, outcome.err) == (0, "echo: hello\n", "")
    assert server.get("alpha")["status"] == "idle"
    again = ao("ao-get-result", "alpha")
    assert again.out == outcome.out


def test_start_json_is_the_get_result_document(ao, server) -> None:
    outcome = ao("ao-start", "alpha", "-p", "hello", "--json")
    assert outcome.status == 0
    assert json.loads(outcome.out) == {"name": "alpha", "result": "echo: hello"}


def test_the_prompt_is_p_then_a_newline_then_the_piped_text(script, server) -> None:
    outcome = script("ao-start", "alpha", "-p", "first", input="second\n")
    assert (outcome.status, outcome.out) == (0, "echo: first\nsecond\n\n")
    piped_only = script("ao-start", "beta", input="only piped")
    assert piped_only.out == "echo: only piped\n"


def test_no_prompt_is_the_old_error(ao, server) -> None:
    outcome = ao("ao-start", "alpha")
    assert outcome.status == 1
    assert outcome.err == "Error: No prompt provided. Use -p flag or pipe content to stdin.\n"
    assert started(server, "alpha") == []


def test_params_with_a_prompt_is_a_usage_error(ao, server) -> None:
    outcome = ao("ao-start", "story", "--agent", "topic", "--params", '{"topic": "x"}', "-p", "y")
    assert outcome.status == 2
    assert started(server, "story") == []


@pytest.mark.parametrize("bad", ["[1, 2]", "not json", '{"n": NaN}'])
def test_params_must_be_a_json_object(ao, server, bad) -> None:
    outcome = ao("ao-start", "story", "--agent", "topic", "--params", bad)
    assert outcome.status == 2 and "--params" in outcome.err


def test_a_name_any_backend_knows_is_refused_before_anything_starts(ao, server, backups) -> None:
    server.start(session_id="alpha")
    backups.finished("local", "from the files")
    for name in ("alpha", "local"):
        before = len(server.runs())
        outcome = ao("ao-start", name, "-p", "again")
        assert outcome.status == 1
        assert outcome.err == (
            f"Error: Session '{name}' already exists. Use 'ao-resume' command to continue "
            "or choose a different name\n"
        )
        assert len(server.runs()) == before


@pytest.mark.parametrize(
    "agent, error",
    [("ghost", "Agent not found: ghost"), ("retired", "Agent 'retired' is inactive")],
)
def test_the_agent_is_checked_before_anything_starts(ao, server, agent, error) -> None:
    outcome = ao("ao-start", "alpha", "-p", "hi", "--agent", agent)
    assert (outcome.status, outcome.err) == (1, f"Error: {error}\n")
    assert server.get("alpha") is None


def test_a_procedural_agent_gets_its_parameters_and_gives_structured_data(ao, server) -> None:
    outcome = ao("ao-start", "story", "--agent", "topic", "--params", '{"topic": "cats"}')
    assert outcome.status == 0, outcome.err
    assert json.loads(outcome.out) == {"output": "a story about cats"}
    as_json = ao("ao-get-result", "story", "--json")
    assert json.loads(as_json.out) == {"name": "story", "result": {"output": "a story about cats"}}
    assert server.get("story")["status"] == "finished"


def test_parameters_the_schema_refuses_name_what_is_wrong_and_what_is_required(ao, server) -> None:
    outcome = ao("ao-start", "story", "--agent", "topic", "-p", "cats")
    assert outcome.status == 1
    (line,) = outcome.err.splitlines()
    assert line.startswith("Error: Cannot start session 'story': ")
    assert "'topic' is a required property" in line and line.endswith("required: topic")


def test_a_failed_run_ends_with_its_reason_escaped(ao, server) -> None:
    outcome = ao("ao-start", "broken", "-p", "hi", "--agent", "crash")
    assert outcome.status == 1 and outcome.out == ""
    (line,) = outcome.err.splitlines()
    assert line.startswith("Error: Session 'broken' ended in error: ")
    assert "\x1b" not in outcome.err and len(line) < 300
    status = json.loads(ao("ao-status", "broken", "--json").out)
    assert status["status"] == "failed" and status["reason"] in line


def test_detach_returns_once_the_server_accepted_the_run(ao, server) -> None:
    outcome = ao("ao-start", "slowpoke", "-p", SLOW, "--detach")
    assert (outcome.status, outcome.out) == (0, "slowpoke\n")
    assert ao("ao-status", "slowpoke").out in ("pending\n", "running\n")
    as_json = ao("ao-start", "other", "-p", SLOW, "--detach", "--json")
    document = json.loads(as_json.out)
    assert document["name"] == "other" and document["detached"] is True
    assert server.run(document["run_id"])["session_id"] == "other"


def test_a_timeout_leaves_the_session_running_and_says_how_to_keep_waiting(ao, server) -> None:
    outcome = ao("ao-start", "slowpoke", "-p", SLOW, "--timeout", "1")
    assert outcome.status == 124
    assert "ao-get-result slowpoke --wait" in outcome.err
    assert server.get("slowpoke")["status"] in ("pending", "running")


def test_the_race_of_the_real_runner_ends_the_wait(ao, start_runs_coordinator, backups) -> None:
    """Reported completed before started: the run keeps 'running' with completed_at set."""
    server = start_runs_coordinator(runner={"race": True})
    env = server.env(AGENT_ORCHESTRATOR_PROJECT_DIR=str(backups.path.parent.parent))
    began = time.monotonic()
    outcome = ao("ao-start", "racer", "-p", "quick", "--timeout", "20", extra_env=env)
    assert outcome.status in (0, 1), outcome.err  # never 124: the turn's end was seen
    assert time.monotonic() - began < 15


def test_no_runner_warns_at_once_and_the_server_giving_up_ends_it(
    ao, start_runs_coordinator, backups
) -> None:
    server = start_runs_coordinator(runner=False, no_match_timeout=2)
    env = server.env(AGENT_ORCHESTRATOR_PROJECT_DIR=str(backups.path.parent.parent))
    outcome = ao("ao-start", "lonely", "-p", "anyone?", "--timeout", "30", extra_env=env)
    assert outcome.status == 1
    warning, error = outcome.err.splitlines()
    assert warning.startswith("Warning: no runner online can take session 'lonely'")
    assert error == (
        "Error: Session 'lonely' ended in error: No matching runner available within timeout"
    )
    assert server.get("lonely")["status"] == "pending"  # the server leaves it so
    assert ao("ao-status", "lonely", extra_env=env).out == "failed\n"


def test_an_agent_no_runner_offers_is_warned_about(ao, server) -> None:
    outcome = ao("ao-start", "gpu", "-p", "hi", "--agent", "nowhere", "--detach")
    assert outcome.status == 0
    assert outcome.err.startswith("Warning: no runner online can take session 'gpu'")


# --- ao-resume ---------------------------------------------------------------------------


def test_resume_prints_that_turns_result(ao, server) -> None:
    assert ao("ao-start", "alpha", "-p", "first").status == 0
    outcome = ao("ao-resume", "alpha", "-p", "second")
    assert (outcome.status, outcome.out, outcome.err) == (0, "echo: second\n", "")
    assert [r["type"] for r in started(server, "alpha")] == ["start_session", "resume_session"]


def test_a_pending_turn_is_in_progress_although_the_session_shows_idle(ao, server) -> None:
    """The runner is gone: the resume run stays pending while the session shows idle and
    the last turn's result; the commands follow the run, not the session."""
    assert ao("ao-start", "alpha", "-p", "first").status == 0
    server.runner.stop()
    outcome = ao("ao-resume", "alpha", "-p", "second", "--detach")
    assert outcome.status == 0
    assert server.get("alpha")["status"] == "idle"
    assert ao("ao-status", "alpha").out == "pending\n"
    waited = ao("ao-get-result", "alpha", "--wait", "--timeout", "1")
    assert waited.status == 124 and waited.out == ""
    again = ao("ao-resume", "alpha", "-p", "third")
    assert again.status == 1 and "is still running" in again.err
    turn = ao("ao-resume", "beta", "-p", "x")
    assert turn.err == "Error: Session 'beta' does not exist. Use 'ao-start' command to create it\n"


def test_resume_refuses_a_session_in_progress_without_asking(ao, server) -> None:
    assert ao("ao-start", "slowpoke", "-p", SLOW, "--detach").status == 0
    before = len(server.runs())
    outcome = ao("ao-resume", "slowpoke", "-p", "more")
    assert outcome.status == 1
    assert outcome.err == (
        "Error: Session 'slowpoke' is still running. Wait for completion or check status "
        "with ao-status.\n"
    )
    assert len(server.runs()) == before


def test_a_procedural_session_cannot_be_resumed(ao, server) -> None:
    assert ao("ao-start", "story", "--agent", "topic", "--params", '{"topic": "x"}').status == 0
    outcome = ao("ao-resume", "story", "-p", "more")
    assert outcome.status == 1
    assert outcome.err == (
        "Error: Cannot resume session 'story': Procedural agents are stateless and cannot "
        "be resumed\n"
    )


def test_a_resume_the_runner_fails_ends_with_its_reason(ao, server) -> None:
    assert ao("ao-start", "alpha", "-p", "first").status == 0
    assert ao("ao-stop", "alpha").status == 0  # the executor is gone now
    outcome = ao("ao-resume", "alpha", "-p", "second")
    assert outcome.status == 1
    assert outcome.err == (
        "Error: Session 'alpha' ended in error: No live executor process for session alpha\n"
    )


class TestByHand:
    """Against a runner this test plays itself, over the runner's endpoints."""

    @pytest.fixture
    def server(self, start_runs_coordinator) -> RunsCoordinator:
        return start_runs_coordinator(runner=False)

    def test_a_failed_resume_keeps_its_reason_when_a_late_report_turns_it_finished(
        self, ao, server
    ) -> None:
        """The runner reports a resume's run failed (the server turns the session
        ``failed``) and at once, late, an earlier stop's session status ``finished``, as the
        real runner's reports can cross. The turn's answer is its own run's: failed, with
        its reason."""
        http = requests.Session()
        identity = {
            "hostname": "by-hand",
            "project_dir": "/proj",
            "executor_profile": "default",
            "executor": {"type": "autonomous", "command": "by-hand", "config": {}},
        }
        registered = http.post(f"{server.url}/runner/register", json=identity, timeout=10)
        runner_id = registered.json()["runner_id"]
        reason = "No live executor process for session gamma"

        def report(run_id: str, what: str, **body: str) -> None:
            url = f"{server.url}/runner/runs/{run_id}/{what}"
            http.post(url, json={"runner_id": runner_id, **body}, timeout=10)

        def next_run() -> dict:
            while True:  # 204: the long poll ended with nothing
                poll = {"runner_id": runner_id}
                answer = http.get(f"{server.url}/runner/runs", params=poll, timeout=60)
                if answer.status_code == 200 and "run" in answer.json():
                    return answer.json()["run"]

        def runner() -> None:
            for _ in range(2):
                run = next_run()
                if run["type"] == "start_session":
                    report(run["run_id"], "started")
                    result = {
                        "event_type": "result",
                        "session_id": "gamma",
                        "timestamp": "2026-12-06T00:00:00Z",
                        "result_text": "first answer",
                    }
                    http.post(f"{server.url}/sessions/gamma/events", json=result, timeout=10)
                    report(run["run_id"], "completed", status="success", session_status="idle")
                else:
                    report(run["run_id"], "failed", error=reason)
                    late = {"runner_id": runner_id, "status": "finished"}
                    http.post(f"{server.url}/runner/sessions/gamma/status", json=late, timeout=10)

        hand = threading.Thread(target=runner, daemon=True)
        hand.start()
        assert ao("ao-start", "gamma", "-p", "first").out == "first answer\n"
        outcome = ao("ao-resume", "gamma", "-p", "second")
        hand.join(10)
        assert (outcome.status, outcome.err) == (
            1,
            f"Error: Session 'gamma' ended in error: {reason}\n",
        )
        assert server.get("gamma")["status"] == "finished"  # the late report did land


# --- ao-stop -----------------------------------------------------------------------------


def test_stop_an_idle_session(ao, server) -> None:
    assert ao("ao-start", "alpha", "-p", "hi").status == 0
    outcome = ao("ao-stop", "alpha")
    assert (outcome.status, outcome.out, outcome.err) == (0, "Stopped session 'alpha'\n", "")
    assert server.get("alpha")["status"] == "finished"


def test_stop_a_running_turn(ao, server) -> None:
    assert ao("ao-start", "slowpoke", "-p", SLOW, "--detach").status == 0
    server.wait_for_session("slowpoke", "running")
    outcome = ao("ao-stop", "slowpoke", "--json")
    assert outcome.status == 0
    assert json.loads(outcome.out) == [{"name": "slowpoke", "stopped": True, "status": "stopped"}]


def test_stop_reports_each_name_and_goes_on(ao, server) -> None:
    assert ao("ao-start", "alpha", "-p", "hi").status == 0
    assert ao("ao-start", "story", "--agent", "topic", "--params", '{"topic": "x"}').status == 0
    outcome = ao("ao-stop", "ghost", "story", "alpha")
    assert outcome.status == 1
    assert outcome.err == "Error: Session 'ghost' does not exist\n"
    assert outcome.out == (
        "Session 'story' has already ended (finished)\nStopped session 'alpha'\n"
    )


def test_stop_no_wait(ao, server) -> None:
    assert ao("ao-start", "slowpoke", "-p", SLOW, "--detach").status == 0
    server.wait_for_session("slowpoke", "running")
    outcome = ao("ao-stop", "slowpoke", "--no-wait")
    assert (outcome.status, outcome.out) == (0, "Stopping session 'slowpoke'\n")
    server.wait_for_session("slowpoke", "stopped")


def test_a_stop_during_a_resumed_turn_is_not_claimed_before_it_happened(ao, server) -> None:
    """The server answers 'stopped' but lets the resumed turn go on (it comes back idle):
    ao follows the session through the turn's end and stops it again."""
    assert ao("ao-start", "alpha", "-p", "first").status == 0
    assert ao("ao-resume", "alpha", "-p", "sleep 2 then answer", "--detach").status == 0
    server.wait_for_session("alpha", "running")
    outcome = ao("ao-stop", "alpha", "--timeout", "30")
    assert (outcome.status, outcome.out) == (0, "Stopped session 'alpha'\n"), outcome.err
    assert server.get("alpha")["status"] == "finished"


def test_stop_times_out_with_124(ao, server) -> None:
    server.runner.kill()  # nobody will confirm the stop
    server.start(session_id="stuck")
    server.store.set_status("stuck", "running")
    outcome = ao("ao-stop", "stuck", "--timeout", "1")
    assert outcome.status == 124
    assert outcome.err == "Error: Session 'stuck' is still stopping after --timeout\n"


# --- ao-clean --stop and --dry-run -------------------------------------------------------


def test_clean_all_stop_empties_the_coordinator(ao, server) -> None:
    assert ao("ao-start", "alpha", "-p", "hi").status == 0
    assert ao("ao-start", "slowpoke", "-p", SLOW, "--detach").status == 0
    server.wait_for_session("slowpoke", "running")
    refused = ao("ao-clean", "--all", "--dry-run")
    assert refused.status == 1
    assert sorted(refused.err.splitlines()) == [
        f"Error: Session '{n}' is still running or idle on the Agent Coordinator: stop it first"
        for n in ("alpha", "slowpoke")
    ]
    predicted = ao("ao-clean", "--all", "--stop", "--dry-run")
    assert predicted.status == 0
    assert sorted(predicted.out.splitlines()) == [
        "Would stop and delete session 'alpha'",
        "Would stop and delete session 'slowpoke'",
    ]
    assert len(server.store.sessions()) == 2
    outcome = ao("ao-clean", "--all", "--stop")
    assert outcome.status == 0, outcome.err
    assert sorted(outcome.out.splitlines()) == [
        "Stopped and deleted session 'alpha'",
        "Stopped and deleted session 'slowpoke'",
    ]
    assert server.store.sessions() == []


def test_dry_run_predicts_pending_sessions_are_deleted(ao, start_runs_coordinator, backups) -> None:
    server = start_runs_coordinator(runner=False)
    env = server.env(AGENT_ORCHESTRATOR_PROJECT_DIR=str(backups.path.parent.parent))
    server.start(session_id="waiting")
    predicted = ao("ao-clean", "waiting", "--dry-run", extra_env=env)
    assert (predicted.status, predicted.out) == (0, "Would delete session 'waiting'\n")
    real = ao("ao-clean", "waiting", extra_env=env)
    assert (real.status, real.out) == (0, "Deleted session 'waiting'\n")


# --- ao-list-blueprints and ao-show-config -----------------------------------------------


def test_list_blueprints(ao, server) -> None:
    outcome = ao("ao-list-blueprints")
    assert outcome.status == 0
    lines = outcome.out.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == [a["name"] for a in server.agents.list()]
    retired = next(line for line in lines if line.startswith("retired "))
    assert "(inactive)" in retired
    as_json = json.loads(ao("ao-list-blueprints", "--json").out)
    topic = next(b for b in as_json if b["name"] == "topic")
    assert topic["type"] == "procedural" and topic["parameters_schema"]["required"] == ["topic"]


def test_list_blueprints_by_tags_and_none(ao, server) -> None:
    server.add_agent("tagged", description="has tags\nsecond line", tags=["a", "b"])
    outcome = ao("ao-list-blueprints", "--tags", "a,b")
    assert outcome.out.split() == ["tagged", "autonomous", "has", "tags"]
    assert ao("ao-list-blueprints", "--tags", "zzz").out == "No blueprints found\n"


def test_show_config_on_the_coordinator(ao, server) -> None:
    assert ao("ao-start", "alpha", "-p", "hi").status == 0
    outcome = ao("ao-show-config", "alpha")
    assert outcome.status == 0
    lines = outcome.out.splitlines()
    assert lines[0] == "Configuration for session 'alpha':"
    labels = [line.split(":")[0].strip() for line in lines[1:]]
    assert labels[:6] == ["Session ID", "Project dir", "Agent", "Created", "Last resumed", "Status"]
    assert "  Runner host: test-host" in lines and "  Status: idle" in lines
    document = json.loads(ao("ao-show-config", "alpha", "--json").out)
    run = started(server, "alpha")[0]
    assert (document["run_id"], document["run_status"]) == (run["run_id"], "completed")


def test_show_config_of_a_failed_session_names_its_reason(ao, server) -> None:
    assert ao("ao-start", "broken", "-p", "hi", "--agent", "crash").status == 1
    document = json.loads(ao("ao-show-config", "broken", "--json").out)
    assert document["status"] == "failed" and document["run_error"]
    assert "\n" not in document["run_error"]


# --- servers and stores that cannot drive sessions ---------------------------------------


@pytest.mark.parametrize(
    "argv, doing",
    [
        (["ao-start", "alpha", "-p", "hi"], "start sessions"),
        (["ao-resume", "done", "-p", "hi"], "resume sessions"),
        (["ao-stop", "running"], "stop sessions"),
        (["ao-list-blueprints"], "list blueprints"),
    ],
)
def test_the_files_and_the_session_manager_cannot(
    script, session_manager, backups, argv, doing
) -> None:
    backups.finished("done", "the answer")
    backups.running("running")
    before = sorted(p.name for p in backups.path.iterdir())
    for env in ({"AGENT_ORCHESTRATOR_BACKENDS": "file"}, session_manager.env()):
        outcome = script(*argv, extra_env=env)
        assert outcome.status == 1
        error = outcome.err.splitlines()[-1]
        assert error.startswith(f"Error: No backend can {doing} (asked: ")
        assert "the Agent Coordinator can" in error
    assert sorted(p.name for p in backups.path.iterdir()) == before


def test_show_config_on_the_backup_files(ao, backups) -> None:
    backups.finished("done", "the answer")
    outcome = ao("ao-show-config", "done", extra_env={"AGENT_ORCHESTRATOR_BACKENDS": "file"})
    assert outcome.status == 0
    assert outcome.out.splitlines()[0] == "Configuration for session 'done':"
    assert "  Status: finished" in outcome.out.splitlines()
