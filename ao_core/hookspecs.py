"""The five questions a storage backend answers: the contract for every ao plugin.

A backend is a module or class whose functions carry the :data:`hookimpl` marker and
have the names below. It is asked in the configured order (by default ``api``, then
third-party backends by name, then ``file``). Returning ``None`` from a firstresult
hook means "I don't know this one": the next backend is asked. A backend may declare
only the arguments it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ao_core.config import Config
    from ao_core.session import Session

PROJECT_NAME = "ao"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec(firstresult=True)
def resolve_session(name: str, config: Config) -> Session | None:
    """Find the session called ``name`` in this backend's store.

    Return a :class:`~ao_core.Session` with ``backend`` set to your plugin's name, or
    ``None`` when you have no session of that name. When several share the name,
    return the one the name refers to (the newest). ``name`` has already been checked
    against the session-name rules.
    """


@hookspec(firstresult=True)
def fetch_status(session: Session, config: Config) -> str | None:
    """Return the status of ``session``: ``"running"``, ``"finished"`` or another word.

    ``session`` may have been resolved by another backend: look it up by its
    ``session_id`` or ``name`` in your own store, and return ``None`` when you don't
    have it. Report statuses as your store knows them (``pending``, ``idle``,
    ``stopped``, ``failed`` ...); the commands pass them through.
    """


@hookspec(firstresult=True)
def fetch_result(session: Session, config: Config) -> str | None:
    """Return the result text of a session whose status says it is done.

    Return ``None`` when you don't have the session or hold no result for it. A session
    that ended in failure never yields a result string: raise
    :class:`~ao_core.SessionFailed` with a short reason (for example the SDK's
    ``error_max_turns``) when you know one, else return ``None``.
    """


@hookspec
def list_sessions(config: Config) -> list[Session]:
    """Return every session in your store, the one each name refers to first.

    Every backend contributes; the commands show one line per name, taken from the
    earliest backend in the order that has it.
    """


@hookspec
def delete_session(session: Session, config: Config) -> bool:
    """Delete your copy of the session named ``session.name``; return True if you did.

    Every backend is asked, so a session stored in several places is deleted from all
    of them. Delete that session's data and nothing else; return False (or ``None``)
    when you have nothing of that name.
    """


@hookspec
def start_round(config: Config) -> None:
    """Optional: a new round of questions about a session begins (each poll of ``--wait``).

    A backend that gave up on its service after a failure earlier in the command may try
    it again from here on. The return value is ignored.
    """
