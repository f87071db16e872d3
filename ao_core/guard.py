"""Isolation of backends: a backend that raises inside a hook costs one warning, not the command.

Each backend is registered with pluggy through a :class:`GuardedBackend`, which carries
the backend's own hook functions, each wrapped. ``functools.wraps`` gives a wrapper the
original's ``__dict__`` (so pluggy reads the same hookimpl options from it) and
``__wrapped__`` (so pluggy sees the original's argument names and passes them in that
order). pluggy's own call loop, firstresult included, is left as it is: a failing backend
simply answers ``None`` and pluggy asks the next one.

Two exceptions are deliberate answers, not crashes, and pass through unchanged:
:class:`SessionFailed` ("that session ended in failure") and :class:`StorageError` ("my
store cannot be read, and an answer without it would mislead": the command stops with
one ``Error:`` line). A backend that would rather let the next one answer when its
store is away (as the ``api`` backend does when the server is down) warns and returns
None instead of raising.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace

import pluggy

from ao_core import console
from ao_core.errors import SessionFailed, StorageError
from ao_core.session import NOT_EXISTENT, Session

#: Called once per guarded hook call with (backend name, what it did), for tracing.
Recorder = Callable[[str, str], None]

RESULT_PREVIEW = 40


class BadAnswer(Exception):
    """A backend answered with something that is not an answer to its hook."""


class GuardedBackend:
    """One backend as pluggy sees it: the backend's hook functions, each guarded.

    ``plugin`` is the backend object itself (a module or an instance), kept for
    diagnostics. Hook wrappers are refused: a backend answers questions, it does not
    wrap the other backends' answers (and a wrapper could not be isolated).
    """

    def __init__(
        self,
        name: str,
        plugin: object,
        pm: pluggy.PluginManager,
        *,
        debug: bool = False,
        recorder: Recorder | None = None,
    ) -> None:
        self._ao_name = name
        self._ao_plugin = plugin
        for attr in dir(plugin):
            opts = pm.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            if opts.get("wrapper") or opts.get("hookwrapper"):
                console.warn(f"backend {name!r}: hook wrapper {attr!r} ignored")
                continue
            hook = opts.get("specname") or attr
            setattr(self, attr, _guarded(name, hook, getattr(plugin, attr), debug, recorder))

    @property
    def plugin(self) -> object:
        """The backend object this guard stands in for."""
        return self._ao_plugin

    def __repr__(self) -> str:
        return f"<guarded backend {self._ao_name!r}: {self._ao_plugin!r}>"


def _guarded(
    backend: str,
    hook: str,
    function: Callable[..., object],
    debug: bool,
    recorder: Recorder | None,
) -> Callable[..., object]:
    @functools.wraps(function)
    def guarded(*args: object, **kwargs: object) -> object:
        try:
            answer = _checked(hook, function(*args, **kwargs), backend)
        except (SessionFailed, StorageError) as exc:
            _record(recorder, backend, type(exc).__name__)
            raise
        except (Exception, SystemExit) as exc:
            reason = one_line(str(exc)) if isinstance(exc, BadAnswer) else None
            console.warn(f"backend {backend!r} failed in {hook}: {reason or describe(exc)}")
            if debug:
                console.traceback()
            _record(recorder, backend, "failed")
            return None
        _record(recorder, backend, _outcome(answer))
        return answer

    return guarded


def _checked(hook: str, answer: object, backend: str) -> object:
    """The answer as the commands expect it; stamps ``backend`` onto sessions lacking it."""
    if answer is None:
        return None
    if hook == "resolve_session":
        return _stamped(answer, backend)
    if hook == "list_sessions":
        if not isinstance(answer, (list, tuple)):
            raise BadAnswer(f"returned {type(answer).__name__}, not a list of sessions")
        return [_stamped(session, backend) for session in answer]
    if hook in ("fetch_status", "fetch_result") and not isinstance(answer, str):
        raise BadAnswer(f"returned {type(answer).__name__}, not a string")
    if hook == "fetch_status" and answer == NOT_EXISTENT:
        return None  # "I don't have it": the next backend is asked
    return answer


def _stamped(session: object, backend: str) -> Session:
    if not isinstance(session, Session):
        raise BadAnswer(f"returned {type(session).__name__}, not a Session")
    return session if session.backend else replace(session, backend=backend)


def _record(recorder: Recorder | None, backend: str, outcome: str) -> None:
    if recorder is not None:
        recorder(backend, outcome)


def _outcome(answer: object) -> str:
    """A few words on what a backend answered, for the trace line."""
    if answer is None:
        return "none"
    if isinstance(answer, Session):
        return f"session {answer.session_id or 'without id'}"
    if isinstance(answer, list):
        return f"{len(answer)} session{'' if len(answer) == 1 else 's'}"
    if isinstance(answer, str) and len(answer) > RESULT_PREVIEW:
        return repr(answer[:RESULT_PREVIEW]) + f"... ({len(answer)} chars)"
    return repr(answer)


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line."""
    return one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(text.split())
