"""The only place that writes to the terminal: answers on stdout, one-line notes on stderr.

A live line (the progress of ``--wait`` on a terminal) is cleared before any note is
printed, so a warning never ends up glued to it.
"""

from __future__ import annotations

import sys

CLEAR_LINE = "\r\x1b[K"


class _LiveLine:
    """Whether a live line is on stderr now (it has no newline, so it must be cleared)."""

    shown = False


def live(text: str) -> None:
    """Show ``text`` as the live line on stderr, in place of the previous one (terminals only)."""
    sys.stderr.write(CLEAR_LINE + text)
    sys.stderr.flush()
    _LiveLine.shown = True


def end_live() -> None:
    """Clear the live line, if one is shown, so whatever follows starts a clean line."""
    if _LiveLine.shown:
        sys.stderr.write(CLEAR_LINE)
        sys.stderr.flush()
        _LiveLine.shown = False


def emit(text: str) -> None:
    """Print one answer on stdout, replacing what the terminal's encoding cannot show."""
    try:
        print(text)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "utf-8"
        print(text.encode(encoding, "backslashreplace").decode(encoding))


def warn(message: str) -> None:
    """Print ``Warning: message`` on stderr: something failed, the command goes on."""
    end_live()
    print(f"Warning: {message}", file=sys.stderr)


def error(message: str) -> None:
    """Print ``Error: message`` on stderr; the caller decides the exit status."""
    end_live()
    print(f"Error: {message}", file=sys.stderr)


def trace(message: str) -> None:
    """Print ``Trace: message`` on stderr (AGENT_ORCHESTRATOR_TRACE=1)."""
    end_live()
    print(f"Trace: {message}", file=sys.stderr)


def traceback() -> None:
    """Print the traceback of the exception being handled on stderr (debug mode)."""
    import traceback as tb

    end_live()
    tb.print_exc(file=sys.stderr)
