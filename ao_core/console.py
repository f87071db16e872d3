"""The only place that writes to the terminal: answers on stdout, one-line notes on stderr."""

from __future__ import annotations

import sys


def emit(text: str) -> None:
    """Print one answer on stdout, replacing what the terminal's encoding cannot show."""
    try:
        print(text)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "utf-8"
        print(text.encode(encoding, "backslashreplace").decode(encoding))


def warn(message: str) -> None:
    """Print ``Warning: message`` on stderr: something failed, the command goes on."""
    print(f"Warning: {message}", file=sys.stderr)


def error(message: str) -> None:
    """Print ``Error: message`` on stderr; the caller decides the exit status."""
    print(f"Error: {message}", file=sys.stderr)


def trace(message: str) -> None:
    """Print ``Trace: message`` on stderr (AGENT_ORCHESTRATOR_TRACE=1)."""
    print(f"Trace: {message}", file=sys.stderr)


def traceback() -> None:
    """Print the traceback of the exception being handled on stderr (debug mode)."""
    import traceback as tb

    tb.print_exc(file=sys.stderr)
