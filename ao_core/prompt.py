"""The prompt of ``ao-start`` and ``ao-resume``: ``-p`` text and/or piped standard input,
as the old commands took it (both: the ``-p`` text, a newline, then the piped text).

Standard input is read only when it is not a terminal, and at most :data:`MAX_PROMPT`
bytes of it: a prompt is text a person or a program wrote, not an endless stream. With
``-p`` given, a standard input that shows nothing (no data, no end) within
:data:`STDIN_GRACE` seconds is left unread: a program that runs ao with a pipe it never
writes to or closes (an agent's tool runner) must not hang it.
"""

from __future__ import annotations

import os
import sys

from ao_core.errors import NoPrompt, UsageError

#: The most bytes a prompt may have (``-p`` text and piped text together).
MAX_PROMPT = 8 * 1024 * 1024
#: Seconds standard input has to show data or its end when ``-p`` gave a prompt already.
STDIN_GRACE = 1.0
NO_PROMPT = "No prompt provided. Use -p flag or pipe content to stdin."


def read_prompt(flag: str | None, *, required: bool = True, wait: bool | None = None) -> str | None:
    """The prompt from ``-p`` (``flag``) and standard input; None when neither gave one
    and ``required`` is False. Raises :class:`NoPrompt` (the old message) when neither did
    and one is required. ``wait``: wait for piped text to come (default: when no ``-p``).
    """
    piped = _piped(wait=flag is None if wait is None else wait)
    parts = [p for p in (flag, piped) if p]
    if not parts:
        if required:
            raise NoPrompt(NO_PROMPT)
        return None
    return checked("\n".join(parts))


def checked(prompt: str) -> str:
    """``prompt`` if it is at most :data:`MAX_PROMPT` bytes, else :class:`UsageError`."""
    if len(prompt.encode("utf-8", "surrogateescape")) > MAX_PROMPT:
        raise UsageError(f"the prompt is too long (at most {MAX_PROMPT // (1024 * 1024)} MiB)")
    return prompt


def _piped(*, wait: bool) -> str | None:
    """Standard input's text when it is a pipe or a file (not a terminal, not closed);
    without ``wait``, only when it shows data or its end within :data:`STDIN_GRACE` s."""
    stream = sys.stdin
    if stream is None:
        return None
    try:
        fd = stream.fileno()
        if os.isatty(fd):
            return None
    except (OSError, ValueError):
        return None
    if not wait:
        import select

        try:
            ready, _, _ = select.select([fd], [], [], STDIN_GRACE)
        except (OSError, ValueError):
            return None
        if not ready:
            return None
    data = bytearray()
    while len(data) <= MAX_PROMPT:
        try:
            chunk = os.read(fd, 64 * 1024)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    if len(data) > MAX_PROMPT:
        raise UsageError(f"the prompt is too long (at most {MAX_PROMPT // (1024 * 1024)} MiB)")
    return data.decode("utf-8", "replace") or None
