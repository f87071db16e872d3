"""ao-show-config NAME: what the backends know about one session, in the old layout."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence

from ao_core import answers, cli, console, options
from ao_core.errors import NotExistent
from ao_core.records import Details
from ao_core.session import Session
from ao_core.text import printable

#: The lines shown, in order: label and field; the first five are the old command's.
LINES = (
    ("Session ID", "session_id"),
    ("Project dir", "project_dir"),
    ("Agent", "agent"),
    ("Created", "created_at"),
    ("Last resumed", "last_resumed_at"),
    ("Status", "status"),
    ("Parent session", "parent_session"),
    ("Runner host", "runner_host"),
    ("Runner profile", "runner_profile"),
    ("Latest run", "run_id"),
    ("Latest run status", "run_status"),
    ("Latest run error", "run_error"),
)
#: Lines shown even when the backend does not know the value (the old command's own).
ALWAYS = frozenset(field for _, field in LINES[:5])

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ("ao-show-config architect", "session id, project dir, agent, times, status and more"),
    ("ao-show-config architect --json", "the same as one JSON object (null: not known)"),
)


def parser() -> argparse.ArgumentParser:
    """The ao-show-config parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-show-config",
        "Show what is known about one session. Configuration for session 'NAME', then "
        "Session ID, Project dir, Agent, Created, Last resumed, and where the backend "
        "knows them its status, parent session, runner host and profile, and latest run.",
        epilog=options.ASKS_IN_ORDER,
        json_help='print {"name", "backend", ...} with every field as JSON (null: unknown)',
        examples=EXAMPLES,
    )
    options.add_name_argument(p)
    return p


def show_config(args: argparse.Namespace) -> int:
    name = args.name
    ctx = cli.start(args, [name])
    session, details = describe(ctx, name)
    if args.json:
        console.emit(answers.json_text(document(name, session, details)))
        return 0
    lines = [f"Configuration for session '{printable(name)}':"]
    for label, field in LINES:
        value = getattr(details, field)
        if value is not None or field in ALWAYS:
            lines.append(f"  {label}: {printable(_plain(value) or 'unknown')}")
    console.emit("\n".join(lines))
    return 0


def describe(ctx: cli.Context, name: str) -> tuple[Session, Details]:
    """The session ``name`` refers to and what its backend knows about it (at least its
    id, project directory and status); raises when no backend knows it."""
    session = ctx.resolve(name)
    if session is None:
        raise NotExistent(f"Session '{name}' does not exist", name=name)
    details = ctx.pm.hook.describe_session(session=session, config=ctx.config)
    if details is None:
        status = ctx.pm.hook.fetch_status(session=session, config=ctx.config)
        details = Details(
            session_id=session.session_id, project_dir=session.project_dir, status=status
        )
    return session, details


def document(name: str, session: Session, details: Details) -> dict[str, str | None]:
    """``{"name", "backend", ...}`` with every field (None: unknown): the ``--json``
    answer of ``ao-show-config`` and the ``show_config`` tool's."""
    fields = {key: _plain(value) for key, value in dataclasses.asdict(details).items()}
    return {"name": name, "backend": session.backend, **fields}


def _plain(value: object) -> str | None:
    return None if value is None else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(show_config, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
