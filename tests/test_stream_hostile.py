"""Issue 19, items 1, 5 and 10: the Agent Coordinator's event stream, sent by a hostile
server of the suite's own (:mod:`hostile_server`), obeys the bounds of every other answer.

A frame that never ends, one chunk of gigabytes without a newline, a frame of too many
JSON values: each ends the stream as a failure, in bounded memory, and the wait goes on
by polling to its ``--timeout`` (124, the status the rounds saw). An ``init`` that leaves
the watched session out, or is not an ``init`` at all, costs a few rounds, never a
reconnect storm, and never a warning. Time is not asserted (figures are in
docs/reliability.md); a command must finish, well under a generous bound.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from conftest import BIN_DIR, clean_environ
from hostile_server import (
    HostileServer,
    Request,
    answer,
    coordinator_session,
    endless_chunk,
    event_stream,
    frame,
    in_turn,
)
from peak_memory import BOUND_MIB, measure
from server_fixtures import SSE_PATH, api_env

from ao_plugins.api.client import MAX_JSON_VALUES, MAX_RESPONSE_BYTES
from ao_plugins.api.events import MAX_DISAGREEMENTS, MAX_FAILURES

pytestmark = pytest.mark.slow  # pytest -m 'not slow' leaves these out

SID = "ses_0123456789ab"
#: "Finishes at all": far above any bound, far below "for ever".
FINISHES = 60
WAIT = ["--wait", "--timeout", "4", "--interval", "0.5"]


@pytest.fixture
def coordinator_like() -> Iterator[HostileServer]:
    """A server that holds SID as running (as the Coordinator answers) and whose event
    stream each test sets."""
    with HostileServer() as server:
        server.route("GET", f"/sessions/{SID}", answer(coordinator_session(SID, "running")))
        yield server


def wait_for(server: HostileServer, env: dict[str, str], *args: str):
    exe = shutil.which("ao-status", path=str(BIN_DIR))
    settings = clean_environ(**{**env, **api_env(server.url)})
    return measure([exe, SID, *WAIT, *args], settings, timeout=FINISHES)


def stream_requests(server: HostileServer) -> int:
    return sum(r.path == SSE_PATH for r in server.requests)


def lookups(server: HostileServer) -> int:
    return sum(r.path == f"/sessions/{SID}" for r in server.requests)


def init_running(request: Request) -> Iterator[bytes]:
    yield frame("init", {"sessions": [{"session_id": SID, "status": "running"}]})


# --- 1. size on the wire and decoded, values, time -----------------------------------------


def data_lines_for_ever(request: Request) -> Iterator[bytes]:
    """``data:`` lines of 64 KiB each, as fast as they go, and never the blank line."""
    yield from init_running(request)
    line = b"data: " + b"x" * (64 * 1024) + b"\n"
    while not request.closed.is_set():
        yield line


def tiny_values(count: int):
    def pieces(request: Request) -> Iterator[bytes]:
        yield from init_running(request)
        data = b"[" + b"0," * (count - 1) + b"0]"
        while not request.closed.is_set():
            yield frame("session_updated", data)

    return pieces


@pytest.mark.parametrize(
    "behaviour",
    [
        pytest.param(lambda: event_stream(data_lines_for_ever), id="a-frame-that-never-ends"),
        pytest.param(endless_chunk, id="one-2GiB-chunk-without-a-newline"),
        pytest.param(lambda: event_stream(tiny_values(MAX_JSON_VALUES + 1)), id="too-many-values"),
    ],
)
def test_a_stream_over_the_bounds_fails_in_bounded_memory(env, coordinator_like, behaviour):
    coordinator_like.route("GET", SSE_PATH, behaviour())
    run = wait_for(coordinator_like, env)
    assert (run.status, run.out, run.err) == (124, "running\n", "")
    assert run.peak_mib < BOUND_MIB
    # each stream failed; after a few the wait polled instead of asking again
    assert 1 <= stream_requests(coordinator_like) <= MAX_FAILURES
    assert lookups(coordinator_like) >= 3


def test_frames_at_the_values_limit_never_hold_the_deadline(env, coordinator_like) -> None:
    """Frames just under the limit of JSON values, one after the other: each is parsed (on
    the reader's thread) and dropped, and the wait still ends as timed out, not with an
    answer a starved round made up."""
    coordinator_like.route("GET", SSE_PATH, event_stream(tiny_values(MAX_JSON_VALUES - 10)))
    run = wait_for(coordinator_like, env)
    assert (run.status, run.out, run.err) == (124, "running\n", "")
    assert run.peak_mib < BOUND_MIB


def test_one_frame_at_the_size_limit_is_read(env) -> None:
    """The bound is the bound: a frame of just under 32 MiB (an init whose session has
    ended) is parsed and believed, and the round it asks for ends the wait."""
    padding = "x" * (MAX_RESPONSE_BYTES - 200)

    def big_init(request: Request) -> Iterator[bytes]:
        yield frame("init", {"sessions": [{"session_id": SID, "status": "finished"}], "p": padding})

    with HostileServer() as server:
        running = answer(coordinator_session(SID, "running"))
        finished = answer(coordinator_session(SID, "finished"))
        server.route("GET", f"/sessions/{SID}", in_turn(running, finished))
        server.route("GET", SSE_PATH, event_stream(big_init))
        run = wait_for(server, env)
    assert (run.status, run.out, run.err) == (0, "finished\n", "")
    assert run.peak_mib < BOUND_MIB
    assert stream_requests(server) == 1


# --- 5. an init that disagrees with the rounds: no reconnect storm --------------------------

DISAGREEING_INITS = {
    "missing": {"sessions": [{"session_id": "ses_ffffffffffff", "status": "running"}]},
    "empty": {"sessions": []},
    "ended-while-get-says-running": {"sessions": [{"session_id": SID, "status": "finished"}]},
    "deleted-on-the-stream": None,
}


@pytest.mark.parametrize("kind", list(DISAGREEING_INITS))
def test_a_stream_that_keeps_disagreeing_is_dropped_for_polling(env, coordinator_like, kind):
    def pieces(request: Request) -> Iterator[bytes]:
        if kind == "deleted-on-the-stream":
            yield from init_running(request)
            yield frame("session_deleted", {"session_id": SID})
        else:
            yield frame("init", DISAGREEING_INITS[kind])

    coordinator_like.route("GET", SSE_PATH, event_stream(pieces))
    run = wait_for(coordinator_like, env)
    assert (run.status, run.out, run.err) == (124, "running\n", "")
    # before: 5,447 requests in 10 s; now the disagreements give the stream up, and
    # polling keeps to its pauses (0.1 s growing to --interval 0.5 over a 4 s wait)
    assert stream_requests(coordinator_like) <= MAX_DISAGREEMENTS + 1
    assert lookups(coordinator_like) <= 30


MALFORMED_INITS = {
    "not-json": b"{not json",
    "a-list": b"[1, 2, 3]",
    "sessions-null": b'{"sessions": null}',
    "sessions-a-number": b'{"sessions": 5}',
    "sessions-a-string": b'{"sessions": "ses_0123456789ab"}',
    "an-unhashable-id": b'{"sessions": [{"session_id": ["ses_0123456789ab"], "status": "x"}]}',
    "nan": b'{"sessions": [{"session_id": "ses_0123456789ab", "status": NaN}]}',
}


@pytest.mark.parametrize("kind", list(MALFORMED_INITS))
def test_a_malformed_init_is_a_failed_stream_never_a_warning(env, coordinator_like, kind):
    def pieces(request: Request) -> Iterator[bytes]:
        yield frame("init", MALFORMED_INITS[kind])
        yield frame("session_updated", b'{"session": 5}')

    coordinator_like.route("GET", SSE_PATH, event_stream(pieces))
    run = wait_for(coordinator_like, env)
    assert (run.status, run.out, run.err) == (124, "running\n", "")
    assert stream_requests(coordinator_like) <= MAX_FAILURES + 1
    assert lookups(coordinator_like) <= 30


def test_other_frames_with_odd_shapes_are_ignored(env, coordinator_like) -> None:
    """Frames about other sessions, or shaped wrong, change nothing and cost no warning."""

    def pieces(request: Request) -> Iterator[bytes]:
        yield from init_running(request)
        for data in (
            b"5",
            b'{"session": [1]}',
            b'{"session": {"session_id": {"a": 1}, "status": "finished"}}',
            b'{"session_id": ["x"]}',
            b'{"session": {"session_id": "ses_ffffffffffff", "status": "finished"}}',
        ):
            for event in ("session_updated", "session_created", "session_deleted", "run_failed"):
                yield frame(event, data)

    coordinator_like.route("GET", SSE_PATH, event_stream(pieces))
    run = wait_for(coordinator_like, env)
    assert (run.status, run.out, run.err) == (124, "running\n", "")
    assert stream_requests(coordinator_like) == 1  # one stream, kept for the whole wait


def test_an_encoding_not_asked_for_fails_the_stream(env, coordinator_like) -> None:
    import gzip

    body = gzip.compress(frame("init", {"sessions": [{"session_id": SID, "status": "finished"}]}))
    coordinator_like.route(
        "GET",
        SSE_PATH,
        answer(body, content_type="text/event-stream", headers={"Content-Encoding": "gzip"}),
    )
    run = wait_for(coordinator_like, env)
    assert (run.status, run.out, run.err) == (124, "running\n", "")
    assert stream_requests(coordinator_like) <= MAX_FAILURES
