"""Server-Sent Events framing: the bytes of a ``text/event-stream`` body as (event, data) frames.

Pure parsing, no I/O, so it is tested on its own and costs nothing to import. Lines end
with ``\\n`` or ``\\r\\n``; ``event:`` names a frame (``message`` when absent), ``data:``
lines are joined with ``\\n``, a blank line dispatches the frame, and comment lines
(``: heartbeat``) and the ``id:``/``retry:`` fields are skipped: the Agent Coordinator
replays nothing, so a client that reconnects reads ``init`` again instead of resuming.

A frame is bounded as it arrives, whatever the server does: the data lines gathered so
far plus the line still arriving may not pass ``limit`` bytes, checked after every chunk
(so never more than ``limit`` and one chunk are held), and a frame's data is gathered in
one buffer (millions of tiny ``data:`` lines cost their bytes, not an object each).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

#: The most bytes a frame may have (the ``init`` frame of 10,000 sessions is about 3 MB).
MAX_LINE = 32 * 1024 * 1024
_CR, _SPACE, _COLON = 0x0D, 0x20, 0x3A


class FrameTooLarge(ValueError):
    """A frame (or line) longer than the limit: the stream is not what it claims to be."""


@dataclass(frozen=True)
class Frame:
    """One dispatched event: its name and its data (the bytes of its ``data:`` lines)."""

    event: str
    data: bytes | bytearray


class Parser:
    """Turns the chunks of a stream, fed one by one, into frames."""

    def __init__(self, limit: int = MAX_LINE) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self._event = ""
        self._data = bytearray()
        self._data_lines = 0

    def feed(self, chunk: bytes) -> list[Frame]:
        """The frames ``chunk`` completes (each as soon as its blank line arrives).

        Raises :class:`FrameTooLarge` once the frame under way holds more than the limit.
        """
        buffer = self._buffer
        scanned = len(buffer)
        buffer += chunk
        done: list[Frame] = []
        start = 0
        while (end := buffer.find(b"\n", max(start, scanned))) >= 0:
            stop = end - 1 if end > start and buffer[end - 1] == _CR else end
            frame = self._line(buffer, start, stop)
            if frame is not None:
                done.append(frame)
            start = end + 1
        del buffer[:start]
        if len(self._data) + len(buffer) > self.limit:
            raise FrameTooLarge(f"a frame longer than {self.limit} bytes")
        return done

    def _line(self, buffer: bytearray, start: int, stop: int) -> Frame | None:
        if start == stop:
            return self._dispatch()
        if buffer[start] == _COLON:
            return None  # a comment
        colon = buffer.find(b":", start, stop)
        value = stop if colon < 0 else colon + 1
        if value < stop and buffer[value] == _SPACE:
            value += 1
        name_end = stop if colon < 0 else colon
        if name_end - start == 4 and buffer.startswith(b"data", start):
            if self._data_lines:
                self._data += b"\n"
            self._data += memoryview(buffer)[value:stop]
            self._data_lines += 1
            if len(self._data) > self.limit:
                raise FrameTooLarge(f"a frame longer than {self.limit} bytes")
        elif name_end - start == 5 and buffer.startswith(b"event", start):
            self._event = buffer[value:stop].decode("utf-8", "replace")
        return None

    def _dispatch(self) -> Frame | None:
        frame = Frame(self._event or "message", self._data) if self._data_lines else None
        self._event, self._data, self._data_lines = "", bytearray(), 0
        return frame


def frames(chunks: Iterable[bytes], limit: int = MAX_LINE) -> Iterator[Frame]:
    """The frames of a ``text/event-stream`` body; a frame without data is not dispatched."""
    parser = Parser(limit)
    for chunk in chunks:
        yield from parser.feed(chunk)
