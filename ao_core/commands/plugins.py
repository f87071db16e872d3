"""ao-plugins: the storage backends in call order, where each comes from, and its hooks."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ao_core import answers, cli, console, options
from ao_core.inventory import BackendReport, survey

HEADER = ("#", "BACKEND", "ENABLED", "DISTRIBUTION", "VERSION", "HOOKS")

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ("ao-plugins", "the backends in call order: distribution, version, hooks"),
    ("ao-plugins --backends file,api --json", "the same under a selection, as JSON"),
)


def parser() -> argparse.ArgumentParser:
    """The ao-plugins parser (also the source of its man page)."""
    return options.make_parser(
        "ao-plugins",
        "List every installed backend in call order: the selected ones "
        "in the order they are asked (#), then the others. For each: whether the commands "
        "use it under the current selection (yes, no, or failed when it cannot be loaded, "
        "with the reason), its distribution and version, and the hooks it implements. "
        "Every backend is loaded to find its hooks, including unselected ones.",
        epilog=f"The default order: {options.ORDER_TEXT}.",
        json_help="print a JSON array of {position, name, enabled, selected, builtin, "
        "distribution, version, hooks, error}",
        examples=EXAMPLES,
    )


def as_json(report: BackendReport) -> dict:
    return {
        "position": report.position,
        "name": report.name,
        "enabled": report.enabled,
        "selected": report.selected,
        "builtin": report.builtin,
        "distribution": report.distribution,
        "version": report.version,
        "hooks": list(report.hooks),
        "error": report.error,
    }


def as_row(report: BackendReport) -> tuple[str, ...]:
    if report.error is not None:
        enabled, hooks = "failed", f"failed to load: {report.error}"
    else:
        enabled = "yes" if report.enabled else "no"
        hooks = ", ".join(report.hooks) or "none"
    position = str(report.position) if report.position is not None else "-"
    return (
        position,
        report.name,
        enabled,
        report.distribution or "?",
        report.version or "?",
        hooks,
    )


def table(rows: Sequence[tuple[str, ...]]) -> str:
    """Left-aligned columns; the last one is left as long as it is."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)), row[-1]]
        )
        for row in rows
    )


def show_backends(args: argparse.Namespace) -> int:
    reports = survey(cli.load_config(args))
    if args.json:
        console.emit(answers.json_text([as_json(r) for r in reports], indent=2))
    else:
        console.emit(table([HEADER, *(as_row(r) for r in reports)]))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(show_backends, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
