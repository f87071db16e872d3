"""The session record every backend speaks, and the rules for session names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ao_core.errors import InvalidName

MAX_NAME_LENGTH = 60
NAME_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_NAME_LENGTH}}}")

#: Statuses that mean "not done yet": waiting makes sense, there is no result to fetch.
IN_PROGRESS = frozenset({"pending", "running", "stopping"})
#: Statuses whose session has a result to fetch.
RESULT_READY = frozenset({"finished", "idle"})
#: The most characters a session's name, id or status may have: they are short by nature
#: (a name is at most 60, an id a few dozen), and one of megabytes would cost far more than
#: its size wherever it is quoted, escaped or printed. A session whose fields break these
#: bounds is left out, whatever backend gives it.
MAX_FIELD_LENGTH = 1024
#: The most characters a session's project directory may have (Linux's PATH_MAX).
MAX_PATH_LENGTH = 4096
#: What ``ao-status`` prints for a session no backend knows.
NOT_EXISTENT = "not_existent"
#: The status of a run that ended in an error (an SDK error subtype, a failed run).
FAILED = "failed"


@dataclass(frozen=True, kw_only=True, slots=True)
class Session:
    """One named agent session, as a backend found it.

    ``session_id`` is ``None`` while a session is still starting (its id is not known
    yet); ``backend`` names the plugin that produced the record. ``status`` is filled
    by a backend that learns it with the record anyway (a server's listing), else None.
    (Slots: a listing of a hundred thousand sessions costs a fifth of the memory.)
    """

    name: str
    session_id: str | None = None
    project_dir: str | None = None
    backend: str | None = None
    status: str | None = None


class Status(str):
    """A status word, with why the session ended so when the backend knows (a failed run's
    ``error_max_turns``, say).

    ``fetch_status`` may return one instead of a plain string; ``--json`` shows the reason.
    """

    reason: str | None

    def __new__(cls, word: str, reason: str | None = None) -> Status:
        status = super().__new__(cls, word)
        status.reason = reason
        return status


class StructuredResult(str):
    """A result that is a JSON document (an agent's structured output), not free text.

    ``fetch_result`` may return one instead of a plain string: it prints as the JSON
    text, and ``--json`` embeds it as a JSON value rather than as a string.
    """


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid session name, else raise :class:`InvalidName`.

    Names become file names, so this check is also what keeps paths such as
    ``../../etc/passwd`` out of the sessions directory. The messages are the old
    commands' own.
    """
    if not name:
        raise InvalidName("Session name cannot be empty", name=name)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(
            f"Session name too long (max {MAX_NAME_LENGTH} characters, got {len(name)})",
            name=name,
        )
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidName(
            "Session name can only contain alphanumeric characters, dashes, and underscores",
            name=name,
        )
    return name


def is_valid_name(name: object) -> bool:
    """True when ``name`` is a string that :func:`validate_name` would accept."""
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None
