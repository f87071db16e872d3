"""The file backend against hostile sessions directories (issue 15).

Special files, files rewritten while they are read, huge and sparse files, files that
break the JSON parser, odd names, undeletable files and permission denied: each case is
made real (a FIFO, a socket, a sparse gigabyte, a process without CAP_DAC_OVERRIDE), and
checked through the installed commands where the issue speaks of commands.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from backup_files import BackupDir, result_message
from conftest import BIN_DIR, Outcome, clean_environ
from privileges import without_overrides

from ao_core import Config, Session, StorageError
from ao_plugins.file import (
    LAST_LINE_LIMIT,
    META_LIMIT,
    FileBackend,
    _Changed,
    _read_last_line,
    last_line,
)

#: The peak resident memory a command may reach on a hostile file.
MEMORY_BOUND_KIB = 200 * 1024
#: A command that does not answer within this many seconds is stuck (on a FIFO, say).
STUCK = 30


@pytest.fixture
def config(backups: BackupDir) -> Config:
    return Config(project_dir=backups.path.parent.parent, sessions_dir=backups.path)


def status_of(config: Config, name: str) -> str | None:
    fb = FileBackend()
    session = fb.resolve_session(name=name, config=config)
    return session and fb.fetch_status(session=session, config=config)


# --- special files -------------------------------------------------------------------


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()
    (path / "inside").write_text("{}\n")


def _socket(path: Path) -> None:
    # AF_UNIX paths are limited to ~108 bytes: bind relative to the directory.
    sock = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        sock.bind(path.name)
    finally:
        os.chdir(cwd)
    sock.close()


def _device(path: Path) -> None:
    path.symlink_to("/dev/zero")


SPECIAL = {"fifo": _fifo, "directory": _directory, "socket": _socket, "device": _device}


@pytest.mark.parametrize("kind", SPECIAL)
def test_a_log_that_is_a_special_file_reads_as_running(script, backups, kind):
    backups.meta("s")
    SPECIAL[kind](backups.path / "s.jsonl")
    outcome = script("ao-status", "s", timeout=STUCK)
    assert (outcome.status, outcome.out, outcome.err) == (0, "running\n", "")
    outcome = script("ao-get-result", "s", timeout=STUCK)
    assert outcome.status == 1
    assert "still running" in outcome.err


@pytest.mark.parametrize("kind", SPECIAL)
def test_a_meta_file_that_is_a_special_file_is_not_a_session(script, backups, kind):
    backups.finished("real")
    special = backups.path / "odd.meta.json"
    SPECIAL[kind](special)
    backups.log("odd", result_message())
    outcome = script("ao-status", "odd", timeout=STUCK)
    assert (outcome.status, outcome.out) == (0, "not_existent\n")
    listed = script("ao-list-sessions", timeout=STUCK)
    assert (listed.status, listed.out) == (0, "real (session-id: sid, project-dir: /proj)\n")
    cleaned = script("ao-clean", "--all", timeout=STUCK)
    assert (cleaned.status, cleaned.out, cleaned.err) == (0, "Deleted session 'real'\n", "")
    assert os.path.lexists(special)
    assert (backups.path / "odd.jsonl").exists()


def test_a_file_is_judged_by_what_was_opened(backups):
    fifo = backups.path / "s.jsonl"
    os.mkfifo(fifo)
    assert last_line(fifo) is None
    assert last_line(backups.path / "missing.jsonl") is None


# --- a file that changes while it is read --------------------------------------------

_READER = """
import json, sys
from pathlib import Path
from ao_core import Config, Session
from ao_plugins.file import FileBackend

sessions, rounds, expected = Path(sys.argv[1]), int(sys.argv[2]), "r" * int(sys.argv[3])
config = Config(project_dir=sessions.parent.parent, sessions_dir=sessions)
answers = []
for _ in range(rounds):
    fb = FileBackend()
    status = fb.fetch_status(session=Session(name="s"), config=config)
    result = fb.fetch_result(session=Session(name="s"), config=config)
    answers.append([status, result is None or result == expected])
print(json.dumps(answers))
"""

_WRITER = """
import sys
versions = [open(path, "rb").read() for path in sys.argv[2:]]
with open(sys.argv[1], "r+b", buffering=0) as log:
    for n in range(10**9):
        log.truncate(0)
        log.seek(0)
        log.write(versions[n % 2])
        if n == 0:
            print("rewriting", flush=True)
"""


def test_a_log_rewritten_while_it_is_read_never_crashes_the_reader(backups, tmp_path):
    """Truncating and rewriting the log under a reader: no SIGBUS, only sane answers.

    The writer is another process (a thread would share the reader's GIL and rarely
    truncate mid-read); with the log memory-mapped, as it used to be, the reader died of
    SIGBUS in every run of this test.
    """
    result = "r" * (2 * 1024 * 1024)
    backups.meta("s")
    prefix = b"".join(json.dumps({"n": i, "pad": "p" * 100}).encode() + b"\n" for i in range(99))
    versions = [tmp_path / "finished.jsonl", tmp_path / "running.jsonl"]
    versions[0].write_bytes(prefix + json.dumps(result_message(result)).encode() + b"\n")
    versions[1].write_bytes(prefix + json.dumps({"type": "assistant", "text": result}).encode())
    log = backups.path / "s.jsonl"
    log.write_bytes(versions[0].read_bytes())
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(log), *map(str, versions)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline() == "rewriting\n"
        reader = subprocess.run(
            [sys.executable, "-c", _READER, str(backups.path), "300", str(len(result))],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert writer.poll() is None, "the writer stopped before the reader was done"
    finally:
        writer.kill()
        writer.wait()
    assert reader.returncode == 0, f"reader died (status {reader.returncode}): {reader.stderr}"
    answers = json.loads(reader.stdout)
    assert len(answers) == 300
    assert {status for status, _ in answers} <= {"running", "finished"}
    assert all(sane for _, sane in answers), "a result that is not the one written"


def test_a_log_that_shrank_after_its_size_was_taken_is_not_read_as_a_line(backups):
    """The race the rewrite test hits by chance, made certain: a short read is noticed."""
    log = backups.log("s", result_message())
    fd = os.open(log, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        with open(log, "r+b") as f:
            f.truncate(size // 2)
        with pytest.raises(_Changed):
            _read_last_line(fd, size, log)
    finally:
        os.close(fd)


# --- size limits ---------------------------------------------------------------------

_PEAK = """
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps([proc.returncode, proc.stdout, proc.stderr, peak]))
"""


def peak_memory(env: dict[str, str], cwd: Path, command: str, *args: str) -> tuple[Outcome, int]:
    """Run an installed command; what it did and its peak resident memory in KiB.

    A wrapper process runs the command, so the peak is that command's alone, not the
    largest of everything this test session ever started.
    """
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK, str(BIN_DIR / command), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=clean_environ(**env),
    )
    assert proc.returncode == 0, proc.stderr
    status, out, err, peak = json.loads(proc.stdout)
    return Outcome(status, out, err), peak


@pytest.mark.slow
@pytest.mark.parametrize("tail", [b"", b'{"subtype": "success", "result": "x"}\n'])
def test_a_sparse_gigabyte_without_a_newline_is_running_in_bounded_memory(
    env, backups, tmp_path, tail
):
    backups.meta("huge")
    with open(backups.path / "huge.jsonl", "wb") as f:
        f.truncate(2**30)
        f.seek(0, os.SEEK_END)
        f.write(tail)
    outcome, peak = peak_memory(env, tmp_path, "ao-status", "huge")
    assert (outcome.status, outcome.out, outcome.err) == (0, "running\n", "")
    assert peak < MEMORY_BOUND_KIB, f"ao-status peaked at {peak // 1024} MiB"
    outcome, peak = peak_memory(env, tmp_path, "ao-get-result", "huge")
    assert outcome.status == 1
    assert "still running" in outcome.err
    assert peak < MEMORY_BOUND_KIB, f"ao-get-result peaked at {peak // 1024} MiB"


@pytest.mark.slow
@pytest.mark.parametrize("flags", [[], ["--json"]], ids=["text", "json"])
@pytest.mark.parametrize("kind", ["text", "escapes"])
def test_a_result_at_the_line_limit_stays_within_the_memory_bound(
    env, backups, tmp_path, kind, flags
):
    """Issue 19, item 9: the longest last line read (just under 64 MiB) held as bytes,
    text, parsed value and output at most two at a time (before: 208 MiB)."""
    from ao_plugins.file import LAST_LINE_LIMIT

    result = "x" * (LAST_LINE_LIMIT - 1024) if kind == "text" else "\x1b" * (LAST_LINE_LIMIT // 7)
    backups.meta("big")
    backups.log("big", result_message(result))
    del result
    outcome, peak = peak_memory(env, tmp_path, "ao-get-result", "big", *flags)
    assert (outcome.status, outcome.err) == (0, "")
    assert len(outcome.out) > LAST_LINE_LIMIT // 2
    assert peak < MEMORY_BOUND_KIB, f"ao-get-result peaked at {peak // 1024} MiB"


def test_a_sparse_gigabyte_of_line_breaks_is_running(backups, config):
    backups.meta("s")
    log = backups.log("s", result_message())
    with open(log, "r+b") as f:
        f.truncate(2**30)  # the rest is NUL bytes: a last line far over the limit
    assert status_of(config, "s") == "running"


def test_the_last_line_limit_is_exact(backups, config):
    message = json.dumps(result_message("at the limit")).encode()
    backups.meta("s")
    log = backups.path / "s.jsonl"
    # JSON allows leading whitespace: the padded line is a valid result message.
    log.write_bytes(b"{}\n" + b" " * (LAST_LINE_LIMIT - len(message)) + message + b"\n")
    assert status_of(config, "s") == "finished"
    assert FileBackend().fetch_result(session=Session(name="s"), config=config) == "at the limit"
    log.write_bytes(b"{}\n" + b" " * (LAST_LINE_LIMIT + 1 - len(message)) + message + b"\n")
    assert status_of(config, "s") == "running"


def test_a_meta_file_over_the_limit_leaves_the_metadata_unknown(script, backups):
    for name, size in [("at", META_LIMIT), ("over", META_LIMIT + 1)]:
        meta = json.dumps({"session_id": f"id-{name}", "project_dir": "/p"}).encode()
        (backups.path / f"{name}.meta.json").write_bytes(meta + b" " * (size - len(meta)))
        backups.log(name, result_message())
    listed = script("ao-list-sessions")
    assert (listed.status, listed.err) == (0, "")
    assert listed.out.splitlines() == [
        "at (session-id: id-at, project-dir: /p)",
        "over (session-id: unknown, project-dir: unknown)",
    ]
    assert script("ao-status", "over").out == "finished\n"


# --- one bad file spoils only itself -------------------------------------------------


def _deep(path: Path) -> None:
    path.write_text("[" * 100_000)


def _loop(path: Path) -> None:
    path.symlink_to(path.name)


def _dangling(path: Path) -> None:
    path.symlink_to("nowhere.meta.json")


def test_a_meta_file_too_deep_for_the_parser_is_a_session_without_metadata(script, backups):
    backups.finished("good")
    _deep(backups.path / "deep.meta.json")
    listed = script("ao-list-sessions")
    assert (listed.status, listed.err) == (0, "")
    assert listed.out.splitlines() == [
        "deep (session-id: unknown, project-dir: unknown)",
        "good (session-id: sid, project-dir: /proj)",
    ]
    assert script("ao-status", "deep").out == "running\n"
    cleaned = script("ao-clean", "--all")
    assert (cleaned.status, cleaned.err) == (0, "")
    assert backups.names() == []


def test_a_last_line_too_deep_for_the_parser_is_running(script, backups):
    backups.meta("s")
    backups.log("s", tail=b"[" * 100_000 + b"\n")
    outcome = script("ao-status", "s")
    assert (outcome.status, outcome.out, outcome.err) == (0, "running\n", "")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(_loop, id="symlink-loop"),
        pytest.param(_dangling, id="dangling-symlink"),
    ],
)
def test_a_broken_symlink_meta_is_not_a_session_and_spoils_nothing(script, backups, make):
    backups.finished("good")
    bad = backups.path / "bad.meta.json"
    make(bad)
    listed = script("ao-list-sessions")
    assert (listed.status, listed.out, listed.err) == (
        0,
        "good (session-id: sid, project-dir: /proj)\n",
        "",
    )
    assert script("ao-status", "bad").out == "not_existent\n"
    cleaned = script("ao-clean", "--all")
    assert (cleaned.status, cleaned.out, cleaned.err) == (0, "Deleted session 'good'\n", "")
    assert os.path.lexists(bad)


@pytest.mark.parametrize("stem", [".alpha", "a b", "x" * 61, "a.b", "é"])
def test_a_meta_file_whose_name_is_not_a_session_name_is_not_a_session(script, backups, stem):
    backups.finished("good")
    backups.finished(stem)
    listed = script("ao-list-sessions")
    assert (listed.status, listed.out, listed.err) == (
        0,
        "good (session-id: sid, project-dir: /proj)\n",
        "",
    )
    cleaned = script("ao-clean", "--all")
    assert (cleaned.status, cleaned.out, cleaned.err) == (0, "Deleted session 'good'\n", "")
    assert backups.names() == sorted([f"{stem}.jsonl", f"{stem}.meta.json"])


def test_every_bad_file_at_once_spoils_only_itself(script, backups):
    backups.finished("good")
    _deep(backups.path / "deep.meta.json")
    _loop(backups.path / "loop.meta.json")
    _fifo(backups.path / "fifo.meta.json")
    backups.finished(".hidden")
    listed = script("ao-list-sessions", timeout=STUCK)
    assert (listed.status, listed.err) == (0, "")
    assert [line.split()[0] for line in listed.out.splitlines()] == ["deep", "good"]


# --- deleting: never half a session ---------------------------------------------------


@pytest.mark.parametrize("stuck", [".jsonl", ".meta.json.tmp"])
def test_a_failed_delete_leaves_a_session_that_can_be_deleted_later(backups, config, stuck):
    backups.finished("a")
    backups.finished("b")
    (backups.path / "a.meta.json.tmp").write_text("{}")
    blocker = backups.path / f"a{stuck}"
    blocker.unlink()
    _directory(blocker)  # a non-empty directory: unlink() fails with EISDIR
    before_b = {p: p.read_bytes() for p in backups.path.glob("b.*")}
    fb = FileBackend()
    with pytest.raises(StorageError, match=f"Cannot delete .*a{stuck.replace('.', '[.]')}: "):
        fb.delete_session(session=Session(name="a"), config=config)
    assert (backups.path / "a.meta.json").exists()
    assert fb.resolve_session(name="a", config=config) is not None
    assert {p: p.read_bytes() for p in backups.path.glob("b.*")} == before_b
    (blocker / "inside").unlink()
    blocker.rmdir()
    assert fb.delete_session(session=Session(name="a"), config=config) is True
    assert sorted(p.name for p in backups.path.glob("a*")) == []


# --- permission denied ----------------------------------------------------------------


@pytest.fixture
def restricted(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Outcome]]:
    """Run an installed command that file permissions stop (root's overrides dropped).

    Modes changed by a test are restored afterwards, so the temp directory can be removed.
    """
    prefix = without_overrides(tmp_path)
    sessions = Path(env["AGENT_ORCHESTRATOR_PROJECT_DIR"]) / ".agent-orchestrator"

    def run(command: str, *args: str) -> Outcome:
        proc = subprocess.run(
            [*prefix, str(BIN_DIR / command), *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=clean_environ(**env),
        )
        return Outcome(proc.returncode, proc.stdout, proc.stderr)

    yield run
    for path in [sessions / "agent-sessions", *sessions.glob("agent-sessions/*")]:
        if not path.is_symlink():
            path.chmod(0o700)


def _denied(outcome: Outcome, path: Path) -> None:
    assert outcome.status == 1, outcome
    assert outcome.out == ""
    assert outcome.err.startswith("Error: ")
    assert str(path) in outcome.err
    assert outcome.err.rstrip().endswith("Permission denied")


@pytest.mark.parametrize("mode", [0o000, 0o600], ids=["no-access", "no-search"])
def test_an_unreadable_sessions_directory_is_an_error(restricted, backups, mode):
    backups.finished("a")
    backups.path.chmod(mode)
    for command in [("ao-status", "a"), ("ao-get-result", "a"), ("ao-clean", "a")]:
        outcome = restricted(*command)
        assert outcome.status == 1, outcome
        assert outcome.err.rstrip().endswith("Permission denied"), outcome
        assert str(backups.path) in outcome.err
    listed = restricted("ao-list-sessions")
    assert (listed.status, listed.out) == (1, "")
    assert listed.err.rstrip().endswith("Permission denied")
    backups.path.chmod(0o700)
    assert backups.names() == ["a.jsonl", "a.meta.json"]


def test_an_unreadable_log_is_an_error_but_a_missing_one_is_running(restricted, backups):
    backups.finished("a")
    backups.meta("b")
    log = backups.path / "a.jsonl"
    log.chmod(0)
    for command in ["ao-status", "ao-get-result"]:
        _denied(restricted(command, "a"), log)
    assert restricted("ao-status", "b").out == "running\n"


def test_an_unreadable_meta_file_is_an_error_but_spoils_only_its_own_line(restricted, backups):
    backups.finished("a", session_id="s-a")
    backups.finished("b", session_id="s-b")
    meta = backups.path / "a.meta.json"
    meta.chmod(0)
    _denied(restricted("ao-status", "a"), meta)
    assert restricted("ao-status", "b").out == "finished\n"
    listed = restricted("ao-list-sessions")
    assert listed.status == 0
    assert listed.err == f"Warning: Cannot read {meta}: Permission denied\n"
    assert listed.out.splitlines() == [
        "a (session-id: unknown, project-dir: unknown)",
        "b (session-id: s-b, project-dir: /proj)",
    ]


def test_an_undeletable_session_keeps_its_meta_file(restricted, backups):
    backups.finished("a")
    backups.path.chmod(0o500)
    outcome = restricted("ao-clean", "a")
    assert outcome.status == 1
    assert f"Cannot delete {backups.path / 'a.jsonl'}: Permission denied" in outcome.err
    backups.path.chmod(0o700)
    assert backups.names() == ["a.jsonl", "a.meta.json"]
