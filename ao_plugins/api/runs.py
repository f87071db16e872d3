"""What the Agent Coordinator says about runs, runners and agents, read into what the
commands need. Pure functions, no I/O (the backend sends the requests).

A session moves only when a runner reports on one of its runs, and the server's own view
of a session lags behind its runs in ways a client must correct (coordinator-runs.md):

- While a resume run is still pending, the session keeps its previous turn's status
  (``idle``) and result: the session is in progress while a run of it is.
- A run the server gave up on (no runner within its timeout) leaves the session
  ``pending`` for good: that session has failed, with the run's error as the reason.
- A run whose ``completed_at`` is set has ended, whatever its ``status`` says (the real
  runner sometimes reports ``completed`` before ``started``).
- A stop during a resumed turn is answered ``stopped`` and marks the session so, but the
  turn goes on; a ``stopped`` session whose latest run *completed* is such a turn, read
  just before the server recorded how it ended: still in progress.

Which runner could take a run is the server's matching rule: an ``online`` runner whose
``hostname``, ``project_dir`` and ``executor_profile`` equal those the run demands (where
it demands one) and whose tags include every tag demanded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ao_core.session import Status
from ao_core.text import printable

if TYPE_CHECKING:
    from ao_core.records import Blueprint, Details

#: Run statuses of a run still in progress.
RUN_IN_PROGRESS = frozenset({"pending", "claimed", "running", "stopping"})
#: How much of a failed run's error is shown: its first line, cut to this length.
REASON_LENGTH = 200
#: The demands a runner must meet exactly, by the runner's field of the same name.
EXACT_DEMANDS = ("hostname", "project_dir", "executor_profile")


def in_progress(run: dict[str, Any]) -> bool:
    """Whether ``run`` is still going: an unfinished status and no ``completed_at``."""
    return run.get("status") in RUN_IN_PROGRESS and not run.get("completed_at")


def turn_status(run: dict[str, Any]) -> Status:
    """How far the turn ``run`` carries has got, in the words of a session's statuses:
    ``pending`` (not started), ``running``, ``stopping``; once it ended, the run's own
    ``completed``, ``failed`` or ``stopped`` (a failed run with its reason)."""
    status = run.get("status")
    if in_progress(run):
        return Status("pending" if status in ("pending", "claimed") else str(status))
    if status == "failed":
        return Status("failed", reason(run.get("error")))
    return Status("stopped" if status == "stopped" else "completed")


def latest_run(runs: list[dict[str, Any]], session_id: str) -> dict[str, Any] | None:
    """The newest run of ``session_id`` in ``GET /runs``'s list (by ``created_at``)."""
    mine = [r for r in runs if isinstance(r, dict) and r.get("session_id") == session_id]
    return max(mine, key=lambda r: str(r.get("created_at") or ""), default=None)


def session_status(status: str, latest: dict[str, Any] | None) -> str:
    """The session's status as the server gives it, corrected by its latest run."""
    if latest is None:
        return status
    if in_progress(latest) and status not in ("pending", "running", "stopping"):
        return turn_status(latest)
    if latest.get("status") == "failed" and status in ("pending", "failed"):
        return Status("failed", reason(latest.get("error")))
    if status == "stopped" and latest.get("status") == "completed":
        # A stop the server answered during a turn it let go on: that turn has just been
        # reported and the session's own status is about to say how it ended.
        return Status("running")
    return status


def reason(error: object) -> str | None:
    """A run's error as a reason: its first non-empty line, escaped, cut to a readable length."""
    if not isinstance(error, str):
        return None
    line = next((line.strip() for line in error.splitlines() if line.strip()), "")
    line = printable(line)
    if len(line) > REASON_LENGTH:
        line = line[: REASON_LENGTH - 1] + "…"
    return line or None


def can_take(demands: object, runners: object) -> bool:
    """Whether an online runner in ``GET /runners``'s list matches a run's ``demands``."""
    wanted = demands if isinstance(demands, dict) else {}
    tags = wanted.get("tags") or []
    for runner in runners if isinstance(runners, list) else ():
        if not isinstance(runner, dict) or runner.get("status", "online") != "online":
            continue
        exact = all(wanted.get(field) in (None, runner.get(field)) for field in EXACT_DEMANDS)
        offered = runner.get("tags") if isinstance(runner.get("tags"), list) else []
        if exact and all(tag in offered for tag in tags):
            return True
    return False


def blueprint(entry: object) -> Blueprint | None:
    """A :class:`Blueprint` from one agent of ``GET /agents``; None when it has no name."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return None
    from ao_core.records import Blueprint

    schema = entry.get("parameters_schema")
    tags = entry.get("tags")
    return Blueprint(
        name=entry["name"],
        kind=_text(entry.get("type")),
        description=_text(entry.get("description")),
        active=entry.get("status", "active") != "inactive",
        tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
        parameters_schema=schema if isinstance(schema, dict) else None,
    )


def details(entry: dict[str, Any], status: str | None, latest: dict[str, Any] | None) -> Details:
    """A session object of either server (and its latest run, where there are runs)."""
    from ao_core.records import Details

    run = latest or {}
    return Details(
        session_id=_text(entry.get("session_id")),
        project_dir=_text(entry.get("project_dir")),
        agent=_text(entry.get("agent_name")),
        created_at=_text(entry.get("created_at")),
        last_resumed_at=_text(entry.get("last_resumed_at")),
        status=status,
        parent_session=_text(entry.get("parent_session_id")),
        runner_host=_text(entry.get("hostname")),
        runner_profile=_text(entry.get("executor_profile")),
        run_id=_text(run.get("run_id")),
        run_status=_text(run.get("status")),
        run_error=reason(run.get("error")),
    )


def refusal(detail: object) -> str:
    """The server's reason for refusing a run (a 400's ``detail``), as one sentence.

    A parameters-schema failure names what is wrong (its ``validation_errors``) and the
    fields the schema requires.
    """
    if isinstance(detail, str):
        return detail
    if not isinstance(detail, dict):
        return "the server refused the run"
    message = _text(detail.get("message")) or _text(detail.get("error")) or "refused"
    problems = [
        f"{e.get('path', '$')}: {e.get('message')}"
        for e in detail.get("validation_errors") or ()
        if isinstance(e, dict) and e.get("message")
    ]
    if problems:
        message += f" ({'; '.join(map(str, problems))})"
    schema = detail.get("parameters_schema")
    required = schema.get("required") if isinstance(schema, dict) else None
    if isinstance(required, list) and required:
        message += f"; required: {', '.join(map(str, required))}"
    return message


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
