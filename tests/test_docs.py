"""Facts kept in one place in the code must not drift in the README: the hooks, the order,
the settings, the error codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ao_core import errors
from ao_core.hookspecs import CONTRACT
from ao_core.manager import ORDER_TEXT, all_settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in ``text``."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.lstrip().startswith("|")
    ]


@pytest.mark.parametrize("hook", list(CONTRACT))
def test_every_hook_is_documented_in_the_readme_table(hook: str) -> None:
    documented = {row[0] for row in table_rows(README)}
    assert f"`{hook}`" in documented, f"README: add {hook} to the hook table"


def test_the_readme_states_the_default_order_as_the_code_does() -> None:
    assert ORDER_TEXT in " ".join(README.split()), f"README must say: {ORDER_TEXT}"


def test_every_declared_setting_is_in_the_configuration_table() -> None:
    documented = {cell.strip("`") for row in table_rows(README) for cell in row}
    for setting in all_settings():
        for variable in setting.variables:
            assert variable in documented, f"README: add {variable} to the configuration table"


def test_every_error_code_is_documented() -> None:
    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.AoError) and cls.code != "error"
    }
    documented = set(re.findall(r"`([a-z_]+)`", README))
    assert codes - {"usage", "config"} <= documented, "README: document every error code"
