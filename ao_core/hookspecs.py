"""The questions a storage backend answers: the contract for every ao plugin.

A backend is a module or class whose functions carry the :data:`hookimpl` marker and
have the names below; it may declare only the arguments it uses. Each hook is declared
once here with :func:`contract_hook`, which says how it is asked and what an answer
must be; the plugin manager, the isolation guard, ``ao-plugins``, the backend author's
kit and the hook table of docs/plugins.md all take the contract from :data:`CONTRACT`. The order
the backends are asked in is :mod:`ao_core.manager`'s business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import pluggy

from ao_core.frozen import Record
from ao_core.session import MAX_FIELD_LENGTH, Session

if TYPE_CHECKING:
    from ao_core.config import Config
    from ao_core.records import Blueprint, Details, Event, EventLog, Turn

PROJECT_NAME = "ao"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

F = TypeVar("F", bound=Callable[..., object])


class Hook(Record):
    """How one hook is asked and what counts as an answer.

    ``first_answer``: backends are asked in order until one answers (pluggy's
    ``firstresult``); otherwise every backend is asked and all answers are used.
    ``answer``: the type an answer must have (``None`` is always allowed and means "I
    don't know this one"), or the name of one of :mod:`ao_core.records`, imported when
    first needed (its dataclasses cost every command's start-up otherwise); ``many``:
    the answer is a list of such values; ``None`` as ``answer``: the return value is
    ignored. ``required``: every backend implements it.
    ``limit``: the most characters a text answer may have (None: any). What each type of
    answer must hold beyond its type is :mod:`ao_core.guard`'s business.
    """

    __slots__ = ("name", "first_answer", "_answer", "many", "required", "limit")
    _compared = ("name", "first_answer", "answer", "many", "required", "limit")

    name: str
    first_answer: bool
    many: bool
    required: bool
    limit: int | None

    def __init__(
        self,
        name: str,
        first_answer: bool,
        answer: type | str | None,
        many: bool = False,
        required: bool = True,
        limit: int | None = None,
    ) -> None:
        self._init(
            name=name,
            first_answer=first_answer,
            _answer=answer,
            many=many,
            required=required,
            limit=limit,
        )

    @property
    def answer(self) -> type | None:
        """The type an answer must have (None: the return value is ignored)."""
        if isinstance(self._answer, str):
            from ao_core import records

            return getattr(records, self._answer)
        return self._answer

    @property
    def answer_text(self) -> str:
        """What one answer (one item, for a list) must be, in words, for warnings."""
        if self.answer is None:
            return "nothing"
        words = {str: "a string", bool: "True or False", dict: "a dict of statuses"}
        return words.get(self.answer, f"a {self.answer.__name__}")


#: Every hook of the contract, by name, in the order they are documented.
CONTRACT: dict[str, Hook] = {}


def contract_hook(
    *,
    first_answer: bool,
    answer: type | str | None,
    many: bool = False,
    required: bool = True,
    limit: int | None = None,
) -> Callable[[F], F]:
    """Declare the decorated function as a hook of the contract (see :class:`Hook`)."""

    def declare(function: F) -> F:
        name = function.__name__
        CONTRACT[name] = Hook(name, first_answer, answer, many, required, limit)
        return hookspec(firstresult=first_answer)(function)

    return declare


@contract_hook(first_answer=True, answer=Session)
def resolve_session(name: str, config: Config) -> Session | None:
    """Find the session called ``name`` in this backend's store.

    Return a :class:`~ao_core.Session` with ``backend`` set to your plugin's name, or
    ``None`` when you have no session of that name. When several share the name,
    return the one the name refers to (the newest). ``name`` has already been checked
    against the session-name rules.
    """


@contract_hook(first_answer=True, answer=str, limit=MAX_FIELD_LENGTH)
def fetch_status(session: Session, config: Config) -> str | None:
    """Return the status of ``session``: ``"running"``, ``"finished"`` or another word.

    ``session`` may have been resolved by another backend: look it up by its
    ``session_id`` or ``name`` in your own store, and return ``None`` (or
    ``"not_existent"``) when you don't have it. Report statuses as your store knows
    them (``pending``, ``idle``, ``stopped``, ``failed`` ...); the commands pass them
    through.
    """


@contract_hook(first_answer=True, answer=str)
def fetch_result(session: Session, config: Config) -> str | None:
    """Return the result text of a session whose status says it is done.

    Return ``None`` when you don't have the session or hold no result for it. A session
    that ended in failure never yields a result string: raise
    :class:`~ao_core.SessionFailed` with a short reason (for example the SDK's
    ``error_max_turns``) when you know one, else return ``None``.
    """


@contract_hook(first_answer=False, answer=Session, many=True)
def list_sessions(config: Config) -> list[Session]:
    """Return every session in your store, the one each name refers to first.

    Every backend contributes; the commands show one line per name, taken from the
    earliest backend in the order that has it.
    """


@contract_hook(first_answer=False, answer=dict, required=False, limit=MAX_FIELD_LENGTH)
def fetch_statuses(sessions: list[Session], config: Config) -> dict[str, str]:
    """Optional: the statuses of many sessions at once, ``{name: status}``, for those you have.

    ``ao-list-sessions --long`` asks this once for every listed session whose status the
    listing did not give, instead of :func:`fetch_status` once per session; a backend that
    can answer many more cheaply than one by one (one pass over a directory) implements
    it. Leave out the sessions you don't have; the others are asked one by one.
    """


@contract_hook(first_answer=False, answer=bool)
def delete_session(session: Session, config: Config) -> bool:
    """Delete your copy of the session named ``session.name``; return True if you did.

    Every backend is asked, so a session stored in several places is deleted from all
    of them. Delete that session's data and nothing else; return False (or ``None``)
    when you have nothing of that name.
    """


@contract_hook(first_answer=False, answer=None, required=False)
def start_round(config: Config) -> None:
    """Optional: a new round of questions about a session begins (each poll of ``--wait``).

    A backend that gave up on its service after a failure earlier in the command may try
    it again from here on. The return value is ignored.
    """


@contract_hook(first_answer=True, answer=bool, required=False)
def wait_for_change(sessions: list[Session], config: Config, timeout: float) -> bool | None:
    """Optional: block until one of ``sessions`` may have ended, for at most ``timeout`` s.

    ``--wait`` asks this between two rounds of questions. Return True as soon as one of
    them may have changed status (the commands then ask again), False when you watched
    for ``timeout`` seconds and saw no change, and None when you cannot watch these
    sessions (the commands then poll). A backend whose store pushes changes (an event
    stream) implements it; the first backend that answers is believed. Never block
    longer than ``timeout``.

    Once the wait is over (ended, timed out or stopped) it is called once more with no
    sessions: let go of what you held for watching (a stream, its thread) and return
    None at once. A command ends its process then anyway; ``ao mcp`` lives on.
    """


# -- driving sessions: all optional; a backend that cannot do one leaves it out ----------


@contract_hook(first_answer=True, answer="Turn", required=False)
def start_session(name: str, parameters: dict, agent: str | None, config: Config) -> Turn | None:
    """Optional: start a new session called ``name`` in your store and return its
    :class:`~ao_core.records.Turn` as soon as the store accepted it (do not wait for it).

    ``parameters`` is ``{"prompt": TEXT}``, or the object ``--params`` gave an agent with
    its own parameters schema; ``agent`` is the blueprint to run (already checked against
    :func:`list_blueprints`), or None. The commands have checked that no backend knows
    ``name``. Raise :class:`~ao_core.Refused` with the store's reason when it refuses
    (parameters its schema rejects; :class:`~ao_core.AlreadyExists` when it has the
    name after all); return None when you cannot start sessions (the next backend is
    asked).
    """


@contract_hook(first_answer=True, answer="Turn", required=False)
def resume_session(session: Session, prompt: str, config: Config) -> Turn | None:
    """Optional: give ``session`` another turn with ``prompt``; return that turn at once.

    The commands have checked that the session exists and is not in progress. Raise
    :class:`~ao_core.Refused` with the store's reason when the session cannot take a turn;
    return None when you do not have it or cannot resume sessions.
    """


@contract_hook(first_answer=True, answer=str, required=False)
def fetch_turn_status(turn: Turn, config: Config) -> str | None:
    """Optional: how far ``turn`` (one you started) has got: ``pending`` or ``running``
    while it is in progress, else a word that is not (``completed``, ``failed``, ...).

    ``ao-start`` and ``ao-resume`` wait on this, so they wait for *their* turn even while
    the session still shows the previous turn's status; without it they wait on
    :func:`fetch_status`. Return None for a turn that is not yours.
    """


@contract_hook(first_answer=True, answer=str, required=False)
def stop_session(session: Session, config: Config) -> str | None:
    """Optional: ask your store to stop ``session``; return the status it answered with
    (``stopping`` while the stop is under way, or the status it ended with).

    Do not wait for the session to end: ``ao-stop`` follows it with :func:`fetch_status`.
    Return None when you do not have the session or cannot stop sessions.
    """


@contract_hook(first_answer=True, answer="Details", required=False)
def describe_session(session: Session, config: Config) -> Details | None:
    """Optional: what your store knows about ``session`` (agent, times, runner, latest
    run), for ``ao-show-config``; None when you do not have it."""


@contract_hook(first_answer=False, answer="Blueprint", many=True, required=False)
def list_blueprints(tags: list[str], config: Config) -> list[Blueprint] | None:
    """Optional: the agents sessions can be started with in your store, having every tag
    in ``tags`` (all of them when empty); None when your store has no blueprints at all.

    Every backend is asked; a name listed by several is shown once, from the earliest.
    """


@contract_hook(first_answer=False, answer=bool, required=False)
def check_delete(session: Session, config: Config) -> bool | None:
    """Optional: what :func:`delete_session` would do, without deleting anything
    (``ao-clean --dry-run``): True when you would delete your copy, False or None when you
    have none, :class:`~ao_core.SessionBusy` raised when you would refuse."""


# -- a session's events (ao-logs): optional --------------------------------------------


@contract_hook(first_answer=True, answer="EventLog", required=False)
def fetch_events(
    session: Session, config: Config, tail: int | None, follow: bool
) -> EventLog | None:
    """Optional: the events of ``session`` in your store, oldest first, as an
    :class:`~ao_core.records.EventLog` (for ``ao-logs``); None when you do not have it.

    Stay bounded in memory however long the history: give a generator that reads the
    store as it is iterated. ``tail`` (None: all) says only the last ``tail`` events will
    be shown: start that far from the end if your store can (the command keeps the last
    ``tail`` of what you give). Where your store cuts the history, say so with an event
    of kind ``gap`` where the cut is. ``follow`` True: :func:`follow_events` will be asked
    next, so start watching before you read the history (nothing may fall between);
    remember where you stopped: following goes on from there.
    """


@contract_hook(first_answer=True, answer="Event", many=True, required=False)
def follow_events(session: Session, config: Config, timeout: float, last: bool) -> list[Event]:
    """Optional: the events of ``session`` that arrived since the ones you last answered
    (in :func:`fetch_events` or here), for ``ao-logs --follow``.

    Wait at most ``timeout`` seconds for one; return ``[]`` after a quiet ``timeout`` (or
    sooner, when the session may have changed status: the command then asks it), None
    when you did not answer this session's :func:`fetch_events` or cannot follow it.
    ``last`` True: the session has ended, return whatever is left without waiting. Never
    give an event twice.
    """
