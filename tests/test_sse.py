"""The event-stream framing (ao_plugins.api.sse), on bytes as a server sends them."""

from __future__ import annotations

import pytest

from ao_plugins.api.sse import Frame, FrameTooLarge, frames, lines

BODY = (
    b": welcome\n\n"
    b'id: 1\nevent: init\ndata: {"sessions": []}\n\n'
    b": heartbeat\n\n"
    b"id: 2\r\nevent: session_updated\r\n"
    b'data: {"session": {"session_id": "s", "status": "finished"}}\r\n\r\n'
    b"data: first\ndata:second\n\n"
    b"event: empty\n\n"
    b"retry: 10\nevent: event\ndata: caf\xc3\xa9\n\n"
)
EXPECTED = [
    Frame("init", '{"sessions": []}'),
    Frame("session_updated", '{"session": {"session_id": "s", "status": "finished"}}'),
    Frame("message", "first\nsecond"),
    Frame("event", "café"),
]


@pytest.mark.parametrize("size", [1, 2, 7, 64, len(BODY)])
def test_frames_whatever_the_chunks(size: int) -> None:
    chunks = [BODY[i : i + size] for i in range(0, len(BODY), size)]
    assert list(frames(chunks)) == EXPECTED


def test_a_line_is_given_as_soon_as_it_ends() -> None:
    """Nothing waits for more bytes than the line needs (the stream stays open)."""
    got = lines(iter([b"event: init\ndata: {}", b"\n", b"\n"]))
    assert next(got) == "event: init"
    assert next(got) == "data: {}"
    assert next(got) == ""


def test_an_unfinished_frame_is_not_dispatched() -> None:
    assert list(frames([b"event: init\ndata: {}\n"])) == []


def test_an_endless_line_is_refused() -> None:
    with pytest.raises(FrameTooLarge):
        list(frames([b"data: " + b"x" * 100] * 10, limit=500))
