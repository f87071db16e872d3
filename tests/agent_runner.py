"""A test runner for the test Agent Coordinator: registers, long-polls and runs scripted agents.

``python tests/agent_runner.py --url URL [--hostname H] [--project-dir D] [--profile P]
[--tags a,b] [--race] [--poll-timeout S] [--api-key K]``

It speaks the runner's side of coordinator-runs.md as the real runner does, and runs each
claimed run in a thread with a scripted agent, chosen by the run's agent (looked up with
``GET /agents/{name}``):

- ``echo``, no agent, an unknown agent, any other autonomous agent: the user's prompt as a
  ``message``, the assistant's ``echo: PROMPT``, one ``post_tool`` event, a ``result``
  (``result_text`` ``echo: PROMPT``), then ``completed`` with the session ``idle``. Its
  executor lives on for the next turn (``resume_session``).
- ``topic`` (and any procedural agent): ``result_data`` ``{"output": "a story about
  TOPIC"}`` (another procedural agent: ``{"output": PARAMETERS}``), session ``finished``.
- ``crash``: fails the run with :data:`CRASH_ERROR` (long, multi-line, escape sequences).
- ``slow``: a turn takes 30 seconds unless stopped.

A prompt can steer any autonomous agent: ``sleep N ...`` makes the turn take N seconds
(a stop interrupts it); ``crash ...`` fails it as ``crash`` does; ``die [N] ...`` ends the
turn normally, then the executor dies N seconds later (0.5 by default) and the session
turns ``failed``, as an idle session's process can on the real runner.

A resume needs the session's live executor, else the run fails with ``No live executor
process for session ID``; one still busy with a turn fails it with ``Session ID is busy
with run R, cannot accept resume run R2``. ``stop_sessions`` interrupts a running turn
(reported ``stopped``) or ends an idle executor (the session reported ``finished``).

``--race`` reports ``completed`` before ``started``, as the real runner sometimes does:
the run stays ``running`` with ``completed_at`` set and the session ``running``.

SIGTERM or SIGINT: deregisters and exits 0. Stdout gets one line, ``ready RUNNER_ID``,
once registered; problems go to stderr. Every request it makes has the User-Agent
:data:`USER_AGENT`, so a test can tell its requests from a client's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import requests

USER_AGENT = "ao-test-runner/1"
#: Seconds a ``slow`` agent's turn takes.
SLOW_TURN = 30.0
#: Seconds after a ``die`` turn before its executor dies.
DIE_AFTER = 0.5
#: Seconds to wait for an answer to a report (a poll waits the poll timeout more).
REQUEST_TIMEOUT = 10.0


def _crash_error() -> str:
    """The stderr of a crashed executor: 40 lines, escape sequences, one very long line."""
    lines = [
        "Executor crashed (exit code 1): \x1b[1;31mRuntimeError\x1b[0m: the backend went away",
        "Traceback (most recent call last):",
    ]
    lines += [
        f'  File "/srv/agent/steps/step_{i:02d}.py", line {i * 7}, in step_{i:02d}'
        for i in range(1, 31)
    ]
    lines += [
        "\x1b]0;pwned terminal title\x07\x1b[2J\x1b[Hscreen cleared by a hostile tool",
        "bell \x07 backspace \x08 delete \x7f carriage return \r overwritten",
        "C1 control \x9b31m and a tab\there",
        "payload: " + "x" * 5000,
        "    raise RuntimeError('the model backend went away')",
        "RuntimeError: the model backend went away",
        "",
        "(executor log ends)",
    ]
    return "\n".join(lines)


CRASH_ERROR = _crash_error()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Shutdown(Exception):
    """Raised in the main thread by SIGTERM/SIGINT to leave the long poll at once."""


@dataclass(eq=False)
class Executor:
    """The live process of one session: its script, and the turn it is busy with."""

    session_id: str
    script: str
    run_id: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)


class AgentRunner:
    """One runner: its registration, its long poll, and its executors by session."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.url = args.url.rstrip("/")
        self.identity = {
            "hostname": args.hostname,
            "project_dir": args.project_dir,
            "executor_profile": args.profile,
            "executor": {
                "type": "autonomous",
                "command": "tests/agent_runner.py",
                "config": {"race": args.race},
            },
            "tags": [tag for tag in args.tags.split(",") if tag],
        }
        self.race = args.race
        self.read_timeout = args.poll_timeout
        self.headers = {"User-Agent": USER_AGENT}
        if args.api_key:
            self.headers["Authorization"] = f"Bearer {args.api_key}"
        self.http = requests.Session()
        self.http.headers.update(self.headers)
        self.runner_id = ""
        self.poll_timeout = 30.0
        self._lock = threading.Lock()
        self._executors: dict[str, Executor] = {}
        self._quit = threading.Event()

    # Talking to the Coordinator

    def _request(self, method: str, path: str, **kw: Any) -> requests.Response | None:
        """A report or lookup (its own connection: threads share nothing); None on failure."""
        try:
            return requests.request(
                method, self.url + path, headers=self.headers, timeout=REQUEST_TIMEOUT, **kw
            )
        except requests.RequestException as exc:
            _warn(f"{method} {path}: {exc}")
            return None

    def _report(self, run_id: str, what: str, **body: Any) -> None:
        self._request(
            "POST", f"/runner/runs/{run_id}/{what}", json={"runner_id": self.runner_id, **body}
        )

    def _event(self, session_id: str, event_type: str, **fields: Any) -> None:
        body = {"event_type": event_type, "session_id": session_id, "timestamp": _now(), **fields}
        self._request("POST", f"/sessions/{session_id}/events", json=body)

    def _session_status(self, session_id: str, status: str) -> None:
        body = {"runner_id": self.runner_id, "status": status}
        self._request("POST", f"/runner/sessions/{session_id}/status", json=body)

    def register(self) -> None:
        answer = self.http.post(
            self.url + "/runner/register", json=self.identity, timeout=REQUEST_TIMEOUT
        )
        if answer.status_code != 200:
            raise SystemExit(
                f"agent_runner: registration refused: {answer.status_code} {answer.text}"
            )
        body = answer.json()
        self.runner_id = body["runner_id"]
        self.poll_timeout = float(body.get("poll_timeout_seconds", 30))

    def deregister(self) -> None:
        if self.runner_id:
            self._request("DELETE", f"/runners/{self.runner_id}", params={"self": "true"})

    def serve(self) -> None:
        """Poll until told to stop (a signal, or a deregistration by the Coordinator)."""
        self.register()
        print(f"ready {self.runner_id}", flush=True)
        failing = False
        while not self._quit.is_set():
            read = self.read_timeout or self.poll_timeout + REQUEST_TIMEOUT
            try:
                answer = self.http.get(
                    self.url + "/runner/runs",
                    params={"runner_id": self.runner_id},
                    timeout=(REQUEST_TIMEOUT, read),
                )
            except requests.RequestException as exc:
                if not failing:  # once per outage: the server may be gone for good
                    _warn(f"poll: {exc}")
                failing = True
                self._quit.wait(0.2)
                continue
            failing = False
            if answer.status_code == 401:  # forgotten (removed, or the server was reset)
                self.register()
            elif answer.status_code == 200:
                self._dispatch(answer.json())
            elif answer.status_code != 204:
                _warn(f"poll: {answer.status_code} {answer.text[:200]}")
                self._quit.wait(0.2)

    def _dispatch(self, body: dict[str, Any]) -> None:
        if body.get("deregistered"):
            self._quit.set()
        for session_id in body.get("stop_sessions") or ():
            self._stop(session_id)
        if body.get("run"):
            self._claimed(body["run"])

    # Runs

    def _claimed(self, run: dict[str, Any]) -> None:
        """Decide at once what a claimed run does (so a stop finds its executor), then run it."""
        session_id, run_id = run["session_id"], run["run_id"]
        with self._lock:
            executor = self._executors.get(session_id)
            if run["type"] == "resume_session":
                if executor is None:
                    error = f"No live executor process for session {session_id}"
                elif executor.run_id is not None:
                    error = (
                        f"Session {session_id} is busy with run {executor.run_id}, "
                        f"cannot accept resume run {run_id}"
                    )
                else:
                    error = None
                    executor.run_id = run_id
                    executor.stop.clear()
                if error is not None:
                    self._spawn(self._report, run_id, "failed", error=error)
                    return
            else:
                executor = Executor(session_id, script="pending", run_id=run_id)
                self._executors[session_id] = executor
        assert executor is not None
        self._spawn(self._turn, run, executor)

    def _spawn(self, target: Callable[..., Any], *args: Any, **kw: Any) -> None:
        threading.Thread(target=target, args=args, kwargs=kw, daemon=True).start()

    def _script(self, agent_name: str | None) -> tuple[str, dict[str, Any] | None]:
        """Which script runs an agent: its name for the scripted ones, else by type."""
        if not agent_name:
            return "echo", None
        answer = self._request("GET", f"/agents/{agent_name}")
        agent = answer.json() if answer is not None and answer.status_code == 200 else None
        if agent is None:
            return "echo", None
        if agent_name in ("crash", "slow", "topic"):
            return agent_name, agent
        return ("procedural" if agent.get("type") == "procedural" else "echo"), agent

    def _turn(self, run: dict[str, Any], executor: Executor) -> None:
        session_id, run_id = run["session_id"], run["run_id"]
        start = run["type"] == "start_session"
        if start:
            executor.script, _ = self._script(run.get("agent_name"))
        if executor.stop.is_set():  # stopped between the claim and now
            self._stopped(executor, run_id)
            return
        if not self.race:
            self._report(run_id, "started")
        if start:
            binding = {
                "executor_session_id": uuid.uuid4().hex,
                "hostname": self.identity["hostname"],
                "executor_profile": self.identity["executor_profile"],
                "project_dir": run.get("project_dir") or self.identity["project_dir"],
            }
            self._request("POST", f"/sessions/{session_id}/bind", json=binding)
        parameters = run.get("parameters") or {}
        if executor.script in ("topic", "procedural"):
            self._procedural(run, executor, parameters)
        else:
            self._autonomous(run, executor, str(parameters.get("prompt", "")))

    def _procedural(
        self, run: dict[str, Any], executor: Executor, parameters: dict[str, Any]
    ) -> None:
        session_id, run_id = run["session_id"], run["run_id"]
        if executor.script == "topic":
            output: Any = f"a story about {parameters.get('topic')}"
        else:
            output = parameters
        self._event(session_id, "message", role="user", content=_text(json.dumps(parameters)))
        self._event(session_id, "message", role="assistant", content=_text(json.dumps(output)))
        self._event(session_id, "result", result_text=None, result_data={"output": output})
        self._forget(executor)
        self._end(run_id, "finished")

    def _autonomous(self, run: dict[str, Any], executor: Executor, prompt: str) -> None:
        session_id, run_id = run["session_id"], run["run_id"]
        words = prompt.split()
        command = words[0] if words else ""
        self._event(session_id, "message", role="user", content=_text(prompt))
        if executor.script == "crash" or command == "crash":
            self._forget(executor)
            self._report(run_id, "failed", error=CRASH_ERROR)
            return
        if command == "sleep":
            duration = _number(words[1:2], 0.0)
        else:
            duration = SLOW_TURN if executor.script == "slow" else 0.0
        if executor.stop.wait(duration):
            self._stopped(executor, run_id)
            return
        answer = f"echo: {prompt}"
        self._event(session_id, "message", role="assistant", content=_text(answer))
        self._event(
            session_id,
            "post_tool",
            tool_name="Bash",
            tool_input={"command": f"echo {prompt}"},
            tool_output=prompt,
        )
        self._event(session_id, "result", result_text=answer, result_data=None)
        with self._lock:
            executor.run_id = None
        self._end(run_id, "idle")
        if command == "die":
            self._spawn(self._die, executor, _number(words[1:2], DIE_AFTER))

    def _end(self, run_id: str, session_status: str) -> None:
        self._report(run_id, "completed", status="success", session_status=session_status)
        if self.race:
            self._report(run_id, "started")

    def _die(self, executor: Executor, after: float) -> None:
        if executor.stop.wait(after):
            return
        if self._forget(executor):
            self._session_status(executor.session_id, "failed")

    def _stopped(self, executor: Executor, run_id: str) -> None:
        self._forget(executor)
        self._report(run_id, "stopped", signal="SIGTERM")

    def _forget(self, executor: Executor) -> bool:
        """The executor is gone; False when it already was."""
        with self._lock:
            if self._executors.get(executor.session_id) is not executor:
                return False
            del self._executors[executor.session_id]
            return True

    def _stop(self, session_id: str) -> None:
        """``stop_sessions``: interrupt the running turn, or end the idle executor."""
        with self._lock:
            executor = self._executors.get(session_id)
            if executor is None:
                return
            executor.stop.set()
            idle = executor.run_id is None
            if idle:
                del self._executors[session_id]
        if idle:
            self._spawn(self._session_status, session_id, "finished")


def _text(text: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": text}]


def _number(words: list[str], default: float) -> float:
    try:
        return float(words[0]) if words else default
    except ValueError:
        return default


def _warn(message: str) -> None:
    print(f"agent_runner: {message}", file=sys.stderr, flush=True)


def _shutdown(signum: int, frame: object) -> None:
    raise Shutdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the Coordinator's URL")
    parser.add_argument("--hostname", default=socket.gethostname())
    parser.add_argument("--project-dir", default=os.getcwd())
    parser.add_argument("--profile", default="echo", help="executor profile (default: echo)")
    parser.add_argument("--tags", default="", help="comma-separated tags it offers")
    parser.add_argument(
        "--race", action="store_true", help="report completed before started (the real race)"
    )
    parser.add_argument(
        "--poll-timeout",
        type=float,
        metavar="S",
        help="read timeout of a long poll (default: the server's poll timeout + 10 s)",
    )
    parser.add_argument("--api-key", help="send Authorization: Bearer KEY")
    args = parser.parse_args(argv)
    runner = AgentRunner(args)
    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    try:
        runner.serve()
    except Shutdown:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        runner.deregister()
    return 0


if __name__ == "__main__":
    sys.exit(main())
