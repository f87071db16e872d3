"""What every ao-* command shares: start-up, asking the backends, and turning errors into exits.

:data:`EXIT_STATUS` is the one place that says which exception ends a command with which
exit status.

Only what every command needs is imported at the top; the shapes of answers
(:mod:`ao_core.answers`), the wait loop and signal handling are imported where they are
used, so a command that does not use them does not pay for them at start-up.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import pluggy

from ao_core import answers, console, interrupts
from ao_core.config import DEBUG, Config
from ao_core.errors import (
    AoError,
    OutputLost,
    StorageError,
    Terminated,
    TimedOut,
    Unexpected,
    Unsupported,
    UsageError,
)
from ao_core.frozen import Record
from ao_core.manager import LAST, get_plugin_manager
from ao_core.options import DEFAULT_INTERVAL
from ao_core.problems import Problems
from ao_core.session import IN_PROGRESS, NOT_EXISTENT, Session, validate_name

if TYPE_CHECKING:
    from ao_core.records import Blueprint, Turn

#: The exit status of a wait that timed out, as timeout(1) gives.
TIMED_OUT = 124
#: Exit status per exception class (the first match in this order wins); any other
#: :class:`AoError` is 1.
EXIT_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (UsageError, 2),
    (TimedOut, TIMED_OUT),
    (OutputLost, 1),
    (AoError, 1),
    (KeyboardInterrupt, 130),
    (Terminated, 143),
    (BrokenPipeError, 141),
)

#: The name a command runs under when ``ao`` runs it (``ao status``), for its usage line
#: and errors; None: its parser's own. Set only by :mod:`ao_core.commands.ao`.
RUN_AS: str | None = None


class _Running:
    """The context of the command being run, for its error document (set by :func:`start`)."""

    context: Context | None = None


def exit_status(exc: BaseException) -> int:
    """The exit status a command ends with when ``exc`` stops it (1 for the unexpected)."""
    return next((status for kind, status in EXIT_STATUS if isinstance(exc, kind)), 1)


class Context(Record):
    """What a command works with once its arguments are understood."""

    __slots__ = ("config", "pm", "_callers", "_listed", "_incomplete", "_progress")
    _compared = ("config", "pm")

    config: Config
    pm: pluggy.PluginManager
    _callers: dict[tuple[str, str], pluggy.HookCaller]
    _listed: dict[str, tuple[object, dict[str, Session]]]
    _incomplete: list[bool]
    _progress: list[Callable[[Mapping[str, tuple[Session | None, str]], float], None]]

    @property
    def incomplete(self) -> bool:
        """Whether the statuses a wait ended with come from a round the deadline cut short
        (its first and only one): they are not even the last whole answer."""
        return bool(self._incomplete)

    @property
    def problems(self) -> Problems:
        """The backends this command could not use, and why."""
        problems = getattr(self.pm, "problems", None)
        return problems if isinstance(problems, Problems) else Problems()

    def unavailable(self) -> list[dict[str, str]]:
        """``{"backend", "code", "message"}`` per backend the answer could not use."""
        return self.problems.unavailable()

    def __init__(self, config: Config, pm: pluggy.PluginManager) -> None:
        self._init(config=config, pm=pm, _callers={}, _listed={}, _incomplete=[], _progress=[])

    def report_waits(
        self, progress: Callable[[Mapping[str, tuple[Session | None, str]], float], None]
    ) -> None:
        """Tell ``progress(statuses, seconds waited)`` how every wait of this command goes,
        between its rounds, instead of drawing the live line: ``ao mcp`` turns it into
        progress notifications. ``progress`` may raise to end the wait (the tool call was
        cancelled)."""
        self._progress[:] = [progress]

    def resolve(self, name: str) -> Session | None:
        """The session ``name`` refers to, from the first backend that knows it."""
        return self.pm.hook.resolve_session(name=name, config=self.config)

    def status_of(self, name: str) -> tuple[Session | None, str]:
        """The session ``name`` refers to and its status (``not_existent`` when none)."""
        session = self.resolve(name)
        return session, self.session_status(session) if session else NOT_EXISTENT

    def session_status(self, session: Session) -> str:
        """The status of a session found earlier in this command (``not_existent``: gone)."""
        return self.pm.hook.fetch_status(session=session, config=self.config) or NOT_EXISTENT

    def fresh_status(self, session: Session) -> str:
        """:meth:`session_status` in a new round (nothing a backend kept from an earlier
        round answers for it)."""
        self.pm.hook.start_round(config=self.config)
        return self.session_status(session)

    def all_sessions(self) -> list[Session]:
        """Every session any backend lists, one per name: the earliest backend's wins."""
        seen: dict[str, Session] = {}
        for sessions in self.pm.hook.list_sessions(config=self.config):
            for session in sessions or ():
                seen.setdefault(session.name, session)
        return list(seen.values())

    def statuses_listed(self, sessions: list[Session]) -> dict[str, str]:
        """Each listed session's status, by name: the one the listing gave, else what the
        backends answer for many at once (``fetch_statuses``), else what the backend that
        listed the session answers for it alone (``fetch_status``, that backend only)."""
        statuses = {s.name: s.status for s in sessions if s.status is not None}
        missing = [s for s in sessions if s.status is None]
        for answer in self.pm.hook.fetch_statuses(sessions=missing, config=self.config):
            for name, status in (answer or {}).items():
                statuses.setdefault(name, status)
        callers: dict[str, pluggy.HookCaller] = {}
        for session in sessions:
            if session.name not in statuses:
                backend = session.backend or ""
                if backend not in callers:
                    others = [p for n, p in self.pm.list_name_plugin() if n != backend]
                    callers[backend] = self.pm.subset_hook_caller("fetch_status", others)
                status = callers[backend](session=session, config=self.config)
                statuses[session.name] = status or NOT_EXISTENT
        return statuses

    def delete(self, session: Session) -> bool:
        """Delete the session called ``session.name`` from every backend that holds it: all
        of it or, as far as it can be helped, nothing. True if any backend deleted it, False
        when none holds it (any more).

        The backends that hold it are those that listed or resolved it in this command, or
        resolve it now; each deletes its own record of it, in the call order but the backup
        files last, so a server that refuses (:class:`SessionBusy`) or cannot confirm the
        deletion (down, failing, cut off) leaves every copy in place: that is a
        :class:`StorageError` saying why. A backend that could not be used from the start
        holds nothing here, so the files alone are deleted, as they always were.
        """
        name = session.name
        order = self._call_order("delete_session")
        order.sort(key=lambda backend: backend == LAST)
        holders = [(b, own) for b in order if (own := self._held_by(b, session)) is not None]
        done: list[str] = []
        for backend, own in holders:
            if any(self._only(backend, "delete_session")(session=own, config=self.config)):
                done.append(backend)
                continue
            problem = self.problems.of(backend)
            if problem is not None:
                what = f"deleted only from {', '.join(done)}" if done else "not deleted"
                raise StorageError(f"Session '{name}' {what}: {problem.message}", name=name)
        return bool(done)

    def _held_by(self, backend: str, session: Session) -> Session | None:
        """``backend``'s own record of the session called ``session.name``, if it holds one:
        from what it answered in this command, else by asking it."""
        answers = getattr(self.pm.get_plugin(backend), "answers", {})
        resolved = answers.get("resolve_session")
        if isinstance(resolved, Session) and resolved.name == session.name:
            return resolved
        listed = answers.get("list_sessions")
        if isinstance(listed, list):
            known = self._listed.get(backend)
            if known is None or known[0] is not listed:
                index: dict[str, Session] = {}
                for item in listed:
                    index.setdefault(item.name, item)
                known = self._listed[backend] = (listed, index)
            return known[1].get(session.name)
        return self._only(backend, "resolve_session")(name=session.name, config=self.config)

    def _call_order(self, hook: str) -> list[str]:
        """The backends implementing ``hook``, in the order they are asked."""
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        return [impl.plugin_name for impl in reversed(impls)]

    def _only(self, backend: str, hook: str) -> pluggy.HookCaller:
        """``hook`` asked of ``backend`` alone."""
        caller = self._callers.get((hook, backend))
        if caller is None:
            others = [p for n, p in self.pm.list_name_plugin() if n != backend]
            caller = self._callers[(hook, backend)] = self.pm.subset_hook_caller(hook, others)
        return caller

    def check_delete(self, session: Session) -> bool:
        """What :meth:`delete` would do, deleting nothing: True when a backend says it would
        delete, or when none can tell (the session was found); raises when one would
        refuse (:class:`~ao_core.SessionBusy`)."""
        answers = self.pm.hook.check_delete(session=session, config=self.config)
        return any(answers) or not answers

    def statuses(self, names: Sequence[str]) -> dict[str, tuple[Session | None, str]]:
        """One round: each name's session and status (``not_existent`` when none)."""
        return {name: self.status_of(name) for name in names}

    def settled_statuses(
        self, names: Sequence[str], args: argparse.Namespace
    ) -> tuple[dict[str, tuple[Session | None, str]], bool]:
        """The statuses of ``names``, waited for with ``--wait``; True when that timed out.

        ``--timeout`` wins over its variable, which is read only when a wait needs it. A
        round the deadline cut short (a backend that was not given the time it needed) is
        no answer: the wait ends timed out with the last whole round's statuses (the cut
        round's own, and its warnings, only when it was the first).
        """
        if not args.wait:
            return self.statuses(names), False
        return self.wait_for(
            names,
            lambda: self.statuses(names),
            timeout=args.timeout,
            interval=args.interval,
            any_one=getattr(args, "any", False),
        )

    def wait_for(
        self,
        names: Sequence[str],
        round_: Callable[[], dict[str, tuple[Session | None, str]]],
        *,
        timeout: float | None,
        interval: float | None,
        any_one: bool = False,
    ) -> tuple[dict[str, tuple[Session | None, str]], bool]:
        """Ask ``round_`` (each name's session and status) until no status is in progress,
        with the one waiting loop, its deadline, interrupts and live line; True when the
        wait timed out.

        ``timeout`` None reads its variable, which is read only when a wait needs it. A
        round the deadline cut short (a backend that was not given the time it needed) is
        no answer: the wait ends timed out with the last whole round's statuses (the cut
        round's own, and its warnings, only when it was the first).
        """
        from ao_core import waiting  # only a wait pays for this

        problems = self.problems
        last: list[dict[str, tuple[Session | None, str]]] = []

        def ask() -> dict[str, tuple[Session | None, str]]:
            problems.new_round()
            self.pm.hook.start_round(config=self.config)
            statuses = round_()
            if problems.cut:
                if last:
                    problems.discard_round()
                    raise waiting.OutOfTime(last[0])
                problems.publish_held()
                self._incomplete.append(True)
                raise waiting.OutOfTime(statuses)
            last[:] = [statuses]
            return statuses

        def watch(statuses: waiting.Statuses, seconds: float) -> bool | None:
            sessions = [s for s, status in statuses.values() if s and status in IN_PROGRESS]
            return self.pm.hook.wait_for_change(
                sessions=sessions, config=self.config, timeout=seconds
            )

        if timeout is None:
            timeout = self.config.get(waiting.WAIT_TIMEOUT)
        progress = self._progress[0] if self._progress else waiting.progress_line(list(names))
        with interrupts.quiet_termination():
            try:
                return waiting.wait_until_settled(
                    ask,
                    timeout=timeout,
                    interval=interval or DEFAULT_INTERVAL,
                    any_one=any_one,
                    watch=watch,
                    progress=progress,
                )
            finally:  # the watches let go of their streams (ao mcp outlives its waits)
                self.pm.hook.wait_for_change(sessions=[], config=self.config, timeout=0.0)

    def turn_status(self, turn: Turn) -> str:
        """How far a turn this command started has got (the session's status when no
        backend follows turns)."""
        status = self.pm.hook.fetch_turn_status(turn=turn, config=self.config)
        if status is None:
            status = self.pm.hook.fetch_status(session=turn.session, config=self.config)
        return status or NOT_EXISTENT

    def blueprints(self, tags: Sequence[str] = ()) -> list[Blueprint] | None:
        """Every blueprint any backend lists, one per name (the earliest backend's); None
        when no backend has blueprints at all."""
        answers = [a for a in self.pm.hook.list_blueprints(tags=list(tags), config=self.config)]
        if all(answer is None for answer in answers):
            return None
        seen: dict[str, Blueprint] = {}
        for blueprints in answers:
            for blueprint in blueprints or ():
                seen.setdefault(blueprint.name, blueprint)
        return list(seen.values())

    def unsupported(self, doing: str) -> Unsupported:
        """The error for an operation no selected backend can do, naming those asked."""
        asked = ", ".join(reversed([name for name, _ in self.pm.list_name_plugin()]))
        return Unsupported(
            f"No backend can {doing} (asked: {asked or 'none'}); the Agent Coordinator can: "
            "set AGENT_ORCHESTRATOR_SESSION_MANAGER_URL to its URL"
        )


def load_config(args: argparse.Namespace) -> Config:
    """The settings from the common options and the environment."""
    return Config.load(
        project_dir=args.project_dir, sessions_dir=args.sessions_dir, backends=args.backends
    )


def start(args: argparse.Namespace, names: Sequence[str] = ()) -> Context:
    """Validate ``names`` and settings, then load the backends (in that order, no I/O first)."""
    for name in names:
        validate_name(name)
    config = load_config(args)
    context = _Running.context = Context(config, get_plugin_manager(config))
    return context


def run(
    command: Callable[[argparse.Namespace], int],
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
) -> int:
    """Parse ``argv`` and run ``command``; every failure becomes one line and an exit status.

    A traceback is shown only when ``AGENT_ORCHESTRATOR_DEBUG`` is set. With ``--json``
    an error is also one JSON document on stdout (``{"name", "error": {"code",
    "message"}}``), so a program never has to read stderr. An answer that cannot be
    written (stdout closed or full) is an error too, not a silent success.
    """
    _hold_standard_fds()
    if RUN_AS is not None:
        parser.prog = RUN_AS
    args = parser.parse_args(argv)
    _Running.context = None
    try:
        with interrupts.watch_interrupts():
            status = command(args)
        console.flush()
        return status
    except OutputLost as exc:
        console.discard_stdout()
        console.error(str(exc))
        return exit_status(exc)
    except AoError as exc:
        _report(exc, args)
        return exit_status(exc)
    except (KeyboardInterrupt, Terminated) as exc:
        return exit_status(exc)
    except BrokenPipeError as exc:
        # The reader went away (`ao-list-sessions | head -1`): stop quietly.
        console.discard_stdout()
        return exit_status(exc)
    except Exception as exc:
        why = f"unexpected {type(exc).__name__}: {exc} (set {DEBUG.variable}=1 for details)"
        _report(Unexpected(why), args)
        return exit_status(exc)


def _report(exc: AoError, args: argparse.Namespace) -> None:
    """The ``Error:`` line (and the traceback when debugging), and with ``--json`` the
    error document on stdout."""
    _debug_traceback()
    console.error(str(exc))
    if getattr(args, "json", False):
        context = _Running.context
        unavailable = context.unavailable() if context is not None else []
        try:
            console.emit(answers.error_document(exc, unavailable))
        except (OutputLost, BrokenPipeError):
            console.discard_stdout()  # the error is on stderr; its status stands


def _hold_standard_fds() -> None:
    """Open ``/dev/null`` on any of file descriptors 0, 1, 2 the command was started
    without (``>&-``), so no file opened later (a session file) takes that number and
    gets written by whatever writes to it. ``sys.stdout`` stays None: answers still fail.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def _debug_traceback() -> None:
    if DEBUG.read(os.environ):
        console.traceback()
