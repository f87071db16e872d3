"""The test Agent Coordinator's runs half and the test runner speak coordinator-runs.md.

Everything goes through real HTTP on 127.0.0.1, with real runner processes
(tests/agent_runner.py) where a run must move. Waits are on the server's own conditions,
each with a deadline.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from agent_runner import CRASH_ERROR
from coordinator import EVENT_FIELDS, RUN_FIELDS
from coordinator_agents import TOPIC_SCHEMA
from coordinator_runners import NO_MATCH_ERROR, Runner, matches, merge_demands, runner_id_for
from coordinator_schema import IMPLICIT_SCHEMA, validation_errors
from runs_fixtures import RUNNER_SCRIPT, RunsCoordinator
from server_fixtures import CoordinatorServer
from test_coordinator_server import Stream

TIMEOUT = 10


def get(server: CoordinatorServer, path: str, **kw: Any) -> requests.Response:
    return requests.get(server.url + path, timeout=TIMEOUT, **kw)


def post(server: CoordinatorServer, path: str, body: object = None) -> requests.Response:
    return requests.post(server.url + path, json=body, timeout=TIMEOUT)


def start_body(prompt: object = "hello", **fields: Any) -> dict[str, Any]:
    return {"type": "start_session", "parameters": {"prompt": prompt}, **fields}


def resume_body(session_id: str | None, prompt: str = "more") -> dict[str, Any]:
    return {"type": "resume_session", "session_id": session_id, "parameters": {"prompt": prompt}}


def refused(answer: requests.Response) -> tuple[int, Any]:
    return answer.status_code, answer.json()


def idle_session(server: RunsCoordinator, prompt: str = "hello", **fields: Any) -> str:
    """Start an echo session and wait for its first turn's end; its id."""
    created = server.start(prompt, agent="echo", **fields)
    server.wait_for_run(created["run_id"])
    server.wait_for_session(created["session_id"], "idle")
    return created["session_id"]


# POST /runs: the refusals


def test_a_start_with_a_taken_id_is_409(coordinator: CoordinatorServer) -> None:
    assert post(coordinator, "/runs", start_body(session_id="architect")).status_code == 201
    answer = post(coordinator, "/runs", start_body(session_id="architect"))
    assert refused(answer) == (409, {"detail": "Session 'architect' already exists"})
    assert len(coordinator.store.runs()) == 1


@pytest.mark.parametrize("session_id", [None, ""])
def test_a_resume_without_a_session_id_is_400(coordinator, session_id) -> None:
    answer = post(coordinator, "/runs", resume_body(session_id))
    assert refused(answer) == (400, {"detail": "session_id is required for resume_session"})


def test_a_resume_of_an_unknown_session_is_404(coordinator: CoordinatorServer) -> None:
    answer = post(coordinator, "/runs", resume_body("ses_doesnotexist"))
    assert refused(answer) == (404, {"detail": "Session 'ses_doesnotexist' not found"})


def test_missing_parameters_are_fastapis_422(coordinator: CoordinatorServer) -> None:
    answer = post(coordinator, "/runs", {"type": "start_session", "session_id": "s"})
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert (error["type"], error["loc"]) == ("missing", ["body", "parameters"])
    assert coordinator.get("s") is None


@pytest.mark.parametrize("run_type", ["start", "resume", None])
def test_any_other_type_is_422(coordinator: CoordinatorServer, run_type) -> None:
    body = {"parameters": {"prompt": "p"}, **({"type": run_type} if run_type else {})}
    answer = post(coordinator, "/runs", body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "type"]


def test_parameters_the_agents_schema_refuses(coordinator: CoordinatorServer) -> None:
    answer = post(coordinator, "/runs", {**start_body(), "agent_name": "topic"})
    assert refused(answer) == (
        400,
        {
            "detail": {
                "error": "parameter_validation_failed",
                "message": "Parameters do not match agent's parameters_schema",
                "agent_name": "topic",
                "validation_errors": [
                    {
                        "path": "$",
                        "message": "'topic' is a required property",
                        "schema_path": "required",
                    }
                ],
                "parameters_schema": TOPIC_SCHEMA,
            }
        },
    )
    assert coordinator.store.sessions() == [] and coordinator.store.runs() == []


@pytest.mark.parametrize(
    ("parameters", "error"),
    [
        ({}, ("$", "'prompt' is a required property", "required")),
        ({"prompt": ""}, ("$.prompt", "'' should be non-empty", "properties.prompt.minLength")),
        ({"prompt": 3}, ("$.prompt", "3 is not of type 'string'", "properties.prompt.type")),
        (
            {"prompt": "p", "topic": "cats"},
            (
                "$",
                "Additional properties are not allowed ('topic' was unexpected)",
                "additionalProperties",
            ),
        ),
    ],
)
@pytest.mark.parametrize("agent", [None, "echo", "ghost"])
def test_without_a_schema_parameters_are_exactly_a_prompt(
    coordinator, parameters, error, agent
) -> None:
    body = {"type": "start_session", "parameters": parameters, "agent_name": agent}
    answer = post(coordinator, "/runs", body)
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert (detail["error"], detail["agent_name"]) == ("parameter_validation_failed", agent)
    found = [(e["path"], e["message"], e["schema_path"]) for e in detail["validation_errors"]]
    assert found == [error]
    assert detail["parameters_schema"] == IMPLICIT_SCHEMA


def test_a_resume_is_always_a_prompt(coordinator: CoordinatorServer) -> None:
    coordinator.add("ses_a", "idle", agent_name="echo")
    body = {"type": "resume_session", "session_id": "ses_a", "parameters": {"topic": "x"}}
    detail = post(coordinator, "/runs", body).json()["detail"]
    assert [e["message"] for e in detail["validation_errors"]] == [
        "'prompt' is a required property",
        "Additional properties are not allowed ('topic' was unexpected)",
    ]


def test_a_procedural_agents_session_cannot_be_resumed(coordinator) -> None:
    body = {"type": "start_session", "agent_name": "topic", "parameters": {"topic": "cats"}}
    session_id = post(coordinator, "/runs", body).json()["session_id"]
    coordinator.set_status(session_id, "finished")
    answer = post(coordinator, "/runs", resume_body(session_id))
    assert refused(answer) == (
        400,
        {
            "detail": {
                "error": "procedural_agent_no_resume",
                "message": "Procedural agents are stateless and cannot be resumed",
                "agent_name": "topic",
            }
        },
    )


@pytest.mark.parametrize("status", ["pending", "running", "idle", "finished", "stopped", "failed"])
def test_a_resume_is_accepted_whatever_the_sessions_status(coordinator, status) -> None:
    coordinator.add("ses_a", status)
    answer = post(coordinator, "/runs", resume_body("ses_a"))
    assert answer.status_code == 201
    assert answer.json()["session_id"] == "ses_a"
    assert coordinator.get("ses_a")["status"] == status  # nothing moves without a runner


def test_an_empty_session_id_is_generated(coordinator: CoordinatorServer) -> None:
    created = post(coordinator, "/runs", start_body(session_id="")).json()
    assert re.fullmatch(r"ses_[0-9a-f]{12}", created["session_id"])
    assert re.fullmatch(r"run_[0-9a-f]{12}", created["run_id"])
    assert created["status"] == "pending"


def test_a_pending_resume_leaves_the_previous_turn_in_place(coordinator) -> None:
    coordinator.add("ses_a", "idle", result_text="turn 1", agent_name="echo", hostname="h")
    run_id = post(coordinator, "/runs", resume_body("ses_a")).json()["run_id"]
    assert get(coordinator, f"/runs/{run_id}").json()["status"] == "pending"
    assert get(coordinator, "/sessions/ses_a/status").json() == {"status": "idle"}
    assert get(coordinator, "/sessions/ses_a/result").json()["result_text"] == "turn 1"
    assert coordinator.get("ses_a")["last_resumed_at"] is not None


# Runs


def test_a_run_has_every_field(runs_coordinator: RunsCoordinator) -> None:
    created = runs_coordinator.start(
        "hi", session_id="ses_f", agent="echo", project_dir="/work", parent_session_id="boss"
    )
    runs_coordinator.wait_for_run(created["run_id"])
    run = get(runs_coordinator, f"/runs/{created['run_id']}").json()
    assert tuple(run) == RUN_FIELDS
    assert run["run_id"] == created["run_id"]
    assert (run["type"], run["session_id"], run["agent_name"]) == ("start_session", "ses_f", "echo")
    assert (run["parameters"], run["status"]) == ({"prompt": "hi"}, "completed")
    assert (run["project_dir"], run["parent_session_id"]) == ("/work", "boss")
    assert (run["execution_mode"], run["demands"], run["error"]) == ("sync", None, None)
    assert run["runner_id"] == runs_coordinator.runner.runner_id
    stamps = [run[key] for key in ("created_at", "claimed_at", "started_at", "completed_at")]
    assert all(stamps) and stamps == sorted(stamps)
    assert run["timeout_at"] > run["created_at"]
    session = runs_coordinator.get("ses_f")
    assert (session["project_dir"], session["parent_session_id"]) == ("/work", "boss")


def test_unknown_run(coordinator: CoordinatorServer) -> None:
    for answer in (get(coordinator, "/runs/run_nope"), post(coordinator, "/runs/run_nope/stop")):
        assert refused(answer) == (404, {"detail": "Run not found"})


def test_list_runs_by_status(coordinator: CoordinatorServer) -> None:
    first = post(coordinator, "/runs", start_body()).json()
    second = post(coordinator, "/runs", start_body()).json()
    coordinator.fail_run(second["session_id"], "gone")
    runs = get(coordinator, "/runs").json()["runs"]
    assert len(runs) == 3 and all(tuple(r) == RUN_FIELDS for r in runs)
    assert [r["run_id"] for r in runs[:2]] == [first["run_id"], second["run_id"]]
    pending = get(coordinator, "/runs", params={"status": "pending"}).json()
    assert [r["run_id"] for r in pending["runs"]] == [first["run_id"], second["run_id"]]
    failed = get(coordinator, "/runs", params={"status": "failed"}).json()["runs"]
    assert [(r["session_id"], r["error"]) for r in failed] == [(second["session_id"], "gone")]
    assert get(coordinator, "/runs", params={"status": "stopped"}).json() == {"runs": []}


# What a start looks like


def test_an_echo_start_end_to_end(runs_coordinator: RunsCoordinator) -> None:
    stream = Stream(runs_coordinator.url, include_init="false")
    runs_coordinator.wait_streams(1)
    created = runs_coordinator.start("hello there", session_id="ses_e", agent="echo")
    run = runs_coordinator.wait_for_run(created["run_id"])
    session = runs_coordinator.wait_for_session("ses_e", "idle")
    assert get(runs_coordinator, "/sessions/ses_e/result").json() == {
        "result_text": "echo: hello there",
        "result_data": None,
    }
    runner = runs_coordinator.runner
    assert (session["hostname"], session["executor_profile"]) == (runner.hostname, "echo")
    assert session["project_dir"] == runner.project_dir  # the run named none: the runner's
    assert re.fullmatch(r"[0-9a-f]{32}", session["executor_session_id"])
    events = get(runs_coordinator, "/sessions/ses_e/events").json()["events"]
    assert [(e["event_type"], e["role"]) for e in events] == [
        ("run_start", None),
        ("message", "user"),
        ("message", "assistant"),
        ("post_tool", None),
        ("result", None),
        ("run_completed", None),
    ]
    assert all(tuple(e) == ("id", *EVENT_FIELDS) for e in events)
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert events[1]["content"] == [{"type": "text", "text": "hello there"}]
    assert events[2]["content"] == [{"type": "text", "text": "echo: hello there"}]
    assert (events[3]["tool_name"], events[3]["tool_output"]) == ("Bash", "hello there")
    assert events[4]["result_text"] == "echo: hello there"
    frames = []
    while not (frames and frames[-1].data.get("data", {}).get("event_type") == "run_completed"):
        frames.append(stream.event())
    stream.close()
    statuses = [f.data["session"]["status"] for f in frames if "session" in f.data]
    assert frames[0].event == "session_created" and statuses[0] == "pending"
    assert statuses[1:] == ["running", "running", "idle"]  # started, bound, completed
    kinds = [f.data["data"]["event_type"] for f in frames if f.event == "event"]
    assert kinds == ["run_start", "message", "message", "post_tool", "result", "run_completed"]
    assert all(tuple(f.data["data"]) == EVENT_FIELDS for f in frames if f.event == "event")
    assert run["completed_at"] is not None


def test_a_procedural_start_finishes_with_structured_data(runs_coordinator) -> None:
    created = runs_coordinator.start(agent="topic", parameters={"topic": "cats"})
    runs_coordinator.wait_for_run(created["run_id"])
    runs_coordinator.wait_for_session(created["session_id"], "finished")
    assert get(runs_coordinator, f"/sessions/{created['session_id']}/result").json() == {
        "result_text": None,
        "result_data": {"output": "a story about cats"},
    }


def test_a_crash_fails_the_run_with_its_long_error(runs_coordinator) -> None:
    stream = Stream(runs_coordinator.url, include_init="false")
    runs_coordinator.wait_streams(1)
    created = runs_coordinator.start("anything", agent="crash")
    run = runs_coordinator.wait_for_run(created["run_id"], "failed")
    assert run["error"] == CRASH_ERROR
    assert get(runs_coordinator, f"/runs/{created['run_id']}").json()["error"] == CRASH_ERROR
    assert len(CRASH_ERROR.split("\n")) == 40 and "\x1b[" in CRASH_ERROR
    assert max(len(line) for line in CRASH_ERROR.split("\n")) > 4000
    runs_coordinator.wait_for_session(created["session_id"], "failed")
    result = get(runs_coordinator, f"/sessions/{created['session_id']}/result")
    assert refused(result) == (400, {"detail": "Session not finished or idle"})
    frames = [stream.event()]
    while frames[-1].data.get("session", {}).get("status") != "failed":
        frames.append(stream.event())
    stream.close()
    assert "run_failed" not in [f.event for f in frames]  # a runner's failure is not one


def test_a_prompt_can_crash_any_autonomous_turn(runs_coordinator) -> None:
    session_id = idle_session(runs_coordinator)
    run_id = runs_coordinator.resume(session_id, "crash now")["run_id"]
    assert runs_coordinator.wait_for_run(run_id, "failed")["error"] == CRASH_ERROR
    runs_coordinator.wait_for_session(session_id, "failed")


def test_an_unknown_agent_runs_as_no_agent(runs_coordinator: RunsCoordinator) -> None:
    created = runs_coordinator.start("hi", agent="ghost")
    runs_coordinator.wait_for_run(created["run_id"])
    session = runs_coordinator.wait_for_session(created["session_id"], "idle")
    assert session["agent_name"] == "ghost"
    assert runs_coordinator.store.result(created["session_id"]) == ("echo: hi", None)


def test_an_inactive_agent_is_still_run(runs_coordinator: RunsCoordinator) -> None:
    created = runs_coordinator.start("hi", agent="retired")
    runs_coordinator.wait_for_run(created["run_id"])
    runs_coordinator.wait_for_session(created["session_id"], "idle")


def test_a_resume_gives_another_turn(runs_coordinator: RunsCoordinator) -> None:
    session_id = idle_session(runs_coordinator, "first", project_dir="/work")
    first = runs_coordinator.get(session_id)
    run_id = runs_coordinator.resume(session_id, "second")["run_id"]
    run = runs_coordinator.wait_for_run(run_id)
    session = runs_coordinator.wait_for_session(session_id, "idle")
    assert runs_coordinator.store.result(session_id) == ("echo: second", None)
    assert first["last_resumed_at"] is None and session["last_resumed_at"] is not None
    assert (run["type"], run["agent_name"], run["project_dir"]) == (
        "resume_session",
        "echo",
        "/work",
    )
    assert run["demands"] == {"hostname": first["hostname"], "executor_profile": "echo"}
    assert session["executor_session_id"] == first["executor_session_id"]
    kinds = [e["event_type"] for e in runs_coordinator.events(session_id)]
    assert kinds.count("result") == 2 and kinds[-1] == "run_completed"


def test_a_resume_without_a_live_executor_fails_at_the_runner(runs_coordinator) -> None:
    session_id = idle_session(runs_coordinator)
    post(runs_coordinator, f"/sessions/{session_id}/stop")
    runs_coordinator.wait_for_session(session_id, "finished")
    run_id = runs_coordinator.resume(session_id)["run_id"]
    run = runs_coordinator.wait_for_run(run_id, "failed")
    assert run["error"] == f"No live executor process for session {session_id}"
    runs_coordinator.wait_for_session(session_id, "failed")


def test_a_resume_of_a_busy_session_fails_at_the_runner(runs_coordinator) -> None:
    created = runs_coordinator.start("sleep 30", agent="echo")
    session_id, busy = created["session_id"], created["run_id"]
    runs_coordinator.wait_for_run(busy, "running")
    run_id = runs_coordinator.resume(session_id)["run_id"]
    run = runs_coordinator.wait_for_run(run_id, "failed")
    assert run["error"] == (
        f"Session {session_id} is busy with run {busy}, cannot accept resume run {run_id}"
    )
    runs_coordinator.wait_for_session(session_id, "failed")
    assert runs_coordinator.run(busy)["status"] == "running"  # the turn itself goes on


def test_an_idle_session_whose_process_dies_turns_failed(runs_coordinator) -> None:
    session_id = idle_session(runs_coordinator, "die 0.1")
    runs_coordinator.wait_for_session(session_id, "failed")
    assert runs_coordinator.runs(session_id=session_id)[0]["status"] == "completed"


# Events


def test_events_answer_the_oldest_hundred_with_ids(coordinator: CoordinatorServer) -> None:
    coordinator.add("ses_a")
    for i in range(120):
        coordinator.emit("ses_a", {"event_type": "message", "role": "assistant", "reason": str(i)})
    events = get(coordinator, "/sessions/ses_a/events").json()["events"]
    assert [e["reason"] for e in events] == [str(i) for i in range(100)]
    assert all(isinstance(e["id"], int) for e in events)
    assert refused(get(coordinator, "/sessions/nope/events")) == (
        404,
        {"detail": "Session not found"},
    )


def test_posted_events_are_checked(coordinator: CoordinatorServer) -> None:
    coordinator.add("ses_a")
    event = {"event_type": "message", "session_id": "ses_a", "role": "user"}
    assert refused(post(coordinator, "/sessions/ses_a/events", event)) == (201, {"ok": True})
    mismatch = post(coordinator, "/sessions/ses_a/events", {**event, "session_id": "ses_b"})
    assert refused(mismatch) == (400, {"detail": "Event session_id must match URL session_id"})
    unknown = post(coordinator, "/sessions/nope/events", {**event, "session_id": "nope"})
    assert unknown.status_code == 404
    assert post(coordinator, "/sessions/ses_a/events", {"session_id": "ses_a"}).status_code == 422


def test_the_latest_result_event_is_the_result(coordinator: CoordinatorServer) -> None:
    coordinator.add("ses_a", "idle")
    for text in ("one", "two"):
        event = {"event_type": "result", "session_id": "ses_a", "result_text": text}
        post(coordinator, "/sessions/ses_a/events", event)
    assert get(coordinator, "/sessions/ses_a/result").json()["result_text"] == "two"
    data = {"event_type": "result", "session_id": "ses_a", "result_data": [1, 2]}
    post(coordinator, "/sessions/ses_a/events", data)
    assert get(coordinator, "/sessions/ses_a/result").json() == {
        "result_text": None,
        "result_data": [1, 2],
    }


# Stopping


def test_stopping_an_idle_session(runs_coordinator: RunsCoordinator) -> None:
    session_id = idle_session(runs_coordinator)
    answer = post(runs_coordinator, f"/sessions/{session_id}/stop").json()
    assert (answer["ok"], answer["session_id"], answer["status"]) == (True, session_id, "stopping")
    runs_coordinator.wait_for_session(session_id, "finished")
    assert [r["status"] for r in runs_coordinator.runs(session_id=session_id)] == ["completed"]


def test_stopping_a_pending_run(start_runs_coordinator) -> None:
    server = start_runs_coordinator(runner=False)
    created = server.start()
    answer = post(server, f"/sessions/{created['session_id']}/stop").json()
    assert answer == {
        "ok": True,
        "session_id": created["session_id"],
        "run_id": created["run_id"],
        "status": "stopped",
        "message": "Run cancelled before execution",
    }
    assert server.run(created["run_id"])["status"] == "stopped"
    assert server.get(created["session_id"])["status"] == "stopped"
    # A runner that comes later finds nothing to claim.
    server.start_runner()
    run = server.run(created["run_id"])
    assert (run["status"], run["runner_id"]) == ("stopped", None)


def test_stopping_a_running_start_turn(runs_coordinator: RunsCoordinator) -> None:
    created = runs_coordinator.start(agent="slow")
    session_id, run_id = created["session_id"], created["run_id"]
    runs_coordinator.wait_for_run(run_id, "running")
    runs_coordinator.wait_for_session(session_id, "running")
    answer = post(runs_coordinator, f"/sessions/{session_id}/stop").json()
    assert (answer["status"], answer["run_id"]) == ("stopping", run_id)
    assert runs_coordinator.run(run_id)["status"] in ("stopping", "stopped")
    runs_coordinator.wait_for_run(run_id, "stopped")
    runs_coordinator.wait_for_session(session_id, "stopped")
    # Its executor is gone with it.
    resumed = runs_coordinator.resume(session_id)["run_id"]
    assert runs_coordinator.wait_for_run(resumed, "failed")["error"].startswith("No live executor")


@pytest.mark.parametrize("status", ["finished", "stopped", "failed"])
def test_stopping_an_ended_session(coordinator, status) -> None:
    coordinator.add("ses_a", status)
    post(coordinator, "/runs", resume_body("ses_a"))  # a run changes nothing
    assert post(coordinator, "/sessions/ses_a/stop").json() == {
        "ok": True,
        "session_id": "ses_a",
        "status": status,
        "message": "Session already finished",
    }
    assert coordinator.get("ses_a")["status"] == status


def test_stopping_an_unknown_session(coordinator: CoordinatorServer) -> None:
    assert refused(post(coordinator, "/sessions/nope/stop")) == (
        404,
        {"detail": "Session not found"},
    )


def test_stopping_twice(runs_coordinator: RunsCoordinator) -> None:
    created = runs_coordinator.start(agent="slow")
    runs_coordinator.wait_for_run(created["run_id"], "running")
    # Keep the runner from hearing the first stop, so the session stays stopping.
    runs_coordinator.runner.process.send_signal(signal.SIGSTOP)
    try:
        first = post(runs_coordinator, f"/sessions/{created['session_id']}/stop").json()
        second = post(runs_coordinator, f"/sessions/{created['session_id']}/stop").json()
    finally:
        runs_coordinator.runner.process.send_signal(signal.SIGCONT)
    assert (first["status"], second["status"]) == ("stopping", "stopping")
    assert second["message"] == "Session is already being stopped"
    runs_coordinator.wait_for_session(created["session_id"], "stopped")


def test_a_stop_during_a_resume_turn_never_reaches_the_runner(runs_coordinator) -> None:
    session_id = idle_session(runs_coordinator)
    start_run = runs_coordinator.runs(session_id=session_id)[0]["run_id"]
    turn = runs_coordinator.resume(session_id, "sleep 2 then answer")["run_id"]
    runs_coordinator.wait_for_run(turn, "running")
    runs_coordinator.wait_for_session(session_id, "running")
    answer = post(runs_coordinator, f"/sessions/{session_id}/stop").json()
    assert answer == {
        "ok": True,
        "session_id": session_id,
        "run_id": start_run,
        "status": "stopped",
        "message": "Run already in completed state - session marked as stopped",
    }
    assert runs_coordinator.get(session_id)["status"] == "stopped"
    assert runs_coordinator.run(turn)["status"] == "running"  # nobody told the runner
    runs_coordinator.wait_for_run(turn, "completed", timeout=20)
    runs_coordinator.wait_for_session(session_id, "idle")
    assert runs_coordinator.store.result(session_id) == ("echo: sleep 2 then answer", None)


def test_stopping_the_resume_run_itself_works(runs_coordinator) -> None:
    session_id = idle_session(runs_coordinator)
    turn = runs_coordinator.resume(session_id, "sleep 30")["run_id"]
    runs_coordinator.wait_for_run(turn, "running")
    answer = post(runs_coordinator, f"/runs/{turn}/stop").json()
    assert answer == {"ok": True, "session_id": session_id, "run_id": turn, "status": "stopping"}
    runs_coordinator.wait_for_run(turn, "stopped")
    runs_coordinator.wait_for_session(session_id, "stopped")
    again = post(runs_coordinator, f"/runs/{turn}/stop")
    assert refused(again) == (400, {"detail": "Run cannot be stopped (status: stopped)"})


def test_a_stop_of_a_session_whose_start_timed_out(start_runs_coordinator) -> None:
    server = start_runs_coordinator(runner=False, no_match_timeout=0.2)
    created = server.start()
    server.wait_for_run(created["run_id"], "failed")
    assert server.get(created["session_id"])["status"] == "pending"
    answer = post(server, f"/sessions/{created['session_id']}/stop").json()
    assert answer["status"] == "stopped"
    assert server.get(created["session_id"])["status"] == "stopped"


# Deleting


def test_delete_refuses_only_running_and_idle(runs_coordinator: RunsCoordinator) -> None:
    idle = idle_session(runs_coordinator)
    running = runs_coordinator.start(agent="slow")["session_id"]
    runs_coordinator.wait_for_session(running, "running")
    for session_id in (idle, running):
        answer = requests.delete(f"{runs_coordinator.url}/sessions/{session_id}", timeout=TIMEOUT)
        assert refused(answer) == (409, {"detail": "Stop session first"})
    nowhere = runs_coordinator.start(agent="nowhere")["session_id"]  # stays pending
    runs_coordinator.add("ses_stopping", "stopping")
    for session_id in (nowhere, "ses_stopping"):
        answer = requests.delete(f"{runs_coordinator.url}/sessions/{session_id}", timeout=TIMEOUT)
        assert answer.status_code == 200
        assert runs_coordinator.get(session_id) is None
    assert runs_coordinator.runs(session_id=nowhere) == []


# No runner


def test_a_run_no_runner_claims_fails_and_the_session_stays_pending(start_runs_coordinator):
    server = start_runs_coordinator(runner=False, no_match_timeout=1)
    stream = Stream(server.url, include_init="false")
    server.wait_streams(1)
    created = server.start()
    frames = [stream.event()]
    while frames[-1].event != "run_failed":
        frames.append(stream.event())
    stream.close()
    assert frames[-1].data == {
        "run_id": created["run_id"],
        "error": NO_MATCH_ERROR,
        "session_id": created["session_id"],
    }
    assert [f.event for f in frames] == ["session_created", "run_failed"]
    run = get(server, f"/runs/{created['run_id']}").json()
    assert (run["status"], run["error"], run["runner_id"]) == ("failed", NO_MATCH_ERROR, None)
    assert run["completed_at"] is not None and run["claimed_at"] is None
    assert server.get(created["session_id"])["status"] == "pending"


def test_a_run_demanding_what_no_runner_offers_is_never_claimed(start_runs_coordinator):
    server = start_runs_coordinator(no_match_timeout=1)
    created = server.start(agent="nowhere")
    run = server.wait_for_run(created["run_id"], "failed")
    assert (run["demands"], run["error"], run["runner_id"]) == (
        {"tags": ["gpu"]},
        NO_MATCH_ERROR,
        None,
    )
    assert server.get(created["session_id"])["status"] == "pending"
    echo = server.start(agent="echo")
    server.wait_for_run(echo["run_id"])  # the runner itself was there all along


# The race


def test_a_runner_that_reports_completed_before_started(start_runs_coordinator) -> None:
    server = start_runs_coordinator(runner={"race": True})
    created = server.start("quick", agent="echo")
    session_id = created["session_id"]

    def raced() -> bool:
        kinds = [e["event_type"] for e in server.events(session_id)]
        return kinds[-2:] == ["run_completed", "run_start"]

    assert server.store.wait_until(raced, TIMEOUT)
    run = server.run(created["run_id"])
    assert run["status"] == "running"
    assert run["completed_at"] is not None and run["started_at"] > run["completed_at"]
    assert server.get(session_id)["status"] == "running"
    assert server.store.result(session_id) == ("echo: quick", None)
    # The runner's executor is idle all the same: a resume is taken.
    resumed = server.resume(session_id, "again")["run_id"]
    server.wait_for_run(resumed, lambda r: r["completed_at"] is not None)
    assert server.store.wait_until(lambda: server.store.result(session_id)[0] == "echo: again", 5)


# Agents


def test_list_agents(coordinator: CoordinatorServer) -> None:
    agents = get(coordinator, "/agents").json()
    assert [a["name"] for a in agents] == ["crash", "echo", "nowhere", "retired", "slow", "topic"]
    by_name = {a["name"]: a for a in agents}
    echo = by_name["echo"]
    assert (echo["type"], echo["status"]) == ("autonomous", "active")
    assert len(echo["description"].splitlines()) == 2
    assert "parameters_schema" not in echo and "demands" not in echo  # absent: left out
    assert by_name["topic"]["type"] == "procedural"
    assert by_name["topic"]["parameters_schema"] == TOPIC_SCHEMA
    assert by_name["retired"]["status"] == "inactive"
    assert by_name["nowhere"]["demands"] == {"tags": ["gpu"]}


def test_agents_by_tags(coordinator: CoordinatorServer) -> None:
    def names(tags: str) -> list[str]:
        return [a["name"] for a in get(coordinator, "/agents", params={"tags": tags}).json()]

    assert names("chat") == ["echo", "slow"]
    assert names("test,procedural") == ["topic"]
    assert names(" chat , test ") == ["echo", "slow"]
    assert names("chat,procedural") == []
    assert len(names("")) == 6


def test_one_agent_or_404(coordinator: CoordinatorServer) -> None:
    assert get(coordinator, "/agents/topic").json()["name"] == "topic"
    assert refused(get(coordinator, "/agents/x")) == (404, {"detail": "Agent not found: x"})


def test_create_an_agent_and_run_it(runs_coordinator: RunsCoordinator) -> None:
    body = {"name": "summer", "type": "procedural", "description": "Adds.", "tags": ["math"]}
    created = post(runs_coordinator, "/agents", body)
    assert created.status_code == 201
    assert {k: created.json()[k] for k in body} == body
    assert created.json()["status"] == "active"
    assert post(runs_coordinator, "/agents", body).status_code == 409
    assert get(runs_coordinator, "/agents", params={"tags": "math"}).json()[0]["name"] == "summer"
    run = runs_coordinator.start(agent="summer", parameters={"a": 1})
    runs_coordinator.wait_for_session(run["session_id"], "finished")
    assert runs_coordinator.store.result(run["session_id"]) == (None, {"output": {"a": 1}})


def test_a_reset_brings_back_the_default_agents(coordinator: CoordinatorServer) -> None:
    coordinator._thread.app.state.agents.add({"name": "extra"})
    assert get(coordinator, "/agents/extra").status_code == 200
    coordinator.reset()
    assert get(coordinator, "/agents/extra").status_code == 404


# Runners


def test_the_fixtures_runner_is_listed(runs_coordinator: RunsCoordinator) -> None:
    (runner,) = get(runs_coordinator, "/runners").json()["runners"]
    process = runs_coordinator.runner
    assert runner["runner_id"] == process.runner_id
    assert re.fullmatch(r"lnch_[0-9a-f]{12}", runner["runner_id"])
    assert (runner["hostname"], runner["project_dir"], runner["executor_profile"]) == (
        "test-host",
        process.project_dir,
        "echo",
    )
    assert (runner["status"], runner["tags"]) == ("online", [])
    assert runner["executor"]["type"] == "autonomous"
    assert runner["seconds_since_heartbeat"] >= 0
    assert {"registered_at", "last_heartbeat"} <= set(runner)


def test_the_same_identity_twice_while_online_is_409(start_runs_coordinator) -> None:
    server = start_runs_coordinator(runner=False)
    identity = {"hostname": "h", "project_dir": "/p", "executor_profile": "x", "tags": ["a"]}
    first = post(server, "/runner/register", identity)
    assert first.status_code == 200
    body = first.json()
    assert body["runner_id"] == runner_id_for("h", "/p", "x")
    assert (body["poll_endpoint"], body["poll_timeout_seconds"]) == ("/runner/runs", 2)
    again = post(server, "/runner/register", identity)
    assert again.status_code == 409
    detail = again.json()["detail"]
    assert (detail["error"], detail["runner_id"]) == ("duplicate_runner", body["runner_id"])
    other = post(server, "/runner/register", {**identity, "project_dir": "/q"})
    assert other.status_code == 200 and other.json()["runner_id"] != body["runner_id"]


def test_a_runner_process_refused_registration_exits_with_a_message(runs_coordinator) -> None:
    process = runs_coordinator.runner
    with pytest.raises(AssertionError, match="runner exited"):
        runs_coordinator.start_runner(hostname=process.hostname, project_dir=process.project_dir)
    duplicate = runs_coordinator.processes[-1]
    assert duplicate.process.returncode == 1
    assert "registration refused: 409" in duplicate.stderr()


def test_a_stopped_runner_deregisters(runs_coordinator: RunsCoordinator) -> None:
    assert runs_coordinator.runner.stop() == 0
    assert runs_coordinator.runners() == []
    assert runs_coordinator.runner.stderr() == ""


def test_a_killed_runner_goes_stale_then_away(start_runs_coordinator) -> None:
    server = start_runs_coordinator(poll_timeout=0.3, stale_after=0.5, remove_after=1.5)
    created = server.start("sleep 30", agent="echo")
    server.wait_for_run(created["run_id"], "running")
    server.runner.kill()
    stale = server.wait_for_runners(lambda rs: rs and rs[0]["status"] == "stale")
    assert stale[0]["seconds_since_heartbeat"] > 0.5
    server.wait_for_runners(lambda rs: rs == [])
    run = server.wait_for_run(created["run_id"], "failed")
    assert run["error"] == f"Runner {server.runner.runner_id} stopped responding"
    assert server.get(created["session_id"])["status"] == "running"  # where it was


def test_a_stale_identity_can_register_again(start_runs_coordinator) -> None:
    server = start_runs_coordinator(poll_timeout=0.3, stale_after=0.5, remove_after=60)
    first = server.runner
    first.kill()
    server.wait_for_runners(lambda rs: rs[0]["status"] == "stale")
    second = server.start_runner(hostname=first.hostname, project_dir=first.project_dir)
    assert second.runner_id == first.runner_id
    assert [r["status"] for r in server.runners()] == ["online"]
    created = server.start()
    server.wait_for_run(created["run_id"])


# The runner's protocol, by hand


@pytest.fixture
def bare(start_runs_coordinator) -> RunsCoordinator:
    """A server with no runner process, a 30 s poll and a hand-registered runner ``h``."""
    server = start_runs_coordinator(runner=False, poll_timeout=30)
    identity = {"hostname": "h", "project_dir": "/p", "executor_profile": "x"}
    server.hand_runner = post(server, "/runner/register", identity).json()["runner_id"]
    return server


def poll_in_thread(server: RunsCoordinator, runner_id: str) -> dict[str, Any]:
    """Start a long poll in a thread; its answer (``status``, ``body``) once it ends."""
    answer: dict[str, Any] = {}

    def poll() -> None:
        reply = get(server, "/runner/runs", params={"runner_id": runner_id})
        answer.update(status=reply.status_code, body=reply.json() if reply.content else None)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    server.dispatcher.wait_for(lambda rs: any(r.polls for r in rs), TIMEOUT)
    answer["thread"] = thread
    return answer


def test_a_held_poll_wakes_for_a_new_run(bare: RunsCoordinator) -> None:
    answer = poll_in_thread(bare, bare.hand_runner)
    created = bare.start("hi")
    answer["thread"].join(TIMEOUT)  # the poll would hold 30 s: the request's 10 s would fail
    assert answer.get("status") == 200
    run = answer["body"]["run"]
    assert (run["run_id"], run["status"], run["runner_id"]) == (
        created["run_id"],
        "claimed",
        bare.hand_runner,
    )
    assert bare.run(created["run_id"])["claimed_at"] is not None


def test_a_held_poll_wakes_for_a_stop(bare: RunsCoordinator) -> None:
    created = bare.start("hi")
    assert "run" in get(bare, "/runner/runs", params={"runner_id": bare.hand_runner}).json()
    report = {"runner_id": bare.hand_runner}
    post(bare, f"/runner/runs/{created['run_id']}/started", report)
    answer = poll_in_thread(bare, bare.hand_runner)
    assert post(bare, f"/sessions/{created['session_id']}/stop").json()["status"] == "stopping"
    answer["thread"].join(TIMEOUT)
    assert answer["body"] == {"stop_sessions": [created["session_id"]]}
    post(bare, f"/runner/runs/{created['run_id']}/stopped", {**report, "signal": "SIGTERM"})
    assert bare.run(created["run_id"])["status"] == "stopped"
    assert bare.get(created["session_id"])["status"] == "stopped"


def test_an_empty_poll_is_204_and_an_unknown_runner_401(start_runs_coordinator) -> None:
    server = start_runs_coordinator(runner=False, poll_timeout=0.1)
    runner_id = post(
        server, "/runner/register", {"hostname": "h", "project_dir": "/p", "executor_profile": "x"}
    ).json()["runner_id"]
    empty = get(server, "/runner/runs", params={"runner_id": runner_id})
    assert (empty.status_code, empty.content) == (204, b"")
    unknown = get(server, "/runner/runs", params={"runner_id": "lnch_nope"})
    assert refused(unknown) == (401, {"detail": "Runner not registered"})
    report = post(server, "/runner/runs/run_x/started", {"runner_id": "lnch_nope"})
    assert report.status_code == 401
    assert post(server, "/runner/runs/run_x/started", {"runner_id": runner_id}).status_code == 404


def test_every_report_moves_the_run_and_the_session(bare: RunsCoordinator) -> None:
    runner = {"runner_id": bare.hand_runner}
    first = bare.start("one", session_id="ses_h", project_dir="/work")
    get(bare, "/runner/runs", params=runner)
    post(bare, f"/runner/runs/{first['run_id']}/started", runner)
    assert (bare.run(first["run_id"])["status"], bare.get("ses_h")["status"]) == (
        "running",
        "running",
    )
    binding = {"executor_session_id": "e1", "hostname": "h", "executor_profile": "x"}
    bound = post(bare, "/sessions/ses_h/bind", binding).json()
    assert bound["ok"] and bound["session"]["executor_session_id"] == "e1"
    assert bound["session"]["project_dir"] == "/work"
    assert post(bare, "/sessions/nope/bind", binding).status_code == 404
    done = {**runner, "status": "success", "session_status": "idle"}
    post(bare, f"/runner/runs/{first['run_id']}/completed", done)
    assert (bare.run(first["run_id"])["status"], bare.get("ses_h")["status"]) == (
        "completed",
        "idle",
    )
    second = bare.resume("ses_h")
    polled = get(bare, "/runner/runs", params=runner).json()["run"]
    assert polled["demands"] == {"hostname": "h", "executor_profile": "x"}
    post(bare, f"/runner/runs/{second['run_id']}/failed", {**runner, "error": "boom\nline 2"})
    assert bare.run(second["run_id"])["error"] == "boom\nline 2"
    assert bare.get("ses_h")["status"] == "failed"
    status = post(bare, "/runner/sessions/ses_h/status", {**runner, "status": "finished"})
    assert status.json() == {"ok": True} and bare.get("ses_h")["status"] == "finished"
    assert post(bare, "/runner/sessions/nope/status", {**runner, "status": "x"}).status_code == 422
    heartbeat = post(bare, "/runner/heartbeat", runner)
    assert heartbeat.json() == {"ok": True}


def test_external_deregistration_is_told_on_the_next_poll(bare: RunsCoordinator) -> None:
    url = f"{bare.url}/runners/{bare.hand_runner}"
    assert requests.delete(url, timeout=TIMEOUT).json()["initiated_by"] == "external"
    answer = get(bare, "/runner/runs", params={"runner_id": bare.hand_runner})
    assert answer.json() == {"deregistered": True}
    assert bare.runners() == []
    assert requests.delete(url, timeout=TIMEOUT).status_code == 404


# Matching


def a_runner(**identity: Any) -> Runner:
    fields = {"hostname": "h", "project_dir": "/p", "executor_profile": "x", "tags": ["a", "b"]}
    fields.update(identity)
    return Runner(
        runner_id="lnch_x",
        executor={},
        require_matching_tags=False,
        registered_at="",
        last_heartbeat="",
        **fields,
    )


@pytest.mark.parametrize(
    ("demands", "expected"),
    [
        (None, True),
        ({}, True),
        ({"hostname": "h"}, True),
        ({"hostname": "other"}, False),
        ({"project_dir": "/p", "executor_profile": "x"}, True),
        ({"executor_profile": "y"}, False),
        ({"tags": ["a"]}, True),
        ({"tags": ["a", "b"]}, True),
        ({"tags": ["a", "gpu"]}, False),
        ({"hostname": "h", "tags": []}, True),
    ],
)
def test_the_matching_rule(demands, expected) -> None:
    assert matches(a_runner(), demands) is expected


def test_demands_merge_first_value_wins_and_tags_add_up() -> None:
    assert merge_demands(None, None, {}) is None
    assert merge_demands({"hostname": "h", "executor_profile": None}, {"tags": ["gpu"]}) == {
        "hostname": "h",
        "tags": ["gpu"],
    }
    merged = merge_demands(
        {"hostname": "h"}, {"hostname": "i", "tags": ["a"]}, {"tags": ["a", "b"]}
    )
    assert merged == {"hostname": "h", "tags": ["a", "b"]}


def test_a_tagged_runner_takes_what_the_default_one_cannot(runs_coordinator) -> None:
    gpu = runs_coordinator.start_runner(tags=["gpu", "big"])
    created = runs_coordinator.start("hi", agent="nowhere")
    run = runs_coordinator.wait_for_run(created["run_id"])
    assert run["runner_id"] == gpu.runner_id
    assert runs_coordinator.get(created["session_id"])["hostname"] == gpu.hostname
    assert {r["runner_id"]: r["tags"] for r in runs_coordinator.runners()} == {
        runs_coordinator.runner.runner_id: [],
        gpu.runner_id: ["gpu", "big"],
    }


def test_a_resume_goes_to_the_runner_that_holds_the_session(runs_coordinator) -> None:
    other = runs_coordinator.start_runner()
    sessions = [idle_session(runs_coordinator, f"s{i}") for i in range(4)]
    for session_id in sessions:
        owner = runs_coordinator.runs(session_id=session_id)[0]["runner_id"]
        for turn in range(2):
            run_id = runs_coordinator.resume(session_id, f"turn {turn}")["run_id"]
            run = runs_coordinator.wait_for_run(run_id)
            assert run["runner_id"] == owner
    owners = {runs_coordinator.runs(session_id=s)[0]["runner_id"] for s in sessions}
    assert owners <= {runs_coordinator.runner.runner_id, other.runner_id}


def test_additional_demands_pick_the_runner(runs_coordinator: RunsCoordinator) -> None:
    other = runs_coordinator.start_runner(profile="coding")
    for runner in (other, runs_coordinator.runner):
        demands = {"project_dir": runner.project_dir, "executor_profile": runner.profile}
        created = runs_coordinator.start("hi", additional_demands=demands)
        run = runs_coordinator.wait_for_run(created["run_id"])
        assert (run["runner_id"], run["demands"]) == (runner.runner_id, demands)


# The helpers and the processes


def test_client_requests_leave_the_runners_and_helpers_out(runs_coordinator) -> None:
    session_id = idle_session(runs_coordinator)
    assert runs_coordinator.client_requests == []
    get(runs_coordinator, f"/sessions/{session_id}/result")
    assert [(r.method, r.raw_path) for r in runs_coordinator.client_requests] == [
        ("GET", f"/sessions/{session_id}/result")
    ]
    assert any(r.raw_path == "/runner/runs" for r in runs_coordinator.requests)


def test_the_schema_subset() -> None:
    schema = {
        "type": "object",
        "required": ["n"],
        "properties": {
            "n": {"type": "integer"},
            "x": {"type": ["number", "null"]},
            "flag": {"type": "boolean"},
            "kind": {"enum": ["a", "b"]},
            "inner": {"type": "object", "properties": {"s": {"type": "string"}}},
        },
        "additionalProperties": {"type": "string"},
    }
    assert (
        validation_errors({"n": 1, "x": None, "flag": True, "kind": "a", "z": "ok"}, schema) == []
    )
    assert validation_errors({"n": 2.0, "x": 1.5}, schema) == []
    found = validation_errors(
        {"n": True, "flag": 1, "kind": "c", "inner": {"s": 3}, "z": 4}, schema
    )
    assert [(e["path"], e["message"], e["schema_path"]) for e in found] == [
        ("$.n", "True is not of type 'integer'", "properties.n.type"),
        ("$.flag", "1 is not of type 'boolean'", "properties.flag.type"),
        ("$.kind", "'c' is not one of ['a', 'b']", "properties.kind.enum"),
        ("$.inner.s", "3 is not of type 'string'", "properties.inner.properties.s.type"),
        ("$.z", "4 is not of type 'string'", "additionalProperties.type"),
    ]
    assert validation_errors([], schema)[0]["message"] == "[] is not of type 'object'"


def test_the_runner_process_prints_one_ready_line_and_exits_on_sigterm(
    start_runs_coordinator, tmp_path: Path
) -> None:
    server = start_runs_coordinator(runner=False)
    process = subprocess.Popen(
        [sys.executable, str(RUNNER_SCRIPT), "--url", server.url, "--hostname", "solo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        assert re.fullmatch(rb"ready lnch_[0-9a-f]{12}\n", process.stdout.readline())
        server.wait_for_runners(lambda rs: any(r["hostname"] == "solo" for r in rs))
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (process.returncode, out, err) == (0, b"", b"")
    assert server.runners() == []


def test_standalone_server_and_runner_processes(tmp_path: Path) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        server = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("session_manager.py")), "--coordinator"]
            + ["--fd", str(listening.fileno()), "--db", str(tmp_path / "c.db")]
            + ["--poll-timeout", "1", "--no-match-timeout", "60"],
            pass_fds=[listening.fileno()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    runner = subprocess.Popen(
        [sys.executable, str(RUNNER_SCRIPT), "--url", url, "--hostname", "standalone"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert runner.stdout.readline().startswith(b"ready lnch_")
        body = start_body("from afar", session_id="far", agent_name="echo")
        created = requests.post(url + "/runs", json=body, timeout=20).json()
        stream = Stream(url, session_id="far")
        status = stream.event().data["sessions"][0]["status"]  # init, then every change
        while status != "idle":
            frame = stream.event()
            status = frame.data["session"]["status"] if "session" in frame.data else status
        stream.close()
        assert requests.get(url + "/sessions/far/result", timeout=TIMEOUT).json() == {
            "result_text": "echo: from afar",
            "result_data": None,
        }
        run = requests.get(f"{url}/runs/{created['run_id']}", timeout=TIMEOUT).json()
        timeout = run["timeout_at"] > run["created_at"]
        assert run["status"] == "completed" and timeout
    finally:
        for process in (runner, server):
            process.terminate()
            process.wait(TIMEOUT)


def test_a_server_with_an_api_key_and_its_runner(start_runs_coordinator) -> None:
    server = start_runs_coordinator(api_key="k1")  # the runner is given the key
    created = server.start("secret")
    server.wait_for_run(created["run_id"])
    assert server.store.result(created["session_id"]) == ("echo: secret", None)
    assert get(server, "/runners").status_code == 401
    keyed = get(server, "/runners", headers={"Authorization": "Bearer k1"})
    assert [r["runner_id"] for r in keyed.json()["runners"]] == [server.runner.runner_id]
