"""Small text helpers for messages: an exception or any text as one short line."""

from __future__ import annotations

import re


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line."""
    return one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(text.split())


#: Controls (C0, DEL, C1) and the bidirectional overrides that can make text lie.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: What a multi-line text may keep: line feeds, tabs, and the CR of a CRLF.
_KEPT = "\n\t"
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\x0a`` ...).

    Text from a backend is printed through this, so a name, status or message cannot
    forge extra lines or send terminal escape sequences. ``multiline`` keeps line breaks
    and tabs (a result's text has them legitimately) and escapes every other control.
    A clean ASCII text (the usual result) is checked at the speed of a memory scan.
    """
    if text.isprintable():  # no control character at all: the usual short field
        return text
    if text.isascii():
        allowed = _PRINTABLE_ASCII + (b"\n\t\r" if multiline else b"")
        clean = not text.encode("ascii").translate(None, allowed)
        if clean and not (multiline and "\r" in text and _lone_cr(text)):
            return text

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if multiline and (
            char in _KEPT or (char == "\r" and text[match.end() : match.end() + 1] == "\n")
        ):
            return char
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(escape, text)


def _lone_cr(text: str) -> bool:
    return text.count("\r") != text.count("\r\n")
