"""Isolation of backends: a backend that raises or answers nonsense costs one warning, not
the command.

Each backend is registered with pluggy through a :class:`GuardedBackend`, which carries
the backend's own hook functions, each wrapped. ``functools.wraps`` gives a wrapper the
original's ``__dict__`` (so pluggy reads the same hookimpl options from it) and
``__wrapped__`` (so pluggy sees the original's argument names and passes them in that
order). pluggy's own call loop, firstresult included, is left as it is: a failing backend
simply answers ``None`` and pluggy asks the next one. What an answer must be comes from
the contract (:data:`ao_core.hookspecs.CONTRACT`).

Some exceptions are deliberate answers, not crashes, and pass through unchanged
(:data:`DELIBERATE`): :class:`SessionFailed` ("that session ended in failure"),
:class:`SessionBusy` ("I may not delete that session while it runs"), :class:`Refused`
("the store refuses this start, turn or stop, and here is why"), :class:`NotExistent`
(a driving hook's "that session is gone"),
:class:`StorageError` ("my store cannot be read, and an answer without it would
mislead": the command stops with one ``Error:`` line) and :class:`ConfigError` (one of
the backend's settings is unusable). A backend that would rather let the next one answer
when its store is away (as the ``api`` backend does when the server is down) warns and
returns None instead of raising.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace

import pluggy

from ao_core import console
from ao_core.errors import (
    BadAnswer,
    ConfigError,
    NotExistent,
    Refused,
    SessionBusy,
    SessionFailed,
    StorageError,
)
from ao_core.hookspecs import CONTRACT, Hook
from ao_core.session import NOT_EXISTENT, Session
from ao_core.text import describe, one_line

#: Exceptions a backend raises on purpose; they end the hook call and reach the command.
DELIBERATE = (SessionFailed, SessionBusy, Refused, NotExistent, StorageError, ConfigError)


class Failed:
    """What :attr:`GuardedBackend.answers` holds for a hook call that raised or misanswered."""

    def __init__(self, raised: str) -> None:
        self.raised = raised


class GuardedBackend:
    """One backend as pluggy sees it: the backend's hook functions, each guarded.

    ``answers`` maps each hook to what this backend last answered in it (a
    :class:`Failed` when it raised), for tracing. Hook wrappers are refused: a backend
    answers questions, it does not wrap the other backends' answers (and a wrapper could
    not be isolated).
    """

    def __init__(
        self, name: str, plugin: object, pm: pluggy.PluginManager, *, debug: bool = False
    ) -> None:
        self._ao_name = name
        self._ao_plugin = plugin
        self.answers: dict[str, object] = {}
        for attr in dir(plugin):
            opts = pm.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            if opts.get("wrapper") or opts.get("hookwrapper"):
                console.warn(f"backend {name!r}: hook wrapper {attr!r} ignored")
                continue
            hook = CONTRACT.get(opts.get("specname") or attr)
            function = getattr(plugin, attr)
            setattr(self, attr, self._guarded(hook, function, debug) if hook else function)

    def __repr__(self) -> str:
        return f"<guarded backend {self._ao_name!r}: {self._ao_plugin!r}>"

    def _guarded(
        self, hook: Hook, function: Callable[..., object], debug: bool
    ) -> Callable[..., object]:
        name = self._ao_name

        @functools.wraps(function)
        def guarded(*args: object, **kwargs: object) -> object:
            try:
                answer = checked(hook, function(*args, **kwargs), name)
            except DELIBERATE as exc:
                self.answers[hook.name] = Failed(type(exc).__name__)
                raise
            except (Exception, SystemExit) as exc:
                reason = one_line(str(exc)) if isinstance(exc, BadAnswer) else describe(exc)
                console.warn(f"backend {name!r} failed in {hook.name}: {reason}")
                if debug:
                    console.traceback()
                self.answers[hook.name] = Failed("failed")
                return None
            self.answers[hook.name] = answer
            return answer

        return guarded


def checked(hook: Hook, answer: object, backend: str) -> object:
    """``answer`` as the commands expect it, or :class:`BadAnswer`.

    Sessions lacking a ``backend`` are stamped with this one's name; a status of
    ``not_existent`` becomes ``None`` ("I don't have it": the next backend is asked), and
    is left out of a ``{name: status}`` answer.
    """
    if answer is None or hook.answer is None:
        return None
    values = answer if hook.many else [answer]
    if hook.many and not isinstance(answer, list | tuple):
        noun = f"{hook.answer.__name__.lower()}s"
        raise BadAnswer(f"returned {type(answer).__name__}, not a list of {noun}")
    for value in values:
        if not isinstance(value, hook.answer):
            raise BadAnswer(f"returned {type(value).__name__}, not {hook.answer_text}")
    if hook.answer is Session:
        stamped = [s if s.backend else replace(s, backend=backend) for s in values]
        return stamped if hook.many else stamped[0]
    if hook.name == "fetch_status" and answer == NOT_EXISTENT:
        return None
    if hook.answer is dict:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in answer.items()):
            raise BadAnswer("returned a dict that is not {name: status}")
        return {name: status for name, status in answer.items() if status != NOT_EXISTENT}
    return answer
