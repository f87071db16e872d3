"""Issue 13 against both servers: several names in one round (one listing on the Session
Manager, one event stream on the Agent Coordinator), the list with status straight from
the listing, and the JSON error codes the servers' answers lead to."""

from __future__ import annotations

import json

from test_coordinator_backend import SID, paths
from test_coordinator_backend import either as either  # the fixture: both servers

OTHER = "ses_00000000beef"


def test_several_names_cost_one_listing_on_the_session_manager(ao, session_manager) -> None:
    for name in ("alpha", "beta", "gamma"):
        session_manager.add(f"{name}-id", name, result="done")
    before = len(session_manager.requests)
    outcome = ao("ao-status", "gamma", "alpha", "ghost", extra_env=session_manager.env())
    assert (outcome.status, outcome.err) == (0, "")
    assert outcome.out.splitlines() == ["gamma finished", "alpha finished", "ghost not_existent"]
    asked = paths(session_manager, since=before)
    assert [p for p in asked if p.startswith("/sessions?")] == ["/sessions?session_name=gamma"]
    assert sorted(p for p in asked if p.endswith("/status")) == [
        "/sessions/alpha-id/status",
        "/sessions/gamma-id/status",
    ]


def test_the_long_list_takes_each_status_from_the_listing(ao, either) -> None:
    either.put("job-a", "finished")
    either.put("job-b", "running")
    server = either.server
    before = len(server.requests)
    outcome = ao("ao-list-sessions", "--long", "--backends", "api", extra_env=server.env())
    assert outcome.status == 0, outcome
    statuses = {line.split()[0]: line.split()[1] for line in outcome.out.splitlines()}
    assert statuses == {"job-a": "finished", "job-b": "running"}
    assert paths(server, since=before) == ["/sessions"]  # no request per session
    only = ao("ao-list-sessions", "--status", "running", "--json", extra_env=server.env())
    assert [(r["name"], r["status"]) for r in json.loads(only.out)] == [("job-b", "running")]


def test_a_failed_and_a_stopped_session_have_their_codes(ao, coordinator) -> None:
    coordinator.add(SID, "failed")
    coordinator.add(OTHER, "stopped")
    env = coordinator.env()
    failed = ao("ao-get-result", SID, "--json", extra_env=env)
    assert failed.status == 1
    assert json.loads(failed.out)["error"]["code"] == "failed"
    stopped = ao("ao-get-result", OTHER, "--json", extra_env=env)
    assert stopped.status == 1
    assert json.loads(stopped.out)["error"]["code"] == "no_result"


def test_a_busy_session_in_clean_json_is_still_running(ao, coordinator, backups) -> None:
    coordinator.add(SID, "running")
    coordinator.add(OTHER, "finished", result_text="x")
    outcome = ao("ao-clean", SID, OTHER, "--json", extra_env=coordinator.env())
    assert outcome.status == 1
    records = json.loads(outcome.out)
    assert records[1] == {"name": OTHER, "deleted": True}
    assert (records[0]["deleted"], records[0]["error"]["code"]) == (False, "still_running")
    assert coordinator.get(SID)["status"] == "running"


def test_waiting_for_several_follows_one_event_stream(coordinator, waiter) -> None:
    coordinator.add(SID, "running")
    coordinator.add(OTHER, "pending")
    argv = ("ao-status", SID, OTHER, "--wait", "--interval", "600")
    w = waiter(*argv, extra_env=coordinator.env())
    w.wait_for_stderr(f"{SID}: running, {OTHER}: pending")
    coordinator.wait_streams(1)
    coordinator.finish(SID, result_text="one")
    w.wait_for_stderr(f"{SID}: finished, {OTHER}: pending")
    coordinator.fail(OTHER)
    assert w.finish() == (0, f"{SID} finished\n{OTHER} failed\n")
    assert coordinator.sse_connections == 1


def test_any_returns_on_the_first_event(coordinator, waiter) -> None:
    coordinator.add(SID, "running")
    coordinator.add(OTHER, "running")
    argv = ("ao-status", SID, OTHER, "--wait", "--any", "--interval", "600")
    w = waiter(*argv, extra_env=coordinator.env())
    w.wait_for_stderr(f"{SID}: running, {OTHER}: running")
    coordinator.wait_streams(1)
    coordinator.finish(OTHER, result_text="two")
    assert w.finish() == (0, f"{SID} running\n{OTHER} finished\n")
    assert coordinator.sse_connections == 1
