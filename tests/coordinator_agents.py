"""The agent registry (blueprints) of the test Agent Coordinator, and its default agents.

The defaults are what :mod:`agent_runner` scripts: ``echo``, ``topic`` (procedural, with a
parameters schema), ``crash``, ``slow``, ``retired`` (inactive) and ``nowhere`` (demands a
``gpu`` tag no test runner offers). Absent fields are left out of an agent, as the real
server does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel
from session_manager import now

TOPIC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["topic"],
    "properties": {"topic": {"type": "string"}},
}
#: The agents every test Coordinator starts with (what :mod:`agent_runner` scripts).
DEFAULT_AGENTS: tuple[dict[str, Any], ...] = (
    {
        "name": "echo",
        "description": "Answers every prompt with the prompt itself.\n"
        "A second line, which one-line listings leave out.",
        "type": "autonomous",
        "status": "active",
        "tags": ["test", "chat"],
        "system_prompt": "Repeat what you are told.",
    },
    {
        "name": "topic",
        "description": "Writes a story about a topic (procedural: one turn, no resume).",
        "type": "procedural",
        "status": "active",
        "tags": ["test", "procedural"],
        "parameters_schema": TOPIC_SCHEMA,
    },
    {
        "name": "crash",
        "description": "Crashes on every turn, with a long error.",
        "type": "autonomous",
        "status": "active",
        "tags": ["test"],
    },
    {
        "name": "slow",
        "description": "Takes 30 seconds a turn unless stopped.",
        "type": "autonomous",
        "status": "active",
        "tags": ["test", "chat"],
    },
    {
        "name": "retired",
        "description": "An agent nobody should start any more.",
        "type": "autonomous",
        "status": "inactive",
        "tags": ["test"],
    },
    {
        "name": "nowhere",
        "description": "Needs a GPU runner, which no test runner offers.",
        "type": "autonomous",
        "status": "active",
        "tags": ["test"],
        "demands": {"tags": ["gpu"]},
    },
)


class NewAgent(BaseModel):
    """The body of ``POST /agents``."""

    name: str
    description: str | None = None
    type: Literal["autonomous", "procedural"] = "autonomous"
    status: Literal["active", "inactive"] = "active"
    tags: list[str] = []
    parameters_schema: dict[str, Any] | None = None
    system_prompt: str | None = None
    mcp_servers: dict[str, Any] | None = None
    demands: dict[str, Any] | None = None
    command: str | None = None
    runner_id: str | None = None


class Agents:
    """The agent registry (in memory; a reset brings back :data:`DEFAULT_AGENTS`)."""

    def __init__(self, seed: Iterable[dict[str, Any]] = DEFAULT_AGENTS) -> None:
        self._seed = tuple(seed)
        self._lock = threading.Lock()
        self._agents: dict[str, dict[str, Any]] = {}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._agents = {}
        for agent in self._seed:
            self.add(agent)

    def add(self, agent: dict[str, Any]) -> dict[str, Any] | None:
        """Add an agent (the fields of :class:`NewAgent`); None when the name is taken."""
        stamp = now()
        full = NewAgent(**agent).model_dump(exclude_none=True)
        full.update(created_at=stamp, modified_at=stamp)
        with self._lock:
            if full["name"] in self._agents:
                return None
            self._agents[full["name"]] = full
        return dict(full)

    def get(self, name: str | None) -> dict[str, Any] | None:
        with self._lock:
            agent = self._agents.get(name or "")
            return dict(agent) if agent else None

    def list(self, tags: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Every agent by name, or those having all of ``tags``."""
        wanted = set(tags)
        with self._lock:
            agents = sorted(self._agents.values(), key=lambda a: a["name"])
        return [dict(a) for a in agents if wanted <= set(a.get("tags", []))]
