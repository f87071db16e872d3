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

import re
from typing import TYPE_CHECKING, NoReturn

from ao_core import Config, Session, console, deadline, hookimpl
from ao_core.errors import BackendUnavailable, ServerFailure, SessionBusy
from ao_core.problems import BAD_ANSWER
from ao_core.session import MAX_FIELD_LENGTH
from ao_core.settings import Setting, seconds
from ao_plugins.api import answers
from ao_plugins.api.answers import STATUS_WORD, Generation, Unexpected, segment
from ao_plugins.api.client import Answer, Client, display_url

if TYPE_CHECKING:
    from ao_plugins.api.events import Watcher

NAME = "api"
#: The ids the Agent Coordinator generates; such a name is looked up by id at once, even
#: before the server showed which generation it is.
GENERATED_ID = re.compile(r"ses_[0-9a-f]{12}")
#: What :meth:`ApiBackend._lookup` answers when only a listing can tell.
UNDECIDED = object()


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
        self._watcher: Watcher | None = None

    def __repr__(self) -> str:
        return f"ApiBackend(out={self._out}, generation={self._generation})"

    @hookimpl
    def start_round(self) -> None:
        """Try the server again from now on; a later failure does not warn twice."""
        self._out = False
        self._statuses.clear()
        self._listing = None

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
        status = self._statuses.pop(session.session_id or "", None)
        if status is None:
            answer = self._session_field(config, session, "status", unknown=(404,))
            if answer is None:
                return None
            path, body = answer
            status = body.get("status")
            if not isinstance(status, str) or not STATUS_WORD.fullmatch(status):
                self._fail(config, f"GET {path}: unexpected response: 'status' is not a word")
        if session.session_id is not None:
            self._answered[session.session_id] = status
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
            raise SessionBusy(
                f"Session '{session.name}' is still running or idle on the "
                f"{Generation.COORDINATOR.value}: stop it first"
            )
        return answer is not None and answer.status == 200

    @hookimpl
    def wait_for_change(
        self, sessions: list[Session], config: Config, timeout: float
    ) -> bool | None:
        """Watch the Coordinator's event stream for these sessions (None elsewhere)."""
        if self._generation is not Generation.COORDINATOR or self._out or not sessions:
            return None
        if any(s.backend != NAME or s.session_id is None for s in sessions):
            return None
        statuses = {s.session_id: self._answered.get(s.session_id) for s in sessions}
        return self._watch(config).wait(statuses, timeout)

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
        unknown: tuple[int, ...] = (),
    ) -> Answer | None:
        """The server's answer to ``method path``: a 200, or one of the ``unknown`` statuses
        (which are answers about one session, not signs of a failing server).

        None when the server is out, now or earlier in this round.
        """
        if self._out:
            return None
        try:
            return self._connect(config).request(method, path, params=params, expected=unknown)
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
