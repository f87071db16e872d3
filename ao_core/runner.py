"""One backend's hook calls run on a thread of its own, so a wait never waits for a
backend longer than its deadline allows.

A hook that blocks (a plugin stuck in a read, or in a loop that swallows every exception)
would otherwise hold ``--wait --timeout 2`` for ever: the command's thread hands the call
to the backend's :class:`Runner` and waits for it at most what the deadline leaves. A call
that overruns is left behind (the thread is a daemon) and the backend is skipped until it
returns. Once a backend's calls run on its thread they all do for the rest of the command,
so a backend sees one thread per command whatever it keeps (a database connection).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import queue

from ao_core.errors import Overran


class _Call:
    __slots__ = ("function", "args", "kwargs", "context", "done", "value", "error")

    def __init__(self, function: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        self.function, self.args, self.kwargs = function, args, kwargs
        # the caller's context (its deadline, where its warnings go), for the call to run in
        self.context = contextvars.copy_context()
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class Runner:
    """Runs the calls given to :meth:`call` one after the other on one daemon thread."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._calls: queue.SimpleQueue[_Call] | None = None
        self._thread: threading.Thread | None = None
        self._running: _Call | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def call(self, function: Callable[..., Any], args: tuple, kwargs: dict, timeout: float | None):
        """``function(*args, **kwargs)`` on the runner's thread: its value, or what it raised
        (any exception at all: on that thread nothing is the user's Ctrl-C). Raises
        :class:`Overran` when it has not returned within ``timeout`` seconds, or at once when
        an earlier call is still running."""
        if self._running is not None:
            raise Overran(still=True)
        if self._thread is None:
            import queue  # only a wait pays for it

            self._calls = queue.SimpleQueue()
            self._thread = threading.Thread(
                target=self._serve, name=f"ao-{self._name}", daemon=True
            )
            self._thread.start()
        job = _Call(function, args, kwargs)
        self._running = job
        assert self._calls is not None
        self._calls.put(job)
        if not job.done.wait(timeout):
            raise Overran(still=False)
        self._running = None
        if job.error is not None:
            raise job.error
        return job.value

    def _serve(self) -> None:
        assert self._calls is not None
        while True:
            job = self._calls.get()
            try:
                job.value = job.context.run(job.function, *job.args, **job.kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                job.error = exc
            finally:
                if self._running is job:
                    self._running = None
                job.done.set()
