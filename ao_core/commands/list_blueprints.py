"""ao-list-blueprints: the agents sessions can be started with (ao-start --agent NAME)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ao_core import answers, cli, console, options
from ao_core.records import Blueprint
from ao_core.text import printable

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ("ao-list-blueprints", "one line per agent: name, type, (inactive), description"),
    ("ao-list-blueprints --tags review,python --json", "only the agents with both tags, as JSON"),
)


def parser() -> argparse.ArgumentParser:
    """The ao-list-blueprints parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-list-blueprints",
        "List the agents sessions can be started with (blueprints): one line per agent, "
        "its name first, then its type, (inactive) when it is, and the first line of its "
        "description; No blueprints found when there are none.",
        epilog=f"{options.ASKS_EVERY_BACKEND} The Agent Coordinator has blueprints; the "
        "Session Manager and the backup files have none.",
        json_help='print a JSON array of {"name", "type", "description", "active", "tags", '
        '"parameters_schema"}',
        examples=EXAMPLES,
    )
    p.add_argument(
        "--tags",
        metavar="LIST",
        type=lambda text: [t for t in text.split(",") if t],
        default=[],
        help="only agents having every one of these comma-separated tags",
    )
    return p


def list_blueprints(args: argparse.Namespace) -> int:
    ctx = cli.start(args)
    blueprints = listing(ctx, args.tags)
    if args.json:
        console.emit(answers.json_text([record(b) for b in blueprints]))
    elif not blueprints:
        console.emit("No blueprints found")
    else:
        console.emit("\n".join(_lines(blueprints)))
    return 0


def _lines(blueprints: list[Blueprint]) -> list[str]:
    """``NAME  TYPE  SUMMARY`` in aligned columns, ``inactive`` before the summary."""
    names = [printable(b.name) for b in blueprints]
    kinds = [printable(b.kind or "unknown") for b in blueprints]
    wide, kind_wide = max(map(len, names)), max(map(len, kinds))
    lines = []
    for name, kind, blueprint in zip(names, kinds, blueprints, strict=True):
        summary = printable(blueprint.summary)
        if not blueprint.active:
            summary = f"(inactive) {summary}".rstrip()
        lines.append(f"{name:<{wide}}  {kind:<{kind_wide}}  {summary}".rstrip())
    return lines


def listing(ctx: cli.Context, tags: Sequence[str] = ()) -> list[Blueprint]:
    """Every blueprint any backend lists (having every one of ``tags``); raises when no
    backend has blueprints at all."""
    blueprints = ctx.blueprints(tags)
    if blueprints is None:
        raise ctx.unsupported("list blueprints")
    return blueprints


def record(blueprint: Blueprint) -> dict:
    """One blueprint's ``--json`` record."""
    return {
        "name": blueprint.name,
        "type": blueprint.kind,
        "description": blueprint.description,
        "active": blueprint.active,
        "tags": list(blueprint.tags),
        "parameters_schema": blueprint.parameters_schema,
    }


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(list_blueprints, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
