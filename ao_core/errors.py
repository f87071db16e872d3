"""Errors a user sees as one line: ``Error: <message>`` and the exit status they carry."""


class AoError(Exception):
    """An error shown to the user as one ``Error: ...`` line; ends the command.

    ``exit_status`` overrides the class's status for this one error.
    """

    exit_status = 1

    def __init__(self, message: str, *, exit_status: int | None = None) -> None:
        super().__init__(message)
        if exit_status is not None:
            self.exit_status = exit_status


class UsageError(AoError):
    """A command line or selection that cannot be run as asked (exit status 2)."""

    exit_status = 2


class InvalidName(AoError):
    """A session name outside the contract: 1 to 60 characters of ``[A-Za-z0-9_-]``."""


class SessionFailed(AoError):
    """Raised by ``fetch_result`` when the session ended in failure and has no result."""


class StorageError(AoError):
    """Raised by a backend whose store cannot be read at all (not "session unknown")."""
