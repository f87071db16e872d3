"""ao-clean NAME... | --all: delete sessions from every backend that has them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ao_core import cli, console
from ao_core.commands.list_sessions import merge
from ao_core.errors import UsageError
from ao_core.session import Session


def parser() -> argparse.ArgumentParser:
    """The ao-clean parser (also the source of its man page)."""
    p = cli.make_parser(
        "ao-clean",
        "Delete the named sessions from every backend that has them: the Session "
        "Manager's record and the backup files NAME.meta.json and NAME.jsonl. Nothing "
        "else in the sessions directory is touched. A name no backend has is an error "
        "(exit status 1); the other names are still deleted.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="sessions to delete")
    p.add_argument("--all", action="store_true", help="delete every listed session")
    return p


def clean(args: argparse.Namespace) -> int:
    if bool(args.names) == bool(args.all):
        raise UsageError("give session names or --all (not both)")
    ctx = cli.start(args, args.names)
    if args.all:
        targets: list[tuple[str, Session | None]] = [
            (s.name, s) for s in merge(ctx.hook.list_sessions(config=ctx.config))
        ]
        if not targets:
            console.emit("No sessions to remove")
    else:
        targets = [(name, ctx.resolve(name)) for name in dict.fromkeys(args.names)]
    status = 0
    for name, session in targets:
        deleted = session is not None and any(
            ctx.hook.delete_session(session=session, config=ctx.config)
        )
        if deleted:
            console.emit(f"Deleted session '{name}'")
        else:
            console.error(f"Session '{name}' does not exist")
            status = 1
    return status


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(clean, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
