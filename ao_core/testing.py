"""The backend author's kit: the contract every ao storage backend must meet, as pytest tests.

Subclass :class:`BackendContract` in your plugin's tests and provide two fixtures::

    import pytest
    from ao_core.testing import BackendContract

    class TestMyBackend(BackendContract):
        @pytest.fixture
        def backend(self, config):
            return MyBackend()          # a module, a class or an instance

        @pytest.fixture
        def store(self, config):
            return MySeeder(config)     # see SessionStore

Optionally override ``config`` (default: a fresh project directory in ``tmp_path``, no
environment) and ``backend_name`` (the name your backend stamps on sessions; checked
when given). The backend is registered with a real pluggy plugin manager, unguarded,
so a misspelt hook argument or an exception fails the test instead of becoming a
warning.

A backend that also starts sessions (the optional driving hooks: ``start_session``,
``resume_session``, ``stop_session``, ``describe_session``, ``list_blueprints``) subclasses
:class:`DrivingContract` too, with the same ``backend`` fixture and a ``config`` that
reaches a store where turns really run (they are waited for, up to :data:`TURN_TIMEOUT`).

Importing this module imports pytest; nothing else in ``ao_core`` does.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Protocol

import pluggy
import pytest

from ao_core.config import Config
from ao_core.errors import AlreadyExists, Refused, SessionFailed
from ao_core.hookspecs import CONTRACT
from ao_core.manager import BackendManager
from ao_core.records import Blueprint, Details, Turn
from ao_core.session import IN_PROGRESS, MAX_NAME_LENGTH, NOT_EXISTENT, Session

#: The hooks every backend implements, and those it may (both from the contract).
CONTRACT_HOOKS = tuple(name for name, hook in CONTRACT.items() if hook.required)
OPTIONAL_HOOKS = tuple(name for name, hook in CONTRACT.items() if not hook.required)
#: Names the contract allows that a careless store could confuse (prefixes, the longest).
AWKWARD_NAMES = ("a", "with-dash", "with_underscore", "MiXeD-09_", "x" * MAX_NAME_LENGTH)


class SessionStore(Protocol):
    """Seeds sessions into the backend's storage, the way the real writer of that store would.

    Three methods, each adding one session called ``name`` (a valid session name, not
    yet in the store):
    """

    def add_finished(self, name: str, result: str, session_id: str) -> None:
        """A session that ended successfully with ``result`` as its result text."""

    def add_running(self, name: str, session_id: str) -> None:
        """A session still in progress: no result yet."""

    def add_failed(self, name: str, reason: str) -> None:
        """A session that ended in failure; ``reason`` is e.g. ``"error_max_turns"``."""


class BackendContract:
    """Reusable tests for one backend; subclass it (its name starts with ``Test``)."""

    # -- fixtures the author provides ---------------------------------------------------

    @pytest.fixture
    def backend(self) -> object:
        """The backend under test: a module, a class (instantiated here) or an instance."""
        raise NotImplementedError("override the `backend` fixture")

    @pytest.fixture
    def store(self) -> SessionStore:
        """Something with the :class:`SessionStore` methods, writing where ``backend`` reads."""
        raise NotImplementedError("override the `store` fixture")

    @pytest.fixture
    def config(self, tmp_path: Path) -> Config:
        """The Config every hook receives: a fresh project directory, no environment."""
        project = tmp_path / "project"
        project.mkdir()
        return Config.load(project_dir=str(project), environ={})

    @pytest.fixture
    def backend_name(self) -> str | None:
        """The name the backend puts in ``Session.backend``; None: not checked."""
        return None

    # -- the kit's own plumbing ---------------------------------------------------------

    @pytest.fixture
    def pm(self, backend: object, backend_name: str | None) -> pluggy.PluginManager:
        pm = BackendManager()
        pm.register(backend() if isinstance(backend, type) else backend, name=backend_name)
        return pm

    @pytest.fixture
    def ask(self, pm: pluggy.PluginManager, config: Config) -> Asker:
        return Asker(pm, config)

    # -- resolving ----------------------------------------------------------------------

    def test_implements_every_hook(self, pm: pluggy.PluginManager) -> None:
        plugin = pm.get_plugins().pop()
        implemented = {caller.name for caller in pm.get_hookcallers(plugin) or ()}
        assert implemented - set(OPTIONAL_HOOKS) == set(CONTRACT_HOOKS)

    def test_resolves_a_finished_session(
        self, store: SessionStore, ask: Asker, backend_name: str | None
    ) -> None:
        store.add_finished("alpha", "the answer", "sid-alpha")
        session = ask.resolve("alpha")
        assert isinstance(session, Session)
        assert (session.name, session.session_id) == ("alpha", "sid-alpha")
        assert session.backend in (None, backend_name)

    def test_resolves_a_running_session(self, store: SessionStore, ask: Asker) -> None:
        store.add_running("beta", "sid-beta")
        session = ask.resolve("beta")
        assert session is not None
        assert (session.name, session.session_id) == ("beta", "sid-beta")

    def test_unknown_names_resolve_to_none(self, store: SessionStore, ask: Asker) -> None:
        store.add_finished("alpha", "the answer", "sid-alpha")
        for name in ("beta", "alph", "alpha2", "Alpha-"):
            assert ask.resolve(name) is None, name

    def test_empty_store_resolves_nothing(self, store: SessionStore, ask: Asker) -> None:
        assert ask.resolve("alpha") is None

    # -- status -------------------------------------------------------------------------

    def test_status_of_a_finished_session(self, store: SessionStore, ask: Asker) -> None:
        store.add_finished("alpha", "the answer", "sid-alpha")
        assert ask.status("alpha") == "finished"

    def test_status_of_a_running_session(self, store: SessionStore, ask: Asker) -> None:
        store.add_running("beta", "sid-beta")
        assert ask.status("beta") == "running"

    def test_failed_session_is_not_in_progress(self, store: SessionStore, ask: Asker) -> None:
        store.add_failed("gamma", "error_max_turns")
        status = ask.status("gamma")
        assert isinstance(status, str)
        assert status not in IN_PROGRESS | {NOT_EXISTENT}

    def test_status_of_a_session_it_does_not_have(self, store: SessionStore, ask: Asker) -> None:
        store.add_finished("alpha", "the answer", "sid-alpha")
        stranger = Session(name="ghost", session_id="sid-ghost", backend="elsewhere")
        assert ask.hook.fetch_status(session=stranger, config=ask.config) in (None, NOT_EXISTENT)

    # -- results ------------------------------------------------------------------------

    def test_result_of_a_finished_session(self, store: SessionStore, ask: Asker) -> None:
        text = 'line one\nline two: ünïcode ✓ and "quotes"\n'
        store.add_finished("alpha", text, "sid-alpha")
        assert ask.result("alpha") == text

    def test_large_result(self, store: SessionStore, ask: Asker) -> None:
        text = "0123456789abcdef" * 65536  # 1 MiB on one line
        store.add_finished("big", text, "sid-big")
        assert ask.result("big") == text

    def test_failed_session_yields_no_result(self, store: SessionStore, ask: Asker) -> None:
        """Raising SessionFailed (with the reason) or returning None both keep the contract."""
        store.add_failed("gamma", "error_max_turns")
        try:
            result = ask.result("gamma")
        except SessionFailed:
            return
        assert result is None, f"a failed session yielded a result: {result!r}"

    def test_result_of_a_session_it_does_not_have(self, store: SessionStore, ask: Asker) -> None:
        store.add_finished("alpha", "the answer", "sid-alpha")
        stranger = Session(name="ghost", session_id="sid-ghost", backend="elsewhere")
        assert ask.hook.fetch_result(session=stranger, config=ask.config) is None

    # -- listing ------------------------------------------------------------------------

    def test_lists_every_session(self, store: SessionStore, ask: Asker) -> None:
        store.add_finished("alpha", "the answer", "sid-alpha")
        store.add_running("beta", "sid-beta")
        store.add_failed("gamma", "error_during_execution")
        listed = ask.listed()
        assert all(isinstance(s, Session) for s in listed)
        assert sorted(s.name for s in listed) == ["alpha", "beta", "gamma"]
        ids = {s.name: s.session_id for s in listed}
        assert (ids["alpha"], ids["beta"]) == ("sid-alpha", "sid-beta")

    def test_statuses_at_once_agree_with_one_by_one(self, store: SessionStore, ask: Asker) -> None:
        """``fetch_statuses`` (optional) must answer what ``fetch_status`` answers."""
        store.add_finished("alpha", "the answer", "sid-alpha")
        store.add_running("beta", "sid-beta")
        store.add_failed("gamma", "error_max_turns")
        listed = ask.listed()
        at_once: dict[str, str] = {}
        for answer in ask.hook.fetch_statuses(sessions=listed, config=ask.config):
            at_once.update(answer or {})
        assert set(at_once) <= {"alpha", "beta", "gamma"}
        for name, status in at_once.items():
            assert status == ask.status(name), name

    def test_empty_store_lists_nothing(self, store: SessionStore, ask: Asker) -> None:
        assert ask.listed() == []

    def test_a_wait_that_is_over_lets_go_of_its_watch(
        self, store: SessionStore, ask: Asker
    ) -> None:
        """``wait_for_change`` (optional), asked once more with no sessions when a wait is
        over, must let go of what it watched with and answer None, not raise."""
        store.add_running("beta", "sid-beta")
        running = [ask._session("beta")]
        ask.hook.wait_for_change(sessions=running, config=ask.config, timeout=0.1)
        assert ask.hook.wait_for_change(sessions=[], config=ask.config, timeout=0.0) is None

    # -- deleting -----------------------------------------------------------------------

    def test_delete_removes_that_session_only(self, store: SessionStore, ask: Asker) -> None:
        store.add_finished("alpha", "answer a", "sid-alpha")
        store.add_finished("alpha-2", "answer a2", "sid-alpha-2")
        store.add_running("beta", "sid-beta")
        assert ask.delete("alpha") is True
        assert ask.resolve("alpha") is None
        assert ask.result("alpha-2") == "answer a2"
        assert ask.status("beta") == "running"
        assert sorted(s.name for s in ask.listed()) == ["alpha-2", "beta"]

    def test_deleting_twice_returns_false(self, store: SessionStore, ask: Asker) -> None:
        store.add_finished("alpha", "the answer", "sid-alpha")
        assert ask.delete("alpha") is True
        assert ask.delete("alpha") is False

    def test_deleting_an_unknown_session(self, store: SessionStore, ask: Asker) -> None:
        store.add_finished("alpha", "the answer", "sid-alpha")
        ghost = Session(name="ghost", session_id="sid-ghost")
        assert not any(ask.hook.delete_session(session=ghost, config=ask.config))
        assert ask.result("alpha") == "the answer"

    # -- names --------------------------------------------------------------------------

    @pytest.mark.parametrize("name", AWKWARD_NAMES, ids=lambda n: f"{n[:12]}({len(n)})")
    def test_name_round_trip(self, store: SessionStore, ask: Asker, name: str) -> None:
        store.add_finished(name, f"result of {name}", f"sid-{len(name)}")
        assert [s.name for s in ask.listed()] == [name]
        assert ask.status(name) == "finished"
        assert ask.result(name) == f"result of {name}"
        assert ask.delete(name) is True
        assert ask.listed() == []


#: Seconds the driving tests wait for a turn to end.
TURN_TIMEOUT = 30.0


class DrivingContract:
    """Reusable tests for a backend that starts, continues and stops sessions.

    Provide ``backend`` and ``config`` as for :class:`BackendContract`; the store behind
    ``config`` must run turns (a real server and its runner, say). Names are made unique
    per test, so the store need not be empty.
    """

    @pytest.fixture
    def backend(self) -> object:
        raise NotImplementedError("override the `backend` fixture")

    @pytest.fixture
    def config(self) -> Config:
        raise NotImplementedError("override the `config` fixture")

    @pytest.fixture
    def pm(self, backend: object) -> pluggy.PluginManager:
        pm = BackendManager()
        pm.register(backend() if isinstance(backend, type) else backend)
        return pm

    @pytest.fixture
    def name(self) -> str:
        """A session name no earlier test used."""
        return f"kit-{secrets.token_hex(6)}"

    def _start(self, pm: pluggy.PluginManager, config: Config, name: str) -> Turn:
        turn = pm.hook.start_session(
            name=name, parameters={"prompt": "hello"}, agent=None, config=config
        )
        assert isinstance(turn, Turn), f"start_session returned {turn!r}, not a Turn"
        return turn

    def _settle(self, pm: pluggy.PluginManager, config: Config, turn: Turn) -> str:
        """Wait until the turn has ended; its status then."""
        ends = time.monotonic() + TURN_TIMEOUT
        while True:
            status = pm.hook.fetch_turn_status(turn=turn, config=config)
            if status is None:
                status = pm.hook.fetch_status(session=turn.session, config=config)
            assert isinstance(status, str), f"no status for the turn: {status!r}"
            if status not in IN_PROGRESS:
                return status
            assert time.monotonic() < ends, f"the turn still {status} after {TURN_TIMEOUT} s"
            pm.hook.start_round(config=config)
            time.sleep(0.05)

    def test_a_started_session_can_be_found(self, pm, config, name) -> None:
        turn = self._start(pm, config, name)
        assert turn.session.name == name
        found = pm.hook.resolve_session(name=name, config=config)
        assert isinstance(found, Session) and found.name == name

    def test_a_started_turn_ends_with_a_result(self, pm, config, name) -> None:
        turn = self._start(pm, config, name)
        self._settle(pm, config, turn)
        pm.hook.start_round(config=config)
        status = pm.hook.fetch_status(session=turn.session, config=config)
        assert status not in IN_PROGRESS | {NOT_EXISTENT, None}
        assert isinstance(pm.hook.fetch_result(session=turn.session, config=config), str)

    def test_a_name_cannot_be_started_twice(self, pm, config, name) -> None:
        self._start(pm, config, name)
        with pytest.raises(AlreadyExists):
            pm.hook.start_session(
                name=name, parameters={"prompt": "again"}, agent=None, config=config
            )

    def test_a_resumed_turn_is_followed_as_its_own(self, pm, config, name) -> None:
        first = self._start(pm, config, name)
        self._settle(pm, config, first)
        pm.hook.start_round(config=config)
        try:
            turn = pm.hook.resume_session(session=first.session, prompt="more", config=config)
        except Refused:
            return  # a store may refuse another turn; it said why
        assert isinstance(turn, Turn) and turn.run_id != first.run_id
        self._settle(pm, config, turn)

    def test_stopping_answers_a_status(self, pm, config, name) -> None:
        turn = self._start(pm, config, name)
        answer = pm.hook.stop_session(session=turn.session, config=config)
        assert isinstance(answer, str) and answer

    def test_describes_its_sessions_only(self, pm, config, name) -> None:
        turn = self._start(pm, config, name)
        details = pm.hook.describe_session(session=turn.session, config=config)
        assert details is None or isinstance(details, Details)
        if details is not None:
            assert details.session_id == turn.session.session_id
        ghost = Session(name="ghost", session_id="kit-ghost-id")
        assert pm.hook.describe_session(session=ghost, config=config) is None

    def test_blueprints_are_named(self, pm, config) -> None:
        for answer in pm.hook.list_blueprints(tags=[], config=config):
            assert answer is None or all(isinstance(b, Blueprint) and b.name for b in answer)


class Asker:
    """Asks the backend under test through pluggy, as the commands do."""

    def __init__(self, pm: pluggy.PluginManager, config: Config) -> None:
        self.hook = pm.hook
        self.config = config

    def resolve(self, name: str) -> Session | None:
        return self.hook.resolve_session(name=name, config=self.config)

    def _session(self, name: str) -> Session:
        session = self.resolve(name)
        assert session is not None, f"backend did not resolve {name!r}"
        return session

    def status(self, name: str) -> str | None:
        return self.hook.fetch_status(session=self._session(name), config=self.config)

    def result(self, name: str) -> str | None:
        return self.hook.fetch_result(session=self._session(name), config=self.config)

    def listed(self) -> list[Session]:
        return [s for part in self.hook.list_sessions(config=self.config) for s in part]

    def delete(self, name: str) -> bool:
        """True if the backend deleted ``name`` (resolved first, as ao-clean does)."""
        session = self.resolve(name) or Session(name=name)
        return any(self.hook.delete_session(session=session, config=self.config))
