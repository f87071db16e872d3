"""Issue 15, HTTP and streams: every bound holds against a hostile server and hostile streams.

Against :class:`hostile_server.HostileServer` (bytes, not HTTP politeness): an answer that
drips in, never comes, inflates to gigabytes, never ends or redirects costs one warning
and the answer from the backup files, within one timeout and bounded memory; a status
that is not a word is refused; no secret reaches any output; a stdout that is closed or
full makes the command fail with one line, a stderr that is closed or full costs nothing.

Time bounds are not timed here (that is flaky): a command must *finish* under a generous
``subprocess`` timeout, and the reason it prints names the budget it was given. The
figures are in BENCHMARKS.md and docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from conftest import BIN_DIR, clean_environ
from hostile_server import (
    HostileServer,
    answer,
    drip,
    endless,
    gzip_bomb,
    hostile_sessions,
    huge,
    redirect,
    silence,
)
from peak_memory import BOUND_MIB, measure
from server_fixtures import api_env

from ao_core.errors import ServerFailure
from ao_plugins.api.client import MAX_JSON_VALUES, MAX_RESPONSE_BYTES, Client, display_url

#: The Session Manager timeout the commands get here, in seconds.
TIMEOUT = 1
#: "Finishes at all": far above any bound, far below "for ever".
FINISHES = 15
#: The peak memory a command may reach whatever the server sends (MiB).
MEMORY_BOUND_MIB = 200
LISTING = {"sessions": [{"session_id": "api-id", "session_name": "test-session"}]}
FROM_FILES = {
    "ao-status": (["test-session"], "finished\n"),
    "ao-get-result": (["test-session"], "answer from the files\n"),
    "ao-list-sessions": ([], "test-session (session-id: file-id, project-dir: /proj)\n"),
}
FALLING_BACK = "; falling back to the other backends"
SESSION_MANAGER = "the Agent Session Manager"


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture
def on_disk(backups):
    """``test-session``, finished, in the backup files."""
    backups.finished("test-session", "answer from the files", session_id="file-id")
    return backups


def settings(url: str, **extra: str) -> dict[str, str]:
    return api_env(url, AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT=str(TIMEOUT), **extra)


def assert_fell_back(
    outcome, command: str, url: str, reason: str, server: str = "the server"
) -> None:
    """One warning naming the ``server`` (as far as it showed which: none before its first
    answer), ``url`` and ``reason``; the answer from the files, exit 0."""
    assert (outcome.status, outcome.out) == (0, FROM_FILES[command][1]), outcome.err
    lines = outcome.err.splitlines()
    assert len(lines) == 1, outcome.err
    assert lines[0] == f"Warning: cannot use {server} at {url} ({reason}){FALLING_BACK}"


# --- 1. a bound is a bound: the whole answer within one timeout -------------------------

DRIPS = ["headers", "body", "chunked"]


@pytest.mark.parametrize("command", list(FROM_FILES))
@pytest.mark.parametrize("where", DRIPS)
def test_a_dripping_answer_costs_one_timeout(script, on_disk, hostile, where, command) -> None:
    hostile.route("GET", "/sessions", drip(where, interval=0.3))
    args, _ = FROM_FILES[command]
    outcome = script(command, *args, extra_env=settings(hostile.url), timeout=FINISHES)
    assert_fell_back(outcome, command, hostile.url, f"no answer within {TIMEOUT} s")
    assert len(hostile.requests) == 1  # out after the first failure


def test_a_drip_on_a_later_request_still_costs_one_timeout(script, on_disk, hostile) -> None:
    hostile.route("GET", "/sessions", answer(LISTING))
    hostile.route("GET", "/sessions/api-id/status", drip("body", body={"status": "finished"}))
    outcome = script("ao-get-result", "test-session", extra_env=settings(hostile.url))
    reason = f"no answer within {TIMEOUT} s"
    assert_fell_back(outcome, "ao-get-result", hostile.url, reason, SESSION_MANAGER)
    assert [r.path for r in hostile.requests] == ["/sessions", "/sessions/api-id/status"]


@pytest.mark.parametrize("where", DRIPS)
def test_the_client_gives_up_on_a_drip_in_process(hostile, where) -> None:
    """The same bound without a process: the caller gets its failure back, and the
    abandoned exchange's connection is shut down (the server sees it go)."""
    hostile.route("GET", "/sessions", drip(where, interval=0.3))
    client = Client(hostile.url, timeout=0.5)
    failures: list[BaseException] = []

    def ask() -> None:
        try:
            client.request("GET", "/sessions")
        except ServerFailure as exc:
            failures.append(exc)

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    asker.join(FINISHES)
    assert not asker.is_alive(), "the request did not give up"
    assert [str(f) for f in failures] == ["no answer within 0.5 s"]
    assert failures[0].__context__ is None


@pytest.mark.parametrize("behaviour", ["silence", "drip"])
def test_wait_timeout_caps_every_exchange(script, backups, hostile, behaviour) -> None:
    """``--wait --timeout 2`` with a 5 s server timeout: the exchange gets the 2 s left
    plus the 0.25 s grace, never the 5 s; the wait ends as timed out (124)."""
    backups.running("busy", session_id="api-busy")
    listing = {"sessions": [{"session_id": "api-busy", "session_name": "busy"}]}
    slow = silence() if behaviour == "silence" else drip("body", body={"status": "running"})
    hostile.route("GET", "/sessions", answer(listing))
    hostile.route("GET", "/sessions/api-busy/status", slow)
    env = api_env(hostile.url)  # the default 5 s timeout
    wait = ("--wait", "--timeout", "2", "--interval", "0.5")
    outcome = script("ao-status", "busy", *wait, extra_env=env, timeout=FINISHES)
    assert (outcome.status, outcome.out) == (124, "running\n")
    budget = re.fullmatch(
        rf"Warning: cannot use .* \(no answer within ([0-9.]+) s\){FALLING_BACK}\n", outcome.err
    )
    assert budget, outcome.err
    assert 0 < float(budget[1]) <= 2.25


def test_wait_timeout_zero_gives_the_server_the_grace_only(script, backups, hostile) -> None:
    backups.running("busy", session_id="api-busy")
    hostile.route("GET", "/sessions", silence())
    outcome = script(
        "ao-status", "busy", "--wait", "--timeout", "0", extra_env=api_env(hostile.url)
    )
    assert (outcome.status, outcome.out) == (124, "running\n")
    assert "(no answer within 0.25 s)" in outcome.err
    assert outcome.err.count("\n") == 1


# --- 2. memory: an answer is at most MAX_RESPONSE_BYTES, decoded in bounded memory ------

TOO_LARGE = f"GET /sessions: the response is too large (over {MAX_RESPONSE_BYTES >> 20} MiB)"


def peak_rss_mib(command: list[str], env: dict[str, str]) -> tuple[float, str, str]:
    """Run ``command`` in a fresh child of a small Python process; its peak RSS (MiB, from
    ``getrusage(RUSAGE_CHILDREN)`` there), its stdout and its stderr."""
    shim = (
        "import resource, subprocess, sys\n"
        "proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=60)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(peak); print(proc.returncode); print(proc.stdout, end='')\n"
        "sys.stderr.write(proc.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", shim, *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=FINISHES * 4,
    )
    peak, status, out = done.stdout.split("\n", 2)
    assert status == "0", done.stderr
    return int(peak) / 1024, out, done.stderr


@pytest.mark.slow
def test_a_gzip_bomb_fails_in_bounded_memory(on_disk, hostile, env) -> None:
    hostile.route("GET", "/sessions", gzip_bomb(4 << 30))  # 4 GiB inflated
    exe = shutil.which("ao-list-sessions", path=str(BIN_DIR))
    peak, out, err = peak_rss_mib([exe], clean_environ(**{**env, **settings(hostile.url)}))
    assert out == FROM_FILES["ao-list-sessions"][1]
    assert err == (f"Warning: cannot use the server at {hostile.url} ({TOO_LARGE}){FALLING_BACK}\n")
    assert peak < MEMORY_BOUND_MIB


@pytest.mark.parametrize(
    "behaviour",
    [
        pytest.param(lambda: huge(1 << 30), id="huge-body-with-length"),
        pytest.param(lambda: huge(MAX_RESPONSE_BYTES + 1), id="one-byte-too-many"),
        pytest.param(endless, id="endless-body"),
        pytest.param(lambda: gzip_bomb(1 << 30), id="gzip-bomb"),
    ],
)
def test_too_large_answers_fail(ao, on_disk, hostile, behaviour) -> None:
    hostile.route("GET", "/sessions", behaviour())
    outcome = ao("ao-list-sessions", extra_env=settings(hostile.url))
    assert_fell_back(outcome, "ao-list-sessions", hostile.url, TOO_LARGE)


def test_a_body_of_too_many_json_values_is_not_parsed(ao, on_disk, hostile) -> None:
    body = b'{"sessions": [' + b"0," * MAX_JSON_VALUES + b"0]}"
    hostile.route("GET", "/sessions", answer(body))
    outcome = ao("ao-list-sessions", extra_env=settings(hostile.url))
    reason = f"GET /sessions: the response is too large (over {MAX_JSON_VALUES:,} JSON values)"
    assert_fell_back(outcome, "ao-list-sessions", hostile.url, reason)


def test_the_most_json_values_allowed_parse_in_bounded_memory(on_disk, hostile, env) -> None:
    """Just under both limits, values that cost the most parsed (distinct strings)."""
    count = MAX_JSON_VALUES - 10
    size = MAX_RESPONSE_BYTES // count - 3
    strings = b",".join(b'"%0*d"' % (size, i) for i in range(count))
    body = b'{"sessions": [' + strings + b"]}"
    assert len(body) <= MAX_RESPONSE_BYTES
    hostile.route("GET", "/sessions", answer(body))
    del strings, body
    exe = shutil.which("ao-list-sessions", path=str(BIN_DIR))
    peak, out, err = peak_rss_mib([exe], clean_environ(**{**env, **settings(hostile.url)}))
    assert out == FROM_FILES["ao-list-sessions"][1]
    assert "a session without a usable 'session_id' and 'session_name'" in err
    assert peak < MEMORY_BOUND_MIB


def test_ten_thousand_sessions_are_read(ao, backups, hostile) -> None:
    sessions = [{"session_id": f"id-{i}", "session_name": f"s-{i:05d}"} for i in range(10_000)]
    hostile.route("GET", "/sessions", answer({"sessions": sessions}))
    outcome = ao("ao-list-sessions", extra_env=settings(hostile.url))
    assert (outcome.status, outcome.err) == (0, "")
    assert len(outcome.out.splitlines()) == 10_000


def test_a_gzip_answer_within_the_limit_is_read(ao, on_disk, hostile) -> None:
    import gzip

    listing = {"sessions": [{"session_id": "api-id", "session_name": "zipped"}]}
    body = gzip.compress(json.dumps(listing).encode())
    hostile.route("GET", "/sessions", answer(body, headers={"Content-Encoding": "gzip"}))
    outcome = ao("ao-list-sessions", extra_env=settings(hostile.url))
    assert outcome.err == ""
    assert outcome.out.splitlines()[0] == "zipped (session-id: api-id, project-dir: unknown)"


def test_an_encoding_not_asked_for_fails(ao, on_disk, hostile) -> None:
    hostile.route("GET", "/sessions", answer(b"\x00\x01", headers={"Content-Encoding": "br"}))
    outcome = ao("ao-list-sessions", extra_env=settings(hostile.url))
    reason = "GET /sessions: the response has an unsupported encoding (br)"
    assert_fell_back(outcome, "ao-list-sessions", hostile.url, reason)
    assert hostile.requests[0].headers["accept-encoding"] == "gzip, deflate"


# --- 3. redirects are never followed ---------------------------------------------------

REDIRECTS = {
    301: "Moved Permanently",
    302: "Found",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
}


@pytest.mark.parametrize("code", list(REDIRECTS))
def test_a_redirected_delete_is_not_followed_nor_counted(ao, backups, hostile, code) -> None:
    """The session is on the server only: a redirect (to a 200) must not read "Deleted"."""
    hostile.route("GET", "/sessions", answer(LISTING))
    hostile.route("DELETE", "/sessions/api-id", redirect(code, "/sessions"))
    outcome = ao("ao-clean", "test-session", extra_env=settings(hostile.url))
    assert (outcome.status, outcome.out) == (1, "")
    reason = f"DELETE /sessions/api-id: HTTP {code} {REDIRECTS[code]} (redirects are not followed)"
    where = f"cannot use the Agent Session Manager at {hostile.url} ({reason})"
    assert outcome.err.splitlines() == [
        f"Warning: {where}{FALLING_BACK}",
        f"Error: Session 'test-session' not deleted: {where}",
    ]
    assert [(r.method, r.path) for r in hostile.requests] == [
        ("GET", "/sessions"),
        ("DELETE", "/sessions/api-id"),
    ]


def test_a_redirect_to_another_host_is_not_followed(ao, on_disk, hostile) -> None:
    with HostileServer() as elsewhere:
        elsewhere.route("GET", "/sessions", answer(LISTING))
        hostile.route("GET", "/sessions", redirect(302, f"{elsewhere.url}/sessions"))
        outcome = ao("ao-status", "test-session", extra_env=settings(hostile.url))
        reason = "GET /sessions: HTTP 302 Found (redirects are not followed)"
        assert_fell_back(outcome, "ao-status", hostile.url, reason)
        assert elsewhere.requests == []


def test_a_delete_counts_on_the_servers_own_200(ao, backups, hostile) -> None:
    hostile.route("GET", "/sessions", answer(LISTING))
    hostile.route("DELETE", "/sessions/api-id", answer({"ok": True}))
    outcome = ao("ao-clean", "test-session", extra_env=settings(hostile.url))
    assert (outcome.status, outcome.out, outcome.err) == (
        0,
        "Deleted session 'test-session'\n",
        "",
    )


# --- 4. nothing forged: a status is a word -----------------------------------------------

FORGED_STATUSES = {
    "newline": "running\nfinished",
    "escape": "finished\x1b[2K",
    "carriage-return": "running\rfinished",
    "space": "not done",
    "too-long": "x" * 61,
    "empty": "",
}


@pytest.mark.parametrize("command", ["ao-status", "ao-get-result"])
@pytest.mark.parametrize("forged", list(FORGED_STATUSES))
def test_a_status_that_is_not_a_word_is_refused(ao, on_disk, hostile, forged, command) -> None:
    hostile.route("GET", "/sessions", answer(LISTING))
    hostile.route("GET", "/sessions/api-id/status", answer({"status": FORGED_STATUSES[forged]}))
    outcome = ao(command, "test-session", extra_env=settings(hostile.url))
    reason = "GET /sessions/api-id/status: unexpected response: 'status' is not a word"
    assert_fell_back(outcome, command, hostile.url, reason, SESSION_MANAGER)


def test_a_sixty_character_status_is_a_word(ao, on_disk, hostile) -> None:
    hostile.route("GET", "/sessions", answer(LISTING))
    hostile.route("GET", "/sessions/api-id/status", answer({"status": "A-z_9" * 12}))
    outcome = ao("ao-status", "test-session", extra_env=settings(hostile.url))
    assert (outcome.status, outcome.out, outcome.err) == (0, "A-z_9" * 12 + "\n", "")


def test_forged_lines_in_a_listing_are_not_printed(ao, backups, hostile) -> None:
    """The core's sanitising, against the hostile server: names and project dirs carrying
    line breaks and escape sequences forge no line and no colour."""
    hostile.route("GET", "/sessions", answer(hostile_sessions(3)))
    outcome = ao("ao-list-sessions", extra_env=settings(hostile.url))
    assert outcome.status == 0
    assert len(outcome.out.splitlines()) == 3
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", outcome.out + outcome.err)


# --- 5. secrets --------------------------------------------------------------------------

KEY = "sk-live-0123456789abcdef"
PASSWORD = "hunter2-topsecret"
SECRET_URLS = {
    "no-host": f"http://alice:{PASSWORD}@/x",
    "bad-scheme": f"htp://alice:{PASSWORD}@h",
    "at-in-password": f"http://alice:{PASSWORD}@extra@127.0.0.1:9",
    "no-scheme": f"alice:{PASSWORD}@127.0.0.1:9",
}
LOUD = {"AGENT_ORCHESTRATOR_DEBUG": "1", "AGENT_ORCHESTRATOR_TRACE": "1"}


@pytest.mark.parametrize("loud", [False, True], ids=["quiet", "debug+trace"])
@pytest.mark.parametrize("url", list(SECRET_URLS))
def test_a_password_in_the_url_is_never_shown(ao, on_disk, url, loud) -> None:
    extra = settings(SECRET_URLS[url], **(LOUD if loud else {}))
    outcome = ao("ao-status", "test-session", extra_env=extra)
    assert (outcome.status, outcome.out) == (0, "finished\n")
    shown = outcome.out + outcome.err
    assert "Warning: cannot use the server at " in shown
    for secret in (PASSWORD, "hunter2", "topsecret", "extra@", "alice"):
        assert secret not in shown


@pytest.mark.parametrize("key", ["line\r\nbreak", "tab\there", "del\x7f", "escape\x1b[0m", "é-key"])
def test_a_key_with_control_characters_is_a_setting_error(ao, on_disk, hostile, key) -> None:
    hostile.route("GET", "/sessions", answer(LISTING))
    extra = settings(hostile.url, AGENT_ORCHESTRATOR_API_KEY=f"{KEY}-{key}", **LOUD)
    outcome = ao("ao-status", "test-session", extra_env=extra)
    assert (outcome.status, outcome.out) == (1, "")
    assert outcome.err.splitlines()[-1] == (
        "Error: AGENT_ORCHESTRATOR_API_KEY must be printable ASCII (no control characters), "
        "not the value given"
    )
    assert KEY not in outcome.err
    assert hostile.requests == []


def test_a_key_echoed_by_the_server_is_hidden(ao, on_disk, hostile) -> None:
    hostile.route("GET", "/sessions", answer("no", status=500, reason=f"bad key {KEY}"))
    extra = settings(hostile.url, AGENT_ORCHESTRATOR_API_KEY=KEY, **LOUD)
    outcome = ao("ao-status", "test-session", extra_env=extra)
    assert (outcome.status, outcome.out) == (0, "finished\n")
    assert f"(GET /sessions: HTTP 500 bad key ***){FALLING_BACK}" in outcome.err
    assert KEY not in outcome.err
    assert hostile.requests[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("url", list(SECRET_URLS))
def test_failures_carry_neither_secret_nor_context(url) -> None:
    client = Client(SECRET_URLS[url], timeout=1, key=KEY, debug=True)
    with pytest.raises(ServerFailure) as caught:
        client.request("GET", "/sessions")
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert PASSWORD not in str(caught.value) and KEY not in str(caught.value)
    assert PASSWORD not in repr(client) and KEY not in repr(client)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://user:pw@h:1/x", "http://***@h:1/x"),
        ("http://user:p@ss@h:1", "http://***@h:1"),
        ("http://user@h", "http://***@h"),
        ("htp://user:pw@h", "htp://***@h"),
        ("user:pw@h:1", "***@h:1"),
        ("http://h:1/\x1b[31m\n", "http://h:1/\\x1b[31m\\n"),
    ],
)
def test_display_url(url, shown) -> None:
    assert display_url(url) == shown


# --- 6. output streams -------------------------------------------------------------------


def installed(command: str) -> str:
    exe = shutil.which(command, path=str(BIN_DIR))
    assert exe, f"{command} is not installed"
    return exe


def run_with(argv: list[str], env: dict[str, str], redirections: str, **kw):
    """Run ``argv`` through bash with ``redirections`` (``>&-``, ``2>/dev/full`` ...);
    stdout and stderr are captured unless a redirection replaces them."""
    return subprocess.run(
        ["bash", "-c", f'exec "$@" {redirections}', "bash", *argv],
        capture_output=True,
        text=True,
        env=clean_environ(**env),
        timeout=FINISHES,
        **kw,
    )


@pytest.fixture
def down(env, on_disk, refusing_port) -> dict[str, str]:
    """Settings for a Session Manager that is down (a warning on every command)."""
    return {**env, **settings(refusing_port.url)}


def test_closed_stdout_is_an_error(down) -> None:
    done = run_with([installed("ao-status"), "test-session"], down, ">&-")
    assert done.returncode == 1
    assert (
        done.stderr.splitlines()[-1] == "Error: cannot write the answer: standard output is closed"
    )
    assert "Exception" not in done.stderr


@pytest.mark.parametrize("command", ["ao-status", "ao-list-sessions", "ao-get-result"])
def test_full_stdout_is_an_error(down, command) -> None:
    args, _ = FROM_FILES[command]
    done = run_with([installed(command), *args], down, ">/dev/full")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[-1] == "Error: cannot write the answer: No space left on device"
    assert len(lines) == 2 and lines[0].startswith("Warning: ")


def test_a_reader_that_goes_away_is_quiet(down) -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [installed("ao-status"), "test-session"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_environ(**down),
            timeout=FINISHES,
        )
    finally:
        os.close(write)
    assert done.returncode == 141
    assert [line.split(" ")[0] for line in done.stderr.splitlines()] == ["Warning:"]


@pytest.mark.parametrize("redirection", ["2>&-", "2>/dev/full"])
def test_stderr_closed_or_full_leaves_the_json_answer_alone(down, redirection) -> None:
    done = run_with([installed("ao-status"), "test-session", "--json"], down, redirection)
    assert done.returncode == 0
    answer = json.loads(done.stdout)
    unavailable = answer.pop("unavailable")  # the warning lost with stderr, not the fact
    assert answer == {"name": "test-session", "status": "finished", "backend": "file"}
    assert [(u["backend"], u["code"]) for u in unavailable] == [("api", "unreachable")]
    assert done.stdout.count("\n") == 1


def test_stdout_and_stderr_closed(down) -> None:
    done = run_with([installed("ao-get-result"), "test-session"], down, ">&- 2>&-")
    assert done.returncode == 1
    assert (done.stdout, done.stderr) == ("", "")


def test_a_closed_stdout_is_held_by_dev_null(tmp_path) -> None:
    """With fd 1 closed, a file opened later does not become fd 1 (where a stray write
    would land in it)."""
    probe = (
        "import os\n"
        "from ao_core import cli\n"
        "cli._hold_standard_fds()\n"
        f"fd = os.open({str(tmp_path / 'f')!r}, os.O_CREAT | os.O_WRONLY)\n"
        "os.write(2, f'{fd} {os.path.realpath(f\"/proc/self/fd/1\")}'.encode())\n"
    )
    done = subprocess.run(
        ["bash", "-c", 'exec "$@" >&-', "bash", sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=FINISHES,
    )
    fd, held_by = done.stderr.split()
    assert int(fd) > 2 and held_by == os.devnull


def test_lost_stdout_in_process(call, on_disk, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    outcome = call("ao-status", "test-session")
    assert outcome.status == 1
    assert outcome.err == "Error: cannot write the answer: standard output is closed\n"


def test_no_stderr_in_process_keeps_notes_off_stdout(call, down, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stderr", None)
    outcome = call("ao-status", "test-session", "--json", extra_env=down)
    assert outcome.status == 0
    assert json.loads(outcome.out)["status"] == "finished"


def test_wait_with_stderr_closed(env, backups) -> None:
    backups.running("busy", session_id="sid")
    wait = [installed("ao-status"), "busy", "--wait", "--timeout", "0.2"]
    done = run_with(wait, env, "2>&-")
    assert (done.returncode, done.stdout) == (124, "running\n")


# --- issue 19, item 4: the key never leaks through a cut ----------------------------------

LONG_KEY = "sk-live-" + "0123456789abcdef" * 2  # 40 characters


@pytest.mark.parametrize("offset", [0, 1, 21, 30, 59])
@pytest.mark.parametrize("where", ["reason", "content-type", "encoding"])
def test_a_key_echoed_at_the_cut_is_hidden(call, on_disk, hostile, where, offset) -> None:
    """Whatever the offset at which the server echoes the key, no four characters of it
    are printed: scrubbed before the cut, and a piece of it left at the cut hidden."""
    echo = "x" * offset + LONG_KEY + " and more"
    if where == "reason":
        behaviour = answer("no", status=500, reason=echo)
    elif where == "content-type":
        behaviour = answer(b"<html>", content_type=echo)
    else:
        behaviour = answer(b"{}", headers={"Content-Encoding": echo})
    hostile.route("GET", "/sessions", behaviour)
    extra = settings(hostile.url, AGENT_ORCHESTRATOR_API_KEY=LONG_KEY, **LOUD)
    outcome = call("ao-status", "test-session", extra_env=extra)
    assert (outcome.status, outcome.out) == (0, "finished\n")
    shown = outcome.out + outcome.err
    leaked = [LONG_KEY[i : i + 4] for i in range(len(LONG_KEY) - 3) if LONG_KEY[i : i + 4] in shown]
    assert leaked == [], shown


def test_the_cut_hides_a_partial_key() -> None:
    client = Client("http://127.0.0.1:9", timeout=1, key=LONG_KEY)
    assert client.shown("HTTP 500 " + LONG_KEY, 20) == "HTTP 500 ***"
    assert client.shown("a" * 10 + LONG_KEY, 15) == "a" * 10 + "***"
    assert client.shown("plain reason", 60) == "plain reason"


# --- issue 19, item 8: every JSON document parses under a strict parser --------------------

SID = "ses_0123456789ab"


def strict(text: str) -> object:
    def refuse(literal: str) -> object:
        raise AssertionError(f"{literal} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "data, value",
    [
        (b"1e400", None),
        (b"-1e400", None),
        (b'{"big": 1e400, "small": -1e400, "ok": 1.5}', {"big": None, "small": None, "ok": 1.5}),
        (b"[1e999, 2]", [None, 2]),
    ],
)
def test_a_structured_result_beyond_a_double_is_strict_json(call, backups, hostile, data, value):
    hostile.route("GET", f"/sessions/{SID}", answer(coordinator(SID, "finished")))
    hostile.route("GET", f"/sessions/{SID}/result", answer(b'{"result_data": ' + data + b"}"))
    text = call("ao-get-result", SID, extra_env=settings(hostile.url))
    assert (text.status, text.err) == (0, "")
    assert strict(text.out) == value
    as_json = call("ao-get-result", SID, "--json", extra_env=settings(hostile.url))
    assert strict(as_json.out) == {"name": SID, "result": value}


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_a_body_with_nan_is_not_json(call, on_disk, hostile, literal) -> None:
    hostile.route("GET", "/sessions", answer(b'{"sessions": [], "x": ' + literal + b"}"))
    outcome = call("ao-list-sessions", extra_env=settings(hostile.url))
    assert_fell_back(
        outcome, "ao-list-sessions", hostile.url, "GET /sessions: the response is not JSON "
        "(application/json)",
    )  # fmt: skip


def coordinator(session_id: str, status: str) -> dict[str, object]:
    return {"session": {"session_id": session_id, "status": status, "project_dir": "/p"}}


# --- issue 19, item 9: the memory of bounded answers ----------------------------------------


def _run_measured(command: list[str], env: dict[str, str]):
    exe = shutil.which(command[0], path=str(BIN_DIR))
    return measure([exe, *command[1:]], clean_environ(**env), timeout=240)


def _listing(count: int, width: int) -> bytes:
    entries = b",".join(b'{"session_id":"%s"}' % (b"%0*d" % (width, i)) for i in range(count))
    return b'{"sessions":[' + entries + b"]}"


@pytest.mark.slow
@pytest.mark.parametrize("flags", [[], ["--json"]], ids=["text", "json"])
def test_a_listing_at_the_limits_stays_within_the_memory_bound(env, hostile, flags) -> None:
    """330,000 sessions in 32 MiB and just under a million JSON values (before: 529 MiB)."""
    body = _listing(330_000, 80)
    assert len(body) <= MAX_RESPONSE_BYTES
    hostile.route("GET", "/sessions", answer(body))
    del body
    slow_ok = api_env(hostile.url, AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT="60")
    run = _run_measured(["ao-list-sessions", *flags], {**env, **slow_ok})
    assert (run.status, run.err) == (0, "")
    assert run.out.count("\n") >= 330_000
    assert run.peak_mib < BOUND_MIB


RESULTS = {
    "text-of-32MiB": lambda: b'{"result_text": "' + b"x" * (MAX_RESPONSE_BYTES - 100) + b'"}',
    "escapes-of-32MiB": lambda: (
        b'{"result_text": "' + b"\\u001b" * ((MAX_RESPONSE_BYTES - 100) // 6) + b'"}'
    ),
    "a-million-strings": lambda: (
        b'{"result_data": ['
        + b",".join(b'"%030d"' % i for i in range(MAX_JSON_VALUES - 10))
        + b"]}"
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("flags", [[], ["--json"]], ids=["text", "json"])
@pytest.mark.parametrize("kind", list(RESULTS))
def test_a_result_at_the_limits_stays_within_the_memory_bound(env, hostile, kind, flags):
    """Before: 413 MiB for the largest structured result."""
    body = RESULTS[kind]()
    assert len(body) <= MAX_RESPONSE_BYTES
    hostile.route("GET", f"/sessions/{SID}", answer(coordinator(SID, "finished")))
    hostile.route("GET", f"/sessions/{SID}/result", answer(body))
    del body
    slow_ok = api_env(hostile.url, AGENT_ORCHESTRATOR_SESSION_MANAGER_TIMEOUT="60")
    run = _run_measured(["ao-get-result", SID, *flags], {**env, **slow_ok})
    assert (run.status, run.err) == (0, "")
    assert len(run.out) > MAX_RESPONSE_BYTES // 2
    assert run.peak_mib < BOUND_MIB


def test_an_absurd_session_id_is_left_out_before_it_is_quoted(env, backups, hostile) -> None:
    """24 MiB of ``%`` as an id (before: 1.6 GiB while quoted into a URL): left out, the
    other sessions listed, one warning; and it is never asked for."""
    absurd = "%" * (24 << 20)
    listing = {"sessions": [{"session_id": absurd, "session_name": "absurd"},
                            {"session_id": "ok-id", "session_name": "fine"}]}  # fmt: skip
    hostile.route("GET", "/sessions", answer(listing))
    hostile.route("GET", "/sessions/ok-id/status", answer({"status": "running"}))
    run = _run_measured(["ao-list-sessions", "--long"], {**env, **settings(hostile.url)})
    assert run.status == 0
    assert run.out == "fine running (session-id: ok-id, project-dir: unknown)\n"
    assert run.err == (
        f"Warning: the Agent Session Manager at {hostile.url} listed 1 session whose id or "
        "name is no session's (over 1024 characters, or not UTF-8): left out\n"
    )
    assert run.peak_mib < BOUND_MIB
    assert [r.path for r in hostile.requests] == ["/sessions", "/sessions/ok-id/status"]


# --- issue 19, item 10: a lone surrogate hides nothing else -------------------------------


def test_a_session_id_with_a_lone_surrogate_is_left_out_alone(ao, backups, hostile) -> None:
    body = (
        b'{"sessions": [{"session_id": "bad\\ud800id", "session_name": "bad"},'
        b' {"session_id": "ok-id", "session_name": "fine"}]}'
    )
    hostile.route("GET", "/sessions", answer(body))
    outcome = ao("ao-list-sessions", extra_env=settings(hostile.url))
    assert outcome.status == 0
    assert outcome.out == "fine (session-id: ok-id, project-dir: unknown)\n"
    assert outcome.err.startswith(f"Warning: the Agent Session Manager at {hostile.url} listed 1 ")


# --- issue 19: a server that is down is visible to programs --------------------------------


@pytest.mark.parametrize(
    "behaviour, code",
    [
        (lambda: answer("no", status=500), "server_error"),
        (lambda: answer('{"detail": "no"}', status=401), "refused"),
        (lambda: answer(b"<html>", content_type="text/html"), "bad_answer"),
        (lambda: huge(MAX_RESPONSE_BYTES + 1), "bad_answer"),
        (lambda: silence(), "timeout"),
        (lambda: redirect(302), "server_error"),
    ],
)
def test_json_names_the_backend_that_could_not_be_used(ao, on_disk, hostile, behaviour, code):
    hostile.route("GET", "/sessions", behaviour())
    for command, args in (("ao-status", ["ghost"]), ("ao-get-result", ["ghost"])):
        outcome = ao(command, *args, "--json", extra_env=settings(hostile.url))
        document = json.loads(outcome.out)
        (problem,) = document["unavailable"]
        assert (problem["backend"], problem["code"]) == ("api", code)
        assert outcome.err == f"Warning: {problem['message']}{FALLING_BACK}\n" + (
            "Error: Session 'ghost' does not exist\n" if command == "ao-get-result" else ""
        )
        assert problem["message"].startswith(f"cannot use the server at {hostile.url} (")


def test_json_names_an_unreachable_server(ao, on_disk, refusing_port) -> None:
    outcome = ao("ao-status", "ghost", "--json", extra_env=settings(refusing_port.url))
    assert (outcome.status, json.loads(outcome.out)) == (
        0,
        {
            "name": "ghost",
            "status": "not_existent",
            "backend": None,
            "unavailable": [
                {
                    "backend": "api",
                    "code": "unreachable",
                    "message": f"cannot use the server at {refusing_port.url} (connection refused)",
                }
            ],
        },
    )
    # the arrays keep their shape
    listed = ao("ao-list-sessions", "--json", extra_env=settings(refusing_port.url))
    assert [s["name"] for s in json.loads(listed.out)] == ["test-session"]
    answered = ao("ao-status", "test-session", "--json")  # the files only: nothing unavailable
    assert "unavailable" not in json.loads(answered.out)


def test_a_bad_url_is_a_config_problem(ao, on_disk) -> None:
    outcome = ao("ao-status", "ghost", "--json", extra_env=settings("htp://nowhere"))
    assert json.loads(outcome.out)["unavailable"][0]["code"] == "config"
