"""A real third-party backend, installed beside this project in a fresh virtual environment.

The venv is built once per test session, offline: ``python -m venv --without-pip``, a
``.pth`` file pointing at the directories that hold this environment's pip, setuptools,
pluggy, requests and pytest, then ``pip install --no-index --no-deps
--no-build-isolation`` of a copy of this project and of ``examples/ao-plugin-sqlite``.
Broken plugins (missing module, syntax error, exception at import, a hook that raises)
are installed for real too, as one distribution, with ``pip install --target`` into a
directory that tests put on ``PYTHONPATH`` when they want them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from backup_files import BackupDir
from conftest import Outcome, clean_environ

from ao_core import __version__
from ao_core.testing import CONTRACT_HOOKS

pytestmark = pytest.mark.slow  # pytest -m 'not slow' leaves these out

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = Path("examples") / "ao-plugin-sqlite"
COPY_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)

#: Found in this environment (located, not imported) and shared with the venv through a .pth.
SHARED_PACKAGES = ("pip", "setuptools", "pluggy", "requests", "pytest")
#: One distribution, ao-plugin-broken 1.0, offering four backends: entry point -> module source.
BROKEN = {
    "missing": "import ao_no_such_dependency\n",
    "syntax": "def resolve_session(name, config:\n    return None\n",
    "raises": "raise RuntimeError('no licence key configured')\n",
    "crashy": (
        "from ao_core import hookimpl\n\n\n"
        "@hookimpl\n"
        "def resolve_session(name, config):\n"
        "    return {}['no such key']\n"
    ),
}


@dataclass
class PluginVenv:
    root: Path
    bin: Path
    python: Path
    broken_site: Path
    seconds: float


def _pip(python: Path, *args: str | Path) -> subprocess.Popen:
    """Start an offline ``pip install`` (no index, no dependencies, no build isolation)."""
    return subprocess.Popen(
        [python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--no-compile", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=clean_environ(PIP_NO_INPUT="1"),
    )  # fmt: skip


def _finish(*installs: subprocess.Popen) -> None:
    for install in installs:
        output, _ = install.communicate(timeout=300)
        assert install.returncode == 0, output.decode(errors="replace")


def _broken_project(project: Path) -> Path:
    """ao-plugin-broken: one module per broken backend, each its own entry point."""
    lines = []
    for entry, source in BROKEN.items():
        module = f"ao_broken_{entry}"
        (project / module).mkdir(parents=True)
        (project / module / "__init__.py").write_text(source)
        lines.append(f'{entry} = "{module}"')
    packages = ", ".join(f'"ao_broken_{entry}"' for entry in BROKEN)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "ao-plugin-broken"
            version = "1.0"

            [tool.setuptools]
            packages = [{packages}]

            [project.entry-points."ao.plugins"]
        """)
        + "\n".join(lines)
        + "\n"
    )
    return project


@pytest.fixture(scope="session")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> PluginVenv:
    """This project and the sqlite example installed in a fresh venv (built once)."""
    started = time.monotonic()
    root = tmp_path_factory.mktemp("plugin-venv")
    source = root / "src"
    shutil.copytree(PROJECT, source, ignore=COPY_IGNORE)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    shared = {
        str(Path(importlib.util.find_spec(name).origin).resolve().parent.parent)
        for name in SHARED_PACKAGES
    }
    (Path(purelib) / "ao-test-shared.pth").write_text("\n".join(sorted(shared)) + "\n")
    broken = _broken_project(root / "broken-src")
    _finish(
        _pip(python, source, source / EXAMPLE),
        _pip(python, "--target", root / "broken-site", broken),
    )
    seconds = time.monotonic() - started
    print(f"\nplugin venv built in {seconds:.1f} s")
    return PluginVenv(root, bin_dir, python, root / "broken-site", seconds)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture
def venv_run(plugin_venv: PluginVenv, env: dict[str, str], sqlite_db: Path, tmp_path: Path):
    """Run a console script of the venv; ``broken=True`` puts the broken plugins on the path,
    ``path`` more directories (in front of them)."""
    with socket.socket() as s:  # a port nobody listens on, should the api backend be present
        s.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{s.getsockname()[1]}"

    def run(
        command: str, *args: str, broken: bool = False, path: tuple[Path, ...] = (), **extra: str
    ) -> Outcome:
        settings = {
            "AGENT_ORCHESTRATOR_PROJECT_DIR": env["AGENT_ORCHESTRATOR_PROJECT_DIR"],
            "AGENT_ORCHESTRATOR_SESSION_MANAGER_URL": dead_url,
            "AO_SQLITE_PATH": str(sqlite_db),
            **extra,
        }
        environ = clean_environ(**settings)
        environ.pop("PYTHONPATH", None)
        environ.pop("VIRTUAL_ENV", None)
        on_path = [*path, *([plugin_venv.broken_site] if broken else [])]
        if on_path:
            environ["PYTHONPATH"] = os.pathsep.join(map(str, on_path))
        exe = plugin_venv.python if command == "python" else plugin_venv.bin / command
        proc = subprocess.run(
            [exe, *args], capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=120
        )
        return Outcome(proc.returncode, proc.stdout, proc.stderr)

    return run


def seed(db: Path, name: str, status: str, result: str | None = None) -> None:
    """Write a row as the example's SessionDB does (the schema is part of the example)."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS sessions (name TEXT PRIMARY KEY, session_id TEXT, "
            "project_dir TEXT, status TEXT NOT NULL, result TEXT, error TEXT)"
        )
        conn.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, NULL)",
            (name, f"sql-{name}", "/sqlproj", status, result),
        )
    conn.close()


@pytest.fixture
def shared(backups: BackupDir, sqlite_db: Path) -> None:
    """'shared' is finished in SQLite and still running in the backup files."""
    seed(sqlite_db, "shared", "finished", "answer from sqlite")
    backups.running("shared", "file-sid")


def traces(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("Trace:")]


def test_the_example_passes_the_kit_in_the_venv(plugin_venv: PluginVenv, venv_run) -> None:
    tests = plugin_venv.root / "src" / EXAMPLE / "tests"
    outcome = venv_run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests))
    assert outcome.status == 0, outcome.out + outcome.err
    assert " passed" in outcome.out and "failed" not in outcome.out


def test_discovered_and_listed_between_api_and_file(venv_run) -> None:
    outcome = venv_run("ao-plugins", "--json")
    assert (outcome.status, outcome.err) == (0, "")
    entries = {e["name"]: e for e in json.loads(outcome.out)}
    assert entries["sqlite"] == {
        "position": entries["sqlite"]["position"],
        "name": "sqlite",
        "enabled": True,
        "selected": True,
        "builtin": False,
        "distribution": "ao-plugin-sqlite",
        "version": "0.1.0",
        "hooks": list(CONTRACT_HOOKS),
        "error": None,
    }
    assert [entries[n]["position"] for n in ("api", "sqlite", "file")] == [1, 2, 3]
    assert entries["file"]["version"] == __version__
    table = venv_run("ao-plugins").out.splitlines()
    row = next(line for line in table if line.split()[1] == "sqlite")
    assert row.split()[2:5] == ["yes", "ao-plugin-sqlite", "0.1.0"]


def test_default_order_asks_sqlite_before_file(venv_run, shared) -> None:
    status = venv_run("ao-status", "shared", AGENT_ORCHESTRATOR_TRACE="1")
    assert (status.status, status.out) == (0, "finished\n")
    resolve = traces(status.err)[0]
    assert resolve.endswith(": api -> unavailable, sqlite -> session sql-shared; not asked: file")
    assert resolve.startswith("Trace: resolve_session(name='shared'): ")
    result = venv_run("ao-get-result", "shared")
    assert (result.status, result.out) == (0, "answer from sqlite\n")


def test_reordered_by_option_and_by_environment(venv_run, shared) -> None:
    by_option = venv_run("ao-status", "--backends", "file,sqlite", "shared")
    by_env = venv_run("ao-status", "shared", AGENT_ORCHESTRATOR_BACKENDS="file,sqlite")
    assert (by_option.status, by_option.out) == (by_env.status, by_env.out) == (0, "running\n")
    traced = venv_run("ao-status", "shared", AGENT_ORCHESTRATOR_BACKENDS="sqlite,file")
    assert traced.out == "finished\n"


def test_deselected_is_neither_asked_nor_imported(venv_run, sqlite_db, backups) -> None:
    seed(sqlite_db, "only-sql", "finished", "x")
    backups.finished("only-file", "y", "file-sid")
    status = venv_run("ao-status", "--backends", "file", "only-sql")
    assert status.out == "not_existent\n"
    listed = venv_run("ao-list-sessions", AGENT_ORCHESTRATOR_BACKENDS="file")
    assert listed.out == "only-file (session-id: file-sid, project-dir: /proj)\n"
    everywhere = venv_run("ao-list-sessions")
    assert "only-sql (session-id: sql-only-sql, project-dir: /sqlproj)" in everywhere.out
    code = (
        "import sys\nfrom ao_core.commands.status import main\nmain(['only-sql'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('ao_plugin') or m == 'requests'))"
    )
    probe = venv_run("python", "-c", code, AGENT_ORCHESTRATOR_BACKENDS="file")
    assert probe.out.splitlines() == ["not_existent", "['ao_plugins', 'ao_plugins.file']"]


def test_ao_clean_deletes_from_both_stores_only_that_session(
    venv_run, shared, sqlite_db, backups
) -> None:
    seed(sqlite_db, "other", "finished", "keep me")
    backups.finished("other-file", "keep me too")
    outcome = venv_run("ao-clean", "shared")
    assert (outcome.status, outcome.out) == (0, "Deleted session 'shared'\n")
    assert venv_run("ao-status", "shared").out == "not_existent\n"
    assert venv_run("ao-get-result", "other").out == "keep me\n"
    assert backups.names() == ["other-file.jsonl", "other-file.meta.json"]


def test_unknown_backend_through_the_venv(venv_run) -> None:
    outcome = venv_run("ao-status", "--backends", "sqlite,nosuch", "x")
    assert outcome.status == 2
    (line,) = outcome.err.splitlines()
    assert line.startswith("Error: Unknown backend 'nosuch' (installed: ")
    assert "sqlite" in line


EXPECTED_LOAD_WARNINGS = [
    "Warning: backend 'missing' (from ao-plugin-broken 1.0) failed to load: "
    "ModuleNotFoundError: No module named 'ao_no_such_dependency'",
    "Warning: backend 'raises' (from ao-plugin-broken 1.0) failed to load: "
    "RuntimeError: no licence key configured",
    "Warning: backend 'syntax' (from ao-plugin-broken 1.0) failed to load: SyntaxError: ",
]


ALL_BUT_API = "crashy,missing,raises,syntax,sqlite,file"


def test_broken_plugins_never_take_a_command_down(venv_run, shared) -> None:
    outcome = venv_run("ao-status", "shared", broken=True, AGENT_ORCHESTRATOR_BACKENDS=ALL_BUT_API)
    assert (outcome.status, outcome.out) == (0, "finished\n")
    lines = sorted(outcome.err.splitlines())
    assert len(lines) == 4, outcome.err
    assert lines[0] == (
        "Warning: backend 'crashy' failed in resolve_session: KeyError: 'no such key'"
    )
    for line, expected in zip(lines[1:], EXPECTED_LOAD_WARNINGS, strict=True):
        assert line.startswith(expected)
    assert "Traceback" not in outcome.err
    by_default = venv_run("ao-get-result", "shared", broken=True)
    assert (by_default.status, by_default.out) == (0, "answer from sqlite\n")
    for expected in EXPECTED_LOAD_WARNINGS:
        assert any(line.startswith(expected) for line in by_default.err.splitlines())


def test_broken_plugins_with_debug_show_tracebacks(venv_run, shared) -> None:
    outcome = venv_run(
        "ao-status",
        "shared",
        broken=True,
        AGENT_ORCHESTRATOR_DEBUG="1",
        AGENT_ORCHESTRATOR_BACKENDS=ALL_BUT_API,
    )
    assert (outcome.status, outcome.out) == (0, "finished\n")
    assert outcome.err.count("Traceback (most recent call last)") == 4
    assert "raise RuntimeError('no licence key configured')" in outcome.err


def test_deselected_broken_plugins_are_not_even_imported(venv_run, shared) -> None:
    outcome = venv_run("ao-status", "shared", "--backends", "sqlite,file", broken=True)
    assert (outcome.status, outcome.out, outcome.err) == (0, "finished\n", "")


def test_ao_plugins_lists_broken_plugins_as_failed(venv_run) -> None:
    outcome = venv_run("ao-plugins", "--json", broken=True)
    assert (outcome.status, outcome.err) == (0, "")
    entries = {e["name"]: e for e in json.loads(outcome.out)}
    assert entries["missing"]["error"] == (
        "ModuleNotFoundError: No module named 'ao_no_such_dependency'"
    )
    assert entries["raises"]["error"] == "RuntimeError: no licence key configured"
    assert entries["syntax"]["error"].startswith("SyntaxError: ")
    assert {entries[n]["enabled"] for n in ("missing", "raises", "syntax")} == {False}
    assert (entries["crashy"]["enabled"], entries["crashy"]["hooks"]) == (
        True,
        ["resolve_session"],
    )
    assert entries["missing"]["distribution"] == "ao-plugin-broken"
    table = venv_run("ao-plugins", broken=True).out
    row = next(line for line in table.splitlines() if line.split()[1] == "raises")
    assert row.split()[2:5] == ["failed", "ao-plugin-broken", "1.0"]
    assert row.endswith("failed to load: RuntimeError: no licence key configured")


def _tiny_project(root: Path, dist: str, version: str, entries: dict[str, str]) -> Path:
    """Distribution ``dist`` ``version``: one module per entry point (``name = module``),
    each a backend that knows the session ``<name>-one`` and calls it finished."""
    modules = sorted(set(entries.values()))
    for module in modules:
        (root / module).mkdir(parents=True)
        (root / module / "__init__.py").write_text(
            "from ao_core import Session, hookimpl\n\n\n"
            "@hookimpl\n"
            "def resolve_session(name, config):\n"
            "    if name.endswith('-one'):\n"
            f"        return Session(name=name, session_id={module!r})\n\n\n"
            "@hookimpl\n"
            "def fetch_status(session, config):\n"
            "    return 'finished'\n"
        )
    packages = ", ".join(f'"{m}"' for m in modules)
    lines = "\n".join(f'{name} = "{module}"' for name, module in entries.items())
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{dist}"\nversion = "{version}"\n\n'
        f"[tool.setuptools]\npackages = [{packages}]\n\n"
        f'[project.entry-points."ao.plugins"]\n{lines}\n'
    )
    return root


def _plugins(outcome: Outcome) -> dict[str, tuple[str, str]]:
    """The third-party backends ``ao-plugins --json`` lists: name -> (distribution, version)."""
    assert outcome.status == 0, outcome.err
    return {
        e["name"]: (e["distribution"], e["version"])
        for e in json.loads(outcome.out)
        if not e["builtin"]
    }


def test_a_plugin_installed_a_moment_ago_is_found_one_uninstalled_is_forgotten(
    plugin_venv: PluginVenv, venv_run, tmp_path: Path
) -> None:
    project = _tiny_project(tmp_path / "late-src", "ao-plugin-late", "1.0", {"late": "ao_late"})
    assert "late" not in _plugins(venv_run("ao-plugins", "--json"))
    try:
        _finish(_pip(plugin_venv.python, project))
        # right after pip returns, no cache to go stale
        found = venv_run("ao-status", "late-one", "--backends", "late")
        assert (found.status, found.out, found.err) == (0, "finished\n", "")
        assert _plugins(venv_run("ao-plugins", "--json"))["late"] == ("ao-plugin-late", "1.0")
        probe = venv_run(
            "python",
            "-c",
            "import sys\nfrom ao_core.commands.status import main\nmain(['late-one'])\n"
            "print('importlib.metadata' in sys.modules)",
            AGENT_ORCHESTRATOR_BACKENDS="late",
        )
        assert probe.out == "finished\nFalse\n", probe.err
    finally:
        removed = subprocess.run(
            [plugin_venv.python, "-m", "pip", "uninstall", "-y", "-q", "ao-plugin-late"],
            capture_output=True, text=True, timeout=120, env=clean_environ(PIP_NO_INPUT="1"),
        )  # fmt: skip
    assert removed.returncode == 0, removed.stdout + removed.stderr
    gone = venv_run("ao-status", "late-one", "--backends", "late")
    assert gone.status == 2
    assert gone.err.startswith("Error: Unknown backend 'late' (installed: ")
    assert "late" not in _plugins(venv_run("ao-plugins", "--json"))


STANDARD_LISTING = """\
import importlib.metadata, json
print(json.dumps([(ep.name, ep.dist.metadata["Name"], ep.dist.version)
                  for ep in importlib.metadata.entry_points(group="ao.plugins")]))
"""


@pytest.fixture(scope="module")
def duplicates(plugin_venv: PluginVenv, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two directories for PYTHONPATH, installed into with pip: ao-plugin-dup 2.0 in the
    first; ao-plugin-dup 1.0 (one backend more) and ao-plugin-taken (a backend named
    ``sqlite``, like the example's) in the second."""
    root = tmp_path_factory.mktemp("duplicates")
    newer = _tiny_project(root / "dup-2", "ao-plugin-dup", "2.0", {"dup": "ao_dup_two"})
    older = _tiny_project(
        root / "dup-1", "ao-plugin-dup", "1.0", {"dup": "ao_dup_one", "older": "ao_dup_one"}
    )
    taken = _tiny_project(root / "taken", "ao-plugin-taken", "3.1", {"sqlite": "ao_taken"})
    first, second = root / "first", root / "second"
    _finish(
        _pip(plugin_venv.python, "--target", first, newer),
        _pip(plugin_venv.python, "--target", second, older),
    )
    _finish(_pip(plugin_venv.python, "--target", second, taken))
    return [first, second]


@pytest.mark.parametrize("order", ["newer first", "older first"])
def test_ao_plugins_lists_what_importlib_metadata_lists(venv_run, duplicates, order) -> None:
    path = tuple(duplicates if order == "newer first" else reversed(duplicates))
    standard = json.loads(venv_run("python", "-c", STANDARD_LISTING, broken=True, path=path).out)
    first: dict[str, tuple[str, str]] = {}
    ignored = []
    for name, dist, version in standard:
        if name in first:
            ignored.append(f"Warning: plugin {name!r} from {dist} ignored: name already taken")
        first.setdefault(name, (dist, version))
    listed = venv_run("ao-plugins", "--json", broken=True, path=path)
    assert _plugins(listed) == first
    assert listed.err.splitlines() == ignored
    # the first copy of a distribution on the path is the one, as importlib.metadata has it
    assert first["dup"] == ("ao-plugin-dup", "2.0" if order == "newer first" else "1.0")
    assert ("older" in first) is (order == "older first")
    assert first["sqlite"] == ("ao-plugin-taken", "3.1")
    assert "Warning: plugin 'sqlite' from ao-plugin-sqlite ignored: name already taken" in ignored
    asked = venv_run("ao-status", "dup-one", "--backends", "dup", broken=True, path=path)
    assert (asked.out, asked.status) == ("finished\n", 0)
