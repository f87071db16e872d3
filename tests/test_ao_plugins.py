"""ao-plugins: every backend in effective call order, with origin, version, hooks and state."""

from __future__ import annotations

import json

from scripted import Scripted, backend, config_for

from ao_core import __version__, hookimpl
from ao_core.commands.plugins import as_row, table
from ao_core.config import Config
from ao_core.hookspecs import CONTRACT
from ao_core.inventory import survey
from ao_core.manager import Backend, available_backends, default_order
from ao_core.testing import CONTRACT_HOOKS

#: What the file backend implements: the contract, the optional batch of statuses, the
#: details of one session and its events.
OPTIONAL_FILE_HOOKS = ("fetch_statuses", "describe_session", "fetch_events", "follow_events")
FILE_HOOKS = [hook for hook in CONTRACT if hook in (*CONTRACT_HOOKS, *OPTIONAL_FILE_HOOKS)]


def test_json_lists_the_selection_first_then_the_rest(ao) -> None:
    outcome = ao("ao-plugins", "--json")
    assert (outcome.status, outcome.err) == (0, "")
    entries = json.loads(outcome.out)
    first, *rest = entries
    assert first == {
        "position": 1,
        "name": "file",
        "enabled": True,
        "selected": True,
        "builtin": True,
        "distribution": "ao-sessions",
        "version": __version__,
        "hooks": FILE_HOOKS,
        "error": None,
    }
    assert [e["name"] for e in rest] == [
        n for n in default_order(available_backends()) if n != "file"
    ]
    assert all(e["position"] is None and e["enabled"] is False for e in rest)


def test_default_selection_lists_everything_in_default_order(ao) -> None:
    outcome = ao("ao-plugins", "--json", extra_env={"AGENT_ORCHESTRATOR_BACKENDS": ""})
    entries = json.loads(outcome.out)
    names = [e["name"] for e in entries]
    assert names == default_order(names)
    assert names[-1] == "file"
    assert [e["position"] for e in entries] == list(range(1, len(entries) + 1))


def test_text_is_a_table_in_call_order(ao) -> None:
    outcome = ao("ao-plugins")
    assert outcome.status == 0
    header, first, *_ = outcome.out.splitlines()
    assert header.split() == ["#", "BACKEND", "ENABLED", "DISTRIBUTION", "VERSION", "HOOKS"]
    assert first.split()[:5] == ["1", "file", "yes", "ao-sessions", __version__]
    assert first.endswith(", ".join(FILE_HOOKS))
    assert first.index("file") == header.index("BACKEND")


class Partial:
    @hookimpl
    def resolve_session(self, name, config):
        return None


class Misspelt(Partial):
    @hookimpl
    def resolve_sesion(self, name, config):
        return None


def test_failed_partial_and_unselected_backends(tmp_path) -> None:
    available = {
        "file": backend("file", Scripted()),
        "partial": backend("partial", Partial, distribution="ao-plugin-partial"),
        "misspelt": backend("misspelt", Misspelt, distribution="ao-plugin-typo"),
        "broken": Backend(
            "broken", "ao-plugin-broken", "0.3", lambda: __import__("ao_no_such_module")
        ),
        "spare": backend("spare", Scripted()),
    }
    config = Config(
        project_dir=tmp_path,
        sessions_dir=tmp_path,
        backends=("partial", "misspelt", "broken", "file"),
    )
    reports = survey(config, available)
    assert [(r.name, r.position, r.enabled) for r in reports] == [
        ("partial", 1, True),
        ("misspelt", 2, False),
        ("broken", 3, False),
        ("file", 4, True),
        ("spare", None, False),
    ]
    rows = [as_row(r) for r in reports]
    assert rows[0] == (
        "1",
        "partial",
        "yes",
        "ao-plugin-partial",
        "9.9",
        "resolve_session",
    )
    assert rows[1] == (
        "2",
        "misspelt",
        "failed",
        "ao-plugin-typo",
        "9.9",
        "failed to load: 'resolve_sesion' (did you mean 'resolve_session'?): not a hook",
    )
    assert rows[2] == (
        "3",
        "broken",
        "failed",
        "ao-plugin-broken",
        "0.3",
        "failed to load: ModuleNotFoundError: No module named 'ao_no_such_module'",
    )
    assert rows[4][:3] == ("-", "spare", "no")
    lines = table([("#", "BACKEND", "HOOKS"), ("1", "partial", "x")]).splitlines()
    assert lines == ["#  BACKEND  HOOKS", "1  partial  x"]


def test_survey_prints_no_warning_for_a_failed_backend(tmp_path, capsys) -> None:
    available = {"broken": Backend("broken", "d", "1", lambda: 1 / 0)}
    (report,) = survey(config_for(tmp_path), available)
    assert report.error == "ZeroDivisionError: division by zero"
    assert capsys.readouterr().err == ""
