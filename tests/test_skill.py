"""``ao skill``: the agents' guide (ao_core/SKILL.md) is a Claude Code skill, names only
commands and options that exist (each command line in it is one its parser takes), and is
printed and installed as shipped."""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shlex
from pathlib import Path

import pytest

from ao_core.commands import COMMANDS, skill
from ao_core.commands import ao as ao_command

ROOT = Path(__file__).resolve().parent.parent
GUIDE_PATH = ROOT / "ao_core" / "SKILL.md"
GUIDE = GUIDE_PATH.read_text(encoding="utf-8")
SCRIPTS = ao_command.scripts()


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """The ``key: value`` lines between the opening and closing ``---``, and the body."""
    assert text.startswith("---\n"), "SKILL.md must open with YAML front matter"
    head, body = text[4:].split("\n---\n", 1)
    fields = {}
    for line in head.splitlines():
        key, sep, value = line.partition(": ")
        assert sep and re.fullmatch(r"[a-z_]+", key), f"not a plain YAML field: {line!r}"
        fields[key] = value
    return fields, body


def command_lines(body: str) -> list[str]:
    """Every ao command line the guide shows: fenced code lines and inline code spans
    that start with a command (comments and what follows a pipe left out)."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", body, re.DOTALL):
        lines += [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    body = re.sub(r"```.*?```", "", body, flags=re.DOTALL)
    lines += re.findall(r"`([^`]+)`", body)
    return [line for line in lines if re.match(r"ao[- ]", line)]


def parser_for(words: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """The parser of the command ``words`` runs, and its arguments."""
    if words[0] == "ao":
        assert words[1] in ao_command.SUBCOMMANDS, f"no command ao {words[1]}"
        return ao_command.command_parser(words[1]), words[2:]
    assert words[0] in COMMANDS, f"no command {words[0]}"
    return importlib.import_module(COMMANDS[words[0]]).parser(), words[1:]


def all_option_strings() -> set[str]:
    found = set()
    for module in SCRIPTS.values():
        for action in importlib.import_module(module).parser()._actions:
            found.update(action.option_strings)
    return found


def test_the_guide_is_a_claude_code_skill() -> None:
    fields, body = front_matter(GUIDE)
    assert set(fields) == {"name", "description"}
    assert fields["name"] == skill.SKILL_NAME
    assert re.fullmatch(r"[a-z0-9-]{1,64}", fields["name"])
    assert 50 < len(fields["description"]) <= 1024 and "Use when" in fields["description"]
    assert body.lstrip().startswith("# ")


def test_the_guide_says_when_to_use_every_command() -> None:
    _, body = front_matter(GUIDE)
    for command in COMMANDS:
        sub = command.removeprefix("ao-")
        assert f"`{command}" in body or f"`ao {sub}" in body, f"SKILL.md: say when to use {command}"
    for topic in ("--json", "--wait", "Exit statuses", "124"):
        assert topic in body


def test_every_command_line_in_the_guide_is_taken_by_its_parser() -> None:
    _, body = front_matter(GUIDE)
    lines = command_lines(body)
    assert len(lines) > 20
    for line in lines:
        words = shlex.split(line)
        if words == ["ao", "COMMAND"]:
            continue  # the form every command has
        parser, args = parser_for(words)
        if not args:
            continue  # the command named, not run
        try:
            parser.parse_args(args)
        except SystemExit:
            pytest.fail(f"SKILL.md: {line!r} is refused by its parser")


def test_every_option_the_guide_names_exists() -> None:
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", GUIDE))
    assert {"--json", "--wait", "--timeout"} <= named
    assert named - all_option_strings() == set()


def test_ao_skill_prints_the_guide_as_shipped(ao) -> None:
    outcome = ao("ao-skill")
    assert (outcome.status, outcome.err) == (0, "")
    assert outcome.out == GUIDE


def test_ao_skill_install_writes_it_where_claude_code_looks(ao, tmp_path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    installed = project / ".claude" / "skills" / "ao" / "SKILL.md"
    installed.parent.mkdir(parents=True)
    installed.write_text("an older copy")
    outcome = ao("ao-skill", "--install", "--project-dir", str(project))
    assert (outcome.status, outcome.err) == (0, "")
    assert outcome.out == f"Installed the ao skill: {installed}\n"
    assert installed.read_text(encoding="utf-8") == GUIDE


def test_ao_skill_install_uses_the_project_directory_setting(ao, backups) -> None:
    """The ``env`` fixture sets AGENT_ORCHESTRATOR_PROJECT_DIR (and a backend list the
    command does not read)."""
    outcome = ao("ao-skill", "--install", "--json")
    project = backups.path.parent.parent
    path = project / ".claude" / "skills" / "ao" / "SKILL.md"
    assert outcome.status == 0, outcome.err
    assert json.loads(outcome.out) == {"skill": "ao", "path": str(path), "text": GUIDE}
    assert path.read_text(encoding="utf-8") == GUIDE


def test_ao_skill_reads_no_backend_setting(ao) -> None:
    outcome = ao("ao-skill", "--json", extra_env={"AGENT_ORCHESTRATOR_BACKENDS": ",,"})
    assert outcome.status == 0, outcome.err
    assert json.loads(outcome.out) == {"skill": "ao", "path": None, "text": GUIDE}


def test_ao_skill_install_into_a_missing_project_is_one_error(ao, tmp_path) -> None:
    missing = tmp_path / "nowhere"
    outcome = ao("ao-skill", "--install", "--project-dir", str(missing))
    assert (outcome.status, outcome.out) == (1, "")
    assert outcome.err == f"Error: Project directory does not exist: {missing}\n"
    assert not missing.exists()


def test_ao_skill_install_that_cannot_write_is_one_error(ao, tmp_path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    (project / ".claude").write_text("a file where the directory should be")
    outcome = ao("ao-skill", "--install", "--project-dir", str(project))
    assert (outcome.status, outcome.out) == (1, "")
    assert outcome.err.startswith(f"Error: Cannot write {project}/.claude/skills/ao/SKILL.md: ")
