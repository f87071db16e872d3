"""Fixtures for runs: a test Agent Coordinator of the test's own with real runner processes.

``runs_coordinator`` is a fresh server with one runner (:mod:`agent_runner`) already
registered and polling; ``start_runs_coordinator(...)`` starts servers with other
timings, other runners or none. Both give a :class:`RunsCoordinator`; every runner
process is stopped, then every server, when the test ends.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from agent_runner import USER_AGENT as RUNNER_AGENT
from coordinator import create_coordinator_app
from coordinator_agents import Agents
from coordinator_runners import Dispatcher, RunSettings, runner_id_for
from server_fixtures import DedicatedCoordinator
from session_manager import Recorded, ServerThread

RUNNER_SCRIPT = Path(__file__).with_name("agent_runner.py")
#: The User-Agent of the requests :class:`RunsCoordinator`'s own helpers make.
HELPER_AGENT = "ao-test-helper/1"
#: The fixtures' timings: a short poll and staleness (a killed runner is ``stale`` within
#: about 7 s), the real server's 300 s before a pending run fails.
FIXTURE_SETTINGS = RunSettings(
    poll_timeout=2.0, no_match_timeout=300.0, stale_after=5.0, remove_after=60.0
)
#: How long the helpers wait by default, in seconds.
WAIT = 10.0

Accept = str | Iterable[str] | Callable[[dict[str, Any]], bool]


@dataclass(eq=False)
class RunnerProcess:
    """One test runner process and the identity it registered with."""

    process: subprocess.Popen[bytes]
    runner_id: str
    hostname: str
    project_dir: str
    profile: str
    tags: tuple[str, ...]
    race: bool
    log: Path

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stderr(self) -> str:
        """What the runner wrote on stderr so far (its problems; normally nothing)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM (it deregisters first) and wait; its exit status. Idempotent."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"runner {self.runner_id} ignored SIGTERM for {timeout} s"
            ) from None

    def kill(self) -> None:
        """SIGKILL: it dies without a word; the server sees it go stale, then removed."""
        if self.alive:
            self.process.kill()
        self.process.wait(10)


class RunsCoordinator(DedicatedCoordinator):
    """A test Agent Coordinator with runners: runs, agents, runners, and waits on them.

    Everything a :class:`~server_fixtures.CoordinatorServer` offers, plus direct looks at
    the runs (``run``, ``runs``, ``events``), waits on the server's own conditions
    (``wait_for_run``, ``wait_for_session``, ``wait_for_runners``), agents
    (``add_agent``), timings (``configure``) and runner processes (``start_runner``;
    ``runner`` is the one the fixture started). ``start``/``resume`` post runs over HTTP.
    """

    def __init__(self, thread: ServerThread, workdir: Path) -> None:
        super().__init__(thread)
        self.dispatcher: Dispatcher = thread.app.state.dispatcher
        self.agents: Agents = thread.app.state.agents
        self.runner: RunnerProcess | None = None
        self.processes: list[RunnerProcess] = []
        self._workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)

    # Runners

    def start_runner(
        self,
        *,
        hostname: str | None = None,
        profile: str = "echo",
        project_dir: str | None = None,
        tags: Iterable[str] = (),
        race: bool = False,
        poll_timeout: float | None = None,
        wait: bool = True,
        timeout: float = 30.0,
    ) -> RunnerProcess:
        """Start a runner process; return once it is registered and polling (``wait``).

        Defaults give each runner its own identity: hostname ``test-host`` for the first,
        ``test-host-N`` after it; project directory ``<tmp>/runner-N``; profile ``echo``.
        ``race``: it reports ``completed`` before ``started``. ``poll_timeout``: its read
        timeout of a poll. The server's API key, if any, is passed on.
        """
        n = len(self.processes)
        hostname = hostname or ("test-host" if n == 0 else f"test-host-{n}")
        if project_dir is None:
            directory = self._workdir / f"runner-{n}"
            directory.mkdir(exist_ok=True)
            project_dir = str(directory)
        tags = tuple(tags)
        argv = [sys.executable, str(RUNNER_SCRIPT), "--url", self.url, "--hostname", hostname]
        argv += ["--project-dir", project_dir, "--profile", profile, "--tags", ",".join(tags)]
        if race:
            argv.append("--race")
        if poll_timeout is not None:
            argv += ["--poll-timeout", str(poll_timeout)]
        if self._controls.api_key:
            argv += ["--api-key", self._controls.api_key]
        known = self.dispatcher.registrations
        log = self._workdir / f"runner-{n}.stderr"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=stderr, cwd=self._workdir
            )
        runner = RunnerProcess(
            process,
            runner_id_for(hostname, project_dir, profile),
            hostname,
            project_dir,
            profile,
            tags,
            race,
            log,
        )
        self.processes.append(runner)
        if wait:
            self.wait_polling(runner, timeout, after=known)
        return runner

    def wait_polling(self, runner: RunnerProcess, timeout: float = 30.0, after: int = 0) -> None:
        """Wait until ``runner`` registered (the server's registration number ``after`` or
        later) and holds a poll; fail if it exits first."""

        def polling(runners: list[Any]) -> bool:
            return any(
                r.runner_id == runner.runner_id and r.serial > after and r.polls for r in runners
            )

        deadline = time.monotonic() + timeout
        while not self.dispatcher.wait_for(polling, 0.2):
            if not runner.alive:
                raise AssertionError(
                    f"runner exited ({runner.process.returncode}): {runner.stderr()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"runner {runner.runner_id} not polling after {timeout} s")

    def stop_runners(self) -> None:
        """Stop every runner process this server started (SIGTERM, then wait)."""
        for runner in self.processes:
            runner.stop()

    def runners(self) -> list[dict[str, Any]]:
        """The runners as ``GET /runners`` lists them."""
        return self.dispatcher.describe()

    def wait_for_runners(
        self, accept: Callable[[list[dict[str, Any]]], bool], timeout: float = WAIT
    ) -> list[dict[str, Any]]:
        """Wait until ``accept(runners as GET /runners lists them)``; those runners."""
        if not self.dispatcher.wait_for(lambda _: accept(self.dispatcher.describe()), timeout):
            raise AssertionError(f"runners not as wanted after {timeout} s: {self.runners()}")
        return self.runners()

    def configure(self, **timings: float) -> None:
        """Change the server's :class:`~coordinator_runners.RunSettings` (``no_match_timeout``
        applies to runs created from now on)."""
        self.dispatcher.configure(**timings)

    # Runs, sessions, events, agents

    def run(self, run_id: str) -> dict[str, Any] | None:
        return self.store.get_run(run_id)

    def runs(
        self, status: str | None = None, *, session_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Runs in creation order, of one status and/or one session when given."""
        return self.store.runs(status, session_id=session_id)

    def events(self, session_id: str) -> list[dict[str, Any]]:
        """A session's events as ``GET /sessions/{id}/events`` gives them (oldest 100)."""
        return self.store.events(session_id)

    def wait_for_run(
        self, run_id: str, accept: Accept = "completed", timeout: float = WAIT
    ) -> dict[str, Any]:
        """Wait until the run is accepted (a status, statuses, or a predicate); the run."""
        return self._wait(f"run {run_id}", lambda: self.store.get_run(run_id), accept, timeout)

    def wait_for_session(
        self, session_id: str, accept: Accept, timeout: float = WAIT
    ) -> dict[str, Any]:
        """Wait until the session is accepted (a status, statuses, or a predicate); S."""
        return self._wait(
            f"session {session_id}", lambda: self.store.get(session_id), accept, timeout
        )

    def _wait(
        self, what: str, read: Callable[[], Any], accept: Accept, timeout: float
    ) -> dict[str, Any]:
        check = _acceptor(accept)

        def ready() -> Any:
            found = read()
            return found if found is not None and check(found) else None

        found = self.store.wait_until(ready, timeout)
        if not found:
            raise AssertionError(f"{what} not as wanted after {timeout} s: {read()}")
        return found

    def add_agent(self, name: str, type: str = "autonomous", **fields: Any) -> dict[str, Any]:
        """Add an agent (``description``, ``tags``, ``parameters_schema``, ``demands``,
        ``status``...); the agent as ``GET /agents/{name}`` gives it."""
        agent = self.agents.add({"name": name, "type": type, **fields})
        if agent is None:
            raise ValueError(f"agent {name!r} already exists")
        return agent

    def start(
        self,
        prompt: str | None = "hello",
        *,
        session_id: str | None = None,
        agent: str | None = None,
        parameters: dict[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """``POST /runs`` a start (201 expected); ``{"run_id", "session_id", "status"}``."""
        body = {"type": "start_session", "session_id": session_id, "agent_name": agent}
        body["parameters"] = parameters if parameters is not None else {"prompt": prompt}
        return self._post_run({**body, **fields})

    def resume(self, session_id: str, prompt: str = "more") -> dict[str, Any]:
        """``POST /runs`` a resume (201 expected); ``{"run_id", "session_id", "status"}``."""
        body = {"type": "resume_session", "session_id": session_id}
        return self._post_run({**body, "parameters": {"prompt": prompt}})

    def _post_run(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"User-Agent": HELPER_AGENT}
        if self._controls.api_key:
            headers["Authorization"] = f"Bearer {self._controls.api_key}"
        answer = requests.post(self.url + "/runs", json=body, headers=headers, timeout=WAIT)
        if answer.status_code != 201:
            refused = f"{answer.status_code} {answer.text}"
            raise AssertionError(f"POST /runs {json.dumps(body)}: {refused}")
        return answer.json()

    @property
    def client_requests(self) -> list[Recorded]:
        """The requests that came from neither a runner nor this handle's helpers."""
        return [r for r in self.requests if r.user_agent not in (RUNNER_AGENT, HELPER_AGENT)]

    def stop(self) -> None:
        """Stop the runner processes, then the server (idempotent)."""
        self.stop_runners()
        super().stop()


def _acceptor(accept: Accept) -> Callable[[dict[str, Any]], bool]:
    if callable(accept):
        return accept
    statuses = {accept} if isinstance(accept, str) else set(accept)
    return lambda found: found["status"] in statuses


@pytest.fixture
def start_runs_coordinator(tmp_path: Path) -> Iterator[Callable[..., RunsCoordinator]]:
    """Start test Agent Coordinators with runners; all stopped (runners first) at the end.

    ``start_runs_coordinator(runner=True, api_key=None, heartbeat=30.0, **timings)``:
    ``runner`` True starts one default runner (registered and polling before this
    returns), a dict starts one with those :meth:`RunsCoordinator.start_runner` options
    (``{"race": True}``), False none. ``timings`` override :data:`FIXTURE_SETTINGS`
    (``no_match_timeout=2``, ``stale_after=0.5``, ``poll_timeout=...``).
    """
    servers: list[RunsCoordinator] = []

    def start(
        runner: bool | dict[str, Any] = True,
        api_key: str | None = None,
        heartbeat: float = 30.0,
        **timings: float,
    ) -> RunsCoordinator:
        workdir = tmp_path / f"runs-coordinator-{len(servers)}"
        workdir.mkdir()
        settings = replace(FIXTURE_SETTINGS, **timings)
        app = create_coordinator_app(
            workdir / "coordinator.db", api_key=api_key, heartbeat=heartbeat, settings=settings
        )
        thread = ServerThread(app)
        thread.start()
        server = RunsCoordinator(thread, workdir)
        servers.append(server)
        if runner:
            server.runner = server.start_runner(**(runner if isinstance(runner, dict) else {}))
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def runs_coordinator(start_runs_coordinator: Callable[..., RunsCoordinator]) -> RunsCoordinator:
    """A test Agent Coordinator of the test's own with one runner registered and polling.

    The runner (``runs_coordinator.runner``) runs the default agents: ``echo``,
    ``topic``, ``crash``, ``slow``, ``retired`` (inactive), ``nowhere`` (never claimed).
    """
    return start_runs_coordinator()
