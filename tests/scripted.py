"""In-process test backends whose answers are given up front, and a manager to hold them."""

from __future__ import annotations

from pathlib import Path

import pluggy

from ao_core import Config, Session, hookimpl
from ao_core.manager import Backend, get_plugin_manager


class Scripted:
    """Answers each hook with what it was given (an exception is raised); records its calls."""

    def __init__(self, **answers: object) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def _answer(self, hook: str) -> object:
        self.calls.append(hook)
        answer = self.answers.get(hook)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    @hookimpl
    def resolve_session(self, name: str, config: Config) -> Session | None:
        return self._answer("resolve_session")

    @hookimpl
    def fetch_status(self, session: Session, config: Config) -> str | None:
        return self._answer("fetch_status")

    @hookimpl
    def fetch_result(self, session: Session, config: Config) -> str | None:
        return self._answer("fetch_result")

    @hookimpl
    def list_sessions(self, config: Config) -> list[Session]:
        return self._answer("list_sessions")

    @hookimpl
    def delete_session(self, session: Session, config: Config) -> bool:
        return self._answer("delete_session")


def backend(name: str, plugin: object, *, distribution: str = "ao-test-backends") -> Backend:
    """A third-party Backend record for ``plugin`` (loaded as is, or instantiated if a class)."""
    return Backend(name, distribution, "9.9", lambda: plugin)


def manager(
    tmp_path: Path, *backends: Backend, trace: bool = False, debug: bool = False
) -> pluggy.PluginManager:
    """A plugin manager asking ``backends`` in the order given."""
    config = Config(
        project_dir=tmp_path,
        sessions_dir=tmp_path / "sessions",
        backends=tuple(b.name for b in backends),
        trace=trace,
        debug=debug,
    )
    return get_plugin_manager(config, {b.name: b for b in backends})


def config_for(tmp_path: Path) -> Config:
    return Config(project_dir=tmp_path, sessions_dir=tmp_path / "sessions")
