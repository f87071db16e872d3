"""ao-logs NAME [--follow] against the test Agent Coordinator (its history cut at 100, its
event stream without event ids) and a real runner process producing the events."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from conftest import BIN_DIR, clean_environ
from runs_fixtures import RunsCoordinator

from ao_plugins.api.logs import HISTORY_LIMIT


def spawn_logs(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN_DIR / "ao-logs"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=clean_environ(**env),
    )


def read_docs_until(stream, accept, timeout: float = 30.0) -> list[dict]:
    """JSON lines of ``stream`` up to and including the first ``accept`` takes."""
    docs: list[dict] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = stream.readline()
        if not line:
            break
        docs.append(json.loads(line))
        if accept(docs[-1]):
            return docs
    raise AssertionError(f"not seen: {docs}")


def server_env(server: RunsCoordinator, backups) -> dict[str, str]:
    return server.env(AGENT_ORCHESTRATOR_PROJECT_DIR=str(backups.path.parent.parent))


def test_follow_prints_a_real_runs_events_once_each_and_ends_with_its_status(
    runs_coordinator, backups, tmp_path, script
) -> None:
    env = server_env(runs_coordinator, backups)
    started = script("ao-start", "alpha", "-p", "sleep 1.5 then answer", "--detach", extra_env=env)
    assert started.status == 0
    follower = spawn_logs(env, tmp_path, "alpha", "--follow", "--json", "--timeout", "60")
    try:
        out, err = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert (follower.returncode, err) == (0, "")
    docs = [json.loads(line) for line in out.splitlines()]
    assert docs[-1]["kind"] == "status" and docs[-1]["text"] == "idle"
    stored = runs_coordinator.events("alpha")
    kinds = [d["kind"] for d in docs[:-1]]
    assert len(kinds) == len(stored)  # every event, none twice
    assert kinds == ["run_start", "user", "assistant", "tool", "result", "run_end"]
    assert [d["time"] for d in docs[:-1]] == [e["timestamp"] for e in stored]
    tool = docs[3]
    assert (tool["tool"], tool["input"], tool["output"]) == (
        "Bash",
        "echo sleep 1.5 then answer",
        "sleep 1.5 then answer",
    )
    assert docs[4]["text"] == "echo: sleep 1.5 then answer"


def test_history_of_a_finished_turn_in_text(runs_coordinator, backups, ao) -> None:
    env = server_env(runs_coordinator, backups)
    assert ao("ao-start", "beta", "-p", "hi", extra_env=env).status == 0
    outcome = ao("ao-logs", "beta", extra_env=env)
    assert outcome.status == 0 and outcome.err == ""
    assert "  user\n  hi\n" in outcome.out
    assert "  tool  Bash: echo hi\n  | hi\n" in outcome.out
    assert "  result\n  echo: hi\n" in outcome.out


def test_a_history_cut_at_100_says_so_where_the_gap_is(runs_coordinator, backups, ao) -> None:
    env = server_env(runs_coordinator, backups)
    runs_coordinator.add("many", status="finished")
    for i in range(HISTORY_LIMIT + 50):
        runs_coordinator.emit(
            "many",
            {
                "event_type": "message",
                "role": "assistant",
                "content": [{"type": "text", "text": f"m{i}"}],
            },
        )
    outcome = ao("ao-logs", "many", "--json", extra_env=env)
    docs = [json.loads(line) for line in outcome.out.splitlines()]
    assert [d["text"] for d in docs[:HISTORY_LIMIT]] == [f"m{i}" for i in range(HISTORY_LIMIT)]
    assert len(docs) == HISTORY_LIMIT + 1
    assert docs[-1]["kind"] == "gap" and "oldest 100" in docs[-1]["text"]
    text = ao("ao-logs", "many", "--tail", "2", extra_env=env)
    assert text.out.splitlines()[-1].startswith("  the server gives only the oldest 100 events")


def test_no_event_is_skipped_or_printed_twice_across_reconnects(
    runs_coordinator, backups, tmp_path
) -> None:
    server = runs_coordinator
    env = server_env(server, backups)
    server.add("gamma", status="running")
    server.emit("gamma", {"event_type": "message", "role": "user", "content": "go"})
    server.drop_stream(after=2, times=None)  # every stream ends after init and one frame
    follower = spawn_logs(env, tmp_path, "gamma", "-f", "--json", "--timeout", "60")
    try:
        docs = read_docs_until(follower.stdout, lambda d: d["text"] == "go")
        server.wait_streams(1)
        for i in range(6):
            # two at once: the second is published while the stream is being reconnected
            for half in "ab":
                server.emit(
                    "gamma",
                    {
                        "event_type": "message",
                        "role": "assistant",
                        "content": [{"type": "text", "text": f"{i}{half}"}],
                    },
                )
            docs += read_docs_until(follower.stdout, lambda d, i=i: d["text"] == f"{i}b")
        server.finish("gamma", result_text="done", status="finished")
        out, err = follower.communicate(timeout=30)
    finally:
        follower.kill()
    docs += [json.loads(line) for line in out.splitlines()]
    said = [d["text"] for d in docs if d["kind"] == "assistant"]
    assert said == [f"{i}{half}" for i in range(6) for half in "ab"]
    assert docs[-1] == {**docs[-1], "kind": "status", "text": "finished"}
    assert follower.returncode == 0 and err == ""
    assert server.sse_connections > 6  # it did reconnect


def test_reconnects_print_every_event_exactly_once(runs_coordinator, backups, tmp_path) -> None:
    server = runs_coordinator
    env = server_env(server, backups)
    server.add("delta", status="running")
    server.drop_stream(after=2, times=None)
    follower = spawn_logs(env, tmp_path, "delta", "-f", "--json", "--timeout", "60")
    texts = [f"e{i}" for i in range(20)]
    try:
        server.wait_streams(1)
        for text in texts:
            server.emit(
                "delta",
                {
                    "event_type": "message",
                    "role": "assistant",
                    "content": [{"type": "text", "text": text}],
                },
            )
        docs = read_docs_until(follower.stdout, lambda d: d["text"] == texts[-1])
        server.finish("delta", result_text="done", status="finished")
        out, _ = follower.communicate(timeout=30)
    finally:
        follower.kill()
    docs += [json.loads(line) for line in out.splitlines()]
    assert [d["text"] for d in docs if d["kind"] == "assistant"] == texts
    assert docs[-1]["text"] == "finished"


def test_a_session_manager_session_has_no_events_to_show(session_manager, backups, ao) -> None:
    session_manager.add("s-1", "older")
    env = session_manager.env(AGENT_ORCHESTRATOR_PROJECT_DIR=str(backups.path.parent.parent))
    outcome = ao("ao-logs", "older", extra_env=env)
    assert outcome.status == 1
    assert outcome.err.startswith("Error: No backend can show the events of session 'older'")
