"""Every exception of ao, in one place.

The ones a user sees derive from :class:`AoError` and become one ``Error: <message>``
line; which exit status each one ends the command with is decided in one place, the
CLI layer (:data:`ao_core.cli.EXIT_STATUS`), not here. Each user-facing error has a
stable ``code``, the word ``--json`` answers carry for programs to act on.
"""

from __future__ import annotations


class AoError(Exception):
    """An error shown to the user as one ``Error: ...`` line; ends the command.

    ``name`` is the session the error is about, when there is one (``--json`` answers
    carry it).
    """

    code = "error"

    def __init__(self, message: str, *, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


class UsageError(AoError):
    """A command line or selection that cannot be run as asked."""

    code = "usage"


class ConfigError(AoError):
    """A setting that cannot be used (missing project directory, bad number, ...)."""

    code = "config"


class InvalidName(AoError):
    """A session name outside the contract: 1 to 60 characters of ``[A-Za-z0-9_-]``."""

    code = "invalid_name"


class NotExistent(AoError):
    """No backend knows the session."""

    code = "not_existent"

    @classmethod
    def to_resume(cls, name: str) -> NotExistent:
        """The old ``ao-resume``'s error for a name nobody knows."""
        return cls(
            f"Session '{name}' does not exist. Use 'ao-start' command to create it", name=name
        )


class StillRunning(AoError):
    """The session is still in progress, so it has no result yet."""

    code = "still_running"

    @classmethod
    def session(cls, name: str) -> StillRunning:
        """The old commands' error for a session still in progress."""
        return cls(
            f"Session '{name}' is still running. "
            "Wait for completion or check status with ao-status.",
            name=name,
        )


class TimedOut(StillRunning):
    """``--wait`` gave up: the session was still in progress when the timeout came."""

    code = "timed_out"


class SessionBusy(StillRunning):
    """Raised by ``delete_session`` when the store refuses to delete a session still in use
    (the Agent Coordinator's 409 "Stop session first"); nothing of it may be deleted."""


class Refused(AoError):
    """Raised by a driving hook (start, resume, stop) when the store refuses the request
    for a reason the user must read (parameters its schema refuses, a session that cannot
    take another turn); the message is that reason."""

    code = "refused"


class AlreadyExists(Refused):
    """``ao-start`` was given a name a backend already knows (also raised by a
    ``start_session`` whose store already has that session)."""

    code = "already_exists"

    @classmethod
    def session(cls, name: str) -> AlreadyExists:
        """The old ``ao-start``'s error for a name already taken."""
        return cls(
            f"Session '{name}' already exists. Use 'ao-resume' command to continue or choose "
            "a different name",
            name=name,
        )


class NoPrompt(AoError):
    """``ao-start`` or ``ao-resume`` got neither ``-p`` nor piped text."""

    code = "no_prompt"


class AgentUnavailable(AoError):
    """``--agent`` names an agent no backend lists, or one that is inactive."""

    code = "agent_unavailable"


class Unsupported(AoError):
    """No selected backend can do what the command asks (start, resume, stop, list
    blueprints): the older Session Manager and the backup files cannot."""

    code = "unsupported"


class NoResult(AoError):
    """The session is done but holds no result (stopped, or ended without one)."""

    code = "no_result"


class SessionFailed(AoError):
    """Raised by ``fetch_result`` when the session ended in failure and has no result."""

    code = "failed"


class StorageError(AoError):
    """Raised by a backend whose store cannot be read at all (not "session unknown")."""

    code = "storage_error"


class Unexpected(AoError):
    """Any other exception that reached the command: a bug, reported in one line."""

    code = "internal"


class BadAnswer(Exception):
    """A backend answered a hook with something that is not an answer to it."""


class UnknownHook(Exception):
    """A backend marks a hook the contract does not have (a typo: it would never be asked)."""


class BackendUnavailable(Exception):
    """Raised by a hook when the backend's store cannot be used now (a server that is down,
    says no, or answers nonsense): one warning per command (the message, then "; falling
    back to the other backends"), the next backend answers, and ``--json`` documents list
    the backend with ``code`` (see :mod:`ao_core.problems`). ``deadline``: the ``--wait``
    deadline, not the store, cut the question short."""

    def __init__(self, message: str, *, code: str, deadline: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.deadline = deadline


class ServerFailure(Exception):
    """A backend's service could not give a usable answer; the message is the reason shown,
    ``code`` its stable word, ``deadline`` whether the ``--wait`` deadline cut it short."""

    def __init__(self, reason: str, *, code: str, deadline: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.deadline = deadline


class Terminated(BaseException):
    """SIGTERM arrived while the command was waiting or working through several sessions."""


class OutputLost(AoError):
    """The answer could not be written (stdout closed, full, failing): the command failed
    even though it found the answer. A reader that went away is not this (exit 141)."""

    code = "output_lost"


class Overran(Exception):
    """A backend's hook call did not return in time inside a wait (:mod:`ao_core.runner`);
    ``still``: an earlier one has not returned yet."""

    def __init__(self, still: bool) -> None:
        super().__init__("still busy" if still else "did not return in time")
        self.still = still
