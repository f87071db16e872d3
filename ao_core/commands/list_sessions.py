"""ao-list-sessions: one line per session name, from every backend."""

from __future__ import annotations

import argparse
from collections.abc import Collection, Sequence

from ao_core import answers, cli, console, options
from ao_core.session import Session

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ("ao-list-sessions", "one line per session: NAME (session-id: ID, project-dir: DIR)"),
    ("ao-list-sessions --status running,pending", "only the sessions still going, with status"),
    (
        "ao-list-sessions --backends file --sessions-dir ~/old",
        "the backup files of another directory only",
    ),
)


def parser() -> argparse.ArgumentParser:
    """The ao-list-sessions parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-list-sessions",
        "List every session any backend knows, one line per name: "
        "NAME (session-id: ID, project-dir: DIR). A name held by several backends is "
        "shown as the earliest backend in the order has it.",
        epilog=options.ASKS_EVERY_BACKEND,
        json_help="print a JSON array of {name, session_id, project_dir, backend} "
        "(and status, with --long)",
        examples=EXAMPLES,
    )
    p.add_argument(
        "--long",
        action="store_true",
        help="show each session's status after its name: NAME STATUS (session-id: ...)",
    )
    p.add_argument(
        "--status",
        metavar="LIST",
        type=_statuses,
        help="list only sessions in these comma-separated statuses (running,pending); "
        "implies --long",
    )
    return p


def list_sessions(args: argparse.Namespace) -> int:
    ctx = cli.start(args)
    sessions, statuses = listing(ctx, long=args.long, only=args.status)
    if args.json:
        records = (answers.session_record(s, statuses.get(s.name)) for s in sessions)
        console.emit_lines(answers.json_array(records, indent=2))
    elif not sessions:
        console.emit("No sessions found")
    else:
        console.emit_lines(answers.session_line(s, statuses.get(s.name)) for s in sessions)
    return 0


def listing(
    ctx: cli.Context, *, long: bool = False, only: Collection[str] | None = None
) -> tuple[list[Session], dict[str, str]]:
    """Every session any backend lists and, with ``long`` or ``only``, each one's status by
    name; with ``only``, just the sessions in those statuses. What ``ao-list-sessions``
    shows, and the ``list_sessions`` tool."""
    sessions = ctx.all_sessions()
    statuses: dict[str, str] = {}
    if long or only is not None:
        statuses = ctx.statuses_listed(sessions)
    if only is not None:
        sessions = [s for s in sessions if statuses[s.name] in only]
    return sessions, statuses


def _statuses(value: str) -> frozenset[str]:
    words = frozenset(part.strip() for part in value.split(",") if part.strip())
    if not words:
        raise argparse.ArgumentTypeError(f"no status in {value!r}")
    return words


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(list_sessions, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
