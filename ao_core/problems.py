"""The backends a command could not use, and why: one warning per backend per command, and
the ``unavailable`` member of every ``--json`` object document, so a program can tell "no
such session" from "could not ask".

A problem belongs to the round of questions it happened in (each poll of ``--wait`` is
one; a command that does not wait is one round): the backends that could not be used are
those of the round that gave the answer. A problem of a backend that failed to load lasts
the whole command. A problem the ``--wait`` deadline caused (a server that was not given
the time it needed) is no failure of the backend: its round gives no answer, and its
warning is printed only if that round's answer is used after all (the first one).
"""

from __future__ import annotations

from ao_core import console
from ao_core.frozen import Record

#: No connection, or it broke during the answer.
UNREACHABLE = "unreachable"
#: No whole answer in time: the timeout, or what the ``--wait`` deadline left.
TIMEOUT = "timeout"
#: The store refused us (HTTP 401, 403: the key).
REFUSED = "refused"
#: An HTTP status that answers nothing (a 5xx, a redirect, another 4xx).
SERVER_ERROR = "server_error"
#: An answer that breaks the contract: not JSON, too large, the wrong shape or type.
BAD_ANSWER = "bad_answer"
#: A setting makes the store unusable (a URL that is not one).
CONFIG = "config"
#: A plugin raised in a hook.
FAILED = "failed"
#: A plugin could not be loaded.
NOT_LOADED = "not_loaded"


class Problem(Record):
    """Why ``backend`` could not be used: a stable ``code`` and the words of its warning.

    ``deadline``: the ``--wait`` deadline, not the backend, cut it short. A frozen record
    (compared, hashed and shown by its fields), not a dataclass: made on every start-up.
    """

    __slots__ = ("backend", "code", "message", "deadline")

    backend: str
    code: str
    message: str
    deadline: bool

    def __init__(self, backend: str, code: str, message: str, deadline: bool = False) -> None:
        self._init(backend=backend, code=code, message=message, deadline=deadline)

    def as_json(self) -> dict[str, str]:
        return {"backend": self.backend, "code": self.code, "message": self.message}


class Problems:
    """The problems of one command, round by round (see the module's docstring)."""

    def __init__(self) -> None:
        self._lasting: dict[str, Problem] = {}
        self._round: dict[str, Problem] = {}
        self._previous: dict[str, Problem] = {}
        self._held: list[tuple[str, str]] = []
        self._warned: set[str] = set()

    def report(self, problem: Problem, warning: str | None, *, lasting: bool = False) -> None:
        """Record ``problem`` (a backend's first one in a round counts) and print ``warning``
        (None: the caller did), unless this backend was warned about already in this
        command; a deadline's warning is held (:meth:`publish_held`)."""
        where = self._lasting if lasting else self._round
        where.setdefault(problem.backend, problem)
        if warning is None:
            return
        if problem.deadline:
            self._held.append((problem.backend, warning))
        else:
            self._warn(problem.backend, warning)

    def new_round(self) -> None:
        """A round of questions begins: the last one's problems are kept in case this one is
        discarded."""
        self._previous, self._round = self._round, {}
        self._held.clear()

    @property
    def cut(self) -> bool:
        """Whether the ``--wait`` deadline cut this round short (its answer is no answer)."""
        return any(problem.deadline for problem in self._round.values())

    def discard_round(self) -> None:
        """This round gives no answer: the problems are the last round's again."""
        self._round = self._previous
        self._held.clear()

    def publish_held(self) -> None:
        """This round's answer is used although the deadline cut it: print its warnings."""
        for backend, warning in self._held:
            self._warn(backend, warning)
        self._held.clear()

    def of(self, backend: str) -> Problem | None:
        """Why ``backend`` cannot be used in this round, if it cannot."""
        return self._round.get(backend) or self._lasting.get(backend)

    def unavailable(self) -> list[dict[str, str]]:
        """``{"backend", "code", "message"}`` per backend that could not be used."""
        found = {**self._lasting, **self._round}
        return [problem.as_json() for problem in found.values()]

    def _warn(self, backend: str, warning: str) -> None:
        if backend not in self._warned:
            self._warned.add(backend)
            console.warn(warning)
