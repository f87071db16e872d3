"""Server-Sent Events framing: the bytes of a ``text/event-stream`` body as (event, data) frames.

Pure parsing, no I/O, so it is tested on its own and costs nothing to import. Lines end
with ``\\n`` or ``\\r\\n``; ``event:`` names a frame (``message`` when absent), ``data:``
lines are joined with ``\\n``, a blank line dispatches the frame, and comment lines
(``: heartbeat``) and the ``id:``/``retry:`` fields are skipped: the Agent Coordinator
replays nothing, so a client that reconnects reads ``init`` again instead of resuming.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

#: The longest line accepted (the ``init`` frame of 10,000 sessions is about 3 MB).
MAX_LINE = 32 * 1024 * 1024


class FrameTooLarge(ValueError):
    """A line longer than :data:`MAX_LINE`: the stream is not what it claims to be."""


@dataclass(frozen=True)
class Frame:
    """One dispatched event: its name and its data (still text)."""

    event: str
    data: str


def lines(chunks: Iterable[bytes], limit: int = MAX_LINE) -> Iterator[str]:
    """The lines of a byte stream arriving in ``chunks`` of any size, without line ends.

    A line is yielded as soon as its end arrives; bytes that are not UTF-8 are replaced.
    """
    buffer = bytearray()
    for chunk in chunks:
        scanned = len(buffer)
        buffer += chunk
        start = 0
        while (end := buffer.find(b"\n", max(start, scanned))) >= 0:
            line = buffer[start:end]
            yield line.rstrip(b"\r").decode("utf-8", "replace")
            start = end + 1
        del buffer[:start]
        if len(buffer) > limit:
            raise FrameTooLarge(f"a line longer than {limit} bytes")


def frames(chunks: Iterable[bytes], limit: int = MAX_LINE) -> Iterator[Frame]:
    """The frames of a ``text/event-stream`` body; a frame without data is not dispatched."""
    event, data = "", []
    for line in lines(chunks, limit):
        if not line:
            if data:
                yield Frame(event or "message", "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
