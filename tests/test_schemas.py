"""Every ``--json`` document the commands print fits its schema in :mod:`ao_core.schemas`,
the one description ``ao mcp``'s output schemas are made from: a member added to a
document and not to its schema (or the reverse) fails here."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from runs_fixtures import RunsCoordinator

from ao_core import schemas
from ao_core.commands import COMMANDS

SLOW = "sleep 30 please"


def check(command: str, outcome) -> object:
    """The documents ``command`` printed (one, or one per line for ``ao-logs``), each
    checked against its schema: the command's own or, when it failed, the error
    document's (a command answering for several names prints its records and exits 1)."""
    assert outcome.out, outcome.err
    lines = outcome.out.splitlines() if command == "ao-logs" else [outcome.out]
    documents = [json.loads(line) for line in lines]
    schema = schemas.DOCUMENTS[command]
    if outcome.status != 0:
        schema = {"anyOf": [schema, schemas.ERROR_DOCUMENT]}
    for document in documents:
        errors = list(Draft202012Validator(schema).iter_errors(document))
        assert not errors, f"{command}: {errors[0].message} in {document}"
    return documents


def test_every_schema_is_a_schema_and_every_command_with_json_has_one() -> None:
    for schema in [*schemas.DOCUMENTS.values(), schemas.ERROR_DOCUMENT]:
        Draft202012Validator.check_schema(schema)
    with_json = {c for c in COMMANDS if c not in ("ao-mcp",)}
    assert set(schemas.DOCUMENTS) == with_json


def test_the_documents_on_the_backup_files(call, backups) -> None:
    backups.finished("alpha", "the answer")
    backups.running("beta")
    backups.failed("gamma")
    backups.finished("delta")
    cases = [
        ("ao-status", ["alpha"]),
        ("ao-status", ["alpha", "beta", "ghost"]),
        ("ao-status", ["beta", "--wait", "--timeout", "0"]),
        ("ao-get-result", ["alpha"]),
        ("ao-get-result", ["ghost"]),
        ("ao-get-result", ["gamma"]),
        ("ao-list-sessions", []),
        ("ao-list-sessions", ["--long"]),
        ("ao-show-config", ["alpha"]),
        ("ao-plugins", []),
        ("ao-logs", ["alpha"]),
        ("ao-stop", ["gamma", "ghost"]),
        ("ao-clean", ["alpha", "--dry-run"]),
        ("ao-clean", ["delta", "ghost"]),
        ("ao-list-blueprints", []),
        ("ao-start", ["new", "-p", "hi"]),
        ("ao-skill", []),
        ("ao-skill", ["--install"]),
    ]
    for command, argv in cases:
        check(command, call(command, *argv, "--json"))
    timed_out = check("ao-status", call("ao-status", "beta", "--wait", "--timeout", "0", "--json"))
    assert timed_out[0]["error"]["code"] == "timed_out"  # the optional members are exercised


@pytest.fixture
def server(runs_coordinator: RunsCoordinator) -> RunsCoordinator:
    return runs_coordinator


@pytest.fixture
def env(server: RunsCoordinator, backups) -> dict[str, str]:
    return server.env(AGENT_ORCHESTRATOR_PROJECT_DIR=str(backups.path.parent.parent))


def test_the_documents_on_the_coordinator(call, server) -> None:
    cases = [
        ("ao-start", ["alpha", "-p", "hello"]),
        ("ao-resume", ["alpha", "-p", "more"]),
        ("ao-start", ["story", "--agent", "topic", "--params", '{"topic": "cats"}']),
        ("ao-start", ["broken", "-p", "hi", "--agent", "crash"]),
        ("ao-start", ["slowpoke", "-p", SLOW, "--detach"]),
        ("ao-status", ["broken"]),
        ("ao-list-blueprints", []),
        ("ao-show-config", ["alpha"]),
        ("ao-list-sessions", ["--status", "idle,running,pending"]),
        ("ao-clean", ["--all", "--dry-run"]),
        ("ao-stop", ["slowpoke", "alpha"]),
        ("ao-clean", ["alpha", "--stop"]),
    ]
    for command, argv in cases:
        check(command, call(command, *argv, "--json"))
