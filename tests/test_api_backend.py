"""The api backend against a healthy test Session Manager: precedence, ids, keys, start-up."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BIN_DIR, clean_environ

from ao_core import Config
from ao_core.manager import get_plugin_manager
from ao_plugins.api import ApiBackend


def no_warning(err: str) -> bool:
    return "Warning:" not in err and "Traceback" not in err


# --- precedence: in both, only in files, only on the server, in neither ---------------


def test_in_both_status_comes_from_the_server(ao, backups, session_manager) -> None:
    backups.finished("both", "file answer", session_id="file-id")
    session_manager.add("api-id", "both")
    out = ao("ao-status", "both", extra_env=session_manager.env())
    assert (out.status, out.out) == (0, "running\n")
    assert no_warning(out.err)
    as_json = ao("ao-status", "--json", "both", extra_env=session_manager.env())
    assert json.loads(as_json.out) == {"name": "both", "status": "running", "backend": "api"}


def test_in_both_result_comes_from_the_server(ao, backups, session_manager) -> None:
    backups.finished("both", "file answer", session_id="file-id")
    session_manager.add("api-id", "both", result="server answer")
    out = ao("ao-get-result", "both", extra_env=session_manager.env())
    assert (out.status, out.out) == (0, "server answer\n")
    assert no_warning(out.err)


def test_list_merges_server_first(ao, backups, session_manager) -> None:
    backups.finished("both", session_id="file-id")
    backups.finished("files-only", session_id="file-2")
    session_manager.add("api-old", "server-only", project_dir=None, created_at="2024-01-01")
    session_manager.add("api-id", "both", created_at="2024-02-01")
    out = ao("ao-list-sessions", extra_env=session_manager.env())
    assert out.status == 0
    assert out.out.splitlines() == [
        "both (session-id: api-id, project-dir: /srv)",
        "server-only (session-id: api-old, project-dir: unknown)",
        "files-only (session-id: file-2, project-dir: /proj)",
    ]
    assert no_warning(out.err)
    listed = json.loads(ao("ao-list-sessions", "--json", extra_env=session_manager.env()).out)
    assert [(s["name"], s["backend"]) for s in listed] == [
        ("both", "api"),
        ("server-only", "api"),
        ("files-only", "file"),
    ]


def test_clean_in_both_removes_server_record_and_files_only(ao, backups, session_manager) -> None:
    backups.finished("both", session_id="api-id")
    backups.finished("other", session_id="other-id")
    session_manager.add("api-id", "both", result="x")
    session_manager.add("other-id", "other", result="y")
    out = ao("ao-clean", "both", extra_env=session_manager.env())
    assert (out.status, out.out) == (0, "Deleted session 'both'\n")
    assert no_warning(out.err)
    assert session_manager.store.get("api-id") is None
    assert session_manager.store.events("api-id") == []
    assert session_manager.store.get("other-id") is not None
    assert backups.names() == ["other.jsonl", "other.meta.json"]
    deletes = [r.raw_path for r in session_manager.requests if r.method == "DELETE"]
    assert deletes == ["/sessions/api-id"]


def test_only_in_files_works_while_the_server_knows_nothing(ao, backups, session_manager) -> None:
    backups.finished("local", "file answer", session_id="local-id")
    session_manager.add("srv-id", "remote", result="r")
    env = session_manager.env()
    status = ao("ao-status", "local", extra_env=env)
    assert (status.status, status.out) == (0, "finished\n")
    result = ao("ao-get-result", "local", extra_env=env)
    assert (result.status, result.out) == (0, "file answer\n")
    listed = ao("ao-list-sessions", extra_env=env)
    assert "local (session-id: local-id, project-dir: /proj)" in listed.out.splitlines()
    cleaned = ao("ao-clean", "local", extra_env=env)
    assert (cleaned.status, cleaned.out) == (0, "Deleted session 'local'\n")
    assert backups.names() == []
    assert session_manager.store.get("srv-id") is not None
    assert all(no_warning(o.err) for o in (status, result, listed, cleaned))
    # The server was asked about the file session's id and said it doesn't know it.
    paths = [r.raw_path for r in session_manager.requests]
    assert "/sessions/local-id/status" in paths
    assert not any(r.method == "DELETE" for r in session_manager.requests)


def test_only_on_the_server(ao, backups, session_manager) -> None:
    session_manager.add("srv-id", "remote", result="server answer")
    env = session_manager.env()
    assert ao("ao-status", "remote", extra_env=env).out == "finished\n"
    assert ao("ao-get-result", "remote", extra_env=env).out == "server answer\n"
    listed = ao("ao-list-sessions", extra_env=env)
    assert listed.out == "remote (session-id: srv-id, project-dir: /srv)\n"
    cleaned = ao("ao-clean", "remote", extra_env=env)
    assert (cleaned.status, cleaned.out, cleaned.err) == (0, "Deleted session 'remote'\n", "")
    assert session_manager.store.get("srv-id") is None
    assert ao("ao-status", "remote", extra_env=env).out == "not_existent\n"


def test_in_neither(ao, backups, session_manager) -> None:
    backups.finished("local")
    session_manager.add("srv-id", "remote", result="r")
    env = session_manager.env()
    status = ao("ao-status", "ghost", extra_env=env)
    assert (status.status, status.out, status.err) == (0, "not_existent\n", "")
    result = ao("ao-get-result", "ghost", extra_env=env)
    assert (result.status, result.out) == (1, "")
    assert result.err == "Error: Session 'ghost' does not exist\n"
    cleaned = ao("ao-clean", "ghost", extra_env=env)
    assert cleaned.status == 1
    assert cleaned.err == "Error: Session 'ghost' does not exist\n"
    assert session_manager.store.get("srv-id") is not None
    assert backups.names() == ["local.jsonl", "local.meta.json"]


def test_file_session_with_a_known_id_is_answered_by_the_server(call, backups, session_manager):
    backups.meta("local", "shared-id")  # no .jsonl: the files say "running"
    session_manager.add("shared-id", "renamed-on-server", result="server answer")
    out = call("ao-get-result", "local", extra_env=session_manager.env())
    assert (out.status, out.out) == (0, "server answer\n")


def test_running_on_the_server_has_no_result_yet(ao, backups, session_manager) -> None:
    backups.finished("job", "stale file answer")
    session_manager.add("job-id", "job")
    out = ao("ao-get-result", "job", extra_env=session_manager.env())
    assert out.status == 1
    assert out.err == (
        "Error: Session 'job' is still running. "
        "Wait for completion or check status with ao-status.\n"
    )


@pytest.mark.parametrize("word", ["pending", "idle", "stopping", "stopped", "failed"])
def test_other_statuses_pass_through(call, session_manager, word) -> None:
    session_manager.add("s-id", "job")
    session_manager.store.set_status("s-id", word)
    out = call("ao-status", "job", extra_env=session_manager.env())
    assert (out.status, out.out) == (0, f"{word}\n")


def test_a_shared_name_means_the_newest(call, session_manager) -> None:
    session_manager.add("old-id", "dup", result="old", created_at="2024-01-01T00:00:00+00:00")
    session_manager.add("new-id", "dup", result="new", created_at="2024-05-01T00:00:00+00:00")
    session_manager.add("z-id", "dup-2", result="other", created_at="2024-09-01T00:00:00+00:00")
    env = session_manager.env()
    assert call("ao-get-result", "dup", extra_env=env).out == "new\n"
    assert call("ao-clean", "dup", extra_env=env).status == 0
    assert session_manager.store.get("new-id") is None
    assert session_manager.store.get("old-id") is not None
    assert call("ao-get-result", "dup", extra_env=env).out == "old\n"


def test_one_connection_per_command(script, session_manager) -> None:
    session_manager.add("s-id", "job", result="r")
    out = script("ao-get-result", "job", extra_env=session_manager.env())
    assert out.out == "r\n"
    assert len(session_manager.requests) == 3
    assert len({r.client_port for r in session_manager.requests}) == 1


def test_name_is_sent_as_a_query_parameter(call, session_manager) -> None:
    session_manager.add("s-id", "job", result="r")
    call("ao-status", "job", extra_env=session_manager.env())
    first = session_manager.requests[0]
    assert (first.method, first.raw_path, first.query) == ("GET", "/sessions", "session_name=job")


def test_clean_all_deletes_everywhere(call, backups, session_manager) -> None:
    backups.finished("local")
    session_manager.add("a-id", "remote", result="r")
    session_manager.add("b-id", "both", result="r")
    backups.finished("both", session_id="b-id")
    out = call("ao-clean", "--all", extra_env=session_manager.env())
    assert out.status == 0
    assert sorted(out.out.splitlines()) == [
        "Deleted session 'both'",
        "Deleted session 'local'",
        "Deleted session 'remote'",
    ]
    assert session_manager.store.sessions() == []
    assert backups.names() == []


# --- ids from the server reach it as one path segment ---------------------------------


@pytest.mark.parametrize(
    ("session_id", "quoted"),
    [("../admin", "..%2Fadmin"), ("a/b?x=1", "a%2Fb%3Fx%3D1"), ("s p#c%", "s%20p%23c%25")],
)
def test_server_ids_are_one_quoted_segment(call, session_manager, session_id, quoted) -> None:
    session_manager.add(session_id, "odd", result="r")
    env = session_manager.env()
    call("ao-get-result", "odd", extra_env=env)
    call("ao-clean", "odd", extra_env=env)
    paths = [(r.method, r.raw_path) for r in session_manager.requests if r.raw_path != "/sessions"]
    assert ("GET", f"/sessions/{quoted}/status") in paths
    assert ("DELETE", f"/sessions/{quoted}") in paths
    assert all(path.startswith(f"/sessions/{quoted}") for _, path in paths)


def test_a_dot_segment_id_is_not_sent(call, backups, session_manager) -> None:
    backups.finished("odd", "file answer")
    session_manager.add("..", "odd", result="r")
    out = call("ao-get-result", "odd", extra_env=session_manager.env())
    assert (out.status, out.out) == (0, "file answer\n")
    assert out.err.count("Warning:") == 1
    assert "a session without a usable 'session_id'" in out.err
    assert [r.raw_path for r in session_manager.requests] == ["/sessions"]


# --- the API key ------------------------------------------------------------------------


def test_the_key_is_sent_as_a_bearer_token(ao, start_session_manager) -> None:
    server = start_session_manager(api_key="k-123")
    server.add("s-id", "job", result="secret result")
    out = ao("ao-get-result", "job", extra_env=server.env(AGENT_ORCHESTRATOR_API_KEY="k-123"))
    assert (out.status, out.out, out.err) == (0, "secret result\n", "")
    assert len(server.requests) == 3
    assert {r.authorization for r in server.requests} == {"Bearer k-123"}


def test_no_key_no_header(call, session_manager) -> None:
    session_manager.add("s-id", "job", result="r")
    call("ao-get-result", "job", extra_env=session_manager.env())
    assert [r.authorization for r in session_manager.requests] == [None, None, None]


SECRET = "sk-DO-NOT-LEAK-4f9a2c"


def test_the_key_never_appears_in_any_output(
    script, backups, start_session_manager, refusing_port, hanging_server
) -> None:
    backups.finished("job", "file answer")
    good = start_session_manager(api_key=SECRET)
    good.add("s-id", "job", result="r")
    wrong_key = start_session_manager(api_key="another key")
    failing = start_session_manager()
    failing.inject("GET", "/sessions", 500)
    urls = [good.url, wrong_key.url, failing.url, refusing_port.url, hanging_server.url]
    debug = {
        "AGENT_ORCHESTRATOR_API_KEY": SECRET,
        "AGENT_ORCHESTRATOR_DEBUG": "1",
        "AGENT_ORCHESTRATOR_TRACE": "1",
        "AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT": "1",
    }
    seen = []
    for url in urls:
        env = {
            **debug,
            "AGENT_ORCHESTRATOR_BACKENDS": "",
            "AGENT_ORCHESTRATOR_SESSION_MANAGER_URL": url,
        }
        for args in (["ao-get-result", "job"], ["ao-get-result", "ghost"], ["ao-list-sessions"]):
            out = script(*args, extra_env=env)
            seen.append(out.out + out.err)
    everything = "\n".join(seen)
    assert everything.count("Warning:") >= 4 * 3  # the failing servers did warn
    assert "Traceback" in everything  # DEBUG was on: tracebacks were shown
    assert SECRET not in everything


def test_the_key_stays_out_of_reprs(tmp_path, session_manager) -> None:
    config = Config.load(
        project_dir=str(tmp_path),
        environ=session_manager.env(AGENT_ORCHESTRATOR_API_KEY=SECRET),
    )
    backend = ApiBackend()
    assert backend.list_sessions(config) == []
    assert SECRET not in repr(config) + repr(backend) + repr(vars(backend))


# --- one round, one warning -------------------------------------------------------------


def test_start_round_tries_again_but_warns_once(tmp_path, session_manager, capsys) -> None:
    config = Config.load(project_dir=str(tmp_path), backends="api", environ=session_manager.env())
    session_manager.add("s-id", "job", result="r")
    pm = get_plugin_manager(config)
    session_manager.inject("GET", "/sessions", 500)
    assert pm.hook.resolve_session(name="job", config=config) is None
    session_manager.clear_faults()
    assert pm.hook.resolve_session(name="job", config=config) is None  # out for the round
    assert len(session_manager.requests) == 1
    assert [p["code"] for p in pm.problems.unavailable()] == ["server_error"]
    pm.problems.new_round()
    pm.hook.start_round(config=config)
    assert pm.hook.resolve_session(name="job", config=config).session_id == "s-id"
    assert pm.problems.unavailable() == []
    session_manager.inject("GET", "/sessions", 503, "busy")
    pm.hook.start_round(config=config)
    assert pm.hook.list_sessions(config=config) == []
    assert len(session_manager.requests) == 3
    err = capsys.readouterr().err
    assert err.count("Warning:") == 1
    assert "HTTP 500" in err


# --- start-up stays lean ----------------------------------------------------------------


PROBE = """
import atexit, json, runpy, sys
report, sys.argv = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(report, "w").write(json.dumps(sorted(sys.modules))))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def imported_modules(args: list[str], env: dict[str, str], cwd: Path) -> tuple[set[str], str]:
    """Run an installed console script; every module it had imported at exit, and its stdout."""
    exe = shutil.which(args[0], path=str(BIN_DIR))
    assert exe
    report = cwd / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), exe, *args[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=clean_environ(**env),
    )
    return set(json.loads(report.read_text())), proc.stdout


def test_requests_is_not_imported_with_the_file_backend_only(env, backups, tmp_path) -> None:
    backups.finished("job")
    modules, out = imported_modules(["ao-status", "job"], env, tmp_path)
    assert out == "finished\n"
    assert "ao_plugins.file" in modules
    assert not {m for m in modules if m.split(".")[0] in ("requests", "urllib3")}


def test_requests_is_imported_once_the_api_is_asked(env, backups, tmp_path, refusing_port) -> None:
    backups.finished("job")
    settings = {**env, "AGENT_ORCHESTRATOR_BACKENDS": "api,file"}
    settings["AGENT_ORCHESTRATOR_SESSION_MANAGER_URL"] = refusing_port.url
    modules, out = imported_modules(["ao-status", "job"], settings, tmp_path)
    assert out == "finished\n"
    assert "requests" in modules


def test_loading_the_api_backend_does_not_import_requests() -> None:
    code = "import sys, ao_plugins.api; print(sorted(m for m in sys.modules if 'requests' in m))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "[]\n")
