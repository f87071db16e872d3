"""One HTTP exchange with the server, bounded, and every way it can fail as one short reason.

The :class:`Client` knows HTTP and nothing of sessions: it sends a request through one
``requests.Session`` (imported on first use, so a command that never asks the server
never pays for it) and returns the status code and the JSON object of the answer, or
raises :class:`~ao_core.errors.ServerFailure` with the reason a user is shown.

What a hostile or broken server cannot do (issue 15):

- **Take longer than the timeout.** ``requests``' timeout bounds each socket read, not
  the answer: a server sending one byte every second would hold a command for ever. An
  exchange (connect, headers, whole body) runs in a worker thread; the command waits for
  it at most its budget (the timeout, or less inside ``--wait``: see :meth:`Client._budget`),
  then gives up with ``no answer within N s`` and shuts the exchange's sockets down so the
  worker ends too. The one wait not bounded this way is a host name lookup stuck in the C
  library: the command still returns on time, the worker thread is left behind.
- **Cost unbounded memory.** The body is read in chunks and decoded here (gzip,
  deflate), each chunk inflated at most to what is left of :data:`MAX_RESPONSE_BYTES`, so
  a gzip bomb costs at most that before it fails (``the response is too large``); and a
  body of more than :data:`MAX_JSON_VALUES` values is not parsed (tiny JSON values cost
  far more parsed than sent).
- **Move a request elsewhere.** Redirects are never followed: a 3xx is a failure.
- **Make a secret visible.** The API key and whatever is between ``//`` and the last
  ``@`` of the URL are replaced by ``***`` in every reason and debug detail (before any
  text the server wrote is cut to a display length, and a piece of one left at the cut
  too), and no exception that carries them escapes this module (failures are raised
  outside any ``except`` block, so they have no ``__context__`` either).

Every failure carries a stable code (:mod:`ao_core.problems`: ``unreachable``,
``timeout`` ...) and says whether the ``--wait`` deadline, not the server, cut the
exchange short (``deadline``): a server that was merely not given its time is not a
failing one.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ao_core import deadline
from ao_core.errors import ServerFailure
from ao_core.problems import BAD_ANSWER, CONFIG, REFUSED, SERVER_ERROR, TIMEOUT, UNREACHABLE
from ao_core.text import printable

if TYPE_CHECKING:
    import requests

#: The most bytes an answer may have, on the wire and once decoded. The largest real
#: answer, the listing of 10,000 sessions, is about 2.5 MB; a result can be megabytes.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: The most JSON values (counted as ``,`` ``:`` ``{`` ``[`` anywhere) an answer may hold:
#: parsed, tiny values cost 50 to 100 times their bytes, so the byte limit alone would let
#: 32 MiB become gigabytes. 10,000 sessions are about 150,000.
MAX_JSON_VALUES = 1_000_000
#: Inside ``--wait``, exchanges may end at most this long after the wait's deadline (so
#: ``--timeout 0`` still asks once, and a round that began just before the deadline is
#: not cut short), never longer.
DEADLINE_GRACE = 0.25
#: Bytes read from the socket at a time.
CHUNK = 64 * 1024
#: The encodings asked for (and the only ones decoded): ``requests`` would also offer
#: ``br`` or ``zstd`` when their packages happen to be installed.
ACCEPT_ENCODING = "gzip, deflate"
#: Secrets shorter than this are not replaced where they stand alone (a key ``1`` would
#: turn every ``HTTP 401`` into nonsense); in a URL any user info is hidden.
MIN_SCRUBBED = 4
#: A URL (or anything up to the last ``@`` after its ``//``) in a library's message.
USERINFO_IN_TEXT = re.compile(r"//[^\s'\"<>]*@")


@dataclass(frozen=True)
class Answer:
    """A server's answer: its HTTP status and its body as a JSON object (``{}`` if none)."""

    status: int
    body: dict[str, Any]


class _Reply:
    """What one exchange brought back: status line, content type, and the decoded body."""

    __slots__ = ("status", "reason", "content_type", "body")

    def __init__(self, status: int, reason: str, content_type: str, body: bytearray) -> None:
        self.status = status
        self.reason = reason
        self.content_type = content_type
        self.body = body

    def take_body(self) -> bytearray:
        """The body, no longer held here (so parsing it does not keep two copies alive)."""
        body, self.body = self.body, bytearray()
        return body


class _Exchange:
    """One exchange run by a worker thread: the sockets it uses and how it ended.

    :meth:`abandon` (the command stopped waiting) shuts the sockets down, those opened
    later included, so a worker blocked in a read returns at once.
    """

    def __init__(self) -> None:
        self.reply: _Reply | None = None
        self.failure: _Failure | None = None
        self._sockets: list[socket.socket] = []
        self._abandoned = False
        self._lock = threading.Lock()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            abandoned = self._abandoned
        if abandoned:
            shut_down(sock)

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            sockets = list(self._sockets)
        for sock in sockets:
            shut_down(sock)


class _Current(threading.local):
    """The exchange the current (worker) thread runs, for the connections to report to."""

    exchange: _Exchange | None = None


_current = _Current()


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
        self._grace_ends: float | None = None
        self._secrets = _secrets_of(url, key)

    def __repr__(self) -> str:
        return f"Client({display_url(self.url)!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        payload: dict[str, Any] | None = None,
        expected: tuple[int, ...] = (),
        array: bool = False,
    ) -> Answer:
        """Send ``method path`` (with ``payload`` as its JSON body); the answer when it is a
        200 with a JSON object, or one of the ``expected`` statuses (whose body may be
        anything: ``{}`` when not an object). With ``array``, a 200's body may also be a
        JSON array (``GET /agents``), returned as it is.

        Raises :class:`ServerFailure` for anything else: no connection, no whole answer
        within the budget, a redirect or another status, a body too large, a 200 whose
        body is not a JSON object.
        """
        where = f"{method} {path}"
        reply = self._exchange(method, path, params, where, payload)
        if reply.status != 200:
            if reply.status in expected:
                return Answer(reply.status, _lenient_json(reply.body))
            code = REFUSED if reply.status in (401, 403) else SERVER_ERROR
            raise self._failure(f"{where}: {self._http_reason(reply)}", code)
        if _values(reply.body) > MAX_JSON_VALUES:
            raise self._failure(
                f"{where}: the response is too large (over {MAX_JSON_VALUES:,} JSON values)",
                BAD_ANSWER,
            )
        body = _json(reply.take_body())
        if body is _NOT_JSON:
            kind = self.shown(reply.content_type, 60) or "no content type"
            raise self._failure(f"{where}: the response is not JSON ({kind})", BAD_ANSWER)
        if not isinstance(body, dict) and not (array and isinstance(body, list)):
            raise self._failure(f"{where}: unexpected response: not a JSON object", BAD_ANSWER)
        return Answer(200, body)  # type: ignore[arg-type]

    def _failure(self, reason: str, code: str, *, deadline: bool = False) -> ServerFailure:
        """The failure to raise for ``reason``: secrets hidden whoever wrote the text (a
        server may echo the key in its reason phrase)."""
        return ServerFailure(self.scrub(reason), code=code, deadline=deadline)

    def _budget(self) -> float:
        """How long the next exchange may take: the timeout, capped by the ``--wait``
        deadline plus :data:`DEADLINE_GRACE` (0 once that grace is spent)."""
        now = time.monotonic()
        left = deadline.remaining(self.timeout)
        if left >= self.timeout:
            return self.timeout
        if left > 0:
            self._grace_ends = now + left + DEADLINE_GRACE
        elif self._grace_ends is None:
            self._grace_ends = now + DEADLINE_GRACE
        return min(self.timeout, max(0.0, self._grace_ends - now))

    def _exchange(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        where: str,
        payload: dict[str, Any] | None = None,
    ) -> _Reply:
        """Run one exchange in a worker thread and wait for it at most the budget."""
        budget = self._budget()
        if budget <= 0:
            raise self._failure("no answer before the --wait timeout", TIMEOUT, deadline=True)
        cut = budget < self.timeout  # the --wait deadline, not the timeout, set the budget
        http = self._session()
        exchange = _Exchange()
        worker = threading.Thread(
            target=self._work,
            args=(exchange, http, method, path, params, budget, where, payload),
            name="ao-http",
            daemon=True,
        )
        worker.start()
        worker.join(budget)
        if worker.is_alive():
            exchange.abandon()
            self._http = None  # the abandoned worker may still hold the old pool
            raise self._failure(f"no answer within {_seconds(budget)} s", TIMEOUT, deadline=cut)
        if exchange.reply is None:
            failure = exchange.failure or _Failure("cannot send the request", UNREACHABLE)
            deadline = cut and failure.code == TIMEOUT
            raise self._failure(failure.reason, failure.code, deadline=deadline)
        return exchange.reply

    def _session(self) -> requests.Session:
        """The command's ``requests.Session``, whose connections report their sockets."""
        if self._http is None:
            self._http = _watched_session()
        return self._http

    def _work(
        self,
        exchange: _Exchange,
        http: requests.Session,
        method: str,
        path: str,
        params: dict[str, str] | None,
        budget: float,
        where: str,
        payload: dict[str, Any] | None,
    ) -> None:
        """The worker: send, read the whole answer, record the reply or the failure."""
        _current.exchange = exchange
        try:
            exchange.reply = self._send(http, method, path, params, budget, where, payload)
        except _Failure as failure:
            exchange.failure = failure
        except BaseException as exc:  # noqa: BLE001 - a worker must never raise
            reason = f"cannot send the request ({type(exc).__name__})"
            exchange.failure = _Failure(self._detailed(reason, exc), UNREACHABLE)

    def _send(
        self,
        http: requests.Session,
        method: str,
        path: str,
        params: dict[str, str] | None,
        budget: float,
        where: str,
        payload: dict[str, Any] | None = None,
    ) -> _Reply:
        import requests
        from requests.exceptions import InvalidSchema, InvalidURL, MissingSchema
        from urllib3.exceptions import HTTPError, ReadTimeoutError

        failure: _Failure | None = None
        try:
            response = http.request(
                method,
                self.url + path,
                params=params,
                json=payload,
                timeout=(budget, budget),
                auth=_Bearer(self._key) if self._key else None,
                allow_redirects=False,
                stream=True,
            )
            try:
                return _read(response, where, self.shown)
            finally:
                response.close()
        except _Failure:
            raise
        except (requests.Timeout, ReadTimeoutError, TimeoutError) as exc:
            reason = self._detailed(f"no answer within {_seconds(budget)} s", exc)
            failure = _Failure(reason, TIMEOUT)
        except requests.ConnectionError as exc:
            failure = _Failure(self._detailed(_connection_reason(exc), exc), UNREACHABLE)
        except (InvalidURL, InvalidSchema, MissingSchema) as exc:
            failure = _Failure(self._detailed("not a valid http:// URL", exc), CONFIG)
        except (requests.RequestException, ValueError) as exc:
            reason = f"cannot send the request ({type(exc).__name__})"
            failure = _Failure(self._detailed(reason, exc), UNREACHABLE)
        except (HTTPError, OSError) as exc:  # while reading the body: urllib3's own
            failure = _Failure(self._detailed(f"{where}: the answer broke off", exc), UNREACHABLE)
        raise failure  # outside the handlers: no __context__ to carry secrets

    def _detailed(self, reason: str, exc: BaseException) -> str:
        """``reason``, followed by what requests said when debugging is on (secrets hidden)."""
        if not self._debug:
            return reason
        return f"{reason}: {self.scrub(str(exc))}"

    def scrub(self, text: str) -> str:
        """``text`` with the key and the URL's user info replaced by ``***``, on one line."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = USERINFO_IN_TEXT.sub("//***@", text)
        return printable(text)

    def shown(self, text: str, limit: int) -> str:
        """What a server wrote (a reason phrase, a content type), for a message: scrubbed,
        then cut to ``limit`` characters, and a piece of a secret left at the cut hidden."""
        text = self.scrub(text)
        if len(text) <= limit:
            return text
        text = text[:limit]
        for secret in self._secrets:
            piece = next((n for n in range(len(secret) - 1, 0, -1) if text.endswith(secret[:n])), 0)
            if piece:
                return text[:-piece] + "***"
        return text

    def _http_reason(self, reply: _Reply) -> str:
        text = f"HTTP {reply.status}"
        phrase = self.shown(reply.reason, 60)
        if phrase:
            text += f" {phrase}"
        if 300 <= reply.status < 400:
            text += " (redirects are not followed)"
        if reply.status in (401, 403) and self._key_variable:
            text += f", check {self._key_variable}"
        return text


class _Failure(Exception):
    """An exchange that failed, with the reason shown and its code (inside the worker only)."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


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


def _read(response: requests.Response, where: str, shown: Callable[[str, int], str]) -> _Reply:
    """The whole answer of ``response``, decoded, within :data:`MAX_RESPONSE_BYTES`
    (``shown`` makes what the server wrote fit for a message)."""
    too_large = f"{where}: the response is too large (over {MAX_RESPONSE_BYTES >> 20} MiB)"
    headers = response.headers
    length = headers.get("Content-Length", "")
    if length.strip().isdigit() and int(length) > MAX_RESPONSE_BYTES:
        raise _Failure(too_large, BAD_ANSWER)
    encoding = headers.get("Content-Encoding", "")
    decode = _decoder(encoding)
    if decode is None:
        what = shown(encoding, 40)
        raise _Failure(f"{where}: the response has an unsupported encoding ({what})", BAD_ANSWER)
    body = bytearray()
    raw = 0
    while True:
        chunk = response.raw.read(CHUNK, decode_content=False)
        if not chunk:
            break
        raw += len(chunk)
        if raw > MAX_RESPONSE_BYTES:
            raise _Failure(too_large, BAD_ANSWER)
        try:
            decode(chunk, body, MAX_RESPONSE_BYTES)
        except zlib.error:
            what = shown(encoding.strip(), 40)
            raise _Failure(f"{where}: the response is not valid {what}", BAD_ANSWER) from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise _Failure(too_large, BAD_ANSWER)
    response.raw.release_conn()  # read to the end: the connection may serve the next one
    return _Reply(
        response.status_code,
        response.reason or "",
        headers.get("Content-Type") or "",
        body,
    )


def _decoder(encoding: str) -> Callable[[bytes, bytearray, int], None] | None:
    """A function inflating successive chunks of a body in ``encoding`` onto a bytearray,
    stopping once it holds more than the given limit (at most :data:`CHUNK` * 16 bytes
    are inflated at a time); None for an encoding not asked for."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return lambda chunk, into, limit: into.extend(chunk)
    if name in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif name == "deflate":
        wbits = zlib.MAX_WBITS  # zlib's format, or else raw deflate (as servers send both)
    else:
        return None
    state = {"d": zlib.decompressobj(wbits), "first": True}

    def decode(chunk: bytes, into: bytearray, limit: int) -> None:
        while chunk and len(into) <= limit:
            d = state["d"]
            try:
                into += d.decompress(chunk, min(CHUNK * 16, limit + 1 - len(into)))
            except zlib.error:
                if not (name == "deflate" and state["first"]):
                    raise
                state["d"] = zlib.decompressobj(-zlib.MAX_WBITS)
                state["first"] = False
                continue
            state["first"] = False
            if d.unconsumed_tail:
                chunk = d.unconsumed_tail
            elif d.eof and d.unused_data and name != "deflate":
                chunk = d.unused_data  # the next gzip member
                state["d"] = zlib.decompressobj(wbits)
            else:
                chunk = b""

    return decode


#: :func:`_json`'s answer for a body that is not JSON.
_NOT_JSON = object()


def _json(body: bytearray) -> object:
    """``body`` parsed (as UTF-8, -16 or -32, as JSON allows); :data:`_NOT_JSON` if it is not.

    The bytes are decoded to text and dropped before parsing, so the peak is the text and
    what it parses into, not also the bytes. ``body`` is emptied.
    """
    import json

    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        return _NOT_JSON
    finally:
        body.clear()
    try:
        return json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _not_json(literal: str) -> object:
    """``NaN``, ``Infinity``, ``-Infinity``: Python reads them, JSON has no such thing."""
    raise ValueError(f"{literal} is not JSON")


def _values(body: bytes | bytearray) -> int:
    """An upper bound of the number of JSON values in ``body`` (a few ms for 32 MiB)."""
    return sum(body.count(c) for c in (b",", b":", b"{", b"["))


def _lenient_json(body: bytearray) -> dict[str, Any]:
    """The body of an expected non-200 answer as a JSON object; ``{}`` when it is not one."""
    parsed = _json(body) if _values(body) <= MAX_JSON_VALUES else None
    return parsed if isinstance(parsed, dict) else {}


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


def _seconds(value: float) -> str:
    return f"{round(value, 2):g}"


def shut_down(sock: socket.socket) -> None:
    """Shut ``sock`` down for both directions: a read blocked on it returns at once.

    The plain socket method, also for a TLS socket, whose own one would pull its state
    from under the worker.
    """
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _secrets_of(url: str, key: str | None) -> list[str]:
    """The texts never to show: the key, and the URL's user info, password and their
    percent-decoded forms; longest first, so a secret is never partly replaced."""
    from urllib.parse import unquote

    found = {key} if key else set()
    userinfo = _userinfo(url)
    if userinfo:
        password = userinfo.partition(":")[2]
        found.update({userinfo, unquote(userinfo), password, unquote(password)})
    return sorted((s for s in found if len(s) >= MIN_SCRUBBED), key=len, reverse=True)


def _userinfo(url: str) -> str:
    """Everything between the URL's ``//`` (its start if none) and the last ``@`` after it."""
    start = url.find("//")
    start = 0 if start < 0 else start + 2
    at = url.rfind("@", start)
    return url[start:at] if at >= 0 else ""


def display_url(url: str) -> str:
    """``url`` as shown to the user: any user name and password (everything between ``//``
    and the last ``@``) as ``***``, characters that are not printable escaped."""
    start = url.find("//")
    start = 0 if start < 0 else start + 2
    at = url.rfind("@", start)
    if at >= 0:
        url = url[:start] + "***" + url[at:]
    return printable(url)


def _watched_session() -> requests.Session:
    """A ``requests.Session`` whose connections report their sockets to the current
    :class:`_Exchange` (so it can shut them down), asking only for gzip or deflate."""
    import requests

    http = requests.Session()
    http.headers["Accept-Encoding"] = ACCEPT_ENCODING
    pools = _watched_pools()
    for prefix in ("http://", "https://"):
        adapter = http.get_adapter(prefix)
        adapter.poolmanager.pool_classes_by_scheme = pools  # type: ignore[union-attr]
    return http


_POOLS: dict[str, type] = {}


def _watched_pools() -> dict[str, type]:
    """urllib3 connection pools whose connections report each socket they use."""
    if _POOLS:
        return _POOLS
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def watched(base: type) -> type:
        class Watched(base):  # type: ignore[valid-type, misc]
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                _report(sock)
                return sock

            def request(self, *args: Any, **kwargs: Any) -> None:
                _report(self.sock)  # a kept-alive connection, used again
                super().request(*args, **kwargs)

        Watched.__name__ = Watched.__qualname__ = base.__name__  # as messages name them
        return Watched

    _POOLS.update(
        http=type(
            "HTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": watched(HTTPConnection)}
        ),
        https=type(
            "HTTPSConnectionPool",
            (HTTPSConnectionPool,),
            {"ConnectionCls": watched(HTTPSConnection)},
        ),
    )
    return _POOLS


def _report(sock: socket.socket | None) -> None:
    exchange = _current.exchange
    if exchange is not None:
        exchange.watch(sock)
