"""Settings: CLI flag > environment variable > default, each validated where it is read."""

from __future__ import annotations

import pytest

from ao_core.config import Config, parse_backends
from ao_core.errors import ConfigError, UsageError
from ao_core.waiting import WAIT_TIMEOUT
from ao_plugins.api.backend import API_KEY, TIMEOUT, URL


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Config.load(environ={})
    assert config.project_dir == tmp_path
    assert config.sessions_dir == tmp_path / ".agent-orchestrator" / "agent-sessions"
    assert config.get(URL) == "http://127.0.0.1:8765"
    assert config.get(TIMEOUT) == 5.0
    assert config.get(API_KEY) is None
    assert config.backends is None


def test_flag_beats_environment_beats_default(tmp_path, monkeypatch):
    (tmp_path / "cli").mkdir()
    (tmp_path / "env").mkdir()
    monkeypatch.chdir(tmp_path)
    environ = {
        "AGENT_ORCHESTRATOR_PROJECT_DIR": str(tmp_path / "env"),
        "AGENT_ORCHESTRATOR_SESSIONS_DIR": "env-sessions",
        "AGENT_ORCHESTRATOR_BACKENDS": "file",
    }
    from_env = Config.load(environ=environ)
    assert from_env.project_dir == tmp_path / "env"
    assert from_env.sessions_dir == tmp_path / "env-sessions"  # relative: against the cwd
    assert from_env.backends == ("file",)
    from_cli = Config.load(
        project_dir="cli", sessions_dir="cli-sessions", backends="api,file", environ=environ
    )
    assert from_cli.project_dir == tmp_path / "cli"
    assert from_cli.sessions_dir == tmp_path / "cli-sessions"
    assert from_cli.backends == ("api", "file")


def test_sessions_dir_defaults_under_the_chosen_project(tmp_path):
    config = Config.load(project_dir=str(tmp_path), environ={})
    assert config.sessions_dir == tmp_path / ".agent-orchestrator" / "agent-sessions"


def test_project_dir_must_exist_and_be_a_directory(tmp_path):
    with pytest.raises(ConfigError, match="Project directory does not exist: "):
        Config.load(project_dir=str(tmp_path / "missing"), environ={})
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match="Project directory is not a directory: "):
        Config.load(project_dir=str(tmp_path / "f"), environ={})


def test_api_settings_from_the_environment(tmp_path):
    config = Config.load(
        project_dir=str(tmp_path),
        environ={
            "AGENT_ORCHESTRATOR_SESSION_MANAGER_URL": "http://example.test:9000/",
            "AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT": "0.5",
            "AGENT_ORCHESTRATOR_API_KEY": "s3cret-key",
        },
    )
    assert config.get(URL) == "http://example.test:9000/"
    assert config.get(TIMEOUT) == 0.5
    assert config.get(API_KEY) == "s3cret-key"
    assert "s3cret-key" not in repr(config)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf", "1e308"])
def test_bad_timeouts_are_refused_where_they_are_read(tmp_path, value):
    environ = {"AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT": value}
    config = Config.load(project_dir=str(tmp_path), environ=environ)
    with pytest.raises(ConfigError, match="must be a positive number of seconds"):
        config.get(TIMEOUT)


def test_backend_lists():
    assert parse_backends(None) is None
    assert parse_backends("  ") is None
    assert parse_backends(" api , mystore,file ") == ("api", "mystore", "file")
    with pytest.raises(UsageError, match="named twice"):
        parse_backends("file,file")
    with pytest.raises(UsageError, match="empty backend name"):
        parse_backends(",,")


def test_newer_api_url_name_is_read_when_the_older_is_unset(tmp_path):
    newer = {"AGENT_ORCHESTRATOR_API_URL": "http://new.test:1"}
    assert Config.load(project_dir=str(tmp_path), environ=newer).get(URL) == "http://new.test:1"
    both = {**newer, "AGENT_ORCHESTRATOR_SESSION_MANAGER_URL": "http://old.test:2"}
    assert Config.load(project_dir=str(tmp_path), environ=both).get(URL) == "http://old.test:2"


def test_wait_timeout(tmp_path):
    def load(value):
        environ = {"AGENT_ORCHESTRATOR_WAIT_TIMEOUT": value}
        return Config.load(project_dir=str(tmp_path), environ=environ).get(WAIT_TIMEOUT)

    assert Config.load(project_dir=str(tmp_path), environ={}).get(WAIT_TIMEOUT) == 600
    assert load("0") == 0
    assert load("12.5") == 12.5
    with pytest.raises(ConfigError, match="AGENT_ORCHESTRATOR_WAIT_TIMEOUT must be 0 or more"):
        load("-3")


def test_config_behaves_as_the_frozen_dataclass_it_was(tmp_path):
    """Compared, hashed and shown by its settings (never its environment), unchangeable,
    copyable; its directories are Paths, and strings as ``project_path``/``sessions_path``."""
    import copy
    import dataclasses
    import pickle
    from pathlib import Path

    config = Config.load(project_dir=str(tmp_path), environ={"SECRET": "s3cret"})
    same = Config(
        project_dir=tmp_path,
        sessions_dir=tmp_path / ".agent-orchestrator" / "agent-sessions",
        environ={"OTHER": "x"},
    )
    assert config == same and hash(config) == hash(same)
    assert config != Config(project_dir=tmp_path, sessions_dir=tmp_path, debug=True)
    assert isinstance(config.project_dir, Path) and config.project_dir == tmp_path
    assert config.sessions_path == str(tmp_path / ".agent-orchestrator" / "agent-sessions")
    assert config.project_path == str(tmp_path)
    assert repr(config) == (
        f"Config(project_dir={tmp_path!r}, sessions_dir={same.sessions_dir!r}, "
        "backends=None, debug=False, trace=False)"
    )
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'debug'"):
        config.debug = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del config.backends
    for copied in (copy.copy(config), copy.deepcopy(config), pickle.loads(pickle.dumps(config))):
        assert copied == config and copied.environ == {"SECRET": "s3cret"}


def test_a_setting_behaves_as_the_frozen_dataclass_it_was():
    import dataclasses

    from ao_core.settings import Setting

    one = Setting("AO_X", 1, "help", parse=int)
    assert one == Setting("AO_X", 1, "help", int) and hash(one) == hash(
        Setting("AO_X", 1, "help", int)
    )
    assert one != Setting("AO_X", 2, "help", parse=int)
    assert repr(one) == (
        "Setting(variable='AO_X', default=1, help='help', parse=<class 'int'>, also=(), "
        "secret=False, default_text=None)"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.default = 2  # type: ignore[misc]
    assert one.read({"AO_X": "7"}) == 7
