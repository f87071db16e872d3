"""Small text helpers for messages: an exception or any text as one short line."""

from __future__ import annotations


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line."""
    return one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(text.split())
