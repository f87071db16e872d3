"""Runs, agents, stopping and the runner's side of the test Agent Coordinator.

This is the half of today's server that coordinator-runs.md describes: ``POST /runs``
(start and resume, with every refusal the real server gives), ``GET /runs``, stopping a
session or a run, the agents (blueprints), and the endpoints a runner uses to register,
long-poll for work and report on it. Sessions move only when a runner reports, as on the
real server; :mod:`agent_runner` is such a runner, as a separate process.

Runners and matching are in :mod:`coordinator_runners`, agents in
:mod:`coordinator_agents`.

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

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from coordinator_agents import Agents, NewAgent
from coordinator_runners import Dispatcher, DuplicateRunner, Runner, merge_demands
from coordinator_schema import IMPLICIT_SCHEMA, validation_errors
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel
from session_manager import now

if TYPE_CHECKING:
    from coordinator import CoordinatorStore

#: Session statuses that have ended.
ENDED = ("finished", "stopped", "failed")


def _seconds(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


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
