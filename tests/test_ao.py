"""``ao COMMAND``: the same output and exit status as ``ao-COMMAND``, and no more start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BIN_DIR, clean_environ

from ao_core import cli
from ao_core.commands import COMMANDS, status
from ao_core.commands import ao as ao_command
from ao_core.version import __version__

#: (subcommand, arguments): answers, errors, usage errors, help and version of every command.
CASES = [
    ("status", ["alpha"]),
    ("status", ["--json", "done"]),
    ("status", ["ghost"]),
    ("status", ["bad/name"]),
    ("status", []),
    ("status", ["--timeout", "5", "alpha"]),
    ("status", ["--wait", "--timeout", "0", "alpha"]),
    ("status", ["--backends", "nosuch", "alpha"]),
    ("status", ["--help"]),
    ("status", ["--version"]),
    ("get-result", ["done"]),
    ("get-result", ["--json", "done"]),
    ("get-result", ["alpha"]),
    ("get-result", ["broken"]),
    ("get-result", ["ghost"]),
    ("get-result", ["--wait", "--timeout", "soon", "alpha"]),
    ("get-result", ["--help"]),
    ("list-sessions", []),
    ("list-sessions", ["--json"]),
    ("list-sessions", ["--bogus"]),
    ("list-sessions", ["--help"]),
    ("logs", ["done"]),
    ("logs", ["--json", "--tail", "1", "done"]),
    ("logs", ["ghost"]),
    ("logs", ["--help"]),
    ("clean", []),
    ("clean", ["ghost"]),
    ("clean", ["--help"]),
    ("start", ["fresh", "-p", "hello", "--backends", "file"]),
    ("start", ["done", "-p", "hello"]),
    ("start", ["fresh", "--backends", "file"]),
    ("start", ["--help"]),
    ("resume", ["ghost", "-p", "more"]),
    ("resume", ["done", "-p", "more", "--backends", "file"]),
    ("resume", ["--help"]),
    ("stop", ["done", "ghost"]),
    ("stop", ["--help"]),
    ("list-blueprints", ["--backends", "file"]),
    ("list-blueprints", ["--help"]),
    ("show-config", ["done", "--backends", "file"]),
    ("show-config", ["ghost", "--json", "--backends", "file"]),
    ("show-config", ["--help"]),
    ("plugins", ["--backends", "file"]),
    ("plugins", ["--json"]),
    ("plugins", ["--help"]),
    ("skill", []),
    ("skill", ["--install", "--json"]),
    ("skill", ["--help"]),
    ("mcp", ["--backends", "file,nosuch"]),
    ("mcp", ["--help"]),
]


@pytest.fixture
def seeded(backups) -> None:
    backups.running("alpha")
    backups.finished("done", "the answer")
    backups.failed("broken")


def test_every_command_has_a_subcommand() -> None:
    assert {
        name.removeprefix("ao-"): module for name, module in COMMANDS.items()
    } == ao_command.SUBCOMMANDS
    assert {sub for sub, _ in CASES} == set(ao_command.SUBCOMMANDS)


@pytest.mark.parametrize("sub, args", CASES, ids=[" ".join([s, *a]) for s, a in CASES])
def test_ao_subcommand_answers_as_the_ao_command(script, seeded, sub, args) -> None:
    """Same stdout, stderr and exit status; the usage line and errors name ``ao SUB``."""
    direct = script(f"ao-{sub}", *args)
    via_ao = script("ao", sub, *args)
    renamed = (
        direct.out.replace(f"ao-{sub}", f"ao {sub}"),
        direct.err.replace(f"ao-{sub}", f"ao {sub}"),
    )
    assert (via_ao.status, via_ao.out, via_ao.err) == (direct.status, *renamed)
    assert direct.out or direct.err  # each case says something


def test_usage_errors_name_ao_subcommand(script) -> None:
    outcome = script("ao", "status")
    assert outcome.status == 2
    assert outcome.err.startswith("usage: ao status [-h]")
    assert outcome.err.endswith("ao status: error: the following arguments are required: NAME\n")


def test_ao_help_lists_each_command_on_one_line(script) -> None:
    outcome = script("ao", "--help", extra_env={"COLUMNS": "80"})
    assert outcome.status == 0 and outcome.out.startswith("usage: ao [-h] [--version] COMMAND ...")
    listed = outcome.out.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split()[0] for line in listed] == list(ao_command.SUBCOMMANDS)
    assert all(len(line) <= 80 for line in listed)
    assert listed[0].split(None, 1)[1] == "Print the status of a session"


def test_ao_version(script) -> None:
    outcome = script("ao", "--version")
    assert (outcome.status, outcome.out) == (0, f"ao {__version__}\n")


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "ao: error: the following arguments are required: COMMAND\n"),
        (["nosuch"], "ao: error: argument COMMAND: invalid choice: 'nosuch'"),
        (["--json"], "ao: error: the following arguments are required: COMMAND\n"),
        (["ao-status"], "invalid choice: 'ao-status'"),
    ],
)
def test_ao_usage_errors(script, args, message) -> None:
    outcome = script("ao", *args)
    assert (outcome.status, outcome.out) == (2, "")
    assert outcome.err.startswith("usage: ao [-h] [--version] COMMAND ...\n")
    assert message in outcome.err


def _modules_after(code: str, env: dict[str, str], cwd: Path) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_environ(**env),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.splitlines()[-1].split())


@pytest.mark.parametrize("sub", ["status", "list-sessions"])
def test_ao_subcommand_imports_only_that_command(env, tmp_path, sub) -> None:
    """``ao status X`` loads what ``ao-status X`` loads, plus the dispatcher: no other command."""
    args = ["x"] if sub == "status" else []
    module = ao_command.SUBCOMMANDS[sub]
    direct = _modules_after(f"from {module} import main\nmain({args!r})", env, tmp_path)
    via_ao = _modules_after(
        f"from ao_core.commands.ao import main\nmain({[sub, *args]!r})", env, tmp_path
    )
    assert via_ao - direct == {"ao_core.commands.ao"}
    assert direct - via_ao == set()
    others = set(ao_command.SUBCOMMANDS.values()) - {module}
    assert not others & via_ao


def test_python_m_ao_core_is_ao(script, seeded, env, tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ao_core", "status", "done"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_environ(**env),
        timeout=60,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "finished\n", "")
    assert script("ao", "status", "done").out == proc.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_python_m_runs_each_command_module(command, tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", COMMANDS[command], "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_environ(COLUMNS="100"),
        timeout=60,
    )
    installed = subprocess.run(
        [str(BIN_DIR / command), "--help"],
        capture_output=True,
        text=True,
        env=clean_environ(COLUMNS="100"),
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: {command} [-h]")
    assert proc.stdout == installed.stdout


def test_in_one_process_the_ao_name_ends_with_the_command(capsys) -> None:
    """After ``ao status`` (here a usage error), ``ao-status`` is itself again."""
    for main, usage in ((ao_command.main, "usage: ao status"), (status.main, "usage: ao-status")):
        with pytest.raises(SystemExit) as stopped:
            main(["status"] if main is ao_command.main else [])
        assert stopped.value.code == 2
        assert capsys.readouterr().err.startswith(usage)
        assert cli.RUN_AS is None
