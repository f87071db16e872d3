"""Signals during long work: SIGTERM ends the command quietly, like Ctrl-C does; and which
``KeyboardInterrupt`` or :class:`Terminated` is the user's (a plugin may raise either)."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ao_core import console
from ao_core.errors import Terminated


class _Signalled:
    """Whether this command installed the Ctrl-C handler, and which signals arrived."""

    watching = False
    interrupted = False
    terminated = False


def from_user(exc: BaseException) -> bool:
    """Whether ``exc`` stops the command on the user's behalf: Ctrl-C or SIGTERM arrived
    (raised by the handlers here), not a plugin raising ``KeyboardInterrupt`` itself. Where
    Ctrl-C is not watched (another handler is in place), every ``KeyboardInterrupt`` is."""
    if isinstance(exc, KeyboardInterrupt):
        return _Signalled.interrupted or not _Signalled.watching
    return isinstance(exc, Terminated) and _Signalled.terminated


@contextmanager
def watch_interrupts() -> Iterator[None]:
    """Ctrl-C raises ``KeyboardInterrupt`` as usual inside this block, and is noted as the
    user's (see :func:`from_user`); only where Python's own handler is in place, in the
    main thread."""
    _Signalled.interrupted = _Signalled.terminated = False

    def interrupt(signum: int, frame: object) -> None:
        _Signalled.interrupted = True
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    try:
        signal.signal(signal.SIGINT, interrupt)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    _Signalled.watching = True
    try:
        yield
    finally:
        _Signalled.watching = False
        signal.signal(signal.SIGINT, signal.default_int_handler)


@contextmanager
def quiet_termination() -> Iterator[None]:
    """Inside this block SIGTERM raises :class:`Terminated` (exit status 143, no traceback);
    a live line on stderr is cleared on the way out. Outside the main thread (where no
    signal handler can be set) the block runs as it is."""

    def terminate(signum: int, frame: object) -> None:
        _Signalled.terminated = True
        raise Terminated

    previous = _handle_sigterm(terminate)
    if previous is _NOT_HERE:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        console.end_live()


@contextmanager
def deferred_termination() -> Iterator[Callable[[], bool]]:
    """Inside this block SIGTERM is noted, not acted on: the block asks the function it is
    given between two steps and stops there, so no step is left half done. When the block
    ends after a SIGTERM, :class:`Terminated` is raised (exit status 143). Outside the
    main thread no SIGTERM is ever noted here."""
    received: list[int] = []
    previous = _handle_sigterm(lambda signum, frame: received.append(signum))
    if previous is _NOT_HERE:
        yield lambda: False
        return
    try:
        yield lambda: bool(received)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if received:
        _Signalled.terminated = True
        raise Terminated


#: What :func:`_handle_sigterm` answers where no handler can be set.
_NOT_HERE = object()


def _handle_sigterm(handler: Callable[[int, object], None]) -> object:
    """Install ``handler`` for SIGTERM; the previous handler, or :data:`_NOT_HERE` outside
    the main thread (a tool call of ``ao mcp`` runs on a worker thread; the server keeps
    its own handling)."""
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return _NOT_HERE
