"""One HTTP exchange with the server, bounded, and every way it can fail as one short reason.

The :class:`Client` knows HTTP and nothing of sessions: it sends a request through one
``requests.Session`` (imported on first use, so a command that never asks the server
never pays for it) and returns the status code and the JSON object of the answer, or
raises :class:`~ao_core.errors.ServerFailure` with the reason a user is shown. No secret
(the API key, a password in the URL) ever reaches a reason.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ao_core.errors import ServerFailure

if TYPE_CHECKING:
    import requests

PASSWORD_IN_URL = re.compile(r"//([^/@:]*):[^/@]*@")


@dataclass(frozen=True)
class Answer:
    """A server's answer: its HTTP status and its body as a JSON object (``{}`` if none)."""

    status: int
    body: dict[str, Any]


class Client:
    """Talks to the server at ``url``; one instance (one connection pool) per command.

    ``key_variable`` names the setting that holds the key, for the hint on a 401 or 403.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        key: str | None = None,
        key_variable: str = "",
        debug: bool = False,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self._key = key
        self._key_variable = key_variable
        self._debug = debug
        self._http: requests.Session | None = None

    def __repr__(self) -> str:
        return f"Client({display_url(self.url)!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        expected: tuple[int, ...] = (),
    ) -> Answer:
        """Send ``method path``; the answer when it is a 200 with a JSON object, or one of
        the ``expected`` statuses (whose body may be anything: ``{}`` when not an object).

        Raises :class:`ServerFailure` for anything else: no connection, a timeout, another
        status, a 200 whose body is not a JSON object.
        """
        response = self._send(method, path, params)
        where = f"{method} {path}"
        if response.status_code != 200:
            if response.status_code in expected:
                return Answer(response.status_code, _lenient_json(response))
            raise ServerFailure(f"{where}: {self._http_reason(response)}")
        try:
            body = response.json()
        except (ValueError, RecursionError):
            kind = response.headers.get("Content-Type") or "no content type"
            raise ServerFailure(f"{where}: the response is not JSON ({kind})") from None
        if not isinstance(body, dict):
            raise ServerFailure(f"{where}: unexpected response: not a JSON object")
        return Answer(200, body)

    def _send(self, method: str, path: str, params: dict[str, str] | None) -> requests.Response:
        import requests
        from requests.exceptions import InvalidSchema, InvalidURL, MissingSchema

        if self._http is None:
            self._http = requests.Session()
        try:
            return self._http.request(
                method,
                self.url + path,
                params=params,
                timeout=self.timeout,
                auth=_Bearer(self._key) if self._key else None,
            )
        except requests.Timeout as exc:
            reason = f"no answer within {self.timeout:g} s"
            raise ServerFailure(self._detailed(reason, exc)) from None
        except requests.ConnectionError as exc:
            raise ServerFailure(self._detailed(_connection_reason(exc), exc)) from None
        except (InvalidURL, InvalidSchema, MissingSchema) as exc:
            raise ServerFailure(self._detailed("not a valid http:// URL", exc)) from None
        except (requests.RequestException, ValueError) as exc:
            reason = f"cannot send the request ({type(exc).__name__})"
            raise ServerFailure(self._detailed(reason, exc)) from None

    def _detailed(self, reason: str, exc: BaseException) -> str:
        """``reason``, followed by what requests said when debugging is on."""
        return f"{reason}: {exc}" if self._debug else reason

    def _http_reason(self, response: requests.Response) -> str:
        text = f"HTTP {response.status_code}"
        phrase = "".join(c for c in response.reason or "" if c.isprintable())[:60]
        if phrase:
            text += f" {phrase}"
        if response.status_code in (401, 403) and self._key_variable:
            text += f", check {self._key_variable}"
        return text


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


def _lenient_json(response: requests.Response) -> dict[str, Any]:
    """The body of an expected non-200 answer as a JSON object; ``{}`` when it is not one."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


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


def display_url(url: str) -> str:
    """``url`` without a password, should one have been put in it."""
    return PASSWORD_IN_URL.sub(r"//\1:***@", url)
