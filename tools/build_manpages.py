"""Regenerate man/ao*.1 from the parsers the commands run: ``python tools/build_manpages.py``.

argparse-manpage renders each page from the ``parser()`` of the command listed in
``ao_core.commands.COMMANDS``, so OPTIONS cannot drift from ``--help``; ``ao(1)`` comes
from the ``ao`` command's parser, listing each command with its synopsis. The sections that
``--help`` has no room for come from argparse-manpage include files in ``man/include/``:
``common.ini`` (shared by every page) and ``<command>.ini``. Those files are templates:
``{ORDER_TEXT}``, ``{ENTRY_POINT_GROUP}`` and the like are filled in from ``ao_core``'s
constants, ``{environment}`` from every declared setting (the core's and each built-in
backend's), ``{see_also}`` from the registry. EXAMPLES is not in any include file: it is
made from the command's ``EXAMPLES`` (kept on its parser), the same examples its
``--help`` ends with. ``--check`` only reports stale pages.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from unittest import mock

from argparse_manpage.manpage import Manpage

from ao_core import config, manager
from ao_core.commands import COMMANDS
from ao_core.commands import ao as ao_command
from ao_core.settings import Setting
from ao_core.version import DISTRIBUTION, RELEASE_DATE, __version__

ROOT = Path(__file__).resolve().parent.parent
MAN_DIR = ROOT / "man"
INCLUDE_DIR = MAN_DIR / "include"
COMMON_INCLUDE = INCLUDE_DIR / "common.ini"
REGENERATE = "python tools/build_manpages.py"
MANUAL = "ao Manual"
#: Extra sections, in the order man-pages(7) gives them; each page must fill every one.
SECTIONS = ("EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO")
#: argparse wraps help text to the terminal width, and a wrap after "third-" would show as
#: "third- party". A width nothing reaches leaves the filling to roff and keeps the pages
#: the same whatever terminal regenerates them.
COLUMNS = "10000"


def roff_escape(text: str) -> str:
    """Text as roff shows it literally: backslashes doubled, ``-`` as a real minus sign."""
    return text.replace("\\", "\\\\").replace("-", "\\-")


def environment_section() -> str:
    """The ENVIRONMENT entries, one per variable, from the settings' own declarations."""
    lines = []
    for setting in manager.all_settings():
        lines += [
            ".TP",
            f".B {roff_escape(setting.variable)}",
            f"{roff_escape(setting.help)} Default: {roff_escape(setting.shown_default)}.",
        ]
        for alias in setting.also:
            lines += [
                ".TP",
                f".B {roff_escape(alias)}",
                f"Read when {roff_escape(setting.variable)} is unset. Default: unset.",
            ]
    return "\n".join(lines)


def examples_section(command: str, parser: argparse.ArgumentParser) -> str:
    """EXAMPLES from the examples ``parser`` keeps (those ending its ``--help``): for each,
    what it does, then the command line as it is typed."""
    examples = getattr(parser, "examples", ())
    if not examples:
        raise ValueError(
            f"{command}: no examples: give its parser examples=EXAMPLES (ao_core.options)"
        )
    lines = []
    for number, (line, what) in enumerate(examples):
        if number:
            lines.append(".PP")
        lines += [f"\\&{roff_escape(what[0].upper() + what[1:])}:", ".PP", ".EX"]
        lines += [f"$ {roff_escape(line)}", ".EE"]
    return "\n".join(lines)


def template_values(command: str) -> dict[str, object]:
    """What the include templates may name: constants from the code, the page's name, its peers.

    Strings are escaped for roff; numbers are left as numbers so templates can format them.
    """
    values: dict[str, object] = {}
    for module in (config, manager):
        for name, value in vars(module).items():
            if isinstance(value, Setting):
                values[name] = roff_escape(value.variable)
            elif name.isupper() and not name.startswith("_") and isinstance(value, str | Path):
                values[name] = roff_escape(str(value))
            elif name.isupper() and isinstance(value, int | float):
                values[name] = value
    values["prog"] = roff_escape(command)
    values["environment"] = environment_section()
    values["see_also"] = ",\n".join(
        f".BR {roff_escape(other)} (1)"
        for other in sorted(ao_command.scripts())
        if other != command
    )
    return values


def summary(parser: argparse.ArgumentParser) -> str:
    """The NAME line's description: the parser description's first clause, lower-cased.

    The same clause ``ao --help`` shows for the command.
    """
    first = ao_command.summary(parser)
    return first[0].lower() + first[1:]


def include_files(command: str) -> list[Path]:
    """The include templates for ``command``: the shared one, then the command's own."""
    own = INCLUDE_DIR / f"{command}.ini"
    if not own.is_file():
        raise FileNotFoundError(
            f"{own.relative_to(ROOT)} is missing: write its EXIT STATUS section"
        )
    return [COMMON_INCLUDE, own]


def fixed_width() -> AbstractContextManager[dict[str, str]]:
    """Let argparse wrap help text at :data:`COLUMNS`, whatever terminal this runs in."""
    return mock.patch.dict(os.environ, COLUMNS=COLUMNS)


def render_parser(
    command: str, parser: argparse.ArgumentParser, *, commands_section: bool = False
) -> str:
    """The man page of ``command`` whose options are those of ``parser``.

    ``commands_section``: the parser has subcommands, listed in one COMMANDS section.
    """
    values = template_values(command)
    with fixed_width(), tempfile.TemporaryDirectory() as tmp:
        page = Manpage(parser, format="single-commands-section" if commands_section else "pretty")
        page.date = RELEASE_DATE
        page.source = f"{DISTRIBUTION} {__version__}"
        page.manual = MANUAL
        page.description = summary(parser)
        for heading in SECTIONS:  # fixes the order; the include files fill them
            page.add_section(heading, "=", "")
        for template in include_files(command):
            try:
                text = template.read_text(encoding="utf-8").format_map(values)
            except (KeyError, ValueError, IndexError) as exc:
                raise ValueError(f"{template.relative_to(ROOT)}: bad placeholder {exc}") from exc
            filled = Path(tmp) / template.name
            filled.write_text(text, encoding="utf-8")
            page.parse_include(str(filled))
        if page.get_extra_section("examples")["content"].strip():
            raise ValueError(
                f"{command}: EXAMPLES comes from the command's EXAMPLES, not from man/include/"
            )
        page.add_section("EXAMPLES", "=", examples_section(command, parser))
        for heading in SECTIONS:
            if not page.get_extra_section(heading.lower())["content"].strip():
                raise ValueError(f"{command}: no include file fills the {heading} section")
        text = str(page)
    check_environment(command, text)
    return text


def check_environment(command: str, page: str) -> None:
    """Fail when a variable the code reads is missing from the page's ENVIRONMENT section."""
    environment = page.split(".SH ENVIRONMENT", 1)[-1].split("\n.SH ", 1)[0]
    read = sorted(v for setting in manager.all_settings() for v in setting.variables)
    missing = [name for name in read if roff_escape(name) not in environment]
    if missing:
        raise ValueError(
            f"{command}: ENVIRONMENT does not describe {', '.join(missing)}; "
            f"declare it as a Setting (ao_core.settings) where it is read"
        )


def render(command: str) -> str:
    """The man page of a registered command, from the parser that command runs."""
    if command == ao_command.PROG:
        with fixed_width():  # the commands' synopses are wrapped as the parser is built
            parser = ao_command.parser(options=False)
        return render_parser(command, parser, commands_section=True)
    return render_parser(command, importlib.import_module(COMMANDS[command]).parser())


def render_all() -> dict[str, str]:
    """Every console script's page, by file name (``ao.1``, ``ao-status.1`` ...)."""
    return {f"{command}.1": render(command) for command in sorted(ao_command.scripts())}


def stale_pages(man_dir: Path, pages: dict[str, str]) -> list[str]:
    """Pages in ``man_dir`` that are missing, differ from ``pages``, or belong to no command."""
    stale = [
        name
        for name, text in pages.items()
        if not (man_dir / name).is_file() or (man_dir / name).read_text(encoding="utf-8") != text
    ]
    stale += sorted(p.name for p in man_dir.glob("*.1") if p.name not in pages)
    return stale


def write_pages(man_dir: Path, pages: dict[str, str]) -> list[str]:
    """Bring ``man_dir`` in line with ``pages``; return the names written or removed."""
    changed = stale_pages(man_dir, pages)
    man_dir.mkdir(parents=True, exist_ok=True)
    for name in changed:
        if name in pages:
            (man_dir / name).write_text(pages[name], encoding="utf-8")
        else:
            (man_dir / name).unlink()
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--check", action="store_true", help="only report stale pages (exit 1)")
    cli.add_argument("--output-dir", type=Path, default=MAN_DIR, help="default: man/")
    args = cli.parse_args(argv)
    pages = render_all()
    if args.check:
        stale = stale_pages(args.output_dir, pages)
        for name in stale:
            print(f"stale: {args.output_dir / name}", file=sys.stderr)
        if stale:
            print(f"Regenerate the man pages: {REGENERATE}", file=sys.stderr)
        return 1 if stale else 0
    for name in write_pages(args.output_dir, pages):
        print(f"{'wrote' if name in pages else 'removed'} {args.output_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
