"""Man pages: generated from the parsers, fresh, complete, warning-free, and installed."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import clean_environ
from manpage_text import entries, headings, help_block, man_text, section, words

from ao_core import config
from ao_core import options as ao_options
from ao_core.commands import COMMANDS
from ao_core.commands import ao as ao_command
from ao_core.settings import Setting
from ao_core.version import DISTRIBUTION, RELEASE_DATE, __version__
from ao_plugins.api import backend as api

try:
    import tomllib
except ImportError:  # Python 3.10: pytest brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
MAN_DIR = ROOT / "man"
#: Every console script has a page: ao, then the commands of COMMANDS.
PAGES = sorted(ao_command.scripts())
COMMAND_PAGES = sorted(COMMANDS)
SECTIONS = [
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "OPTIONS",
    "COMMENTS",
    "EXIT STATUS",
    "ENVIRONMENT",
    "FILES",
    "EXAMPLES",
    "SEE ALSO",
]
#: ao(1) lists the commands it runs, after its own options.
AO_SECTIONS = [*SECTIONS[:4], "COMMANDS", *SECTIONS[4:]]


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "build_manpages", ROOT / "tools" / "build_manpages.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def needs(tool: str, package: str) -> str:
    """The path of ``tool``; a missing tool fails the test (CI installs ``package``)."""
    path = shutil.which(tool)
    assert path, f"{tool} is not installed: apt-get install {package}"
    return path


def help_of(command: str, bin_dir: Path, env: dict[str, str] | None = None) -> str:
    """``command --help`` as the installed script prints it, unwrapped."""
    proc = subprocess.run(
        [str(bin_dir / command), "--help"],
        capture_output=True,
        text=True,
        env={**clean_environ(**(env or {})), "COLUMNS": "1000"},
        check=True,
        timeout=60,
    )
    return proc.stdout


def assert_options_match_help(page_text: str, help_text: str) -> None:
    """OPTIONS lists exactly ``--help``'s options, in order, with the same help text."""
    assert words(section(page_text, "OPTIONS")) == words(help_block(help_text, "options:"))
    if "positional arguments:" in help_text:
        positional = " ".join(words(help_block(help_text, "positional arguments:")))
        assert positional in " ".join(words(section(page_text, "DESCRIPTION")))


# --- one registry -------------------------------------------------------------------


def test_console_scripts_are_the_registry() -> None:
    with open(ROOT / "pyproject.toml", "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    assert scripts == {name: f"{module}:main" for name, module in ao_command.scripts().items()}
    assert scripts["ao"] == "ao_core.commands.ao:main" and "ao" not in COMMANDS


@pytest.mark.parametrize("command", PAGES)
def test_each_command_parser_is_named_after_its_script(command: str) -> None:
    assert importlib.import_module(ao_command.scripts()[command]).parser().prog == command


def test_man_dir_holds_one_page_per_command() -> None:
    assert sorted(p.name for p in MAN_DIR.glob("*.1")) == sorted(f"{c}.1" for c in PAGES)


# --- freshness and reproducibility ------------------------------------------------


def test_committed_pages_are_what_the_parsers_generate() -> None:
    stale = gen.stale_pages(MAN_DIR, gen.render_all())
    assert not stale, f"stale man pages {stale}: regenerate them with `{gen.REGENERATE}`"


def test_check_mode_passes_on_the_committed_pages(capsys: pytest.CaptureFixture[str]) -> None:
    assert gen.main(["--check"]) == 0
    assert capsys.readouterr().err == ""


def test_a_changed_help_string_makes_the_pages_stale(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = ao_options.make_parser

    def changed_json_help(prog: str, description: str, **kw: str | None):
        json_help = kw.pop("json_help", None)
        return original(prog, description, **kw, json_help=json_help and f"{json_help} (changed)")

    monkeypatch.setattr(ao_options, "make_parser", changed_json_help)
    pages = gen.render_all()

    stale = gen.stale_pages(MAN_DIR, pages)
    assert "ao-status.1" in stale and "ao-get-result.1" in stale
    assert "ao-clean.1" in stale  # it takes --json too (since issue 13)
    assert gen.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "stale: " in err and "ao-status.1" in err
    assert "python tools/build_manpages.py" in err

    gen.write_pages(tmp_path, pages)
    options = section(man_text(tmp_path / "ao-status.1"), "OPTIONS")
    assert (
        'for several names); "reason" says why a failed session failed, when known (changed)'
        in " ".join(words(options))
    )


def test_pages_do_not_depend_on_the_day_or_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    monkeypatch.setenv("COLUMNS", "20")
    assert gen.stale_pages(MAN_DIR, gen.render_all()) == []
    assert os.environ["COLUMNS"] == "20"


@pytest.mark.parametrize("command", PAGES)
def test_page_header_carries_version_and_release_date(command: str) -> None:
    first = (MAN_DIR / f"{command}.1").read_text().splitlines()[0]
    escaped = gen.roff_escape
    assert first == (
        f'.TH {escaped(command.upper())} "1" "{escaped(RELEASE_DATE)}" '
        f'"{escaped(DISTRIBUTION)} {__version__}" "{gen.MANUAL}"'
    )


def test_write_pages_removes_a_page_no_command_has(tmp_path: Path) -> None:
    (tmp_path / "ao-gone.1").write_text("old")
    (tmp_path / "notes.txt").write_text("kept")
    pages = {"ao-status.1": gen.render("ao-status")}
    assert gen.write_pages(tmp_path, pages) == ["ao-status.1", "ao-gone.1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ao-status.1", "notes.txt"]
    assert gen.write_pages(tmp_path, pages) == []


def test_a_variable_missing_from_environment_stops_generation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    new = Setting("AGENT_ORCHESTRATOR_NEW_SETTING", None, "A setting nobody documented.")
    monkeypatch.setattr(gen.manager, "all_settings", lambda: [new])
    monkeypatch.setattr(gen, "environment_section", lambda: "")
    with pytest.raises(ValueError, match="AGENT_ORCHESTRATOR_NEW_SETTING"):
        gen.render("ao-status")


def test_a_command_without_its_include_file_stops_generation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(COMMANDS, "ao-new", "ao_core.commands.status")
    with pytest.raises(FileNotFoundError, match=r"man/include/ao-new\.ini"):
        gen.render_all()


# --- what a page says -------------------------------------------------------------


@pytest.mark.parametrize("command", PAGES)
def test_page_has_every_section(command: str) -> None:
    text = man_text(MAN_DIR / f"{command}.1")
    assert headings(text) == (AO_SECTIONS if command == "ao" else SECTIONS)
    name_line = section(text, "NAME").strip()
    assert name_line.startswith(f"{command} - ") and len(name_line) > len(command) + 10


@pytest.mark.parametrize("command", PAGES)
def test_options_match_help(command: str) -> None:
    text = man_text(MAN_DIR / f"{command}.1")
    assert_options_match_help(text, help_of(command, Path(sys.executable).parent))


@pytest.mark.parametrize("command", COMMAND_PAGES)
def test_description_gives_the_backend_order(command: str) -> None:
    text = " ".join(words(section(man_text(MAN_DIR / f"{command}.1"), "DESCRIPTION")))
    api, third, files = (
        text.index("Agent Session Manager API"),
        text.index("third-party backends"),
        text.index("backup files"),
    )
    assert api < third < files


def _variables_in_code() -> set[str]:
    found = set()
    for package in ("ao_core", "ao_plugins"):
        for path in (ROOT / package).rglob("*.py"):
            found |= set(re.findall(r"AGENT_ORCHESTRATOR_[A-Z_]*[A-Z]", path.read_text()))
    return found


@pytest.mark.parametrize("command", PAGES)
def test_environment_lists_every_variable_with_its_default(command: str) -> None:
    variables = entries(section(man_text(MAN_DIR / f"{command}.1"), "ENVIRONMENT"))
    in_code = _variables_in_code()
    assert api.URL.variable in in_code and len(in_code) >= 8
    for name in in_code:
        assert name in variables, f"{name} is read by the code but not in ENVIRONMENT"
        assert "Default:" in variables[name]
    assert api.URL.default in variables[api.URL.variable]
    assert f"Default: {api.TIMEOUT.default:g}." in variables[api.TIMEOUT.variable]
    assert str(config.SESSIONS_SUBDIR) in variables[config.SESSIONS_DIR.variable]


@pytest.mark.parametrize("command", PAGES)
def test_files_and_see_also(command: str) -> None:
    text = man_text(MAN_DIR / f"{command}.1")
    files = entries(section(text, "FILES"))
    assert list(files) == [
        f"PROJECT_DIR/{config.SESSIONS_SUBDIR}/",
        "NAME.meta.json",
        "NAME.jsonl",
    ]
    see_also = re.findall(r"(ao(?:-[a-z-]+)?)\(1\)", section(text, "SEE ALSO"))
    assert see_also == [c for c in PAGES if c != command]


def test_ao_page_lists_each_command_as_ao_help_does() -> None:
    """COMMANDS in ao(1): each subcommand, its ``ao --help`` line, synopsis and own page."""
    text = man_text(MAN_DIR / "ao.1")
    listed = [line.strip() for line in section(text, "COMMANDS").splitlines()]
    help_text = help_of("ao", Path(sys.executable).parent)
    assert len(ao_command.SUBCOMMANDS) == len(COMMANDS) == 13
    for name, module in ao_command.SUBCOMMANDS.items():
        start = listed.index(f"ao {name}")
        summary = ao_command.summary(importlib.import_module(module).parser())
        assert listed[start + 1] == summary
        assert re.search(rf"^  {name} +{re.escape(summary)}$", help_text, re.MULTILINE)
        assert listed[start + 3].startswith(f"usage: ao {name} [-h]")
        assert f"See ao-{name}(1)." in listed[start:]


# --- rendering --------------------------------------------------------------------


@pytest.mark.parametrize("command", PAGES)
def test_page_renders_without_warnings(command: str) -> None:
    page = str(MAN_DIR / f"{command}.1")
    groff = subprocess.run(
        [needs("groff", "groff-base"), "-man", "-Tutf8", "-ww", page],
        capture_output=True,
        timeout=60,
    )
    footer = f"{DISTRIBUTION} {__version__}".encode()
    assert groff.returncode == 0 and groff.stderr == b""
    assert footer in groff.stdout
    man = subprocess.run(
        [needs("man", "man-db"), "--warnings", "-l", page],
        capture_output=True,
        env={**os.environ, "MANWIDTH": "80"},
        timeout=60,
    )
    assert man.returncode == 0 and man.stderr == b""
    assert footer in man.stdout


# --- installed with the package ----------------------------------------------------


def test_pip_install_puts_the_pages_where_man_finds_them(tmp_path: Path, wheel: Path) -> None:
    """Install the wheel into a prefix, and read ``man ao-get-result`` via PATH."""
    pip = [sys.executable, "-m", "pip"]
    quiet = {"capture_output": True, "text": True, "timeout": 300}
    data = f"{DISTRIBUTION.replace('-', '_')}-{__version__}.data/data/share/man/man1/"
    with zipfile.ZipFile(wheel) as zf:
        shipped = {n[len(data) :]: zf.read(n) for n in zf.namelist() if n.startswith(data)}
    assert shipped == {f"{c}.1": (MAN_DIR / f"{c}.1").read_bytes() for c in PAGES}

    prefix = tmp_path / "prefix"
    # --ignore-installed: without it pip first uninstalls this environment's own copy.
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--ignore-installed"]
        + ["--no-warn-script-location", "--prefix", str(prefix), str(wheel)],
        **quiet,
    )
    assert installed.returncode == 0, installed.stderr
    assert sorted(p.name for p in (prefix / "share/man/man1").iterdir()) == sorted(
        f"{c}.1" for c in PAGES
    )

    bin_dir = prefix / "bin"
    site = sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)})
    env = {k: v for k, v in clean_environ().items() if k not in ("MANPATH", "MANWIDTH")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", MANWIDTH="1000")
    needs("man", "man-db")
    shown = subprocess.run(
        ["man", "ao-get-result"], capture_output=True, text=True, env=env, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("AO-GET-RESULT(1)")
    assert_options_match_help(
        shown.stdout, help_of("ao-get-result", bin_dir, env={"PYTHONPATH": site})
    )
