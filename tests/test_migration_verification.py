"""The migration plan's verification sequence, run as written against the test server.

The three ``curl`` commands are those of the plan's Verification section, written out in
``docs/servers.md`` ("The migration plan's verification sequence"; a test checks they are
there word for word); only ``localhost:8765`` is replaced by the test server's address.
The ``ao-*`` commands are the installed console scripts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from server_fixtures import RunningServer

PLAN_URL = "http://localhost:8765"
CREATE = """curl -X POST http://localhost:8765/sessions \\
  -H "Content-Type: application/json" \\
  -d '{"session_id": "test-789", "session_name": "test-session", "project_dir": "/tmp"}'"""
MESSAGE = """curl -X POST http://localhost:8765/sessions/test-789/events \\
  -H "Content-Type: application/json" \\
  -d '{"event_type": "message", "session_id": "test-789", "session_name": "test-session", "timestamp": "2024-01-01T00:00:00Z", "role": "assistant", "content": [{"type": "text", "text": "Test result"}]}'"""  # noqa: E501
STOP = """curl -X POST http://localhost:8765/sessions/test-789/events \\
  -H "Content-Type: application/json" \\
  -d '{"event_type": "session_stop", "session_id": "test-789", "session_name": "test-session", "timestamp": "2024-01-01T00:00:01Z", "exit_code": 0, "reason": "completed"}'"""  # noqa: E501


SERVERS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "servers.md"


def test_the_sequence_is_written_out_where_users_read_it() -> None:
    page = SERVERS_PAGE.read_text(encoding="utf-8")
    for command in (CREATE, MESSAGE, STOP):
        assert command in page, f"docs/servers.md must show, word for word: {command}"


def curl(command: str, server: RunningServer) -> dict:
    """Run one of the plan's curl commands through bash; the JSON the server answered."""
    assert shutil.which("curl"), "curl is needed for the verification sequence"
    proc = subprocess.run(
        ["bash", "-c", command.replace(PLAN_URL, server.url)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(proc.stdout)


def test_verification_sequence(script, session_manager: RunningServer) -> None:
    created = curl(CREATE, session_manager)
    assert created["ok"] is True
    assert created["session"]["status"] == "running"
    assert curl(MESSAGE, session_manager) == {"ok": True}
    assert curl(STOP, session_manager) == {"ok": True}

    env = session_manager.env()
    listed = script("ao-list-sessions", extra_env=env)
    assert (listed.status, listed.err) == (0, "")
    assert listed.out == "test-session (session-id: test-789, project-dir: /tmp)\n"

    status = script("ao-status", "test-session", extra_env=env)
    assert (status.status, status.out, status.err) == (0, "finished\n", "")

    result = script("ao-get-result", "test-session", extra_env=env)
    assert (result.status, result.out, result.err) == (0, "Test result\n", "")

    cleaned = script("ao-clean", "test-session", extra_env=env)
    assert (cleaned.status, cleaned.out, cleaned.err) == (0, "Deleted session 'test-session'\n", "")
    assert session_manager.store.get("test-789") is None
    assert session_manager.store.events("test-789") == []

    after = script("ao-status", "test-session", extra_env=env)
    assert (after.status, after.out, after.err) == (0, "not_existent\n", "")
    assert script("ao-list-sessions", extra_env=env).out == "No sessions found\n"
