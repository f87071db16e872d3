"""A backup ``.jsonl`` as a session's events, for ``ao-logs`` (the ``file`` backend).

The log is streamed, never held whole: it is read forward in :data:`CHUNK`-sized
``pread`` calls, one line at a time, and ``--tail N`` starts N lines before the end,
found by reading blocks backwards (the cost grows with those lines, not with the file).
A line longer than :data:`~ao_plugins.file.LAST_LINE_LIMIT` is skipped with a notice.
Following, a half-written last line waits for its line break (the session's end reads it
as it is); a log that shrank or was replaced under the reader is read again from its
start, after one notice. The usual rules of :mod:`ao_plugins.file` hold: only regular
files are opened, never a FIFO or device; permission denied is a
:class:`~ao_core.StorageError`.
"""

from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from collections.abc import Iterator

from ao_core import logs
from ao_core.records import Event
from ao_plugins.file import BLOCK, LAST_LINE_LIMIT, _Changed, _open_regular, _pread

#: The size of one forward read.
CHUNK = 1024 * 1024
#: The most events one look at a followed log gives (the rest come at the next).
BATCH = 1000
#: How often a followed log is looked at for growth, in seconds.
POLL = 0.05
#: Tool calls remembered to name the tool a later result belongs to.
TOOL_NAMES = 1000


class LogReader:
    """One session's ``.jsonl`` read as events, from where the last read stopped.

    ``offset`` is where the next unread line starts; ``_file`` the identity of the file
    read (device, inode), so a replaced log is noticed.
    """

    def __init__(self, path: str, name: str) -> None:
        self.path = path
        self.name = name
        self.offset = 0
        self._file: tuple[int, int] | None = None
        self._tools: OrderedDict[str, str] = OrderedDict()

    def history(self, tail: int | None) -> Iterator[Event]:
        """Every complete line's events from the start (or ``tail`` lines before the end),
        as the file is read."""
        opened = _open_regular(self.path)
        if opened is None:
            return
        fd, st = opened
        try:
            self._file = (st.st_dev, st.st_ino)
            if tail is not None:
                self.offset = _tail_start(fd, st.st_size, tail, self.path)
            for events in self._read(fd, st.st_size, final=False):
                yield from events
        finally:
            os.close(fd)

    def follow(self, timeout: float, *, last: bool) -> list[Event]:
        """The events of lines completed since the last read, waiting at most ``timeout``
        for one; ``last``: the run has ended, a last line without its line break counts."""
        end = time.monotonic() + timeout
        while True:
            events = self._poll(final=last)
            if events or last or time.monotonic() >= end:
                return events
            time.sleep(min(POLL, max(0.0, end - time.monotonic())))

    def _poll(self, *, final: bool) -> list[Event]:
        opened = _open_regular(self.path)
        if opened is None:
            return []
        fd, st = opened
        try:
            notice = []
            if (st.st_dev, st.st_ino) != self._file or st.st_size < self.offset:
                if self._file is not None:
                    notice.append(
                        Event(
                            kind="notice",
                            text=f"{self.name}.jsonl was rewritten while it was read; "
                            "reading it again from its start",
                        )
                    )
                self._file, self.offset = (st.st_dev, st.st_ino), 0
            if st.st_size == self.offset:
                return notice
            found = notice
            for events in self._read(fd, st.st_size, final=final):
                found += events
                if len(found) >= BATCH:
                    break  # the rest at the next poll: a follow's answer stays short
            return found
        finally:
            os.close(fd)

    def _read(self, fd: int, size: int, *, final: bool) -> Iterator[list[Event]]:
        """The events of each complete line between ``offset`` and ``size``, one list per
        line; ``offset`` has passed a line before its events are given, so a reader that
        stops between two lines goes on at the next one."""
        pending = bytearray()
        position = self.offset
        skipping = False
        while position < size:
            try:
                chunk = _pread(fd, min(CHUNK, size - position), position, self.path)
            except _Changed:
                return  # shrank under the reader: the next poll starts again
            chunk_start = position
            position += len(chunk)
            start = 0
            while (newline := chunk.find(b"\n", start)) >= 0:
                line_start = self.offset
                self.offset = chunk_start + newline + 1
                if skipping:
                    skipping = False
                else:
                    pending += chunk[start:newline]
                    line = bytes(pending)
                    pending.clear()
                    yield list(self._line(line, line_start))
                start = newline + 1
            if not skipping:
                pending += chunk[start:]
                if len(pending) > LAST_LINE_LIMIT:
                    pending.clear()
                    skipping = True
                    text = f"a line longer than {LAST_LINE_LIMIT} bytes was not read"
                    yield [Event(kind="notice", text=text, key=f"{self.offset}")]
        if final and pending and not skipping:
            line_start = self.offset
            self.offset = size
            yield list(self._line(bytes(pending), line_start))

    def _line(self, line: bytes, offset: int) -> Iterator[Event]:
        if not line.strip():
            return
        try:
            message = json.loads(line.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            message = None
        if not isinstance(message, dict):
            yield Event(
                kind="notice",
                text=f"a line that is not a JSON object ({len(line)} bytes)",
                key=f"{offset}",
            )
            return
        for number, event in enumerate(self._events(message) or [_unknown(message)]):
            yield Event(**{**event, "key": f"{offset}.{number}"})

    def _events(self, message: dict) -> list[dict]:
        """The events one log line holds (field dicts of :class:`Event`)."""
        when = _text(message.get("timestamp"))
        if message.get("type") == "user_message":
            return [{"kind": "user", "time": when, "text": logs.as_text(message.get("content"))}]
        subtype = _text(message.get("subtype"))
        if subtype is not None and ("result" in message or "is_error" in message):
            failed = subtype.startswith("error") or message.get("is_error") is True
            result = logs.as_text(message.get("result"))
            if failed:
                text = f"{subtype}: {result}" if result else subtype
                return [{"kind": "error", "time": when, "text": text}]
            return [{"kind": "result", "time": when, "text": result}]
        if subtype is not None and "content" not in message:
            data = message.get("data")
            model = data.get("model") if isinstance(data, dict) else None
            text = subtype if not isinstance(model, str) else f"{subtype} (model {model})"
            return [{"kind": "system", "time": when, "text": text}]
        inner = message.get("message")
        body = inner if isinstance(inner, dict) else message
        role = _text(body.get("role")) or _text(message.get("type"))
        content = body.get("content")
        user = role == "user"
        if isinstance(content, str):
            return [{"kind": "user" if user else "assistant", "time": when, "text": content}]
        if not isinstance(content, list):
            return []
        return [e for block in content if (e := self._block(block, when, user)) is not None]

    def _block(self, block: object, when: str | None, user: bool) -> dict | None:
        if not isinstance(block, dict):
            return None
        if "tool_use_id" in block:
            tool_id = str(block.get("tool_use_id"))
            kind = "error" if block.get("is_error") is True else "tool_result"
            return {
                "kind": kind,
                "time": when,
                "tool": self._tools.get(tool_id),
                "output": _content_text(block.get("content")) or "",
            }
        if "name" in block and "input" in block:
            name = logs.as_text(block.get("name")) or "?"
            if "id" in block:
                self._tools[str(block["id"])] = name
                while len(self._tools) > TOOL_NAMES:
                    self._tools.popitem(last=False)
            return {
                "kind": "tool",
                "time": when,
                "tool": name,
                "input": logs.summary(block.get("input")),
            }
        if "thinking" in block:
            return {"kind": "thinking", "time": when, "text": logs.as_text(block["thinking"])}
        if "text" in block:
            kind = "user" if user else "assistant"
            return {"kind": kind, "time": when, "text": logs.as_text(block["text"])}
        return None


def _unknown(message: dict) -> dict:
    kind = _text(message.get("type"))
    return {
        "kind": kind if kind and kind.isidentifier() and len(kind) <= 30 else "system",
        "time": _text(message.get("timestamp")),
        "text": logs.summary(message, logs.OUTPUT_CHARS),
    }


def _content_text(content: object) -> str | None:
    """A tool result's content: its text, or the texts of its blocks, one per line."""
    if isinstance(content, list):
        texts = [b.get("text") for b in content if isinstance(b, dict)]
        if texts and all(isinstance(t, str) for t in texts):
            return "\n".join(texts)
    return logs.as_text(content)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _tail_start(fd: int, size: int, lines: int, path: str) -> int:
    """Where the last ``lines`` non-empty lines within ``size`` bytes begin, found by
    reading :data:`BLOCK`-sized blocks backwards from the end (0: the whole file)."""
    if lines == 0:
        return size
    end = size
    found = 0
    seen_text = False
    line_end = size  # where the line being scanned ends
    while end > 0:
        start = max(0, end - BLOCK)
        try:
            data = _pread(fd, end - start, start, path)
        except _Changed:
            return 0
        scan = len(data)
        while True:
            newline = data.rfind(b"\n", 0, scan)
            if data[newline + 1 : scan].strip():
                seen_text = True
            if newline < 0:
                break
            if seen_text:
                found += 1
                seen_text = False
                if found == lines:
                    return start + newline + 1
            line_end = start + newline
            scan = newline
        if line_end - start > LAST_LINE_LIMIT:
            return min(size, line_end + 1)  # a line too long to read: the tail starts after it
        end = start
    return 0
