"""Issue 19, item 7: the one escaping (:func:`ao_core.text.printable`) covers every invisible
or line-breaking code point, on one line and in a result, and the console applies it to
everything it prints."""

from __future__ import annotations

import unicodedata

import pytest

from ao_core.text import printable

#: Each must be escaped wherever it is printed: name, status, message, live line, result.
ALWAYS = {
    "escape": "\x1b",
    "bell": "\x07",
    "nul": "\x00",
    "delete": "\x7f",
    "c1-csi": "\x9b",
    "line-separator": "\u2028",
    "paragraph-separator": "\u2029",
    "zero-width-space": "\u200b",
    "left-to-right-mark": "\u200e",
    "right-to-left-mark": "\u200f",
    "arabic-letter-mark": "\u061c",
    "byte-order-mark": "\ufeff",
    "soft-hyphen": "\xad",
    "right-to-left-override": "\u202e",
    "first-strong-isolate": "\u2068",
    "word-joiner": "\u2060",
    "mongolian-vowel-separator": "\u180e",
    "hangul-filler": "\u3164",
    "halfwidth-hangul-filler": "\uffa0",
    "combining-grapheme-joiner": "\u034f",
    "braille-blank": "\u2800",
    "lone-surrogate": "\ud800",
    "lone-cr": "\r",
}
#: Escaped on one line (names, statuses, messages), kept in a result's text.
ONE_LINE_ONLY = {
    "line-feed": "\n",
    "tab": "\t",
    "no-break-space": "\xa0",
    "thin-space": "\u2009",
    "ideographic-space": "\u3000",
    "zero-width-joiner": "\u200d",
    "variation-selector-16": "\ufe0f",
    "private-use": "\ue000",
}


@pytest.mark.parametrize("multiline", [False, True], ids=["one-line", "result"])
@pytest.mark.parametrize("char", list(ALWAYS.values()), ids=list(ALWAYS))
def test_always_escaped(char: str, multiline: bool) -> None:
    shown = printable(f"ad{char}min", multiline=multiline)
    assert char not in shown
    assert shown.startswith("ad\\") and shown.endswith("min")
    assert shown.isascii()


@pytest.mark.parametrize("char", list(ONE_LINE_ONLY.values()), ids=list(ONE_LINE_ONLY))
def test_escaped_on_one_line_kept_in_a_result(char: str) -> None:
    assert char not in printable(f"a{char}b")
    assert printable(f"a{char}b", multiline=True) == f"a{char}b"


def test_every_format_character_and_separator_is_escaped_on_one_line() -> None:
    """Not a list: the whole class, as this Python's Unicode knows it."""
    wanted = {"Cc", "Cf", "Zl", "Zp", "Zs", "Cs", "Co"}
    for code in range(0x30000):
        char = chr(code)
        if unicodedata.category(char) in wanted and char != " ":
            assert char not in printable(char), hex(code)


def test_a_result_keeps_its_text() -> None:
    text = "Résumé ✓\n\tline two\r\nemoji 👨\u200d👩\u200d👧 ⚠\ufe0f 中文 مرحبا"
    assert printable(text, multiline=True) == text


def test_the_escape_is_as_python_writes_it() -> None:
    assert printable("a\x1b[31mb\u2028c\U000e0001d") == "a\\x1b[31mb\\u2028c\\U000e0001d"
    assert printable("x\u3164y") == "x\\u3164y"  # Python prints it; it shows nothing


def test_a_text_of_millions_of_escapes_is_escaped_in_bounded_memory() -> None:
    text = "\x1b" * 2_000_000
    shown = printable(text, multiline=True)
    assert shown == "\\x1b" * 2_000_000


def test_the_console_escapes_notes_the_live_line_and_tracebacks(capsys) -> None:
    from ao_core import console

    console.warn("forged\u2028Error: x\x1b]0;t\x07")
    console.live("busy: \x1b[2Jrunning\u200b")
    console.end_live()
    try:
        raise RuntimeError("plugin says \x1b[31m\u2029red")
    except RuntimeError as exc:
        console.traceback(exc)
    err = capsys.readouterr().err.replace("\r\x1b[K", "")
    assert "\x1b" not in err and "\u2028" not in err and "\u2029" not in err
    assert "\u200b" not in err and "\x07" not in err
    assert "Warning: forged\\u2028Error: x\\x1b]0;t\\x07\n" in err
    assert "busy: \\x1b[2Jrunning\\u200b" in err
    assert "RuntimeError: plugin says \\x1b[31m\\u2029red" in err
