"""Isolation of backends: a backend that raises, answers nonsense or never returns costs one
warning, not the command.

Each backend is registered with pluggy through a :class:`GuardedBackend`, which carries
the backend's own hook functions, each wrapped. ``functools.wraps`` gives a wrapper the
original's ``__dict__`` (so pluggy reads the same hookimpl options from it) and
``__wrapped__`` (so pluggy sees the original's argument names and passes them in that
order). pluggy's own call loop, firstresult included, is left as it is: a failing backend
simply answers ``None`` and pluggy asks the next one. What an answer must be comes from
the contract (:data:`ao_core.hookspecs.CONTRACT`): every answer is checked against its
hook's declaration and copied into plain values (:func:`checked`) before the core sees it,
so no method of a plugin's own (a ``__hash__`` or ``__bool__`` that raises) runs later.

Some exceptions are deliberate answers, not crashes, and pass through (:data:`DELIBERATE`,
re-raised as the core's own class with the same message): :class:`SessionFailed` ("that
session ended in failure"), :class:`SessionBusy` ("I may not delete that session while it
runs"), :class:`Refused` ("the store refuses this start, turn or stop, and here is
why"; :class:`AlreadyExists` among them), :class:`NotExistent` (a driving hook's "that
session is gone"), :class:`StorageError` ("my store cannot be read, and an answer without it would
mislead": the command stops with one ``Error:`` line) and :class:`ConfigError` (one of the
backend's settings is unusable). A backend whose store is away (the ``api`` backend when
the server is down) raises :class:`BackendUnavailable`: one warning per command, the next
backend answers, and the command's :class:`~ao_core.problems.Problems` keep why.

Anything else a plugin raises, ``BaseException`` included, is a failure of that plugin:
only the user's own Ctrl-C or SIGTERM (:func:`ao_core.interrupts.from_user`) stops the
command. Inside ``--wait`` every call runs on the backend's own thread
(:mod:`ao_core.runner`) and is waited for only as long as the deadline allows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ao_core.runner import Runner

from ao_core import console, deadline
from ao_core.errors import (
    AlreadyExists,
    BackendUnavailable,
    BadAnswer,
    ConfigError,
    NotExistent,
    Overran,
    Refused,
    SessionBusy,
    SessionFailed,
    StorageError,
)
from ao_core.hookspecs import CONTRACT, Hook
from ao_core.problems import BAD_ANSWER, FAILED, TIMEOUT, Problem, Problems
from ao_core.session import (
    MAX_FIELD_LENGTH,
    MAX_PATH_LENGTH,
    NOT_EXISTENT,
    Session,
    Status,
    StructuredResult,
)
from ao_core.text import describe, one_line

#: Exceptions a backend raises on purpose; they end the hook call and reach the command.
DELIBERATE = (
    SessionFailed,
    SessionBusy,
    AlreadyExists,
    Refused,
    NotExistent,
    StorageError,
    ConfigError,
)
#: Seconds a hook called inside ``--wait`` may take past the wait's deadline: a server
#: exchange takes at most 0.25 s past it (:data:`ao_plugins.api.client.DEADLINE_GRACE`),
#: plus what a first call costs before it (importing ``requests``, on a loaded machine).
HOOK_GRACE = 1.0
#: The fields of a :class:`Session` and the most characters each may have.
SESSION_FIELDS = {
    "name": MAX_FIELD_LENGTH,
    "session_id": MAX_FIELD_LENGTH,
    "project_dir": MAX_PATH_LENGTH,
    "backend": MAX_FIELD_LENGTH,
    "status": MAX_FIELD_LENGTH,
}


class Failed:
    """What :attr:`GuardedBackend.answers` holds for a hook call that raised or misanswered."""

    def __init__(self, raised: str) -> None:
        self.raised = raised


class Long:
    """What :attr:`GuardedBackend.answers` holds for a long text (a result of megabytes is
    not kept alive for a trace line): its start and its length."""

    SHOWN = 100

    def __init__(self, start: str, length: int) -> None:
        self.start = start
        self.length = length

    @classmethod
    def of(cls, answer: object) -> object:
        if isinstance(answer, str) and len(answer) > cls.SHOWN:
            return cls(answer[: cls.SHOWN], len(answer))
        return answer


class GuardedBackend:
    """One backend as pluggy sees it: the backend's hook functions, each guarded.

    ``answers`` maps each hook to what this backend last answered in it (a
    :class:`Failed` when it raised), for tracing and for ``ao-clean``'s "who holds this
    session". Hook wrappers are refused: a backend answers questions, it does not wrap the
    other backends' answers (and a wrapper could not be isolated).
    """

    def __init__(
        self, name: str, plugin: object, pm: pluggy.PluginManager, *, debug: bool = False
    ) -> None:
        self._ao_name = name
        self._ao_plugin = plugin
        self._problems: Problems = getattr(pm, "problems", None) or Problems()
        self._runner: Runner | None = None  # made when a wait first needs it
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
                answer, left_out = checked(hook, self._call(function, args, kwargs), name)
            except DELIBERATE as exc:
                self.answers[hook.name] = Failed(type(exc).__name__)
                raise _plain_deliberate(exc) from None
            except BackendUnavailable as exc:
                self._unavailable(hook, exc)
                return None
            except Overran as exc:
                self._overran(hook, exc)
                return None
            except BaseException as exc:
                if _from_user(exc):
                    raise
                reason = one_line(str(exc)) if isinstance(exc, BadAnswer) else describe(exc)
                warning = f"backend {name!r} failed in {hook.name}: {reason}"
                console.warn(warning)
                if debug:
                    console.traceback(exc)
                code = BAD_ANSWER if isinstance(exc, BadAnswer) else FAILED
                self._problems.report(Problem(name, code, warning), None)
                self.answers[hook.name] = Failed("failed")
                return None
            if left_out:
                count = f"{len(left_out)} answer{'s' if len(left_out) > 1 else ''}"
                console.warn(f"backend {name!r} in {hook.name}: {count} left out, {left_out[0]}")
            self.answers[hook.name] = Long.of(answer)
            return answer

        return guarded

    def _call(self, function: Callable[..., object], args: tuple, kwargs: dict) -> object:
        """The plugin's answer; on the backend's own thread inside a wait (or once it has
        been used there), waited for at most what the deadline leaves plus :data:`HOOK_GRACE`."""
        if not (deadline.active() or (self._runner is not None and self._runner.started)):
            return function(*args, **kwargs)
        timeout = deadline.remaining(float("inf")) + HOOK_GRACE if deadline.active() else None
        if self._runner is None:
            from ao_core.runner import Runner  # threads: only a wait pays for them

            self._runner = Runner(self._ao_name)
        return self._runner.call(function, args, kwargs, timeout)

    def _unavailable(self, hook: Hook, exc: BackendUnavailable) -> None:
        message = _message(exc)
        problem = Problem(self._ao_name, str(exc.code), message, deadline=bool(exc.deadline))
        self._problems.report(problem, f"{message}; falling back to the other backends")
        self.answers[hook.name] = Failed("unavailable")

    def _overran(self, hook: Hook, exc: Overran) -> None:
        message = f"backend {self._ao_name!r} did not answer {hook.name} before the --wait timeout"
        if not exc.still:
            console.warn(f"{message}: left out")
        self._problems.report(Problem(self._ao_name, TIMEOUT, message, deadline=True), None)
        self.answers[hook.name] = Failed("timeout")


def _message(exc: BaseException) -> str:
    """An exception's message on one line, or its type's name when it has none to give."""
    try:
        return one_line(str(exc)) or type(exc).__name__
    except Exception:  # noqa: BLE001 - a plugin's __str__ may raise
        return type(exc).__name__


def _plain_deliberate(exc: BaseException) -> BaseException:
    """The core's own exception for a deliberate one (a plugin's subclass may override
    anything), with the same message."""
    kind = next(k for k in DELIBERATE if isinstance(exc, k))
    name = getattr(exc, "name", None)
    return kind(_message(exc), name=name if isinstance(name, str) else None)


def checked(hook: Hook, answer: object, backend: str) -> tuple[object, list[str]]:
    """``answer`` as the commands expect it, with why items of a list answer were left out;
    :class:`BadAnswer` when it is no answer at all.

    Every value is copied into the core's own types (a plain ``str``, a new
    :class:`Session`), so nothing of the plugin's runs later. Sessions lacking a
    ``backend`` are stamped with this one's name; a status of ``not_existent`` becomes
    ``None`` ("I don't have it": the next backend is asked), and is left out of a
    ``{name: status}`` answer. A list's item that is not what the hook answers is left
    out, and so is a session whose fields are not text within :data:`SESSION_FIELDS`.
    """
    if answer is None or hook.answer is None:
        return None, []
    check = _CHECKS.get(hook.answer, _of_type)
    if not hook.many:
        value = check(hook, answer, backend)
        if hook.name == "fetch_status" and value == NOT_EXISTENT:
            return None, []
        return value, []
    if isinstance(answer, list):
        items = list.copy(answer)
    elif isinstance(answer, tuple):
        items = list(tuple.__getitem__(answer, slice(None)))
    else:
        noun = f"{hook.answer.__name__.lower()}s"
        raise BadAnswer(f"returned {_type(answer)}, not a list of {noun}")
    values, left_out = [], []
    for item in items:
        try:
            values.append(check(hook, item, backend))
        except BadAnswer as exc:
            left_out.append(str(exc))
    return values, left_out


def _type(value: object) -> str:
    return type(value).__name__


def _text(value: object, what: str, limit: int | None) -> str:
    """``value`` as a plain ``str`` (a copy, whatever subclass it was), within ``limit``."""
    if type(value) is str:
        text = value
    elif isinstance(value, str):
        text = str.__getitem__(value, slice(None))  # a plain copy: no method of the subclass
    else:
        raise BadAnswer(f"returned {_type(value)}, not a string{what}")
    if limit is not None and len(text) > limit:
        raise BadAnswer(f"returned a string of {len(text):,} characters{what} (at most {limit:,})")
    return text


def _string(hook: Hook, value: object, backend: str) -> str:
    if type(value) is StructuredResult and (hook.limit is None or len(value) <= hook.limit):
        return value  # the core's own class: nothing of a plugin's can run in it
    text = _text(value, "", hook.limit)
    if isinstance(value, Status):
        reason = _attribute(value, "reason")
        reason = None if reason is None else _text(reason, " as reason", MAX_FIELD_LENGTH)
        return Status(text, reason)
    if isinstance(value, StructuredResult):
        return StructuredResult(text)
    return text


def _session(hook: Hook, value: object, backend: str) -> Session:
    if type(value) is Session and _plain_session(value):
        return value if value.backend else replace(value, backend=backend)
    if not isinstance(value, Session):
        raise BadAnswer(f"returned {_type(value)}, not a Session")
    fields = {}
    for field, limit in SESSION_FIELDS.items():
        item = _attribute(value, field)
        if item is not None or field == "name":
            fields[field] = _text(item, f" as {field}", limit)
    if not fields["name"]:
        raise BadAnswer("returned a Session without a name")
    fields.setdefault("backend", backend)
    return Session(**fields)


def _plain_session(session: Session) -> bool:
    """Whether a :class:`Session` holds nothing but text within bounds (the usual: it is
    then used as it is, not copied)."""
    for field, limit in SESSION_FIELDS.items():
        value = getattr(session, field)
        if not (value is None or (type(value) is str and len(value) <= limit)):
            return False
    return bool(session.name)


def _statuses(hook: Hook, value: object, backend: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadAnswer(f"returned {_type(value)}, not a dict of statuses")
    statuses = {}
    for name, status in dict.items(value):
        if not (isinstance(name, str) and isinstance(status, str)):
            raise BadAnswer("returned a dict that is not {name: status}")
        status = _string(hook, status, backend)
        if status != NOT_EXISTENT:
            statuses[_text(name, " as name", MAX_FIELD_LENGTH)] = status
    return statuses


def _flag(hook: Hook, value: object, backend: str) -> bool:
    if not isinstance(value, bool):
        raise BadAnswer(f"returned {_type(value)}, not {hook.answer_text}")
    return value is True


def _of_type(hook: Hook, value: object, backend: str) -> object:
    """An answer of a type without a check of its own: the type is checked."""
    assert hook.answer is not None
    if not isinstance(value, hook.answer):
        raise BadAnswer(f"returned {_type(value)}, not {hook.answer_text}")
    return value


def _attribute(value: object, name: str) -> object:
    """``value.name``; a plugin's property that raises is a bad answer, not a crash."""
    try:
        return getattr(value, name, None)
    except Exception as exc:  # noqa: BLE001 - whatever a plugin's property does
        raise BadAnswer(f"returned a {_type(value)} whose {name} raises {_type(exc)}") from None


_CHECKS: dict[type, Callable[[Hook, object, str], object]] = {
    str: _string,
    Session: _session,
    dict: _statuses,
    bool: _flag,
}


def _from_user(exc: BaseException) -> bool:
    from ao_core import interrupts

    return interrupts.from_user(exc)
