"""The default call order and the configured one."""

from __future__ import annotations

import pytest

from ao_core.config import Config
from ao_core.errors import UsageError
from ao_core.manager import call_order, default_order


def test_default_order_is_api_then_third_party_by_name_then_file():
    assert default_order(["file", "zeta", "api", "alpha"]) == ["api", "alpha", "zeta", "file"]
    assert default_order(["file", "beta"]) == ["beta", "file"]
    assert default_order([]) == []


def test_configured_order_wins_and_leaves_out_the_rest(tmp_path):
    config = Config(project_dir=tmp_path, sessions_dir=tmp_path, backends=("file", "api"))
    assert call_order(config, ["api", "file", "other"]) == ["file", "api"]


def test_unknown_backends_are_a_usage_error(tmp_path):
    config = Config(project_dir=tmp_path, sessions_dir=tmp_path, backends=("file", "nope"))
    with pytest.raises(UsageError, match=r"Unknown backend 'nope' \(installed: file\)"):
        call_order(config, ["file"])
