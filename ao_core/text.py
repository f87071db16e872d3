"""Small text helpers for messages: an exception or any text as one short line, and the one
escaping of what a terminal must not receive."""

from __future__ import annotations

import re


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line (a message that cannot be had is left out)."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a plugin's exception may break even its own __str__
        message = ""
    return one_line(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(text.split())


#: Code points Python counts as printable that show nothing at all: the Hangul fillers,
#: the combining grapheme joiner, the braille blank, Khmer's inherent vowels, Mongolian's
#: variation selectors ...
_INVISIBLE_LETTERS = "\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u2800\u3164\uffa0"
#: ... and the variation selectors, which a result keeps (an emoji's presentation).
_VARIATION_SELECTORS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"
#: The patterns, compiled when first needed (most commands print only printable ASCII):
#: ``invisible``, one of them, which makes two names look alike; ``invisible in results``,
#: the letters alone; ``candidates``, runs of what may need escaping on one line (anything
#: but printable ASCII, so a clean text is looked at run by run at C speed).
_SOURCES = {
    "invisible": f"[{_INVISIBLE_LETTERS}{_VARIATION_SELECTORS}]",
    "invisible in results": f"[{_INVISIBLE_LETTERS}]",
    "candidates": r"[^\x20-\x7e]+",
}
_COMPILED: dict[str, re.Pattern[str]] = {}


def _pattern(name: str) -> re.Pattern[str]:
    compiled = _COMPILED.get(name)
    if compiled is None:
        compiled = _COMPILED[name] = re.compile(_SOURCES[name])
    return compiled


#: Format characters a result keeps: the joiners of emoji sequences and of several scripts,
#: and the tags of subdivision flags.
_RESULT_FORMAT_KEPT = frozenset(range(0x200C, 0x200E)) | frozenset(range(0xE0020, 0xE0080))
#: Where the format characters are (Unicode 15: no other block holds one), scanned once
#: for :func:`_result_unsafe`.
_FORMAT_BLOCKS = ((0, 0x3000), (0xFE00, 0x10000), (0x11000, 0x12000), (0x13400, 0x13500),
                  (0x1BC00, 0x1BD00), (0x1D100, 0x1D200), (0xE0000, 0xE1000))  # fmt: skip
_RESULT_UNSAFE: list[re.Pattern[str]] = []


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with every code point a terminal must not get shown as Python writes it
    (``\\x1b``, ``\\u200b``, ``\\u2028``).

    The one escaping of ao: everything a backend said passes through it before it is
    printed (answers, warnings, the live line, tracebacks), so no line can be forged, no
    escape sequence sent, and no name disguised as another. On one line (names, statuses,
    messages) every code point Python does not print is escaped (controls, format
    characters such as zero-width ones, direction marks, U+FEFF and the soft hyphen, line
    and paragraph separators, spaces other than U+0020, surrogates, private-use and
    unassigned ones), and so are the invisible letters and marks of
    :data:`_INVISIBLE_LETTERS` and the variation selectors.
    ``multiline`` (a result's text) keeps line feeds, tabs, the CR of a CRLF, spaces and
    every visible letter and mark, and escapes the other controls, the separators,
    surrogates, the invisible letters and the format characters but the joiners, tags and
    variation selectors of emoji. (:func:`ao_core.console.emit`
    checks a whole answer on its bytes and calls this only when it needs it.)
    """
    if multiline:
        return _result_text(text)
    if text.isprintable() and (text.isascii() or not _pattern("invisible").search(text)):
        return text
    invisible = _pattern("invisible")

    def escape_run(match: re.Match[str]) -> str:
        run = match.group()
        if run.isprintable() and not invisible.search(run):
            return run
        return "".join(
            c if c.isprintable() and not invisible.match(c) else _escaped(c) for c in run
        )

    return _pattern("candidates").sub(escape_run, text)


def _result_text(text: str) -> str:
    probe = text.replace("\r\n", "").replace("\n", "").replace("\t", "")
    if probe.isprintable() and (
        probe.isascii() or not _pattern("invisible in results").search(probe)
    ):
        return text  # no control, format character, separator or invisible letter: the usual
    unsafe = _result_unsafe()
    if not unsafe.search(text):
        return text

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char == "\r" and text[match.end() : match.end() + 1] == "\n":
            return char
        return _escaped(char)

    return unsafe.sub(escape, text)


def _result_unsafe() -> re.Pattern[str]:
    """What a result may not hold as it is: controls but line feeds and tabs (CRs are
    looked at one by one), separators, surrogates, and the format characters of this
    Python's Unicode but those of :data:`_RESULT_FORMAT_KEPT`."""
    if not _RESULT_UNSAFE:
        import unicodedata

        codes = [
            code
            for start, end in _FORMAT_BLOCKS
            for code in range(start, end)
            if code not in _RESULT_FORMAT_KEPT and unicodedata.category(chr(code)) == "Cf"
        ]
        ranges: list[list[int]] = []
        for code in codes:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
        formats = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
        controls = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
        _RESULT_UNSAFE.append(re.compile(f"[{controls}{formats}{_INVISIBLE_LETTERS}]"))
    return _RESULT_UNSAFE[0]


def _escaped(char: str) -> str:
    """``char`` as Python writes it in a string literal; ``\\uXXXX`` for one Python shows.
    Remembered: a text of millions of escapes holds one string per kind, not per escape."""
    shown = _ESCAPED.get(char)
    if shown is None:
        shown = repr(char)[1:-1]
        if shown == char:
            code = ord(char)
            shown = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
        _ESCAPED[char] = shown
    return shown


_ESCAPED: dict[str, str] = {}
