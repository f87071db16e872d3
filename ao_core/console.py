"""The only place that writes to the terminal: answers on stdout, one-line notes on stderr.

A live line (the progress of ``--wait`` on a terminal) is cleared before any note is
printed, so a warning never ends up glued to it.

The streams may be anything the caller gave: closed (``>&-``: Python then sets
``sys.stdout`` or ``sys.stderr`` to None), full (``>/dev/full``), or a pipe whose reader
went away. So:

- an answer is flushed as soon as it is written, and a failure to write it raises
  :class:`~ao_core.errors.OutputLost` (``cannot write the answer: ...``), except a reader
  that went away, whose :class:`BrokenPipeError` the command ends on quietly;
- a note (warning, error, trace) and the live line are one line, and a traceback keeps
  only its line breaks: all of them go through :func:`~ao_core.text.printable`;
- a note (warning, error, trace, live line, traceback) goes to a real stderr or nowhere:
  never to stdout, where it would break ``--json``; a stderr that cannot be written is
  replaced by ``/dev/null`` so the interpreter's final flush does not fail either;
- inside :func:`collecting` (a tool call of ``ao mcp``) the notes of that call are kept
  for its answer instead, and no live line is drawn.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

from ao_core.errors import OutputLost
from ao_core.text import printable

CLEAR_LINE = "\r\x1b[K"


#: Where the notes of the work under way go instead of stderr (:func:`collecting`).
_collected: ContextVar[list[str] | None] = ContextVar("ao_notes", default=None)


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Keep the notes (``Warning: ...`` lines and the like) written inside the block, in
    this context only, in the list it gives, each line escaped; none reaches stderr.

    ``ao mcp`` answers each tool call with the warnings of that call (a server that is
    down, a backend that failed), while other calls run on other threads.
    """
    notes: list[str] = []
    token = _collected.set(notes)
    try:
        yield notes
    finally:
        _collected.reset(token)


class _LiveLine:
    """Whether a live line is on stderr now (it has no newline, so it must be cleared)."""

    shown = False


def live(text: str) -> None:
    """Show ``text`` as the live line on stderr, in place of the previous one (terminals
    only), escaped as a note is: it holds what a backend said. None while
    :func:`collecting`."""
    if _collected.get() is not None:
        return
    _to_stderr(CLEAR_LINE + printable(text))
    _LiveLine.shown = True


def end_live() -> None:
    """Clear the live line, if one is shown, so whatever follows starts a clean line."""
    if _LiveLine.shown:
        _LiveLine.shown = False
        _to_stderr(CLEAR_LINE)


def emit(text: str) -> None:
    """Print one answer on stdout, its control characters escaped (line feeds and tabs kept).

    A clean answer, the usual, is checked on the very bytes written, at the speed of a
    memory scan. A long answer is escaped, encoded and written :data:`PIECE` characters at
    a time (never cutting a CRLF), so a result of 64 MiB is never held twice more, as
    escaped text and as bytes. Characters the stream's encoding cannot show are written
    as backslash escapes. Flushed at once, so a lost answer is known here:
    :class:`OutputLost` (stdout closed or failing), or :class:`BrokenPipeError` (the
    reader went away).
    """
    _emit_part(text, final=True)


def _emit_part(text: str, *, final: bool) -> None:
    """:func:`emit`, ending with a line feed only when ``final``."""
    stream = _stdout()
    encoding = stream.encoding or "utf-8"
    try:
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()
        start = 0
        while True:
            end = min(len(text), start + PIECE)
            if text[end - 1 : end] == "\r":  # keep a CRLF in one piece
                end = min(len(text), end + 1)
            piece = text if (start, end) == (0, len(text)) else text[start:end]
            data = piece.encode(encoding, "backslashreplace")
            if not _clean(data, piece):
                data = printable(piece, multiline=True).encode(encoding, "backslashreplace")
            if end == len(text) and final:
                data += b"\n"
            if buffer is None:
                stream.write(data.decode(encoding))
            else:
                buffer.write(data)
            if end == len(text):
                break
            start = end
        if buffer is not None:
            buffer.flush()
        stream.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:
        raise OutputLost(f"cannot write the answer: {_why(exc)}") from None


#: The characters :func:`emit` escapes and encodes at a time.
PIECE = 1 << 20


def emit_lines(lines: Iterable[str], separator: str = "\n") -> None:
    """Print an answer of many lines (or pieces), as :func:`emit` would print them joined
    with ``separator``, a block of about :data:`BLOCK` characters at a time: a listing of a
    hundred thousand sessions is never held whole, as text or as bytes."""
    block: list[str] = []
    size, written = 0, False
    for line in lines:
        if len(line) >= BLOCK:  # a long one goes on its own, never copied into a block
            _emit_part(separator.join([*block, ""]), final=False)
            _emit_part(line, final=False)
            block, size, written = [""], 0, True  # its separator, before what follows
            continue
        block.append(line)
        size += len(line) + 1
        if size >= BLOCK:
            _emit_part(separator.join([*block, ""]), final=False)
            block, size, written = [], 0, True
    if block or not written:
        _emit_part(separator.join(block), final=True)


#: The characters :func:`emit_lines` writes at a time.
BLOCK = 256 * 1024
#: Bytes an answer may hold as they are: printable ASCII, line feeds, tabs, carriage
#: returns (but only in CRLF, checked apart) and the bytes of multi-byte characters.
_SAFE_BYTES = bytes(range(0x20, 0x7F)) + b"\n\t\r" + bytes(range(0x80, 0x100))


def _clean(data: bytes, text: str) -> bool:
    """Whether ``data`` (``text`` encoded) carries nothing :func:`printable` would escape."""
    if data.translate(None, _SAFE_BYTES):
        return False
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return False
    return text.isascii() or printable(text, multiline=True) == text


def flush() -> None:
    """Make sure every answer written so far reached stdout (:func:`emit`'s failures)."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:
        raise OutputLost(f"cannot write the answer: {_why(exc)}") from None


def discard_stdout() -> None:
    """Send whatever stdout still holds to ``/dev/null`` (after a failure to write it), so
    the interpreter's last flush at exit cannot fail again."""
    _discard(sys.stdout)


def stderr_is_terminal() -> bool:
    """True when stderr exists and is a terminal (where a live line may be shown)."""
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):
        return False


def warn(message: str) -> None:
    """Print ``Warning: message`` on stderr: something failed, the command goes on."""
    _note(f"Warning: {message}")


def error(message: str) -> None:
    """Print ``Error: message`` on stderr; the caller decides the exit status."""
    _note(f"Error: {message}")


def trace(message: str) -> None:
    """Print ``Trace: message`` on stderr (AGENT_ORCHESTRATOR_TRACE=1)."""
    _note(f"Trace: {message}")


def traceback(exc: BaseException | None = None) -> None:
    """Print the traceback of ``exc`` (else of the exception being handled) on stderr, in
    debug mode; each of its lines escaped as a note is, since a plugin wrote its messages."""
    import traceback as tb

    end_live()
    text = tb.format_exc() if exc is None else "".join(tb.format_exception(exc))
    _to_stderr("\n".join(printable(line) for line in text.split("\n")))


def _note(line: str) -> None:
    notes = _collected.get()
    if notes is not None:
        notes.append(printable(line))
        return
    end_live()
    _to_stderr(printable(line) + "\n")


def _stdout() -> TextIO:
    stream = sys.stdout
    if stream is None:
        raise OutputLost("cannot write the answer: standard output is closed")
    return stream


def _to_stderr(text: str) -> None:
    """Write ``text`` on stderr if there is one; drop it (and stderr) if it cannot be written.

    Never stdout: ``print(file=None)`` would put a note there.
    """
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        _discard(stream)


def _discard(stream: TextIO | None) -> None:
    """Point ``stream``'s file descriptor at ``/dev/null`` (what it buffers goes there)."""
    if stream is None:
        return
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real file (a test's capture): nothing will flush it at exit
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def _why(exc: BaseException) -> str:
    """An OS error's own words (``No space left on device``), else its message."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
