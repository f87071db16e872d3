"""A server that misbehaves at the byte level, for the hardening tests (issue 15).

:class:`HostileServer` is a plain socket server on 127.0.0.1 (one thread accepting, one
per connection), not an HTTP framework: it must be able to send half a header, one byte
every second, a body that never ends or a gzip stream that inflates to gigabytes. Each
request is answered by the first route whose method and path (a regex matched against the
whole path, query left out) fit; unmatched requests get a 404 JSON answer. Every answer
closes its connection. What each answer does is a *behaviour*, made by the functions
below:

- :func:`answer` (alias :func:`inject`): a canned answer, e.g. ``{"status": "running\\nfinished"}``
  or sessions whose names and project dirs carry control characters
  (:func:`hostile_sessions`);
- :func:`drip`: a valid answer sent one byte every ``interval`` seconds, ``where`` the
  drip starts: ``"headers"``, ``"body"`` or ``"chunked"`` (chunked encoding, one byte per
  chunk);
- :func:`silence`: read the request, never answer;
- :func:`gzip_bomb`: ``Content-Encoding: gzip``, a few KiB on the wire per GiB inflated,
  generated while sent (never held in memory);
- :func:`huge`: a plain body of ``size`` bytes (``Content-Length`` set);
- :func:`endless`: a body without length that never ends;
- :func:`redirect`: 301/302/307/308 with a ``Location``;
- :func:`delayed`: another behaviour, after a pause; :func:`in_turn`: one behaviour per
  request, in turn (the last one for every later request);
- :func:`event_stream`: a ``text/event-stream`` answer made of the pieces a generator
  yields (each its own chunk), the connection then held open; :func:`endless_chunk`: one
  chunk announced as gigabytes, of bytes that never hold a newline.

Example::

    with HostileServer() as server:
        server.route("GET", "/sessions", drip("body", interval=0.5))
        server.route("GET", "/sessions/.+/status", answer({"status": "running\\nfinished"}))
        ...  # run a command against server.url; server.requests lists what arrived
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

#: A behaviour: given the connection and the request, writes whatever it likes.
Behaviour = Callable[[socket.socket, "Request"], None]

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    404: "Not Found",
    500: "Internal Server Error",
}


@dataclass(frozen=True)
class Request:
    """One request as it arrived: method, path (query split off), query, headers."""

    method: str
    path: str
    query: str
    headers: dict[str, str] = field(default_factory=dict)
    #: Set when the server is closed: a behaviour that waits should wait on it.
    closed: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)


class HostileServer:
    """Serves :class:`Request` s with behaviours chosen per route; see the module docstring."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._routes: list[tuple[str, re.Pattern[str], Behaviour]] = []
        self._requests: list[Request] = []
        self._open: set[socket.socket] = set()
        self._lock = threading.Condition()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def route(self, method: str, path: str, behaviour: Behaviour) -> None:
        """Answer ``method`` requests whose path fully matches regex ``path`` with ``behaviour``.

        Routes added first win.
        """
        with self._lock:
            self._routes.append((method.upper(), re.compile(path), behaviour))

    @property
    def requests(self) -> list[Request]:
        """Every request that arrived so far, in order."""
        with self._lock:
            return list(self._requests)

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[Request]:
        """Wait until ``count`` requests arrived (fails the test after ``timeout`` s)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(f"{len(self._requests)} of {count} requests arrived")
            return list(self._requests)

    def close(self) -> None:
        """Stop: the listening socket and every open connection are closed."""
        with self._lock:
            self._closed.set()
            conns = list(self._open)
        for conn in conns:
            _shut(conn)
        _shut(self._socket)
        self._thread.join(5)

    # The server's inside

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            with self._lock:
                if self._closed.is_set():
                    _shut(conn)
                    return
                self._open.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            request = _read_request(conn, self._closed)
            if request is None:
                return
            with self._lock:
                self._requests.append(request)
                self._lock.notify_all()
                behaviour = next(
                    (
                        b
                        for m, p, b in self._routes
                        if m == request.method and p.fullmatch(request.path)
                    ),
                    answer({"detail": "Not Found"}, status=404),
                )
            behaviour(conn, request)
        except OSError:
            pass  # the client went away: that is what many behaviours expect
        finally:
            with self._lock:
                self._open.discard(conn)
            _shut(conn)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _not_found(conn: socket.socket, request: Request) -> None:
    answer({"detail": "Not Found"}, status=404)(conn, request)


NOT_FOUND: Behaviour = _not_found


def _read_request(conn: socket.socket, closed: threading.Event) -> Request | None:
    """The request on ``conn`` (its body, if any, read and dropped); None if it never came."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1 << 20:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    path, _, query = target.partition("?")
    return Request(method.upper(), path, query, headers, closed)


def _head(status: int, headers: dict[str, str], reason: str | None = None) -> bytes:
    reason = REASONS.get(status, "Unknown") if reason is None else reason
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _body_bytes(body: object) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


# --- behaviours -----------------------------------------------------------------------


def answer(
    body: object,
    *,
    status: int = 200,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    reason: str | None = None,
) -> Behaviour:
    """A complete answer at once: ``body`` (bytes, text, or anything JSON can dump), with
    the status line's ``reason`` phrase when given (anything: it is what a server says)."""
    data = _body_bytes(body)

    def behave(conn: socket.socket, request: Request) -> None:
        head = {
            "Content-Type": content_type,
            "Content-Length": str(len(data)),
            "Connection": "close",
            **(headers or {}),
        }
        conn.sendall(_head(status, head, reason) + data)

    return behave


#: The canned answers with control characters are just answers.
inject = answer


def hostile_sessions(count: int = 3) -> dict[str, object]:
    """A ``GET /sessions`` body whose names and project dirs forge lines and colours.

    Names carry a newline followed by a fake ``Error:``, an ESC sequence (red, then
    clear-line), a carriage return and a NUL; project dirs a CR LF and a forged
    ``Warning:`` line. ``count`` sessions, ids ``hostile-0`` ...
    """
    forged = [
        ("evil\nError: Session 'x' does not exist", "/p\r\nWarning: forged line"),
        ("red\x1b[31mALERT\x1b[0m\x1b[2K", "/p\x1b]0;title\x07"),
        ("cr\rover\x00nul", "/p\x08\x08\x08\x7fdel"),
    ]
    sessions = []
    for i in range(count):
        name, project_dir = forged[i % len(forged)]
        sessions.append(
            {
                "session_id": f"hostile-{i}",
                "session_name": name,
                "status": "finished",
                "project_dir": project_dir,
                "created_at": "2024-01-01T00:00:00Z",
            }
        )
    return {"sessions": sessions}


def drip(
    where: str = "body",
    *,
    interval: float = 0.5,
    body: object = None,
) -> Behaviour:
    """A valid 200 answer (``body``, default ``{"sessions": []}``) that trickles.

    ``where``: ``"headers"`` drips everything from the status line on; ``"body"`` sends
    the headers at once, then the body one byte every ``interval`` s; ``"chunked"`` sends
    the headers at once, then the body in chunked encoding, one one-byte chunk every
    ``interval`` s. A body padded with spaces to 10,000 bytes, so a drip lasts long.
    """
    if where not in {"headers", "body", "chunked"}:
        raise ValueError(f"drip where? {where!r}")
    data = _body_bytes({"sessions": []} if body is None else body).ljust(10_000)

    def pieces() -> Iterator[bytes]:
        if where == "chunked":
            yield _head(200, _json_headers(chunked=True))
            for byte in data:
                yield b"1\r\n" + bytes([byte]) + b"\r\n"
            yield b"0\r\n\r\n"
            return
        head = _head(200, {**_json_headers(), "Content-Length": str(len(data))})
        if where == "headers":
            yield from (bytes([b]) for b in head + data)
        else:
            yield head
            yield from (bytes([b]) for b in data)

    def behave(conn: socket.socket, request: Request) -> None:
        for i, piece in enumerate(pieces()):
            if i and request.closed.wait(interval):
                return
            conn.sendall(piece)

    return behave


def _json_headers(*, chunked: bool = False) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Connection": "close"}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    return headers


def silence(released: threading.Event | None = None, hold: float = 60.0) -> Behaviour:
    """Read the request and answer nothing: hold the connection until ``released`` is set
    (or ``hold`` seconds), then close it."""
    event = released or threading.Event()

    def behave(conn: socket.socket, request: Request) -> None:
        deadline = time.monotonic() + hold
        while not (event.is_set() or request.closed.is_set()):
            if time.monotonic() > deadline:
                return
            event.wait(0.05)

    return behave


def gzip_bomb(inflated: int = 4 << 30, *, block: int = 1 << 20) -> Behaviour:
    """``Content-Encoding: gzip`` of ``inflated`` zero bytes (default 4 GiB), compressed
    block by block as it is sent: about 1 KiB on the wire per MiB inflated, and the
    server holds one block at a time. No length: the body ends when the connection does."""
    zeros = bytes(block)

    def behave(conn: socket.socket, request: Request) -> None:
        headers = {**_json_headers(), "Content-Encoding": "gzip"}
        conn.sendall(_head(200, headers))
        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        sent = 0
        while sent < inflated:
            piece = compressor.compress(zeros[: min(block, inflated - sent)])
            sent += min(block, inflated - sent)
            if piece:
                conn.sendall(piece)
        conn.sendall(compressor.flush())

    return behave


def huge(size: int = 1 << 30, *, block: int = 1 << 20) -> Behaviour:
    """A plain JSON-typed body of ``size`` bytes (spaces), ``Content-Length`` announced."""
    spaces = b" " * block

    def behave(conn: socket.socket, request: Request) -> None:
        conn.sendall(_head(200, {**_json_headers(), "Content-Length": str(size)}))
        left = size
        while left > 0:
            conn.sendall(spaces[: min(block, left)])
            left -= block

    return behave


def endless(*, block: int = 1 << 16) -> Behaviour:
    """A JSON-looking body (``{"sessions": [`` then entries) without length, never ending."""
    entry = b'{"session_id": "e", "session_name": "endless"},' * (block // 48)

    def behave(conn: socket.socket, request: Request) -> None:
        conn.sendall(_head(200, _json_headers()) + b'{"sessions": [')
        while True:
            conn.sendall(entry)

    return behave


def redirect(status: int = 307, location: str = "/sessions") -> Behaviour:
    """A redirect (301, 302, 307 or 308) to ``location`` (a path here, or a full URL)."""

    def behave(conn: socket.socket, request: Request) -> None:
        body = b'{"detail": "moved"}'
        headers = {
            "Location": location,
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "Connection": "close",
        }
        conn.sendall(_head(status, headers) + body)

    return behave


def delayed(behaviour: Behaviour, seconds: float) -> Behaviour:
    """``behaviour``, ``seconds`` after the request arrived (a slow but honest server)."""

    def behave(conn: socket.socket, request: Request) -> None:
        if not request.closed.wait(seconds):
            behaviour(conn, request)

    return behave


def in_turn(*behaviours: Behaviour) -> Behaviour:
    """The first request gets the first behaviour, the next the second ..., every request
    after them the last one."""
    count = iter(range(1 << 62))
    lock = threading.Lock()

    def behave(conn: socket.socket, request: Request) -> None:
        with lock:
            index = next(count)
        behaviours[min(index, len(behaviours) - 1)](conn, request)

    return behave


def event_stream(
    pieces: Callable[[Request], Iterator[bytes]], *, chunked: bool = True
) -> Behaviour:
    """A 200 ``text/event-stream`` answer: each piece ``pieces(request)`` yields is sent as
    it comes (its own chunk, when ``chunked``; else the body has no length), then the
    connection is held open until the client or the server closes it."""

    def behave(conn: socket.socket, request: Request) -> None:
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        headers["Transfer-Encoding" if chunked else "Connection"] = (
            "chunked" if chunked else "close"
        )
        conn.sendall(_head(200, headers))
        for piece in pieces(request):
            if request.closed.is_set():
                return
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        request.closed.wait(60)

    return behave


def frame(event: str, data: object) -> bytes:
    """One event-stream frame: ``event:`` and one ``data:`` line (``data`` dumped as JSON
    unless it is bytes)."""
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return b"event: " + event.encode() + b"\ndata: " + body + b"\n\n"


def endless_chunk(size: int = 1 << 31, *, block: int = 1 << 20) -> Behaviour:
    """An event stream whose first chunk is announced as ``size`` bytes (2 GiB) and is then
    sent, ``x`` after ``x``, without a newline: a client must cut it as it arrives."""
    first, rest = b"data: " + b"x" * (block - 6), b"x" * block

    def behave(conn: socket.socket, request: Request) -> None:
        headers = {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}
        conn.sendall(_head(200, headers) + b"%x\r\n" % size + first)
        sent = len(first)
        while sent < size and not request.closed.is_set():
            conn.sendall(rest)
            sent += len(rest)

    return behave


def coordinator_session(session_id: str, status: str = "running") -> dict[str, object]:
    """What the Agent Coordinator answers to ``GET /sessions/ID``: a session without a name."""
    return {"session": {"session_id": session_id, "status": status, "project_dir": "/p"}}
