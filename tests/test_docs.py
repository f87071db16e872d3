"""Facts kept in one place in the code must not drift in the documentation: the hooks, the
order, the settings, the error codes, each command's examples, the test packages, the
release; and no page may point at a file or heading the repository does not have.

The README is for users (short); the rest lives in ``docs/``, one page per question, and
each check reads the page the fact now lives on.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from ao_core import errors
from ao_core.commands import ao as ao_command
from ao_core.hookspecs import CONTRACT
from ao_core.manager import ORDER_TEXT, all_settings
from ao_core.version import RELEASE_DATE, __version__

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
#: Every page a user or author reads, by its path from the repository's root.
PAGES = {
    path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
    for path in [README_PATH, *sorted(DOCS.glob("*.md")), ROOT / "ao_core" / "SKILL.md"]
}
#: The README is read in five minutes.
README_MAX_LINES = 250


def page(name: str) -> str:
    return PAGES[f"docs/{name}"]


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in ``text`` (``\\|`` is a pipe in a cell)."""
    return [
        [
            cell.strip().replace("\0", "|")
            for cell in line.replace("\\|", "\0").strip("| ").split("|")
        ]
        for line in text.splitlines()
        if line.lstrip().startswith("|")
    ]


# --- the facts, where they live ----------------------------------------------------


@pytest.mark.parametrize("hook", list(CONTRACT))
def test_every_hook_is_documented_in_the_plugin_guide_table(hook: str) -> None:
    documented = {row[0] for row in table_rows(page("plugins.md"))}
    assert f"`{hook}`" in documented, f"docs/plugins.md: add {hook} to the hook table"


def test_the_configuration_page_states_the_default_order_as_the_code_does() -> None:
    text = " ".join(page("configuration.md").split())
    assert ORDER_TEXT in text, f"docs/configuration.md must say: {ORDER_TEXT}"


def test_every_declared_setting_is_in_the_configuration_table() -> None:
    documented = {cell.strip("`") for row in table_rows(page("configuration.md")) for cell in row}
    for setting in all_settings():
        for variable in setting.variables:
            assert variable in documented, (
                f"docs/configuration.md: add {variable} to the configuration table"
            )


def error_codes() -> set[str]:
    return {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.AoError) and cls.code != "error"
    }


def test_every_error_code_has_a_row_in_the_json_page() -> None:
    """``usage`` and ``config`` included: a program meets them with ``--json`` too."""
    assert {"usage", "config", "not_existent", "output_lost"} <= error_codes()
    rows = {row[0] for row in table_rows(page("json.md"))}
    missing = {code for code in error_codes() if f"`{code}`" not in rows}
    assert not missing, f"docs/json.md: add a row for each of {sorted(missing)}"


def test_every_exit_status_of_the_code_is_in_the_readme() -> None:
    from ao_core.cli import EXIT_STATUS

    documented = " ".join(row[0] for row in table_rows(README))
    for _, status in EXIT_STATUS:
        assert str(status) in documented.replace(",", " ").split(), f"README: exit {status}"


@pytest.mark.parametrize("script", sorted(ao_command.scripts()))
def test_every_example_of_a_command_is_in_the_readme(script: str) -> None:
    """The README lists each command's examples as its ``--help`` and man page show them."""
    rows = {tuple(row) for row in table_rows(README) if len(row) == 2}
    for line, what in importlib.import_module(ao_command.scripts()[script]).EXAMPLES:
        assert (f"`{line}`", what) in rows, (
            f"README: the examples table needs the row | `{line}` | {what} |"
        )


def test_the_readme_lists_no_example_no_command_has() -> None:
    examples = {
        line
        for module in ao_command.scripts().values()
        for line, _ in importlib.import_module(module).EXAMPLES
    }
    start = README.index("| example | what it does |")
    block = README[start : README.index("\n\n", start)]
    listed = {row[0].strip("`") for row in table_rows(block)[1:] if row[0] != "---"}
    assert listed == examples


def test_the_commands_table_has_every_command() -> None:
    first_cells = " ".join(row[0] for row in table_rows(README))
    for script in ao_command.scripts():
        if script != "ao":
            assert f"`{script}" in first_cells, f"README: add {script} to the commands table"


# --- the Quickstart ----------------------------------------------------------------


def test_the_quickstart_names_the_packages_the_install_script_installs() -> None:
    script = (ROOT / "tools" / "install-test-deps.sh").read_text(encoding="utf-8")
    installed = set(re.findall(r"need\+=\(([a-z0-9-]+)\)", script))
    assert {"zsh", "fish", "groff-base", "man-db", "curl"} <= installed
    named = re.search(r"Debian packages `([^`]+)`", README)
    assert named, "README: the Quickstart names the Debian packages the tests need"
    assert set(named.group(1).split()) == installed
    assert "tools/install-test-deps.sh" in README


def test_the_quickstart_runs_the_whole_suite_and_says_how_long() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "pip install '.[test]' && pytest\n" in quickstart
    assert re.search(r"takes .*minutes", quickstart)


def test_no_readme_block_exports_settings_into_the_next() -> None:
    """A block that exports a session setting keeps it in a subshell, or unsets it."""
    blocks = re.findall(r"```sh\n(.*?)```", README, re.DOTALL)
    exporting = [
        block
        for block in blocks
        if re.search(r"export AGENT_ORCHESTRATOR_(BACKENDS|SESSIONS_DIR|PROJECT_DIR)", block)
    ]
    assert exporting, "the Quickstart's demo block sets the file backend"
    for block in exporting:
        assert "\n(\n" in block or "unset " in block, block


def test_the_readme_is_short() -> None:
    assert len(README.splitlines()) <= README_MAX_LINES


# --- links -------------------------------------------------------------------------


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of ``markdown`` (code blocks left out)."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_relative_link_reaches_a_file_and_heading(name: str) -> None:
    text = re.sub(r"```.*?```", "", PAGES[name], flags=re.DOTALL)
    here = (ROOT / name).parent
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        file = (here / path).resolve() if path else ROOT / name
        assert file.is_file() and ROOT in file.parents, f"{name}: no file for the link {target}"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file.read_text(encoding="utf-8")), (
                f"{name}: {target} names no heading of {file.relative_to(ROOT)}"
            )


@pytest.mark.parametrize("name", sorted(PAGES))
def test_no_page_mentions_a_document_the_repository_lacks(name: str) -> None:
    """The migration plan is written out where it is used (docs/servers.md), not named."""
    known = {p.name for p in ROOT.rglob("*.md") if ".git" not in p.parts}
    # Command lines (code blocks, code spans with a space) name users' files: left out.
    prose = re.sub(r"```.*?```", " ", PAGES[name], flags=re.DOTALL)
    prose = re.sub(r"`[^`\n]*`", lambda span: " " if " " in span[0] else span[0], prose)
    for mentioned in re.findall(r"[\w./-]+\.md\b", prose):
        assert Path(mentioned).name in known, f"{name} mentions {mentioned}, which is not here"
    assert "../shared" not in PAGES[name]


# --- the release -------------------------------------------------------------------


def test_version_changelog_and_man_pages_agree() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.search(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d\d-\d\d)$", changelog, re.MULTILINE)
    assert released, "CHANGELOG.md: no released version"
    assert released.groups() == (__version__, RELEASE_DATE), (
        "the changelog's top release, ao_core.version.__version__ and RELEASE_DATE must agree"
    )
    date = RELEASE_DATE.replace("-", "\\-")
    for man_page in (ROOT / "man").glob("*.1"):
        header = man_page.read_text(encoding="utf-8").splitlines()[0]
        assert f'"{date}"' in header and f"ao\\-sessions {__version__}" in header, man_page.name
