"""The ``api`` backend: the server's HTTP API, asked before the backup files.

Two generations of the server answer at the same URL: the Agent Session Manager (the
older one, sessions by name) and the Agent Coordinator (today's, sessions by id only,
an event stream). The backend tells them apart from their answers
(:mod:`ao_plugins.api.answers`) and remembers which it met for the rest of the command.

An answer about one session (404 unknown, 400 not finished, 404 no result, 409 still
running) is an answer. Anything that says the server itself is unusable (no connection,
a timeout, a 5xx, 401/403, a body that is not the contract's JSON) ends the same way:
:class:`~ao_core.errors.BackendUnavailable` with the URL, the reason and its code (one
``Warning:`` line per command, and the ``unavailable`` member of ``--json``), then this
backend answers "not mine" for the rest of the round and the next backend answers. A
dead or hanging server therefore costs at most one timeout. How a request is sent and
how it fails is :mod:`ao_plugins.api.client`'s business; watching the event stream
during ``--wait`` is :mod:`ao_plugins.api.events`'.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from ao_core import Config, Session, console, deadline, hookimpl
from ao_core.errors import (
    AlreadyExists,
    BackendUnavailable,
    NotExistent,
    Refused,
    ServerFailure,
    SessionBusy,
)
from ao_core.problems import BAD_ANSWER
from ao_core.session import IN_PROGRESS, MAX_FIELD_LENGTH
from ao_core.settings import Setting, seconds
from ao_plugins.api import answers, runs
from ao_plugins.api.answers import STATUS_WORD, Generation, Unexpected, segment
from ao_plugins.api.client import Answer, Client, display_url

if TYPE_CHECKING:
    from ao_core.records import Blueprint, Details, Event, EventLog, Turn
    from ao_plugins.api.events import EventStream, Watcher
    from ao_plugins.api.logs import Follower

NAME = "api"
#: The ids the Agent Coordinator generates; such a name is looked up by id at once, even
#: before the server showed which generation it is.
GENERATED_ID = re.compile(r"ses_[0-9a-f]{12}")
#: What :meth:`ApiBackend._lookup` answers when only a listing can tell.
UNDECIDED = object()
#: Session statuses the Coordinator's runs may correct (see :mod:`ao_plugins.api.runs`):
#: a turn in progress behind an ended status, a failed run behind ``pending``/``failed``.
RUNS_TELL = frozenset({"idle", "finished", "failed", "pending", "stopped"})
#: The answers to ``POST /runs`` that are answers, not signs of a failing server.
RUN_ANSWERS = (201, 400, 404, 405, 409, 422)
#: Statuses in which the Coordinator refuses to delete a session (409).
BUSY = frozenset({"running", "idle"})


def _key(value: str) -> str:
    """The API key as given; refused (without showing it) when it is not printable ASCII,
    which no header can carry and which would only end up in an error message."""
    if not all(" " <= c <= "~" for c in value):
        raise ValueError("printable ASCII (no control characters)")
    return value


URL = Setting(
    "AGENT_ORCHESTRATOR_SESSION_MANAGER_URL",
    "http://127.0.0.1:8765",
    "Base URL of the server: an Agent Session Manager or an Agent Coordinator, told apart "
    "by its answers. AGENT_ORCHESTRATOR_API_URL, the name newer installations give it, is "
    "read when this one is unset.",
    also=("AGENT_ORCHESTRATOR_API_URL",),
)
TIMEOUT = Setting(
    "AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT",
    5.0,
    "Seconds to wait for the API before going on to the next backend; a positive number.",
    parse=seconds(),
)
API_KEY = Setting(
    "AGENT_ORCHESTRATOR_API_KEY",
    None,
    "Sent to the API as Authorization: Bearer KEY.",
    parse=_key,
    secret=True,
    default_text="unset, no such header",
)


class ApiBackend:
    """Talks to the server through one :class:`Client`; one instance per command.

    After the first failure the server is "out": every later hook returns "not mine"
    without a request. :meth:`start_round` (each poll of ``--wait``) lets the server be
    tried again while the warning is still printed once per command.

    Resolving a name: on the Session Manager by listing (it has no lookup by name), on the
    Coordinator by ``GET /sessions/{name}`` (the name is the id), whose answer also holds
    the status, so ``ao-status ID`` costs one request there whatever the number of
    sessions. Until an answer shows the generation, names are listed, as they always
    were, except those shaped like a generated id (``ses_`` + 12 hex digits).
    """

    #: What this backend reads from the environment (listed in the man pages).
    settings = (URL, TIMEOUT, API_KEY)

    def __init__(self) -> None:
        self._client: Client | None = None
        self._out = False
        self._told_left_out = False
        self._generation: Generation | None = None
        #: Statuses the Coordinator sent with a session this round, by id, used once.
        self._statuses: dict[str, str] = {}
        #: The status last answered for each session id (what a wait compares events with).
        self._answered: dict[str, str] = {}
        #: This round's listing of the Session Manager, so several names cost one listing.
        self._listing: list[Session] | None = None
        #: This round's ``GET /runs`` of the Coordinator (a session's latest run is found
        #: only in the whole list), so several sessions cost one listing.
        self._runs: list[dict] | None = None
        #: Runs known to be their session's latest this round (the turn just followed).
        self._latest: dict[str, dict] = {}
        self._watcher: Watcher | None = None
        #: The sessions ``ao-logs`` reads, by id (where following goes on from).
        self._followers: dict[str, Follower] = {}

    def __repr__(self) -> str:
        return f"ApiBackend(out={self._out}, generation={self._generation})"

    @hookimpl
    def start_round(self) -> None:
        """Try the server again from now on; a later failure does not warn twice."""
        self._out = False
        self._statuses.clear()
        self._listing = None
        self._runs = None
        self._latest.clear()

    @hookimpl
    def resolve_session(self, name: str, config: Config) -> Session | None:
        if self._generation is Generation.COORDINATOR or (
            self._generation is None and GENERATED_ID.fullmatch(name)
        ):
            found = self._lookup(config, name)
            if found is not UNDECIDED:
                return found  # type: ignore[return-value]
        if self._listing is None:
            self._listing = self._sessions(config, name)
        for session in self._listing or ():
            if session.name == name:
                return session
        return None

    @hookimpl
    def fetch_status(self, session: Session, config: Config) -> str | None:
        status = self._server_status(config, session)
        if status in RUNS_TELL and self._generation is Generation.COORDINATOR:
            latest = self._latest_run(config, session.session_id or "")
            status = runs.session_status(status, latest)
        return status

    @hookimpl
    def fetch_result(self, session: Session, config: Config) -> str | None:
        answer = self._session_field(config, session, "result", unknown=(400, 404))
        if answer is None:
            return None
        path, body = answer
        try:
            return answers.result(body)
        except Unexpected as exc:
            self._fail(config, f"GET {path}: unexpected response: {exc}")

    @hookimpl
    def list_sessions(self, config: Config) -> list[Session]:
        return self._sessions(config) or []

    @hookimpl
    def delete_session(self, session: Session, config: Config) -> bool:
        if session.backend != NAME:
            session = self.resolve_session(session.name, config)
            if session is None:
                return False
        quoted = segment(session.session_id)
        if quoted is None:
            return False
        answer = self._call(config, "DELETE", f"/sessions/{quoted}", unknown=(404, 409))
        self._listing = None
        if answer is not None and answer.status == 409:
            raise self._busy(session)
        return answer is not None and answer.status == 200

    @hookimpl
    def wait_for_change(
        self, sessions: list[Session], config: Config, timeout: float
    ) -> bool | None:
        """Watch the Coordinator's event stream for these sessions (None elsewhere); no
        sessions: the wait is over, the stream is closed."""
        if not sessions and self._watcher is not None:
            self._watcher.close()
        if self._generation is not Generation.COORDINATOR or self._out or not sessions:
            return None
        if any(s.backend != NAME or s.session_id is None for s in sessions):
            return None
        statuses = {s.session_id: self._answered.get(s.session_id) for s in sessions}
        return self._watch(config).wait(statuses, timeout)

    # -- driving sessions (the Agent Coordinator only) ----------------------------------

    @hookimpl
    def start_session(
        self, name: str, parameters: dict, agent: str | None, config: Config
    ) -> Turn | None:
        request = {
            "type": "start_session",
            "session_id": name,
            "parameters": parameters,
            "project_dir": str(config.project_dir),
        }
        if agent is not None:
            request["agent_name"] = agent
        return self._new_run(config, request, name)

    @hookimpl
    def resume_session(self, session: Session, prompt: str, config: Config) -> Turn | None:
        if session.backend != NAME or session.session_id is None:
            return None
        request = {
            "type": "resume_session",
            "session_id": session.session_id,
            "parameters": {"prompt": prompt},
        }
        return self._new_run(config, request, session.name)

    @hookimpl
    def fetch_turn_status(self, turn: Turn, config: Config) -> str | None:
        quoted = segment(turn.run_id)
        if turn.session.backend != NAME or quoted is None:
            return None
        # The session's own status first, for the event stream to compare frames with: the
        # server records a run's end before the session's, so a turn that ends between the
        # two requests shows as ended here and is never missed by the stream.
        session_status = self._server_status(config, turn.session)
        if session_status is None:
            return None
        answer = self._call(config, "GET", f"/runs/{quoted}", unknown=(404,))
        if answer is None or answer.status != 200:
            return None
        status = runs.turn_status(answer.body)
        if status not in IN_PROGRESS and session_status not in IN_PROGRESS:
            # Read after the run had ended: this round's answers about the session, so
            # the status that follows costs no request.
            self._statuses[turn.session.session_id] = session_status
            self._latest[turn.session.session_id] = answer.body
        return status

    @hookimpl
    def stop_session(self, session: Session, config: Config) -> str | None:
        quoted = segment(session.session_id)
        if session.backend != NAME or quoted is None:
            return None
        if self._generation is not Generation.COORDINATOR:
            return None
        answer = self._call(config, "POST", f"/sessions/{quoted}/stop", unknown=(404,))
        if answer is None or answer.status != 200:
            return None
        status = answer.body.get("status")
        return status if isinstance(status, str) and STATUS_WORD.fullmatch(status) else "stopping"

    @hookimpl
    def describe_session(self, session: Session, config: Config) -> Details | None:
        quoted = segment(session.session_id)
        if session.backend != NAME or quoted is None:
            return None
        answer = self._call(config, "GET", f"/sessions/{quoted}", unknown=(404,))
        if answer is None or answer.status != 200:
            return None
        entry = answer.body.get("session")
        if not isinstance(entry, dict):
            return None
        status = self.fetch_status(session, config)
        latest = None
        if self._generation is Generation.COORDINATOR and session.session_id is not None:
            latest = self._latest_run(config, session.session_id)
        return runs.details(entry, status, latest)

    @hookimpl
    def list_blueprints(self, tags: list[str], config: Config) -> list[Blueprint] | None:
        params = {"tags": ",".join(tags)} if tags else None
        answer = self._call(config, "GET", "/agents", params=params, unknown=(404,), array=True)
        if answer is None or answer.status == 404:
            return None
        agents = answer.body
        if not isinstance(agents, list):
            self._fail(config, "GET /agents: unexpected response: not a list of agents")
            return None
        found = [runs.blueprint(entry) for entry in agents]
        return [b for b in found if b is not None]

    @hookimpl
    def check_delete(self, session: Session, config: Config) -> bool | None:
        if session.backend != NAME:
            session = self.resolve_session(session.name, config)
            if session is None:
                return False
        status = self.fetch_status(session, config)
        if status is None:
            return False
        if self._generation is Generation.COORDINATOR and status in BUSY:
            raise self._busy(session)
        return True

    # -- a session's events (ao-logs) ---------------------------------------------------

    @hookimpl
    def fetch_events(
        self, session: Session, config: Config, tail: int | None, follow: bool
    ) -> EventLog | None:
        """The Coordinator's history of the session (the oldest 100 events; a ``gap`` says
        where it is cut), after opening its event stream when following."""
        quoted = segment(session.session_id)
        if session.backend != NAME or quoted is None:
            return None
        if self._generation is not Generation.COORDINATOR:
            return None
        from ao_plugins.api.logs import Follower

        path = f"/sessions/{quoted}/events"

        def history() -> list[dict] | None:
            self._out = False  # each look at the history is a round of its own
            answer = self._call(config, "GET", path, unknown=(404,))
            if answer is None or answer.status != 200:
                return None
            found = answer.body.get("events")
            if not isinstance(found, list):
                self._fail(config, f"GET {path}: unexpected response: 'events' is not a list")
                return None
            return [e for e in found if isinstance(e, dict)]

        opener = self._event_stream(config, session.session_id) if follow else None
        follower = Follower(session.session_id, history, opener)
        events = follower.start()
        if events is None:
            return None
        self._followers[session.session_id] = follower
        from ao_core.records import EventLog

        return EventLog(events)

    @hookimpl
    def follow_events(self, session: Session, timeout: float, last: bool) -> list[Event] | None:
        follower = self._followers.get(session.session_id or "")
        if session.backend != NAME or follower is None:
            return None
        return follower.follow(timeout, last=last)

    def _event_stream(self, config: Config, session_id: str) -> Callable[[], EventStream]:
        """What opens a stream of one session's frames, ``event`` frames included."""
        from ao_plugins.api.events import FRAMES, EventStream

        url = config.get(URL).rstrip("/")
        key, limit = config.get(API_KEY), config.get(TIMEOUT)
        kinds = FRAMES | {"event"}

        def open_stream() -> EventStream:
            bound = deadline.remaining(limit)
            return EventStream(
                url,
                frozenset({session_id}),
                key=key,
                connect=bound,
                first_byte=bound,
                kinds=kinds,
            )

        return open_stream

    def _new_run(self, config: Config, request: dict, name: str) -> Turn | None:
        """``POST /runs``; the turn it started. None where the server has no runs (the
        Session Manager answers 404 or 405) or is out; a refusal raises with the reason."""
        starting = request["type"] == "start_session"
        if not starting and self._generation is not Generation.COORDINATOR:
            return None
        answer = self._call(config, "POST", "/runs", payload=request, unknown=RUN_ANSWERS)
        if answer is None or (starting and answer.status in (404, 405)):
            return None
        if answer.status == 409:
            raise AlreadyExists.session(name)
        if answer.status == 404:
            raise NotExistent.to_resume(name)
        if answer.status != 201:
            verb = "start" if starting else "resume"
            reason = runs.refusal(answer.body.get("detail"))
            raise Refused(f"Cannot {verb} session '{name}': {reason}", name=name)
        run_id, session_id = answer.body.get("run_id"), answer.body.get("session_id")
        if not isinstance(run_id, str) or not isinstance(session_id, str):
            self._fail(config, "POST /runs: unexpected response: no 'run_id' and 'session_id'")
            return None
        self._generation = Generation.COORDINATOR
        self._listing = self._runs = None
        session = Session(
            name=session_id,
            session_id=session_id,
            project_dir=request.get("project_dir"),
            backend=NAME,
        )
        # the run was accepted: a failure now loses only the warning about runners
        with contextlib.suppress(BackendUnavailable):
            self._warn_without_runner(config, run_id, name)
        from ao_core.records import Turn

        return Turn(session=session, run_id=run_id)

    def _warn_without_runner(self, config: Config, run_id: str, name: str) -> None:
        """One warning when no online runner could take the run just made (the server
        would leave it pending until its own timeout)."""
        run = self._call(config, "GET", f"/runs/{segment(run_id)}", unknown=(404,))
        if run is None or run.status != 200 or not runs.in_progress(run.body):
            return
        runners = self._call(config, "GET", "/runners", unknown=(404,))
        if runners is None or runners.status != 200:
            return
        if not runs.can_take(run.body.get("demands"), runners.body.get("runners")):
            console.warn(
                f"no runner online can take session '{name}' now; waiting for one (the "
                "server gives up on the run after its own timeout)"
            )

    def _latest_run(self, config: Config, session_id: str) -> dict | None:
        """The session's newest run, from this round's ``GET /runs`` (None: no runs)."""
        if session_id in self._latest:
            return self._latest[session_id]
        if self._runs is None:
            answer = self._call(config, "GET", "/runs", unknown=(404,))
            if answer is None:
                return None
            found = answer.body.get("runs", []) if answer.status == 200 else []
            if not isinstance(found, list):
                self._fail(config, "GET /runs: unexpected response: 'runs' is not a list")
                return None
            self._runs = found
        return runs.latest_run(self._runs, session_id)

    def _busy(self, session: Session) -> SessionBusy:
        return SessionBusy(
            f"Session '{session.name}' is still running or idle on the "
            f"{Generation.COORDINATOR.value}: stop it first"
        )

    def _watch(self, config: Config) -> Watcher:
        """The watcher of this command's waits, made on first use (imports the stream code)."""
        if self._watcher is None:
            from ao_plugins.api.events import EventStream, Watcher

            url = config.get(URL).rstrip("/")
            key, limit = config.get(API_KEY), config.get(TIMEOUT)

            def open_stream(ids: frozenset[str]) -> EventStream:
                bound = deadline.remaining(limit)
                return EventStream(url, ids, key=key, connect=bound, first_byte=bound)

            self._watcher = Watcher(open_stream)
        return self._watcher

    def _server_status(self, config: Config, session: Session) -> str | None:
        """The session's status as the server holds it (before its runs correct it), also
        kept as what a wait compares the event stream's frames with."""
        status = self._statuses.pop(session.session_id or "", None)
        if status is None:
            answer = self._session_field(config, session, "status", unknown=(404,))
            if answer is None:
                return None
            path, body = answer
            status = body.get("status")
            if not isinstance(status, str) or not STATUS_WORD.fullmatch(status):
                reason = f"GET {path}: unexpected response: 'status' is not a word"
                self._fail(config, reason)
                return None
        if session.session_id is not None:
            self._answered[session.session_id] = status
        return status

    def _lookup(self, config: Config, name: str) -> Session | None | object:
        """``GET /sessions/{name}``: the Coordinator's session of that id, None when it has
        none (or the server is out), :data:`UNDECIDED` when only a listing can tell (a
        Session Manager, or a 404 from a server not known yet).
        """
        path = f"/sessions/{segment(name)}"
        answer = self._call(config, "GET", path, unknown=(404,))
        if answer is None:
            return None
        if answer.status == 404:
            return None if self._generation is Generation.COORDINATOR else UNDECIDED
        try:
            session, generation, status = answers.looked_up(answer.body, name, NAME)
        except Unexpected as exc:
            self._fail(config, f"GET {path}: unexpected response: {exc}")
        self._generation = generation
        if generation is Generation.MANAGER:
            return UNDECIDED
        if status:
            self._statuses[session.session_id] = status
        return session

    def _session_field(
        self, config: Config, session: Session, field: str, *, unknown: tuple[int, ...]
    ) -> tuple[str, dict] | None:
        """``GET /sessions/{id}/{field}``: the path and the body, or None.

        None when the session has no usable id, the server is out, or it answered one of
        the ``unknown`` statuses.
        """
        quoted = segment(session.session_id)
        if quoted is None:
            return None
        path = f"/sessions/{quoted}/{field}"
        answer = self._call(config, "GET", path, unknown=unknown)
        if answer is None or answer.status != 200:
            return None
        return path, answer.body

    def _sessions(self, config: Config, name: str | None = None) -> list[Session] | None:
        """Every session on the server, newest first; None when the server is out."""
        params = {"session_name": name} if name is not None else None
        answer = self._call(config, "GET", "/sessions", params=params)
        if answer is None:
            return None
        try:
            found = answers.listing(answer.body, self._generation, NAME)
        except Unexpected as exc:
            self._fail(config, f"GET /sessions: unexpected response: {exc}")
        self._generation = found.generation
        self._statuses.update(found.statuses)
        if found.left_out and not self._told_left_out:
            self._told_left_out = True
            server = self._generation.value if self._generation else "server"
            count = f"{found.left_out:,} session{'s' if found.left_out > 1 else ''}"
            console.warn(
                f"the {server} at {display_url(config.get(URL))} listed {count} whose id or "
                f"name is no session's (over {MAX_FIELD_LENGTH} characters, or not UTF-8): "
                "left out"
            )
        return found.sessions

    def _call(
        self,
        config: Config,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        payload: dict | None = None,
        unknown: tuple[int, ...] = (),
        array: bool = False,
    ) -> Answer | None:
        """The server's answer to ``method path``: a 200, or one of the ``unknown`` statuses
        (which are answers about one session, not signs of a failing server). ``payload``
        is the JSON body; ``array``: the answer may be a JSON list.

        None when the server is out, now or earlier in this round.
        """
        if self._out:
            return None
        try:
            return self._connect(config).request(
                method, path, params=params, payload=payload, expected=unknown, array=array
            )
        except ServerFailure as exc:
            failure = exc
        self._fail(config, str(failure), failure.code, deadline=failure.deadline)

    def _connect(self, config: Config) -> Client:
        """The client for this command, made from the settings on first use."""
        if self._client is None:
            self._client = Client(
                config.get(URL).rstrip("/"),
                timeout=config.get(TIMEOUT),
                key=config.get(API_KEY),
                key_variable=API_KEY.variable,
                debug=config.debug,
            )
        return self._client

    def _fail(
        self, config: Config, reason: str, code: str = BAD_ANSWER, *, deadline: bool = False
    ) -> NoReturn:
        """Mark the server out for this round and say so: :class:`BackendUnavailable`, which
        the core turns into one warning per command, naming the server as it showed itself
        (``the server`` until an answer showed which one)."""
        self._out = True
        server = f"the {self._generation.value}" if self._generation else "the server"
        raise BackendUnavailable(
            f"cannot use {server} at {display_url(config.get(URL))} ({reason})",
            code=code,
            deadline=deadline,
        )
