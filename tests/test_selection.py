"""Which backends are asked, in which order: --backends, AGENT_ORCHESTRATOR_BACKENDS, defaults."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from conftest import COMMANDS, clean_environ
from scripted import Scripted, backend

from ao_core import Config, Session
from ao_core.manager import call_order, default_order, get_plugin_manager


def test_default_order_is_api_then_third_party_by_name_then_file() -> None:
    assert default_order(["file", "zeta", "api", "alpha"]) == ["api", "alpha", "zeta", "file"]
    assert default_order(["file", "mystore"]) == ["mystore", "file"]


def test_configured_order_is_used_as_given(tmp_path) -> None:
    config = Config(project_dir=tmp_path, sessions_dir=tmp_path, backends=("file", "zeta"))
    assert call_order(config, ["api", "file", "zeta"]) == ["file", "zeta"]


def test_pluggy_asks_in_the_configured_order(tmp_path) -> None:
    plugins = {n: Scripted(resolve_session=Session(name="x", session_id=n)) for n in "abc"}
    available = {n: backend(n, p) for n, p in plugins.items()}
    for order in (("a", "b", "c"), ("c", "a", "b"), ("b",)):
        config = Config(project_dir=tmp_path, sessions_dir=tmp_path, backends=order)
        pm = get_plugin_manager(config, available)
        assert pm.hook.resolve_session(name="x", config=config).session_id == order[0]
        assert [impl.plugin_name for impl in pm.hook.resolve_session.get_hookimpls()][::-1] == [
            *order
        ]


def takes_backends(command: str) -> bool:
    """Whether ``command`` has ``--backends`` (every one but ``ao-skill``, which asks none)."""
    parser = importlib.import_module(COMMANDS[command]).parser()
    return any("--backends" in action.option_strings for action in parser._actions)


def test_every_command_but_ao_skill_selects_backends() -> None:
    assert [c for c in sorted(COMMANDS) if not takes_backends(c)] == ["ao-skill"]


@pytest.mark.parametrize("command", [c for c in sorted(COMMANDS) if takes_backends(c)])
def test_unknown_backend_is_a_usage_error(call, command) -> None:
    no_names = ("ao-list-sessions", "ao-plugins", "ao-list-blueprints", "ao-mcp")
    args = [] if command in no_names else ["alpha"]
    outcome = call(command, *args, extra_env={"AGENT_ORCHESTRATOR_BACKENDS": "file,nosuch"})
    assert outcome.status == 2
    assert outcome.out == ""
    assert outcome.err.startswith("Error: Unknown backend 'nosuch' (installed: ")
    assert len(outcome.err.splitlines()) == 1


def test_unknown_backend_through_the_installed_script(script) -> None:
    outcome = script("ao-status", "--backends", "nosuch,file", "alpha")
    assert outcome.status == 2
    (line,) = outcome.err.splitlines()
    assert line.startswith("Error: Unknown backend 'nosuch' (installed: ")
    assert "file" in line


def test_option_overrides_environment(ao, backups) -> None:
    backups.running("alpha")
    outcome = ao(
        "ao-status", "--backends", "file", "alpha", extra_env={"AGENT_ORCHESTRATOR_BACKENDS": "x"}
    )
    assert (outcome.status, outcome.out, outcome.err) == (0, "running\n", "")


def test_unselected_backends_are_never_imported(env, tmp_path) -> None:
    """With only ``file`` selected, neither requests nor any other backend module is loaded."""
    code = (
        "import sys\n"
        "from ao_core.commands.status import main\n"
        "status = main(['alpha'])\n"
        "loaded = sorted(m for m in sys.modules if m == 'requests' or m.startswith('ao_plugin'))\n"
        "print(status, loaded)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_environ(**env),
        timeout=60,
    )
    assert proc.stdout.splitlines() == ["not_existent", "0 ['ao_plugins', 'ao_plugins.file']"], (
        proc.stderr
    )
