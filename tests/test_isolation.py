"""A backend that raises, answers nonsense or fails to load costs one warning, never the call."""

from __future__ import annotations

import pytest
from scripted import Scripted, backend, config_for, manager

from ao_core import Session, SessionFailed, StorageError, hookimpl
from ao_core.manager import Backend

ALPHA = Session(name="alpha", session_id="sid-a")


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("Warning:")]


def test_raising_backend_is_one_warning_and_the_next_answers(tmp_path, capsys) -> None:
    crashy = Scripted(resolve_session=RuntimeError("disk on fire"))
    good = Scripted(resolve_session=ALPHA)
    pm = manager(tmp_path, backend("crashy", crashy), backend("good", good))
    assert pm.hook.resolve_session(name="alpha", config=config_for(tmp_path)) == Session(
        name="alpha", session_id="sid-a", backend="good"
    )
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "Warning: backend 'crashy' failed in resolve_session: RuntimeError: disk on fire"
    ]
    assert (crashy.calls, good.calls) == (["resolve_session"], ["resolve_session"])


def test_firstresult_still_stops_at_the_first_answer(tmp_path) -> None:
    first, second = Scripted(fetch_status="idle"), Scripted(fetch_status="running")
    pm = manager(tmp_path, backend("first", first), backend("second", second))
    assert pm.hook.fetch_status(session=ALPHA, config=config_for(tmp_path)) == "idle"
    assert second.calls == []


def test_a_backend_that_does_not_know_lets_the_next_answer(tmp_path) -> None:
    silent, knows = Scripted(), Scripted(fetch_result="the answer")
    pm = manager(tmp_path, backend("silent", silent), backend("knows", knows))
    assert pm.hook.fetch_result(session=ALPHA, config=config_for(tmp_path)) == "the answer"
    assert silent.calls == ["fetch_result"]


def test_not_existent_status_means_ask_the_next(tmp_path) -> None:
    pm = manager(
        tmp_path,
        backend("api-like", Scripted(fetch_status="not_existent")),
        backend("files", Scripted(fetch_status="finished")),
    )
    assert pm.hook.fetch_status(session=ALPHA, config=config_for(tmp_path)) == "finished"


def test_session_failed_passes_through(tmp_path, capsys) -> None:
    failed = Scripted(fetch_result=SessionFailed("Session 'alpha' ended in error: boom"))
    later = Scripted(fetch_result="should not be asked")
    pm = manager(tmp_path, backend("failed", failed), backend("later", later))
    with pytest.raises(SessionFailed, match="ended in error: boom"):
        pm.hook.fetch_result(session=ALPHA, config=config_for(tmp_path))
    assert later.calls == []
    assert warnings(capsys.readouterr().err) == []


def test_storage_error_passes_through_as_the_commands_error(tmp_path, capsys) -> None:
    down = Scripted(list_sessions=StorageError("Cannot read /x/store.db: not a database"))
    up = Scripted(list_sessions=[ALPHA])
    pm = manager(tmp_path, backend("down", down), backend("up", up))
    with pytest.raises(StorageError, match="not a database"):
        pm.hook.list_sessions(config=config_for(tmp_path))
    assert warnings(capsys.readouterr().err) == []


def test_every_backend_still_asked_by_collecting_hooks(tmp_path, capsys) -> None:
    pm = manager(
        tmp_path,
        backend("a", Scripted(delete_session=True)),
        backend("b", Scripted(delete_session=OSError("read-only file system"))),
        backend("c", Scripted(delete_session=True)),
    )
    assert pm.hook.delete_session(session=ALPHA, config=config_for(tmp_path)) == [True, True]
    assert warnings(capsys.readouterr().err) == [
        "Warning: backend 'b' failed in delete_session: OSError: read-only file system"
    ]


def test_multi_line_messages_are_folded_into_one_line(tmp_path, capsys) -> None:
    pm = manager(tmp_path, backend("b", Scripted(fetch_status=ValueError("one\ntwo\n  three"))))
    assert pm.hook.fetch_status(session=ALPHA, config=config_for(tmp_path)) is None
    assert capsys.readouterr().err.splitlines() == [
        "Warning: backend 'b' failed in fetch_status: ValueError: one two three"
    ]


def test_debug_shows_the_traceback(tmp_path, capsys) -> None:
    pm = manager(tmp_path, backend("b", Scripted(fetch_status=KeyError("k"))), debug=True)
    pm.hook.fetch_status(session=ALPHA, config=config_for(tmp_path))
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "in _answer" in err
    assert len(warnings(err)) == 1


@pytest.mark.parametrize(
    ("hook", "answer", "expected"),
    [
        ("resolve_session", {"name": "alpha"}, "returned dict, not a Session"),
        ("fetch_status", 3, "returned int, not a string"),
        ("fetch_result", b"bytes", "returned bytes, not a string"),
        ("list_sessions", "alpha", "returned str, not a list of sessions"),
    ],
)
def test_a_wrong_answer_is_a_warning(tmp_path, capsys, hook, answer, expected) -> None:
    pm = manager(tmp_path, backend("odd", Scripted(**{hook: answer})))
    kwargs = {"config": config_for(tmp_path)}
    if hook != "list_sessions":
        kwargs["session" if hook.startswith("fetch") else "name"] = (
            ALPHA if hook.startswith("fetch") else "alpha"
        )
    result = getattr(pm.hook, hook)(**kwargs)
    assert result in (None, [])
    assert capsys.readouterr().err.splitlines() == [
        f"Warning: backend 'odd' failed in {hook}: {expected}"
    ]


def test_sessions_are_stamped_with_the_backend_name(tmp_path) -> None:
    mine = Session(name="beta", backend="custom")
    pm = manager(tmp_path, backend("store", Scripted(list_sessions=[ALPHA, mine])))
    listed = pm.hook.list_sessions(config=config_for(tmp_path))
    assert listed == [[Session(name="alpha", session_id="sid-a", backend="store"), mine]]


class Reordered:
    """Declares its arguments in another order than the spec, and asks to go first."""

    def __init__(self) -> None:
        self.seen: tuple[object, ...] = ()

    @hookimpl(tryfirst=True)
    def resolve_session(self, config, name):
        self.seen = (config, name)
        return Session(name=name, session_id="from-reordered")


def test_arguments_arrive_by_name_and_tryfirst_cannot_jump_the_order(tmp_path) -> None:
    reordered = Reordered()
    first = Scripted(resolve_session=Session(name="alpha", session_id="from-first"))
    pm = manager(tmp_path, backend("first", first), backend("reordered", reordered))
    config = config_for(tmp_path)
    assert pm.hook.resolve_session(name="alpha", config=config).session_id == "from-first"
    pm = manager(tmp_path, backend("silent", Scripted()), backend("reordered", reordered))
    assert pm.hook.resolve_session(name="alpha", config=config).session_id == "from-reordered"
    assert reordered.seen == (config, "alpha")


class Wrapping:
    @hookimpl(wrapper=True)
    def resolve_session(self, name, config):
        raise AssertionError("a wrapper must never run")
        yield  # pragma: no cover

    @hookimpl
    def fetch_status(self, session, config):
        return "running"


def test_hook_wrappers_are_refused(tmp_path, capsys) -> None:
    pm = manager(tmp_path, backend("wrapping", Wrapping()), backend("b", Scripted()))
    config = config_for(tmp_path)
    assert pm.hook.resolve_session(name="alpha", config=config) is None
    assert pm.hook.fetch_status(session=ALPHA, config=config) == "running"
    assert warnings(capsys.readouterr().err) == [
        "Warning: backend 'wrapping': hook wrapper 'resolve_session' ignored"
    ]


def _raise(exc: BaseException):
    def load():
        raise exc

    return load


class FailsToStart:
    def __init__(self) -> None:
        raise ConnectionError("no database configured")


class MisspeltArgument:
    @hookimpl
    def resolve_session(self, nmae, config):
        return None


@pytest.mark.parametrize(
    ("load", "reason"),
    [
        (_raise(ModuleNotFoundError("No module named 'nowhere'")), "ModuleNotFoundError: No "),
        (_raise(SyntaxError("invalid syntax")), "SyntaxError: invalid syntax"),
        (_raise(SystemExit(3)), "SystemExit: 3"),
        (lambda: FailsToStart, "ConnectionError: no database configured"),
        (lambda: MisspeltArgument, "PluginValidationError: Plugin 'broken' for hook"),
    ],
    ids=["missing-module", "syntax-error", "exit-at-import", "init-raises", "bad-hookimpl"],
)
def test_a_backend_that_fails_to_load_is_one_warning(tmp_path, capsys, load, reason) -> None:
    broken = Backend("broken", "ao-plugin-broken", "1.2", load)
    good = Scripted(resolve_session=ALPHA)
    pm = manager(tmp_path, broken, backend("good", good))
    assert pm.hook.resolve_session(name="alpha", config=config_for(tmp_path)).backend == "good"
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"Warning: backend 'broken' (from ao-plugin-broken 1.2) failed to load: {reason}"
    )
    assert pm.get_plugin("broken") is None


# --- issue 19, item 6: every answer checked for type and shape, copied into plain values ---


class Spiteful(str):
    """A status that raises whenever the core would hash, compare or test it."""

    def __hash__(self) -> int:
        raise RuntimeError("no hash")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no eq")

    def __bool__(self) -> bool:
        raise RuntimeError("no bool")

    __ne__ = __eq__


class NoIteration(list):
    def __iter__(self):
        raise RuntimeError("no iteration")

    def __len__(self) -> int:
        raise RuntimeError("no len")


class NoItems(dict):
    def items(self):
        raise RuntimeError("no items")


class TrickySession(Session):
    def __getattribute__(self, name: str) -> object:
        if name == "project_dir":
            raise RuntimeError("no project dir")
        return super().__getattribute__(name)


def test_answers_are_plain_copies(tmp_path, capsys) -> None:
    config = config_for(tmp_path)
    pm = manager(
        tmp_path,
        backend(
            "spite",
            Scripted(
                fetch_status=Spiteful("finished"),
                list_sessions=NoIteration([ALPHA, Session(name=Spiteful("beta"))]),
            ),
        ),
    )
    status = pm.hook.fetch_status(session=ALPHA, config=config)
    assert type(status) is str and status == "finished" and status  # hash, ==, bool: fine
    (listed,) = pm.hook.list_sessions(config=config)
    assert [type(s.name) for s in listed] == [str, str]
    assert {s.name for s in listed} == {"alpha", "beta"}
    assert capsys.readouterr().err == ""


def test_a_session_whose_field_raises_is_left_out(tmp_path, capsys) -> None:
    tricky = TrickySession(name="tricky")
    pm = manager(tmp_path, backend("odd", Scripted(list_sessions=[ALPHA, tricky])))
    (listed,) = pm.hook.list_sessions(config=config_for(tmp_path))
    assert [s.name for s in listed] == ["alpha"]
    assert capsys.readouterr().err == (
        "Warning: backend 'odd' in list_sessions: 1 answer left out, returned a "
        "TrickySession whose project_dir raises RuntimeError\n"
    )


def test_a_dict_of_statuses_is_read_without_its_methods(tmp_path) -> None:
    class Statuses(Scripted):
        @hookimpl
        def fetch_statuses(self, sessions, config):
            return NoItems(alpha=Spiteful("running"), gone="not_existent")

    pm = manager(tmp_path, backend("odd", Statuses()))
    (answer,) = pm.hook.fetch_statuses(sessions=[ALPHA], config=config_for(tmp_path))
    assert answer == {"alpha": "running"} and type(answer["alpha"]) is str


class Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("cannot print me")


class LoudFailure(SessionFailed):
    def __str__(self) -> str:
        raise ValueError("cannot print me either")


def test_an_exception_that_cannot_be_printed_is_still_one_warning(tmp_path, capsys) -> None:
    pm = manager(tmp_path, backend("odd", Scripted(fetch_status=Unprintable())))
    assert pm.hook.fetch_status(session=ALPHA, config=config_for(tmp_path)) is None
    assert capsys.readouterr().err == "Warning: backend 'odd' failed in fetch_status: Unprintable\n"


def test_a_deliberate_exception_reaches_the_command_as_the_cores_own(tmp_path) -> None:
    pm = manager(tmp_path, backend("odd", Scripted(fetch_result=LoudFailure("x"))))
    with pytest.raises(SessionFailed) as caught:
        pm.hook.fetch_result(session=ALPHA, config=config_for(tmp_path))
    assert type(caught.value) is SessionFailed
    assert str(caught.value) == "LoudFailure"


@pytest.mark.parametrize(
    "raised",
    [KeyboardInterrupt(), SystemExit(0), GeneratorExit(), BaseException("deep")],
    ids=["keyboard-interrupt", "system-exit", "generator-exit", "base-exception"],
)
def test_a_base_exception_from_a_hook_is_the_plugins_failure(tmp_path, capsys, raised) -> None:
    from ao_core import interrupts

    pm = manager(tmp_path, backend("odd", Scripted(resolve_session=raised)))
    with interrupts.watch_interrupts():  # as a command runs: Ctrl-C is watched
        assert pm.hook.resolve_session(name="alpha", config=config_for(tmp_path)) is None
    assert capsys.readouterr().err.startswith("Warning: backend 'odd' failed in resolve_session: ")
