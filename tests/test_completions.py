"""Shell completions: generated from the parsers, fresh, installed where shells look, working.

Each case completes a command line in real bash, zsh and fish with the committed files;
session names come from the installed ``ao-list-sessions`` reading real backup files.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
from pathlib import Path

import pytest
from backup_files import BackupDir
from conftest import BIN_DIR, clean_environ
from shell_completion import SHELLS, SOURCE, completed, shell_path

from ao_core import options as ao_options
from ao_core.commands import ao as ao_command

pytestmark = pytest.mark.slow  # pytest -m 'not slow' leaves these out

try:
    import tomllib
except ImportError:  # Python 3.10: pytest brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(ao_command.scripts())
SUBCOMMANDS = {
    "status",
    "get-result",
    "list-sessions",
    "clean",
    "start",
    "resume",
    "stop",
    "list-blueprints",
    "show-config",
    "logs",
    "plugins",
    "skill",
    "mcp",
}


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "build_completions", ROOT / "tools" / "build_completions.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


# --- generated, fresh, installed -----------------------------------------------------


def test_committed_completions_are_what_the_parsers_generate() -> None:
    stale = gen.stale_files(SOURCE, gen.render_all())
    assert not stale, f"stale completions {stale}: regenerate them with `{gen.REGENERATE}`"


def test_one_file_per_script_and_shell_named_as_the_shell_looks_for_it() -> None:
    present = sorted(p.relative_to(SOURCE).as_posix() for p in SOURCE.glob("*/*"))
    assert present == sorted(
        [f"bash/{s}" for s in SCRIPTS]
        + [f"zsh/_{s}" for s in SCRIPTS]
        + [f"fish/{s}.fish" for s in SCRIPTS]
    )
    assert all(
        (SOURCE / "zsh" / f"_{s}").read_text().startswith(f"#compdef {s}\n") for s in SCRIPTS
    )


def test_check_mode_passes_on_the_committed_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert gen.main(["--check"]) == 0
    assert capsys.readouterr().err == ""


def test_a_changed_help_string_makes_the_completions_stale(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = ao_options.make_parser

    def changed_json_help(prog: str, description: str, **kw: str | None):
        json_help = kw.pop("json_help", None)
        return original(prog, description, **kw, json_help=json_help and f"{json_help} (changed)")

    monkeypatch.setattr(ao_options, "make_parser", changed_json_help)
    files = gen.render_all()
    stale = gen.stale_files(SOURCE, files)
    assert "zsh/_ao-status" in stale and "fish/ao-status.fish" in stale
    assert "zsh/_ao-clean" in stale  # it takes --json too
    assert gen.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "stale: " in err and "python tools/build_completions.py" in err

    assert set(gen.write_files(tmp_path, files)) == set(files)
    assert gen.write_files(tmp_path, files) == []
    (tmp_path / "bash" / "ao-gone").write_text("old")
    assert gen.stale_files(tmp_path, files) == ["bash/ao-gone"]
    assert gen.write_files(tmp_path, files) == ["bash/ao-gone"]
    assert not (tmp_path / "bash" / "ao-gone").exists()


def test_an_option_without_a_completer_stops_generation() -> None:
    parser = argparse.ArgumentParser(prog="ao-new")
    parser.add_argument("--colour", metavar="WHEN", help="when to use colour")
    with pytest.raises(ValueError, match=r"ao-new: --colour .* add 'colour' to COMPLETERS"):
        gen.annotate(parser)


def test_pyproject_installs_each_shells_files_where_it_loads_them() -> None:
    with open(ROOT / "pyproject.toml", "rb") as f:
        data_files = tomllib.load(f)["tool"]["setuptools"]["data-files"]
    assert {d: data_files[d] for d, _ in gen.SHELLS.values()} == {
        "share/bash-completion/completions": ["completions/bash/*"],
        "share/zsh/site-functions": ["completions/zsh/_*"],
        "share/fish/vendor_completions.d": ["completions/fish/*.fish"],
    }


@pytest.mark.parametrize("shell", SHELLS)
def test_every_file_is_valid_shell(shell: str) -> None:
    exe = shell_path(shell)
    for path in sorted((SOURCE / shell).iterdir()):
        checked = subprocess.run([exe, "-n", str(path)], capture_output=True, text=True)
        assert checked.returncode == 0 and checked.stderr == "", f"{path}: {checked.stderr}"


def test_commands_import_nothing_for_completion(env: dict[str, str], tmp_path: Path) -> None:
    """shtab is for building only: no command imports it (or any completion code)."""
    code = (
        "import sys\n"
        "from ao_core.commands import ao\n"
        "for name in ('status', 'list-sessions'):\n"
        "    ao.main([name, 'x'] if name == 'status' else [name])\n"
        "print(sorted(m for m in sys.modules if 'shtab' in m or 'complet' in m))\n"
    )
    proc = subprocess.run(
        [str(BIN_DIR / "python"), "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_environ(**env),
        timeout=60,
    )
    assert proc.stdout.splitlines()[-1] == "[]", proc.stderr


# --- completing in real shells ------------------------------------------------------


@pytest.fixture
def shell_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The commands' settings, this environment's scripts first on PATH, a home of its own."""
    home = tmp_path / "home"
    home.mkdir()
    settings = clean_environ(
        **env, HOME=str(home), PATH=f"{BIN_DIR}{os.pathsep}{os.environ['PATH']}"
    )
    for variable in (
        "XDG_DATA_DIRS",
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "BASH_COMPLETION_USER_DIR",
    ):
        settings.pop(variable, None)
    return settings


@pytest.fixture
def sessions(backups: BackupDir) -> set[str]:
    backups.finished("alpha")
    backups.running("alpha-2")
    backups.finished("beta_3")
    return {"alpha", "alpha-2", "beta_3"}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    "line",
    ["ao-status ", "ao-get-result ", "ao-clean ", "ao-clean alpha ", "ao status ", "ao clean x "],
)
def test_session_names_complete_from_ao_list_sessions(shell, line, shell_env, sessions, tmp_path):
    assert completed(shell, line, shell_env, tmp_path) == sessions


@pytest.mark.parametrize("shell", SHELLS)
def test_a_typed_prefix_narrows_the_names(shell, shell_env, sessions, tmp_path):
    assert completed(shell, "ao-get-result al", shell_env, tmp_path) == {"alpha", "alpha-2"}
    assert completed(shell, "ao get-result b", shell_env, tmp_path) == {"beta_3"}


@pytest.mark.parametrize("shell", SHELLS)
def test_no_sessions_found_completes_nothing(shell, shell_env, backups, tmp_path):
    backups.path.mkdir(parents=True, exist_ok=True)
    listed = subprocess.run(
        [str(BIN_DIR / "ao-list-sessions")], capture_output=True, text=True, env=shell_env
    )
    assert listed.stdout == "No sessions found\n"
    assert completed(shell, "ao-status ", shell_env, tmp_path) == set()
    assert completed(shell, "ao status N", shell_env, tmp_path) == set()


@pytest.mark.parametrize("shell", SHELLS)
def test_the_sessions_dir_on_the_command_line_is_the_one_listed(
    shell, shell_env, sessions, tmp_path
):
    other = BackupDir(tmp_path / "elsewhere")
    other.finished("gamma")
    line = f"ao-status --sessions-dir {other.path} "
    assert completed(shell, line, shell_env, tmp_path) == {"gamma"}
    assert completed(shell, f"ao clean --sessions-dir {other.path} ", shell_env, tmp_path) == {
        "gamma"
    }


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("line", ["ao-start new --agent ", "ao start new --agent "])
def test_agents_complete_from_ao_list_blueprints(
    shell, line, shell_env, runs_coordinator, tmp_path
):
    shell_env = {**shell_env, **runs_coordinator.env(AGENT_ORCHESTRATOR_BACKENDS="api")}
    names = {agent["name"] for agent in runs_coordinator.agents.list()}
    assert completed(shell, line, shell_env, tmp_path) == names
    assert completed(shell, f"{line}to", shell_env, tmp_path) == {"topic"}


@pytest.mark.parametrize("shell", SHELLS)
def test_no_blueprints_completes_nothing(shell, shell_env, tmp_path):
    """The backup files have no blueprints: the error line completes nothing."""
    assert completed(shell, "ao-start new --agent ", shell_env, tmp_path) == set()


@pytest.mark.parametrize("shell", SHELLS)
def test_options_complete(shell, shell_env, tmp_path):
    assert completed(shell, "ao-status --ba", shell_env, tmp_path) == {"--backends"}
    assert completed(shell, "ao-clean --a", shell_env, tmp_path) == {"--all"}
    assert completed(shell, "ao get-result --wa", shell_env, tmp_path) == {"--wait"}
    assert completed(shell, "ao-list-sessions --js", shell_env, tmp_path) == {"--json"}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("command", ["ao-status", "ao-list-sessions", "ao-plugins", "ao clean"])
def test_backends_complete_to_the_installed_backends(shell, command, shell_env, tmp_path):
    assert completed(shell, f"{command} --backends ", shell_env, tmp_path) == {"api", "file"}
    # a comma-separated list: the next name, after the ones typed
    assert completed(shell, f"{command} --backends api,", shell_env, tmp_path) == {"file"}


@pytest.mark.parametrize("shell", SHELLS)
def test_directory_options_complete_directories(shell, shell_env, tmp_path):
    (tmp_path / "somedir").mkdir()
    (tmp_path / "somefile").write_text("")
    found = completed(shell, "ao-list-sessions --sessions-dir some", shell_env, tmp_path)
    assert found == {"somedir"}


@pytest.mark.parametrize("shell", SHELLS)
def test_ao_completes_its_commands(shell, shell_env, tmp_path):
    assert completed(shell, "ao ", shell_env, tmp_path) == SUBCOMMANDS
    assert completed(shell, "ao list", shell_env, tmp_path) == {"list-sessions", "list-blueprints"}
