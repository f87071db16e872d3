"""Runs, agents, stopping and the runner's side of the test Agent Coordinator.

This is the half of today's server that coordinator-runs.md describes: ``POST /runs``
(start and resume, with every refusal the real server gives), ``GET /runs``, stopping a
session or a run, the agents (blueprints), and the endpoints a runner uses to register,
long-poll for work and report on it. Sessions move only when a runner reports, as on the
real server; :mod:`agent_runner` is such a runner, as a separate process.

**Matching** (the judgement a client makes from ``GET /runners`` too): a run's
``demands`` is null or a dict with optional ``hostname``, ``project_dir``,
``executor_profile`` and ``tags``. A runner matches when each of the three fields given
equals the runner's and the demanded tags are a subset of the runner's tags. Only an
``online`` runner can take a run (a runner claims only while it polls). A run's demands
merge, first given wins for the three fields and tags add up: the session's
``hostname`` and ``executor_profile`` for a resume (affinity), then the agent's
``demands``, then the request's ``additional_demands``.

Runners are ``online`` while they poll: one is ``stale`` when its last poll (or report)
began or ended more than ``stale_after`` seconds ago with none in progress, and is
removed after ``remove_after`` seconds (its unfinished runs then fail with a
``run_failed`` frame). A pending run that no runner claimed within ``no_match_timeout``
seconds fails (``No matching runner available within timeout``, a ``run_failed`` frame)
and its session stays as it was (``pending`` for a start).

Stopping follows the real server, bug included: ``POST /sessions/{id}/stop`` looks at
the session's *first* run, so during a resume turn it finds the completed start run,
marks the session ``stopped`` and never tells the runner (the turn goes on and the
session comes back ``idle``). An idle session is stopped through its runner
(``stop_sessions`` in the long poll, then the runner reports it ``finished``). A session
with no run at all (put there by a test's store helper) just turns ``stopping``, as if a
runner the server cannot see owned it.

Guesses where the real server was not observed: a stop of a session whose start run
already ended (timed out, for one) marks a ``pending`` or ``running`` session
``stopped``; ``started`` and ``bind`` leave a ``stopping`` session ``stopping``.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from coordinator_schema import IMPLICIT_SCHEMA, validation_errors
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel
from session_manager import now

if TYPE_CHECKING:
    from coordinator import CoordinatorStore

#: Statuses of a run.
RUN_STATUSES = ("pending", "claimed", "running", "stopping", "completed", "failed", "stopped")
#: Run statuses in which a runner holds the run.
RUN_ACTIVE = ("claimed", "running", "stopping")
#: Session statuses that have ended.
ENDED = ("finished", "stopped", "failed")
#: The error of a run no runner claimed in time (the real server's words).
NO_MATCH_ERROR = "No matching runner available within timeout"
#: The fields of a run's (and an agent's) demands that must equal the runner's.
DEMAND_FIELDS = ("hostname", "project_dir", "executor_profile")


@dataclass(frozen=True)
class RunSettings:
    """The Coordinator's timings, in seconds (the real server's defaults)."""

    #: How long ``GET /runner/runs`` holds a poll that has nothing to give.
    poll_timeout: float = 30.0
    #: How long a run may stay pending before it fails.
    no_match_timeout: float = 300.0
    #: Seconds without a poll after which a runner is ``stale``.
    stale_after: float = 120.0
    #: Seconds without a poll after which a runner is removed.
    remove_after: float = 600.0
    #: What ``POST /runner/register`` tells a runner about heartbeats.
    heartbeat_interval: float = 60.0


def _seconds(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


# Agents


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


# Runners


@dataclass(eq=False)
class Runner:
    """A registered runner: its identity, what it offers, and its signs of life."""

    runner_id: str
    hostname: str
    project_dir: str
    executor_profile: str
    executor: dict[str, Any]
    tags: list[str]
    require_matching_tags: bool
    registered_at: str
    last_heartbeat: str
    beat: float = field(default_factory=time.monotonic)
    polls: int = 0
    stops: list[str] = field(default_factory=list)
    deregistered: bool = False
    seen_stale: bool = False
    #: Which registration this is (1 for the server's first), to tell a runner that
    #: registered again under the same identity from the one before.
    serial: int = 0

    def touch(self) -> None:
        self.beat = time.monotonic()
        self.last_heartbeat = now()

    def quiet_for(self) -> float:
        """Seconds since its last sign of life; 0 while one of its polls is held."""
        return 0.0 if self.polls else time.monotonic() - self.beat

    def status(self, settings: RunSettings) -> str:
        return "stale" if self.quiet_for() > settings.stale_after else "online"

    def describe(self, settings: RunSettings) -> dict[str, Any]:
        """The runner as ``GET /runners`` lists it."""
        return {
            "runner_id": self.runner_id,
            "registered_at": self.registered_at,
            "last_heartbeat": self.last_heartbeat,
            "hostname": self.hostname,
            "project_dir": self.project_dir,
            "executor_profile": self.executor_profile,
            "executor": self.executor,
            "tags": self.tags,
            "require_matching_tags": self.require_matching_tags,
            "status": self.status(settings),
            "seconds_since_heartbeat": round(self.quiet_for(), 3),
        }


def runner_id_for(hostname: str, project_dir: str, executor_profile: str) -> str:
    """A runner's id, derived from its identity as the real server does: ``lnch_`` + hex."""
    identity = f"{hostname}\0{project_dir}\0{executor_profile}".encode()
    return "lnch_" + hashlib.sha256(identity).hexdigest()[:12]


def matches(runner: Runner, demands: dict[str, Any] | None) -> bool:
    """Whether ``runner`` can take a run with ``demands`` (the module's matching rule)."""
    if not demands:
        return not runner.require_matching_tags
    for key in DEMAND_FIELDS:
        if demands.get(key) and demands[key] != getattr(runner, key):
            return False
    wanted = set(demands.get("tags") or ())
    if not wanted <= set(runner.tags):
        return False
    return not runner.require_matching_tags or bool(wanted & set(runner.tags))


def merge_demands(*sources: dict[str, Any] | None) -> dict[str, Any] | None:
    """Demands from several sources: the first value of each field wins, tags add up."""
    merged: dict[str, Any] = {}
    tags: list[str] = []
    for source in sources:
        for key in DEMAND_FIELDS:
            if (source or {}).get(key) and key not in merged:
                merged[key] = source[key]  # type: ignore[index]
        tags += [tag for tag in (source or {}).get("tags") or () if tag not in tags]
    if tags:
        merged["tags"] = tags
    return merged or None


class DuplicateRunner(Exception):
    """A runner registered with the identity of one that is still online."""

    def __init__(self, runner: Runner) -> None:
        super().__init__(
            f"Runner with identity (hostname={runner.hostname!r}, "
            f"project_dir={runner.project_dir!r}, executor_profile={runner.executor_profile!r}) "
            "is already online"
        )
        self.runner = runner


class Dispatcher:
    """Hands runs to polling runners, queues stops for them, and keeps time.

    All of it happens under the store's lock and waits on the store's
    :attr:`~coordinator.CoordinatorStore.changed` condition, so a poll wakes at once when
    a run is created or a stop is queued. A housekeeping thread fails runs that waited
    too long for a runner and removes runners that went quiet.
    """

    def __init__(self, store: CoordinatorStore, settings: RunSettings) -> None:
        self.store = store
        self.defaults = settings
        self.settings = settings
        self.cond = store.changed
        self._runners: dict[str, Runner] = {}
        #: How many registrations were accepted so far.
        self.registrations = 0
        self._closing = False
        self._housekeeper = threading.Thread(
            target=self._housekeep, name="coordinator-housekeeper", daemon=True
        )
        self._housekeeper.start()

    # Settings and lifetime

    def configure(self, **changes: float) -> None:
        """Change some :class:`RunSettings` at once (a pending run keeps its timeout)."""
        with self.cond:
            self.settings = replace(self.settings, **changes)
            self.cond.notify_all()

    def reset(self) -> None:
        """Forget every runner and go back to the settings the app started with."""
        with self.cond:
            self._runners.clear()
            self.settings = self.defaults
            self.cond.notify_all()

    def close(self) -> None:
        """Answer every held poll at once (204) and end the housekeeping (a server stop)."""
        with self.cond:
            self._closing = True
            self.cond.notify_all()

    # Runners

    def register(self, body: dict[str, Any]) -> Runner:
        """Register a runner, or take back a stale one of the same identity."""
        runner_id = runner_id_for(body["hostname"], body["project_dir"], body["executor_profile"])
        with self.cond:
            known = self._runners.get(runner_id)
            if known is not None and known.status(self.settings) == "online":
                raise DuplicateRunner(known)
            stamp = now()
            runner = Runner(
                runner_id=runner_id,
                hostname=body["hostname"],
                project_dir=body["project_dir"],
                executor_profile=body["executor_profile"],
                executor=body.get("executor") or {},
                tags=list(body.get("tags") or []),
                require_matching_tags=bool(body.get("require_matching_tags")),
                registered_at=stamp,
                last_heartbeat=stamp,
                serial=self.registrations + 1,
            )
            self.registrations += 1
            self._runners[runner_id] = runner
            self.cond.notify_all()
            return runner

    def runner(self, runner_id: str, *, touch: bool = True) -> Runner | None:
        """A registered runner (counting this as a sign of life), or None."""
        with self.cond:
            runner = self._runners.get(runner_id)
            if runner is not None and touch:
                runner.touch()
                self.cond.notify_all()
            return runner

    def runners(self) -> list[Runner]:
        with self.cond:
            return list(self._runners.values())

    def describe(self) -> list[dict[str, Any]]:
        with self.cond:
            return [runner.describe(self.settings) for runner in self._runners.values()]

    def remove(self, runner_id: str) -> bool:
        with self.cond:
            gone = self._runners.pop(runner_id, None) is not None
            self.cond.notify_all()
            return gone

    def mark_deregistered(self, runner_id: str) -> bool:
        """Tell a runner on its next poll that it was deregistered (then forget it)."""
        with self.cond:
            runner = self._runners.get(runner_id)
            if runner is None:
                return False
            runner.deregistered = True
            self.cond.notify_all()
            return True

    def queue_stop(self, runner_id: str | None, session_id: str) -> bool:
        """Ask a runner, on its poll (woken now), to stop a session; False if it is unknown."""
        with self.cond:
            runner = self._runners.get(runner_id or "")
            if runner is None:
                return False
            if session_id not in runner.stops:
                runner.stops.append(session_id)
            self.cond.notify_all()
            return True

    def poll(self, runner_id: str) -> dict[str, Any] | None:
        """One long poll: stops first, else a matching run (claimed), else None at the end.

        Raises ``KeyError`` for a runner that is not registered.
        """
        with self.cond:
            runner = self._runners.get(runner_id)
            if runner is None:
                raise KeyError(runner_id)
            deadline = time.monotonic() + self.settings.poll_timeout
            runner.touch()
            runner.polls += 1
            self.cond.notify_all()
            try:
                while True:
                    answer = self._work_for(runner)
                    remaining = deadline - time.monotonic()
                    if answer is not None or self._closing or remaining <= 0:
                        return answer
                    self.cond.wait(remaining)
            finally:
                runner.polls -= 1
                runner.touch()
                self.cond.notify_all()

    def _work_for(self, runner: Runner) -> dict[str, Any] | None:
        if runner.deregistered:
            self._runners.pop(runner.runner_id, None)
            return {"deregistered": True}
        if self._runners.get(runner.runner_id) is not runner:
            return None  # removed or replaced while polling
        if runner.stops:
            stops, runner.stops = runner.stops, []
            return {"stop_sessions": stops}
        for run in self.store.runs("pending"):
            if matches(runner, run["demands"]):
                claimed = self.store.update_run(
                    run["run_id"], status="claimed", runner_id=runner.runner_id, claimed_at=now()
                )
                return {"run": claimed}
        return None

    def wait_for(self, predicate: Callable[[list[Runner]], Any], timeout: float) -> Any:
        """Wait until ``predicate(registered runners)`` is truthy; its value (falsy: timeout)."""
        with self.cond:
            return self.cond.wait_for(lambda: predicate(list(self._runners.values())), timeout)

    # Housekeeping

    def _housekeep(self) -> None:
        with self.cond:
            while not self._closing:
                due = self._sweep()
                if self._stale_changed():
                    self.cond.notify_all()  # whoever waits for a runner to turn stale
                self.cond.wait(None if math.isinf(due) else max(due, 0.01))

    def _sweep(self) -> float:
        """Fail overdue runs and remove quiet runners; seconds until the next is due."""
        due = math.inf
        current = datetime.now(timezone.utc)
        for run in self.store.runs("pending"):
            if run["timeout_at"] is None:
                continue
            left = (datetime.fromisoformat(run["timeout_at"]) - current).total_seconds()
            if left <= 0:
                self.store.fail_run(run["session_id"], NO_MATCH_ERROR, run["run_id"])
            else:
                due = min(due, left)
        for runner in list(self._runners.values()):
            if runner.polls:
                continue
            quiet = runner.quiet_for()
            if quiet >= self.settings.remove_after:
                self._runners.pop(runner.runner_id, None)
                self._fail_runs_of(runner)
            else:
                due = min(due, self.settings.remove_after - quiet)
                if quiet <= self.settings.stale_after:  # wake waiters when it turns stale
                    due = min(due, self.settings.stale_after - quiet + 0.01)
        return due

    def _stale_changed(self) -> bool:
        changed = False
        for runner in self._runners.values():
            stale = runner.status(self.settings) == "stale"
            changed |= stale != runner.seen_stale
            runner.seen_stale = stale
        return changed

    def _fail_runs_of(self, runner: Runner) -> None:
        for run in self.store.runs():
            if run["runner_id"] == runner.runner_id and run["status"] in RUN_ACTIVE:
                error = f"Runner {runner.runner_id} stopped responding"
                self.store.fail_run(run["session_id"], error, run["run_id"])


# Requests


class NewRun(BaseModel):
    """The body of ``POST /runs`` (other fields are ignored, as pydantic does)."""

    type: Literal["start_session", "resume_session"]
    parameters: dict[str, Any]
    session_id: str | None = None
    agent_name: str | None = None
    project_dir: str | None = None
    parent_session_id: str | None = None
    execution_mode: Literal["sync", "async_poll", "async_callback"] = "sync"
    additional_demands: dict[str, Any] | None = None
    scope: Any = None


class Registration(BaseModel):
    hostname: str
    project_dir: str
    executor_profile: str
    executor: dict[str, Any] | None = None
    tags: list[str] | None = None
    require_matching_tags: bool = False


class RunnerReport(BaseModel):
    runner_id: str


class Completed(RunnerReport):
    status: str = "success"
    session_status: Literal["idle", "finished"] | None = None


class Failed(RunnerReport):
    error: str


class Stopped(RunnerReport):
    signal: str = "SIGTERM"


class SessionStatus(RunnerReport):
    status: Literal["pending", "running", "idle", "stopping", "stopped", "finished", "failed"]


class Binding(BaseModel):
    executor_session_id: str
    hostname: str
    executor_profile: str
    project_dir: str | None = None


class NewEvent(BaseModel):
    event_type: str
    session_id: str
    timestamp: str | None = None
    tool_name: str | None = None
    tool_input: Any = None
    tool_output: Any = None
    error: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    role: str | None = None
    content: list[Any] | None = None
    result_text: str | None = None
    result_data: Any = None


class Runs:
    """What the run requests do, over the store, the agents and the dispatcher."""

    def __init__(self, store: CoordinatorStore, agents: Agents, dispatcher: Dispatcher) -> None:
        self.store = store
        self.agents = agents
        self.dispatcher = dispatcher

    def create(self, body: NewRun) -> dict[str, Any]:
        """``POST /runs``: refuse as the real server does, or create the run (and session)."""
        store = self.store
        session_id = body.session_id or None
        agent_name = body.agent_name
        project_dir = body.project_dir
        affinity: dict[str, Any] | None = None
        if body.type == "resume_session":
            if not session_id:
                raise HTTPException(400, "session_id is required for resume_session")
            session = store.get(session_id)
            if session is None:
                raise HTTPException(404, f"Session '{session_id}' not found")
            agent_name = body.agent_name or session["agent_name"]
            project_dir = body.project_dir or session["project_dir"]
            affinity = {key: session[key] for key in ("hostname", "executor_profile")}
        agent = self.agents.get(agent_name)
        schema = _schema_of(agent)
        if body.type == "resume_session":
            if agent is not None and agent["type"] == "procedural":
                raise HTTPException(
                    400,
                    {
                        "error": "procedural_agent_no_resume",
                        "message": "Procedural agents are stateless and cannot be resumed",
                        "agent_name": agent_name,
                    },
                )
            schema = IMPLICIT_SCHEMA
        errors = validation_errors(body.parameters, schema)
        if errors:
            raise HTTPException(
                400,
                {
                    "error": "parameter_validation_failed",
                    "message": "Parameters do not match agent's parameters_schema",
                    "agent_name": agent_name,
                    "validation_errors": errors,
                    "parameters_schema": schema,
                },
            )
        demands = merge_demands(affinity, (agent or {}).get("demands"), body.additional_demands)
        with store.changed:
            if body.type == "start_session":
                created = store.create(
                    session_id,
                    project_dir=project_dir,
                    agent_name=agent_name,
                    parent_session_id=body.parent_session_id,
                )
                if created is None:
                    raise HTTPException(409, f"Session '{session_id}' already exists")
                session_id = created["session_id"]
            else:
                store.update(str(session_id), publish=False, last_resumed_at=now())
            timeout = timedelta(seconds=self.dispatcher.settings.no_match_timeout)
            run_id = store.add_run(
                str(session_id),
                body.type,
                parameters=body.parameters,
                agent_name=agent_name,
                project_dir=project_dir,
                parent_session_id=body.parent_session_id,
                execution_mode=body.execution_mode,
                demands=demands,
                timeout_at=(datetime.now(timezone.utc) + timeout).isoformat(),
            )
        return {"run_id": run_id, "session_id": session_id, "status": "pending"}

    def stop_session(self, session_id: str) -> dict[str, Any]:
        """``POST /sessions/{id}/stop``, as the real server answers it (bug included)."""
        store = self.store
        with store.changed:
            session = store.get(session_id)
            if session is None:
                raise HTTPException(404, "Session not found")
            status = session["status"]
            answer: dict[str, Any] = {"ok": True, "session_id": session_id}
            if status == "stopping":
                return {**answer, "status": status, "message": "Session is already being stopped"}
            if status in ENDED:
                return {**answer, "status": status, "message": "Session already finished"}
            runs = store.runs(session_id=session_id)
            if not runs:
                store.set_status(session_id, "stopping")
                return {**answer, "status": "stopping"}
            if status == "idle":
                owner = next((r["runner_id"] for r in reversed(runs) if r["runner_id"]), None)
                self.dispatcher.queue_stop(owner, session_id)
                store.set_status(session_id, "stopping")
                return {**answer, "status": "stopping", "message": "Stopping idle session"}
            first = runs[0]  # the real server's bug: the first run, not the current one
            if first["status"] in ("pending", "claimed", "running"):
                return {**answer, **self._stop_run(first)}
            if status in ("pending", "running"):
                store.set_status(session_id, "stopped")
            return {
                **answer,
                "run_id": first["run_id"],
                "status": "stopped",
                "message": f"Run already in {first['status']} state - session marked as stopped",
            }

    def stop_run(self, run_id: str) -> dict[str, Any]:
        """``POST /runs/{id}/stop``: stop that run (pending: cancelled; held: via its runner)."""
        with self.store.changed:
            run = self.store.get_run(run_id)
            if run is None:
                raise HTTPException(404, "Run not found")
            if run["status"] not in ("pending", "claimed", "running"):
                raise HTTPException(400, f"Run cannot be stopped (status: {run['status']})")
            return {"ok": True, "session_id": run["session_id"], **self._stop_run(run)}

    def _stop_run(self, run: dict[str, Any]) -> dict[str, Any]:
        store, session_id = self.store, run["session_id"]
        if run["status"] == "pending":
            store.update_run(run["run_id"], status="stopped", completed_at=now())
            store.set_status(session_id, "stopped")
            return {
                "run_id": run["run_id"],
                "status": "stopped",
                "message": "Run cancelled before execution",
            }
        self.dispatcher.queue_stop(run["runner_id"], session_id)
        store.update_run(run["run_id"], status="stopping")
        store.set_status(session_id, "stopping")
        return {"run_id": run["run_id"], "status": "stopping"}

    # Reports from runners

    def started(self, run_id: str) -> None:
        """The runner began the run: ``running`` (again, after a ``completed``: the race)."""
        with self.store.changed:
            run = self._run(run_id)
            self.store.update_run(run_id, status="running", started_at=now())
            self._event(run["session_id"], "run_start")
            self._set_session(run["session_id"], "running")

    def completed(self, run_id: str, session_status: str | None) -> None:
        with self.store.changed:
            run = self._run(run_id)
            self.store.update_run(run_id, status="completed", completed_at=now())
            self.store.set_status(run["session_id"], session_status or "finished")
            self._event(run["session_id"], "run_completed")

    def failed(self, run_id: str, error: str) -> None:
        with self.store.changed:
            run = self._run(run_id)
            self.store.update_run(run_id, status="failed", error=error, completed_at=now())
            self.store.set_status(run["session_id"], "failed")

    def stopped(self, run_id: str) -> None:
        with self.store.changed:
            run = self._run(run_id)
            self.store.update_run(run_id, status="stopped", completed_at=now())
            self.store.set_status(run["session_id"], "stopped")

    def bind(self, session_id: str, binding: Binding) -> dict[str, Any]:
        with self.store.changed:
            if self.store.get(session_id) is None:
                raise HTTPException(404, "Session not found")
            fields_ = binding.model_dump(exclude_none=True)
            return self._set_session(session_id, "running", **fields_)

    def _event(self, session_id: str, event_type: str) -> None:
        if self.store.get(session_id) is not None:  # not for a session deleted meanwhile
            self.store.add_event(session_id, {"event_type": event_type})

    def _set_session(self, session_id: str, status: str, **fields_: Any) -> dict[str, Any]:
        session = self.store.get(session_id)
        if session is not None and session["status"] == "stopping":
            status = "stopping"
        return self.store.update(session_id, status, **fields_) or {}

    def _run(self, run_id: str) -> dict[str, Any]:
        run = self.store.get_run(run_id)
        if run is None:
            raise HTTPException(404, "Run not found")
        return run


def _schema_of(agent: dict[str, Any] | None) -> dict[str, Any]:
    """What a start run's parameters are checked against, as the real server decides."""
    if agent is None:
        return IMPLICIT_SCHEMA
    if agent.get("parameters_schema"):
        return agent["parameters_schema"]
    return {"type": "object"} if agent["type"] == "procedural" else IMPLICIT_SCHEMA


def add_run_routes(app: FastAPI, runs: Runs) -> None:
    """The runs, agents, stop and runner endpoints of coordinator-runs.md, on ``app``."""
    store, agents, dispatcher = runs.store, runs.agents, runs.dispatcher

    def runner_or_401(runner_id: str) -> Runner:
        runner = dispatcher.runner(runner_id)
        if runner is None:
            raise HTTPException(401, "Runner not registered")
        return runner

    @app.post("/runs", status_code=201)
    def create_run(body: NewRun) -> dict[str, Any]:
        return runs.create(body)

    @app.get("/runs")
    def list_runs(status: str | None = None) -> dict[str, Any]:
        return {"runs": store.runs(status)}

    @app.get("/runs/{run_id}")
    def get_run(run_id: str) -> dict[str, Any]:
        run = store.get_run(run_id)
        if run is None:
            raise HTTPException(404, "Run not found")
        return run

    @app.post("/runs/{run_id}/stop")
    def stop_run(run_id: str) -> dict[str, Any]:
        return runs.stop_run(run_id)

    @app.post("/sessions/{session_id}/stop")
    def stop_session(session_id: str) -> dict[str, Any]:
        return runs.stop_session(session_id)

    @app.post("/sessions/{session_id}/bind")
    def bind_session(session_id: str, binding: Binding) -> dict[str, Any]:
        return {"ok": True, "session": runs.bind(session_id, binding)}

    @app.get("/sessions/{session_id}/events")
    def get_events(session_id: str) -> dict[str, Any]:
        if store.get(session_id) is None:
            raise HTTPException(404, "Session not found")
        return {"events": store.events(session_id)}

    @app.post("/sessions/{session_id}/events", status_code=201)
    def add_event(session_id: str, event: NewEvent) -> dict[str, Any]:
        with store.changed:
            if store.get(session_id) is None:
                raise HTTPException(404, "Session not found")
            if event.session_id != session_id:
                raise HTTPException(400, "Event session_id must match URL session_id")
            store.add_event(session_id, event.model_dump())
        return {"ok": True}

    @app.get("/agents", response_model=None)
    def list_agents(tags: str | None = None) -> list[dict[str, Any]]:
        wanted = [tag.strip() for tag in (tags or "").split(",") if tag.strip()]
        return agents.list(wanted)

    @app.get("/agents/{name}")
    def get_agent(name: str) -> dict[str, Any]:
        agent = agents.get(name)
        if agent is None:
            raise HTTPException(404, f"Agent not found: {name}")
        return agent

    @app.post("/agents", status_code=201)
    def create_agent(body: NewAgent) -> dict[str, Any]:
        agent = agents.add(body.model_dump(exclude_none=True))
        if agent is None:
            raise HTTPException(409, f"Agent already exists: {body.name}")
        return agent

    @app.post("/runner/register")
    def register(body: Registration) -> dict[str, Any]:
        try:
            runner = dispatcher.register(body.model_dump())
        except DuplicateRunner as exc:
            known = exc.runner
            raise HTTPException(
                409,
                {
                    "error": "duplicate_runner",
                    "message": str(exc),
                    "runner_id": known.runner_id,
                    "hostname": known.hostname,
                    "project_dir": known.project_dir,
                    "executor_profile": known.executor_profile,
                },
            ) from None
        settings = dispatcher.settings
        return {
            "runner_id": runner.runner_id,
            "poll_endpoint": "/runner/runs",
            "poll_timeout_seconds": _seconds(settings.poll_timeout),
            "heartbeat_interval_seconds": _seconds(settings.heartbeat_interval),
        }

    @app.get("/runner/runs", response_model=None)
    def poll(runner_id: str) -> Response | dict[str, Any]:
        try:
            answer = dispatcher.poll(runner_id)
        except KeyError:
            raise HTTPException(401, "Runner not registered") from None
        return Response(status_code=204) if answer is None else answer

    @app.post("/runner/heartbeat")
    def heartbeat(body: RunnerReport) -> dict[str, Any]:
        runner_or_401(body.runner_id)
        return {"ok": True}

    @app.post("/runner/runs/{run_id}/started")
    def run_started(run_id: str, body: RunnerReport) -> dict[str, Any]:
        runner_or_401(body.runner_id)
        runs.started(run_id)
        return {"ok": True}

    @app.post("/runner/runs/{run_id}/completed")
    def run_completed(run_id: str, body: Completed) -> dict[str, Any]:
        runner_or_401(body.runner_id)
        runs.completed(run_id, body.session_status)
        return {"ok": True}

    @app.post("/runner/runs/{run_id}/failed")
    def run_failed(run_id: str, body: Failed) -> dict[str, Any]:
        runner_or_401(body.runner_id)
        runs.failed(run_id, body.error)
        return {"ok": True}

    @app.post("/runner/runs/{run_id}/stopped")
    def run_stopped(run_id: str, body: Stopped) -> dict[str, Any]:
        runner_or_401(body.runner_id)
        runs.stopped(run_id)
        return {"ok": True}

    @app.post("/runner/sessions/{session_id}/status")
    def session_status(session_id: str, body: SessionStatus) -> dict[str, Any]:
        runner_or_401(body.runner_id)
        if store.update(session_id, body.status) is None:
            raise HTTPException(404, "Session not found")
        return {"ok": True}

    @app.get("/runners")
    def list_runners() -> dict[str, Any]:
        return {"runners": dispatcher.describe()}

    @app.delete("/runners/{runner_id}")
    def deregister_runner(
        runner_id: str, self_initiated: bool = Query(False, alias="self")
    ) -> dict[str, Any]:
        if dispatcher.runner(runner_id, touch=False) is None:
            raise HTTPException(404, "Runner not found")
        if self_initiated:
            dispatcher.remove(runner_id)
            return {"ok": True, "message": "Runner deregistered", "initiated_by": "self"}
        dispatcher.mark_deregistered(runner_id)
        return {
            "ok": True,
            "message": "Runner marked for deregistration",
            "initiated_by": "external",
        }
