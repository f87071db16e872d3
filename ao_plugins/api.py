"""The ``api`` backend: the Agent Session Manager's HTTP API, asked before the backup files.

The server is often down, so every failure (no connection, a timeout, an HTTP error, a
body that is not the contract's JSON) ends the same way: one ``Warning:`` line naming the
URL and the reason, then this backend answers "not mine" for the rest of the command and
the next backend answers. A dead or hanging server therefore costs at most one timeout.
"""

from __future__ import annotations

import re
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ao_core import Config, Session, console, hookimpl
from ao_core.config import ENV_API_KEY
from ao_core.session import NOT_EXISTENT

if TYPE_CHECKING:
    import requests

NAME = "api"
#: Path segments that a URL library would treat as "this/parent directory".
DOT_SEGMENTS = frozenset({"", ".", ".."})
PASSWORD_IN_URL = re.compile(r"//([^/@:]*):[^/@]*@")


class ServerFailure(Exception):
    """The server could not give a usable answer; the message is the reason shown."""


class ApiBackend:
    """Talks to the Session Manager through one ``requests.Session``; one instance per command.

    After the first failure the server is "out": every later hook returns "not mine"
    without a request. :meth:`start_round` (each poll of ``--wait``) lets the server be tried again
    while the warning is still printed once per command.
    """

    def __init__(self) -> None:
        self._http: requests.Session | None = None
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
        if not isinstance(status, str) or not status:
            return self._fail(config, f"GET {path}: unexpected response: 'status' is not a word")
        return None if status == NOT_EXISTENT else status

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
        return self._call(config, "DELETE", f"/sessions/{segment}", unknown=(404,)) is not None

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
        body = self._call(config, "GET", path, unknown=unknown)
        return None if body is None else (path, body.get(field))

    def _sessions(self, config: Config, name: str | None = None) -> list[Session] | None:
        """Every session on the server, newest first; None when the server is out."""
        params = {"session_name": name} if name is not None else None
        body = self._call(config, "GET", "/sessions", params=params)
        if body is None:
            return None
        entries = body.get("sessions")
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
    ) -> dict[str, Any] | None:
        """The JSON object answering ``method path``, or None.

        None means the server is out (now or earlier) or answered one of the ``unknown``
        statuses, which say "no such session" rather than "something is wrong".
        """
        if self._out:
            return None
        try:
            return self._send(config, method, path, params, unknown)
        except ServerFailure as exc:
            return self._fail(config, str(exc))

    def _send(
        self,
        config: Config,
        method: str,
        path: str,
        params: dict[str, str] | None,
        unknown: tuple[int, ...],
    ) -> dict[str, Any] | None:
        import requests
        from requests.exceptions import InvalidSchema, InvalidURL, MissingSchema

        if self._http is None:
            self._http = requests.Session()
        try:
            response = self._http.request(
                method,
                config.api_url + path,
                params=params,
                timeout=config.timeout,
                auth=_Bearer(config.api_key) if config.api_key else None,
            )
        except requests.Timeout as exc:
            reason = f"no answer within {config.timeout:g} s"
            raise ServerFailure(_detailed(reason, exc, config)) from None
        except requests.ConnectionError as exc:
            raise ServerFailure(_detailed(_connection_reason(exc), exc, config)) from None
        except (InvalidURL, InvalidSchema, MissingSchema) as exc:
            raise ServerFailure(_detailed("not a valid http:// URL", exc, config)) from None
        except (requests.RequestException, ValueError) as exc:
            reason = f"cannot send the request ({type(exc).__name__})"
            raise ServerFailure(_detailed(reason, exc, config)) from None
        where = f"{method} {path}"
        if response.status_code in unknown:
            return None
        if response.status_code != 200:
            raise ServerFailure(f"{where}: {_http_reason(response)}")
        try:
            body = response.json()
        except (ValueError, RecursionError):
            kind = response.headers.get("Content-Type") or "no content type"
            raise ServerFailure(f"{where}: the response is not JSON ({kind})") from None
        if not isinstance(body, dict):
            raise ServerFailure(f"{where}: unexpected response: not a JSON object")
        return body

    def _fail(self, config: Config, reason: str) -> None:
        """Mark the server out for this round; warn the first time in this command."""
        self._out = True
        if not self._warned:
            self._warned = True
            console.warn(
                f"cannot use the Agent Session Manager at {_display_url(config.api_url)} "
                f"({reason}); falling back to the other backends"
            )


class _Bearer:
    """``Authorization: Bearer <key>`` as a requests auth hook.

    Passed as ``auth=`` (not a header) so a ``~/.netrc`` entry cannot replace it; the
    key is kept out of ``repr``.
    """

    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self) -> str:
        return "_Bearer(<hidden>)"


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


def _connection_reason(exc: BaseException) -> str:
    """ "connection refused" or "cannot connect: ..." from the chain requests raises."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, socket.gaierror):
            return "cannot connect: host not found"
        todo.extend([getattr(item, "reason", None), item.__cause__, item.__context__, *item.args])
    return "cannot connect"


def _detailed(reason: str, exc: BaseException, config: Config) -> str:
    """``reason``, followed by what requests said when debugging is on."""
    return f"{reason}: {exc}" if config.debug else reason


def _http_reason(response: requests.Response) -> str:
    text = f"HTTP {response.status_code}"
    phrase = "".join(c for c in response.reason or "" if c.isprintable())[:60]
    if phrase:
        text += f" {phrase}"
    if response.status_code in (401, 403):
        text += f", check {ENV_API_KEY}"
    return text


def _display_url(url: str) -> str:
    """``url`` without a password, should one have been put in it."""
    return PASSWORD_IN_URL.sub(r"//\1:***@", url)
