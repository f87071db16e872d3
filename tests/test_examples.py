"""Each command's examples: one ``EXAMPLES`` tuple per command module, shown at the end of
its ``--help`` and as its man page's EXAMPLES, and every one a command line its parser
takes. (The README's copy is checked in test_docs.py.)"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from pathlib import Path

import pytest
from manpage_text import man_text, section, words
from test_manpages import help_of

from ao_core.commands import ao as ao_command

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ao_command.scripts()
#: Words that end the ao command in an example's shell line (what follows is another program).
SHELL_ENDS = {"|", ">", "<", "&&", ";", "||"}


def module_examples(script: str) -> tuple[tuple[str, str], ...]:
    return importlib.import_module(SCRIPTS[script]).EXAMPLES


def parser_of(script: str) -> argparse.ArgumentParser:
    return importlib.import_module(SCRIPTS[script]).parser()


def _names_ao(tokens: list[str], i: int) -> bool:
    """Whether ``tokens[i]`` is an ao command: ``ao-*``, or ``ao`` and one of its
    subcommands or options (not the server name in ``claude mcp add ao -- ao mcp``)."""
    word = tokens[i]
    if word.startswith("ao-"):
        return True
    following = tokens[i + 1] if i + 1 < len(tokens) else ""
    return word == "ao" and (following in ao_command.SUBCOMMANDS or following.startswith("--h"))


def command_words(line: str) -> list[str]:
    """The words of the ``ao`` command an example runs: from the word naming it (after
    ``cat FILE |``, ``python -m ao_core``) up to the first pipe or redirection."""
    tokens = shlex.split(line)
    if tokens[:3] == ["python", "-m", "ao_core"]:
        tokens = ["ao", *tokens[3:]]
    start = next(i for i, t in enumerate(tokens) if _names_ao(tokens, i))
    tokens = tokens[start:]
    end = next((i for i, t in enumerate(tokens) if t in SHELL_ENDS), len(tokens))
    return tokens[:end]


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_each_command_has_two_to_four_examples(script: str) -> None:
    examples = module_examples(script)
    assert 2 <= len(examples) <= 4
    for line, what in examples:
        assert line.strip() == line and "\n" not in line
        assert what and not what.endswith("."), f"{script}: {what!r} is a phrase, no full stop"
    assert parser_of(script).examples == examples


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_example_is_a_command_line_its_parser_takes(script: str) -> None:
    for line, _ in module_examples(script):
        argv = command_words(line)
        if script == "ao":
            assert argv[0] == "ao" and argv[1] in ao_command.SUBCOMMANDS, line
            parser = ao_command.command_parser(argv[1])
            argv = argv[1:]
        elif argv[0] == "ao":  # the ao SUB form of the command
            assert ao_command.PREFIX + argv[1] == script, f"{line!r} is not an example of {script}"
            parser = parser_of(script)
            argv = argv[1:]
        else:
            assert argv[0] == script, f"{line!r} is not an example of {script}"
            parser = parser_of(script)
        if "--help" in argv:
            continue  # argparse would exit; the option exists on every parser
        try:
            parser.parse_args(argv[1:])
        except SystemExit as exc:
            pytest.fail(f"{script}: the example {line!r} is refused by its parser ({exc})")


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_help_ends_with_the_examples(script: str) -> None:
    text = help_of(script, Path(sys.executable).parent)
    block = text.split("\nexamples:\n", 1)[1]
    expected = []
    for line, what in module_examples(script):
        expected += [line, what]
    assert words(block) == words(" ".join(expected))


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_man_page_examples_are_the_same(script: str) -> None:
    shown = section(man_text(ROOT / "man" / f"{script}.1"), "EXAMPLES")
    expected = []
    for line, what in module_examples(script):
        expected += [f"{what[0].upper()}{what[1:]}:", "$", line]
    assert words(shown) == words(" ".join(expected))


def test_an_include_file_cannot_write_examples(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The one source stays the one source: EXAMPLES in man/include/ stops generation."""
    from test_manpages import gen

    own = tmp_path / "ao-status.ini"
    own.write_text(
        (gen.INCLUDE_DIR / "ao-status.ini").read_text() + "\n[EXAMPLES]\n$ ao\\-status x\n"
    )
    monkeypatch.setattr(gen, "include_files", lambda command: [gen.COMMON_INCLUDE, own])
    with pytest.raises(ValueError, match="EXAMPLES comes from the command's EXAMPLES"):
        gen.render("ao-status")
