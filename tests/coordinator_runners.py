"""Runners on the test Agent Coordinator: registration, matching, long polls, housekeeping.

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
and its session stays as it was (``pending`` for a start). A runner's id comes from its
identity (hostname, project directory, profile): the same identity registers again only
once the previous one is stale (409 before).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from session_manager import now

if TYPE_CHECKING:
    from coordinator import CoordinatorStore

#: Run statuses in which a runner holds the run.
RUN_ACTIVE = ("claimed", "running", "stopping")
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
