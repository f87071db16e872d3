"""The event-stream framing (ao_plugins.api.sse), on bytes as a server sends them."""

from __future__ import annotations

import pytest

from ao_plugins.api.sse import Frame, FrameTooLarge, Parser, frames

BODY = (
    b": welcome\n\n"
    b'id: 1\nevent: init\ndata: {"sessions": []}\n\n'
    b": heartbeat\n\n"
    b"id: 2\r\nevent: session_updated\r\n"
    b'data: {"session": {"session_id": "s", "status": "finished"}}\r\n\r\n'
    b"data: first\ndata:second\n\n"
    b"event: empty\n\n"
    b"retry: 10\nevent: event\ndata: caf\xc3\xa9\n\n"
    b"data\n\n"
)
EXPECTED = [
    Frame("init", b'{"sessions": []}'),
    Frame("session_updated", b'{"session": {"session_id": "s", "status": "finished"}}'),
    Frame("message", b"first\nsecond"),
    Frame("event", "café".encode()),
    Frame("message", b""),
]


@pytest.mark.parametrize("size", [1, 2, 7, 64, len(BODY)])
def test_frames_whatever_the_chunks(size: int) -> None:
    chunks = [BODY[i : i + size] for i in range(0, len(BODY), size)]
    assert list(frames(chunks)) == EXPECTED


def test_a_frame_is_given_as_soon_as_it_ends() -> None:
    """Nothing waits for more bytes than the frame needs (the stream stays open)."""
    parser = Parser()
    assert parser.feed(b"event: init\ndata: {}") == []
    assert parser.feed(b"\n") == []
    assert parser.feed(b"\n") == [Frame("init", b"{}")]


def test_an_unfinished_frame_is_not_dispatched() -> None:
    assert list(frames([b"event: init\ndata: {}\n"])) == []


def test_an_endless_line_is_refused() -> None:
    with pytest.raises(FrameTooLarge):
        list(frames([b"data: " + b"x" * 100] * 10, limit=500))


def test_a_line_without_an_end_is_refused_as_it_grows() -> None:
    """The limit holds on the bytes arriving, not once a line ends: the chunk that passes
    it is the last one taken."""
    parser = Parser(limit=1000)
    parser.feed(b"data: " + b"x" * 900)
    with pytest.raises(FrameTooLarge):
        parser.feed(b"x" * 200)


def test_data_lines_that_never_end_the_frame_are_refused() -> None:
    """Each line ends, the frame never does: the frame's bytes are what count."""
    parser = Parser(limit=1000)
    with pytest.raises(FrameTooLarge):
        for _ in range(1000):
            parser.feed(b"data: 0123456789\n")


def test_comments_cost_nothing_however_many() -> None:
    parser = Parser(limit=100)
    for _ in range(10_000):
        assert parser.feed(b": heartbeat\n") == []
    assert parser.feed(b"data: ok\n\n") == [Frame("message", b"ok")]
