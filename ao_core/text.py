"""Small text helpers for messages: an exception or any text as one short line."""

from __future__ import annotations

import re


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line."""
    return one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(text.split())


#: Controls (C0, DEL, C1) and the bidirectional overrides that can make text lie. A
#: pattern, compiled (and cached by ``re``) when first used: it takes about a millisecond,
#: which most commands, whose text has no control character, need not pay at start-up.
_UNSAFE = r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character shown as Python writes it (``\\x1b``, ``\\n``).

    Text from a backend is printed through this, so a name, status or message cannot
    forge extra lines or send terminal escape sequences. ``multiline`` keeps line feeds,
    tabs and the CR of a CRLF (a result's text has them legitimately) and escapes every
    other control. (:func:`ao_core.console.emit` checks a whole answer on its bytes and
    calls this only when that answer needs it.)
    """
    if text.isprintable():  # no control character at all: the usual short field
        return text

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if multiline and (
            char in "\n\t" or (char == "\r" and text[match.end() : match.end() + 1] == "\n")
        ):
            return char
        return repr(char)[1:-1]

    return re.sub(_UNSAFE, escape, text)
