"""The ``api`` backend: the Agent Session Manager's HTTP API, asked before the backup files.

The server is often down, so every failure (no connection, a timeout, an HTTP error, a
body that is not the contract's JSON) ends the same way: one ``Warning:`` line naming the
URL and the reason, then this backend answers "not mine" for the rest of the round and
the next backend answers. A dead or hanging server therefore costs at most one timeout.
How a request is sent and how it fails is :mod:`ao_plugins.api.client`'s business; this
module knows what the server's answers mean.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from ao_core import Config, Session, console, hookimpl
from ao_core.errors import ServerFailure
from ao_core.settings import Setting, seconds
from ao_plugins.api.client import Answer, Client, display_url

NAME = "api"
#: Path segments that a URL library would treat as "this/parent directory".
DOT_SEGMENTS = frozenset({"", ".", ".."})
#: A status the server may report: one word, so it can never forge a line or a colour.
STATUS_WORD = re.compile(r"[A-Za-z0-9_-]{1,60}")


def _key(value: str) -> str:
    """The API key as given; refused (without showing it) when it is not printable ASCII,
    which no header can carry and which would only end up in an error message."""
    if not all(" " <= c <= "~" for c in value):
        raise ValueError("printable ASCII (no control characters)")
    return value


URL = Setting(
    "AGENT_ORCHESTRATOR_SESSION_MANAGER_URL",
    "http://127.0.0.1:8765",
    "Base URL of the Agent Session Manager API. AGENT_ORCHESTRATOR_API_URL, the name "
    "newer installations give it, is read when this one is unset.",
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
    """Talks to the Session Manager through one :class:`Client`; one instance per command.

    After the first failure the server is "out": every later hook returns "not mine"
    without a request. :meth:`start_round` (each poll of ``--wait``) lets the server be
    tried again while the warning is still printed once per command.
    """

    #: What this backend reads from the environment (listed in the man pages).
    settings = (URL, TIMEOUT, API_KEY)

    def __init__(self) -> None:
        self._client: Client | None = None
        self._out = False
        self._warned = False

    def __repr__(self) -> str:
        return f"ApiBackend(out={self._out})"

    @hookimpl
    def start_round(self) -> None:
        """Try the server again from now on; a later failure does not warn twice."""
        self._out = False

    @hookimpl
    def resolve_session(self, name: str, config: Config) -> Session | None:
        for session in self._sessions(config, name) or ():
            if session.name == name:
                return session
        return None

    @hookimpl
    def fetch_status(self, session: Session, config: Config) -> str | None:
        answer = self._session_field(config, session, "status", unknown=(404,))
        if answer is None:
            return None
        path, status = answer
        if not isinstance(status, str) or not STATUS_WORD.fullmatch(status):
            return self._fail(config, f"GET {path}: unexpected response: 'status' is not a word")
        return status

    @hookimpl
    def fetch_result(self, session: Session, config: Config) -> str | None:
        answer = self._session_field(config, session, "result", unknown=(400, 404))
        if answer is None:
            return None
        path, result = answer
        if not isinstance(result, str):
            return self._fail(config, f"GET {path}: unexpected response: 'result' is not text")
        return result

    @hookimpl
    def list_sessions(self, config: Config) -> list[Session]:
        return self._sessions(config) or []

    @hookimpl
    def delete_session(self, session: Session, config: Config) -> bool:
        if session.backend != NAME:
            session = self.resolve_session(session.name, config)
            if session is None:
                return False
        segment = _segment(session.session_id)
        if segment is None:
            return False
        answer = self._call(config, "DELETE", f"/sessions/{segment}", unknown=(404,))
        return answer is not None and answer.status == 200

    def _session_field(
        self, config: Config, session: Session, field: str, *, unknown: tuple[int, ...]
    ) -> tuple[str, object] | None:
        """``GET /sessions/{id}/{field}``: the path and the body's ``field``, or None.

        None when the session has no usable id, the server is out, or it answered one of
        the ``unknown`` statuses.
        """
        segment = _segment(session.session_id)
        if segment is None:
            return None
        path = f"/sessions/{segment}/{field}"
        answer = self._call(config, "GET", path, unknown=unknown)
        if answer is None or answer.status != 200:
            return None
        return path, answer.body.get(field)

    def _sessions(self, config: Config, name: str | None = None) -> list[Session] | None:
        """Every session on the server, newest first; None when the server is out."""
        params = {"session_name": name} if name is not None else None
        answer = self._call(config, "GET", "/sessions", params=params)
        if answer is None:
            return None
        entries = answer.body.get("sessions")
        if not isinstance(entries, list):
            return self._fail(
                config, "GET /sessions: unexpected response: 'sessions' is not a list"
            )
        sessions = []
        for entry in entries:
            session = _session(entry)
            if session is None:
                return self._fail(
                    config,
                    "GET /sessions: unexpected response: a session without a usable "
                    "'session_id' and 'session_name'",
                )
            sessions.append(session)
        return sessions

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
        (which say "no such session" rather than "something is wrong").

        None when the server is out, now or earlier in this round.
        """
        if self._out:
            return None
        try:
            return self._connect(config).request(method, path, params=params, expected=unknown)
        except ServerFailure as exc:
            return self._fail(config, str(exc))

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

    def _fail(self, config: Config, reason: str) -> None:
        """Mark the server out for this round; warn the first time in this command."""
        self._out = True
        if not self._warned:
            self._warned = True
            console.warn(
                f"cannot use the Agent Session Manager at {display_url(config.get(URL))} "
                f"({reason}); falling back to the other backends"
            )


def _session(entry: object) -> Session | None:
    """A Session from one entry of ``GET /sessions``; None when it breaks the contract."""
    if not isinstance(entry, dict):
        return None
    session_id, name = entry.get("session_id"), entry.get("session_name")
    if not isinstance(name, str) or not isinstance(session_id, str):
        return None
    if _segment(session_id) is None:
        return None
    project_dir = entry.get("project_dir")
    return Session(
        name=name,
        session_id=session_id,
        project_dir=project_dir if isinstance(project_dir, str) and project_dir else None,
        backend=NAME,
    )


def _segment(session_id: str | None) -> str | None:
    """``session_id`` quoted as exactly one URL path segment; None if it cannot be one."""
    if session_id is None or session_id in DOT_SEGMENTS:
        return None
    return quote(session_id, safe="")
