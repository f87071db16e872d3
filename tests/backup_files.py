"""Writes backup files exactly as the old file-based commands did (see the contract)."""

from __future__ import annotations

import json
from pathlib import Path

CREATED = "2025-11-26T21:12:05.123456Z"


def result_message(
    result: object = "the final answer text",
    *,
    subtype: str = "success",
    session_id: str = "sid",
    is_error: bool = False,
) -> dict:
    """The agent SDK's final result message, serialised as a plain object."""
    message = {
        "subtype": subtype,
        "duration_ms": 8123,
        "duration_api_ms": 7990,
        "is_error": is_error,
        "num_turns": 3,
        "session_id": session_id,
        "total_cost_usd": 0.042,
        "usage": {"input_tokens": 10},
    }
    if result is not None or subtype == "success":
        message["result"] = result
    return message


class BackupDir:
    """A sessions directory in a temp dir, with helpers that write sessions into it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def meta(
        self,
        name: str,
        session_id: str | None = "sid",
        *,
        project_dir: str = "/proj",
        schema_version: bool = True,
    ) -> Path:
        data = {
            "session_name": name,
            "agent": None,
            "project_dir": project_dir,
            "agents_dir": f"{project_dir}/.agent-orchestrator/agents",
            "created_at": CREATED,
            "last_resumed_at": CREATED,
        }
        if schema_version:
            data["schema_version"] = "1.0"
        if session_id is not None:
            data["session_id"] = session_id
        path = self.path / f"{name}.meta.json"
        with open(path, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        return path

    def log(self, name: str, *messages: dict, tail: bytes = b"") -> Path:
        """Write NAME.jsonl: the user's prompt, then ``messages``, then raw ``tail`` bytes."""
        path = self.path / f"{name}.jsonl"
        lines = [{"type": "user_message", "content": "do it", "timestamp": CREATED}, *messages]
        with open(path, "wb") as f:
            for line in lines:
                f.write(json.dumps(line).encode() + b"\n")
            f.write(tail)
        return path

    def finished(
        self, name: str, result: str = "the final answer text", session_id: str = "sid"
    ) -> None:
        self.meta(name, session_id)
        self.log(
            name, {"content": [{"text": "working"}]}, result_message(result, session_id=session_id)
        )

    def running(self, name: str, session_id: str = "sid") -> None:
        self.meta(name, session_id)
        self.log(name, {"content": [{"text": "working"}]})

    def failed(self, name: str, subtype: str = "error_max_turns") -> None:
        self.meta(name)
        self.log(name, result_message(None, subtype=subtype, is_error=True))

    def names(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir())
