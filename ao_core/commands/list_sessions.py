"""ao-list-sessions: one line per session name, from every backend."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence

from ao_core import cli, console
from ao_core.session import Session


def parser() -> argparse.ArgumentParser:
    """The ao-list-sessions parser (also the source of its man page)."""
    return cli.make_parser(
        "ao-list-sessions",
        "List every session any backend knows, one line per name: "
        "NAME (session-id: ID, project-dir: DIR). A name held by several backends is "
        "shown as the earliest backend in the order has it.",
        json_help="print a JSON array of {name, session_id, project_dir, backend}",
    )


def merge(per_backend: Iterable[Iterable[Session]]) -> list[Session]:
    """One session per name, the first seen winning; ``per_backend`` is in call order."""
    seen: dict[str, Session] = {}
    for sessions in per_backend:
        for session in sessions or ():
            seen.setdefault(session.name, session)
    return list(seen.values())


def list_sessions(args: argparse.Namespace) -> int:
    ctx = cli.start(args)
    sessions = merge(ctx.hook.list_sessions(config=ctx.config))
    if args.json:
        console.emit(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "session_id": s.session_id,
                        "project_dir": s.project_dir,
                        "backend": s.backend,
                    }
                    for s in sessions
                ],
                indent=2,
            )
        )
    elif not sessions:
        console.emit("No sessions found")
    else:
        console.emit(
            "\n".join(
                f"{s.name} (session-id: {s.session_id or 'unknown'}, "
                f"project-dir: {s.project_dir or 'unknown'})"
                for s in sessions
            )
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(list_sessions, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
