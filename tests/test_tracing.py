"""AGENT_ORCHESTRATOR_TRACE=1: one line per hook call, backends in the order asked."""

from __future__ import annotations

import pytest
from scripted import Scripted, backend, config_for, manager

from ao_core import Session, SessionFailed

ALPHA = Session(name="alpha", session_id="sid-a")


def traces(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("Trace:")]


def test_firstresult_call_names_who_answered_and_who_was_not_asked(tmp_path, capsys) -> None:
    pm = manager(
        tmp_path,
        backend("api", Scripted()),
        backend("sqlite", Scripted(resolve_session=ALPHA, fetch_status="finished")),
        backend("file", Scripted(resolve_session=ALPHA)),
        trace=True,
    )
    config = config_for(tmp_path)
    session = pm.hook.resolve_session(name="alpha", config=config)
    pm.hook.fetch_status(session=session, config=config)
    assert traces(capsys.readouterr().err) == [
        "Trace: resolve_session(name='alpha'): api -> none, sqlite -> session sid-a; "
        "not asked: file",
        "Trace: fetch_status(session='alpha'): api -> none, sqlite -> 'finished'; not asked: file",
    ]


def test_collecting_call_and_a_failing_backend(tmp_path, capsys) -> None:
    pm = manager(
        tmp_path,
        backend("a", Scripted(list_sessions=RuntimeError("down"))),
        backend("b", Scripted(list_sessions=[ALPHA])),
        backend("c", Scripted(list_sessions=[])),
        trace=True,
    )
    pm.hook.list_sessions(config=config_for(tmp_path))
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "Warning: backend 'a' failed in list_sessions: RuntimeError: down",
        "Trace: list_sessions(): a -> failed, b -> 1 session, c -> 0 sessions",
    ]


def test_long_results_are_shortened(tmp_path, capsys) -> None:
    pm = manager(tmp_path, backend("b", Scripted(fetch_result="x" * 5000)), trace=True)
    pm.hook.fetch_result(session=ALPHA, config=config_for(tmp_path))
    (line,) = traces(capsys.readouterr().err)
    assert line == f"Trace: fetch_result(session='alpha'): b -> '{'x' * 40}'... (5000 chars)"


def test_no_backend_at_all(tmp_path, capsys) -> None:
    pm = manager(tmp_path, trace=True)
    assert pm.hook.resolve_session(name="alpha", config=config_for(tmp_path)) is None
    assert traces(capsys.readouterr().err) == [
        "Trace: resolve_session(name='alpha'): no backend implements it"
    ]


def test_tracing_is_off_by_default(tmp_path, capsys) -> None:
    pm = manager(tmp_path, backend("b", Scripted(resolve_session=ALPHA)))
    pm.hook.resolve_session(name="alpha", config=config_for(tmp_path))
    assert capsys.readouterr().err == ""


def test_commands_trace_to_stderr_only(ao, backups) -> None:
    backups.finished("alpha", "the answer", "sid-a")
    plain = ao("ao-get-result", "alpha")
    traced = ao("ao-get-result", "alpha", extra_env={"AGENT_ORCHESTRATOR_TRACE": "1"})
    assert (traced.status, traced.out) == (plain.status, plain.out) == (0, "the answer\n")
    assert plain.err == ""
    assert traces(traced.err) == [
        "Trace: resolve_session(name='alpha'): file -> session sid-a",
        "Trace: fetch_status(session='alpha'): file -> 'finished'",
        "Trace: fetch_result(session='alpha'): file -> 'the answer'",
    ]


def test_a_failed_session_is_traced_before_it_ends_the_command(tmp_path, capsys) -> None:
    pm = manager(
        tmp_path,
        backend("a", Scripted(fetch_result=SessionFailed("ended in error"))),
        backend("b", Scripted()),
        trace=True,
    )
    with pytest.raises(SessionFailed):
        pm.hook.fetch_result(session=ALPHA, config=config_for(tmp_path))
    assert traces(capsys.readouterr().err) == [
        "Trace: fetch_result(session='alpha'): a -> SessionFailed; not asked: b"
    ]
