"""ao-clean NAME... | --all: delete sessions from every backend that has them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ao_core import answers, cli, console, interrupts, options, stopping
from ao_core.errors import (
    AoError,
    NotExistent,
    Refused,
    SessionBusy,
    StorageError,
    TimedOut,
    Unsupported,
    UsageError,
)
from ao_core.session import Session
from ao_core.text import printable

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ("ao-clean tester reviewer", "delete two sessions from every backend that has them"),
    ("ao-clean --all --dry-run", "say what --all would delete, deleting nothing"),
    ("ao-clean --all --stop", "stop what is still running, then delete every session"),
)


def parser() -> argparse.ArgumentParser:
    """The ao-clean parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-clean",
        "Delete the named sessions from every backend that has them: the Session "
        "Manager's record and the backup files NAME.meta.json and NAME.jsonl. Nothing "
        "else in the sessions directory is touched. A name no backend has, or one a "
        "backend refuses to delete (a session still running on the Agent Coordinator), is "
        "an error (exit status 1); the other names are still deleted.",
        epilog=f"{options.ASKS_EVERY_BACKEND} Each backend that has the session deletes its copy.",
        json_help='print a JSON array of {"name", "deleted"}, with "error": {"code", '
        '"message"} for a name that was not deleted',
        examples=EXAMPLES,
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="sessions to delete")
    p.add_argument("--all", action="store_true", help="delete every listed session")
    p.add_argument(
        "--stop",
        action="store_true",
        help="stop running and idle sessions first (as ao-stop does), then delete them",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would be deleted (Would delete session 'NAME') and what would be "
        "refused, with the exit status the real run would have; delete nothing",
    )
    return p


def clean(args: argparse.Namespace) -> int:
    if not args.names and not args.all:
        raise UsageError(
            "no session names and no --all: name the sessions to delete, or give --all"
        )
    if args.names and args.all:
        raise UsageError("session names and --all cannot be used together: give one or the other")
    ctx = cli.start(args, args.names)
    found = targets(ctx, args.names, every=args.all)
    if args.all and not found and not args.json:
        console.emit("No sessions to remove")
    records: list[dict[str, Any]] = []
    status = 0
    with interrupts.deferred_termination() as terminated:
        for name, session in found:
            if terminated():
                break
            outcome = clean_one(
                ctx, name, session, dry_run=args.dry_run, stop=args.stop, listed=args.all
            )
            if outcome is None:
                continue
            record, error = outcome
            if error is not None:
                console.error(str(error))
                status = 1
            elif not args.json:
                console.emit(_done(record))
            records.append(record)
        if args.json:
            console.emit(answers.json_text(records))
    return status


def targets(
    ctx: cli.Context, names: Sequence[str], *, every: bool
) -> list[tuple[str, Session | None]]:
    """The sessions to delete: each name given once (its session, None when no backend
    knows it) or, ``every``, each listed session."""
    if every:
        return [(s.name, s) for s in ctx.all_sessions()]
    return [(name, ctx.resolve(name)) for name in dict.fromkeys(names)]


def clean_one(
    ctx: cli.Context,
    name: str,
    session: Session | None,
    *,
    dry_run: bool,
    stop: bool,
    listed: bool = False,
) -> tuple[dict[str, Any], AoError | None] | None:
    """Delete one session (or say it would be): its ``--json`` record and, when it was not
    deleted, why. None for a ``listed`` session gone since it was listed (another
    ``ao-clean`` deleted it: not this one's to report). ``ao-clean`` and the ``clean``
    tool go through here, name by name."""
    try:
        return _delete(ctx, name, session, dry_run=dry_run, stop=stop), None
    except (NotExistent, SessionBusy, StorageError, Refused, Unsupported, TimedOut) as exc:
        if listed and isinstance(exc, NotExistent):
            return None
        return {"name": name, "deleted": False, "error": answers.error_member(exc)}, exc


def _delete(
    ctx: cli.Context, name: str, session: Session | None, *, dry_run: bool, stop: bool
) -> dict[str, Any]:
    """Delete one session, stopped first with ``stop`` (or say it would be); raises when
    it cannot be."""
    if session is None:
        raise NotExistent(f"Session '{name}' does not exist", name=name)
    live = stop and ctx.session_status(session) in stopping.LIVE
    try:
        if dry_run:
            if not live:
                ctx.check_delete(session)
            return {
                "name": name,
                "deleted": False,
                "would_delete": True,
                **_stop(live, "would_stop"),
            }
        if live:
            outcome = stopping.stop(ctx, name)
            if outcome.error is not None:
                raise outcome.error
        deleted = ctx.delete(session)
    except AoError as exc:
        exc.name = name
        raise
    if not deleted:
        raise NotExistent(f"Session '{name}' does not exist", name=name)
    return {"name": name, "deleted": True, **_stop(live, "stopped")}


def _stop(live: bool, key: str) -> dict[str, bool]:
    """``{key: True}`` for a session ``--stop`` stops first, else nothing (the shape stays)."""
    return {key: True} if live else {}


def _done(record: dict[str, Any]) -> str:
    """The line saying what happened to one session."""
    if record["deleted"]:
        verb = "Stopped and deleted" if record.get("stopped") else "Deleted"
    else:
        verb = "Would stop and delete" if record.get("would_stop") else "Would delete"
    return f"{verb} session '{printable(record['name'])}'"


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(clean, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
