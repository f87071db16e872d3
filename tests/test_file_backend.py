"""The file backend against backup files in the contract's exact format."""

from __future__ import annotations

import json

import pytest
from backup_files import result_message

from ao_core import Config, Session, SessionFailed
from ao_plugins.file import FileBackend, last_line


@pytest.fixture
def config(backups) -> Config:
    return Config(project_dir=backups.path.parent.parent, sessions_dir=backups.path)


@pytest.fixture
def fb() -> FileBackend:
    return FileBackend()


def status(fb, config, name):
    session = fb.resolve_session(name=name, config=config)
    return session and fb.fetch_status(session=session, config=config)


@pytest.mark.parametrize(
    "lines",
    [
        [b"one\n", b"two\n", b"three"],
        [b"one\n", b"two\n", b"three\n"],
        [b"one\n", b"three\n\n\n"],
        [b"three\r\n"],
        [b"three"],
    ],
)
def test_last_line(tmp_path, lines):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"".join(lines))
    assert last_line(path) == b"three"


def test_last_line_of_empty_or_blank_file(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"")
    assert last_line(path) == b""
    path.write_bytes(b"\n\n")
    assert last_line(path) == b""
    path.write_bytes(b"\r\n")
    assert last_line(path) == b""


def test_status_follows_the_contract(backups, config, fb):
    assert status(fb, config, "ghost") is None
    backups.meta("starting", session_id=None)
    assert status(fb, config, "starting") == "running"
    backups.meta("empty")
    backups.log("empty").write_bytes(b"")
    assert status(fb, config, "empty") == "running"
    backups.running("busy")
    assert status(fb, config, "busy") == "running"
    backups.finished("done")
    assert status(fb, config, "done") == "finished"


@pytest.mark.parametrize(
    "tail",
    [
        b'{"subtype": "success", "result": "half wri',  # agent mid-write
        b"\x00\xff\xfe garbage \x81",  # binary
        b"[1, 2, 3]\n",  # JSON, not an object
        b'{"subtype": "success"}\n',  # no result field
        b'{"subtype": "init", "data": {}}\n',  # a system message
        b'"just a string"\n',
    ],
)
def test_anything_but_a_result_message_means_running(backups, config, fb, tail):
    backups.meta("s")
    backups.log("s", {"content": [{"text": "hi"}]}, tail=tail)
    assert status(fb, config, "s") == "running"
    assert fb.fetch_result(session=Session(name="s"), config=config) is None


@pytest.mark.parametrize("subtype", ["error_max_turns", "error_during_execution"])
def test_a_run_that_ended_in_error_is_failed_and_its_result_fails(backups, config, fb, subtype):
    backups.failed("broken", subtype=subtype)
    assert status(fb, config, "broken") == "failed"
    assert status(fb, config, "broken").reason == subtype
    with pytest.raises(SessionFailed, match=subtype):
        fb.fetch_result(session=Session(name="broken"), config=config)


def test_result_is_the_last_lines_result_even_when_large(backups, config, fb):
    big = "x" * (5 * 1024 * 1024) + 'é\n"end'
    backups.meta("big")
    backups.log("big", {"content": []}, result_message(big))
    assert status(fb, config, "big") == "finished"
    assert fb.fetch_result(session=Session(name="big"), config=config) == big


def test_a_changed_log_is_read_again(backups, config, fb):
    backups.running("s")
    assert status(fb, config, "s") == "running"
    with open(backups.path / "s.jsonl", "a") as f:
        f.write(json.dumps(result_message("now done")) + "\n")
    assert status(fb, config, "s") == "finished"
    assert fb.fetch_result(session=Session(name="s"), config=config) == "now done"


def test_resolve_reads_the_meta_file(backups, config, fb):
    backups.meta("a", session_id="abc", project_dir="/p")
    assert fb.resolve_session(name="a", config=config) == Session(
        name="a", session_id="abc", project_dir="/p", backend="file"
    )


@pytest.mark.parametrize("content", [b"", b"{not json", b"[]", b"\xff\xfe", b'{"session_id": 7}'])
def test_an_unreadable_meta_file_still_makes_a_session(backups, config, fb, content):
    (backups.path / "odd.meta.json").write_bytes(content)
    assert fb.resolve_session(name="odd", config=config) == Session(name="odd", backend="file")
    assert status(fb, config, "odd") == "running"


def test_names_that_could_escape_the_directory_are_never_used(backups, config, fb):
    backups.finished("victim")
    outside = backups.path.parent / "outside.meta.json"
    outside.write_text("{}")
    for name in ["../outside", "../agent-sessions/victim", "/etc/passwd", "a/b", ""]:
        assert fb.resolve_session(name=name, config=config) is None
        assert not fb.delete_session(session=Session(name=name), config=config)
    assert outside.exists()
    assert "victim.meta.json" in backups.names()


def test_delete_removes_that_sessions_files_only(backups, config, fb):
    for name in ["a", "a-b", "a_b", "ab"]:
        backups.finished(name)
    (backups.path / "a.meta.json.tmp").write_text("{}")
    (backups.path / "a.txt").write_text("not a session")
    assert fb.delete_session(session=Session(name="a"), config=config) is True
    assert backups.names() == sorted(
        [f"{n}{s}" for n in ["a-b", "a_b", "ab"] for s in [".jsonl", ".meta.json"]] + ["a.txt"]
    )
    assert fb.delete_session(session=Session(name="a"), config=config) is False


def test_list_is_sorted_and_tolerant(backups, config, fb):
    backups.meta("zeta", session_id="z1", project_dir="/z")
    backups.meta("alpha", session_id=None, project_dir="/a")
    (backups.path / "broken.meta.json").write_bytes(b"\x00garbage")
    (backups.path / "orphan.jsonl").write_text("{}\n")
    (backups.path / "notes.txt").write_text("hello")
    (backups.path / "dir.meta.json").mkdir()
    assert fb.list_sessions(config=config) == [
        Session(name="alpha", session_id=None, project_dir="/a", backend="file"),
        Session(name="broken", backend="file"),
        Session(name="zeta", session_id="z1", project_dir="/z", backend="file"),
    ]


def test_missing_sessions_directory_is_an_empty_list(tmp_path, fb):
    config = Config(project_dir=tmp_path, sessions_dir=tmp_path / "nope")
    assert fb.list_sessions(config=config) == []


@pytest.mark.parametrize(
    "before, length, trailing",
    [
        (0, 10, b"\n"),
        (100, 64 * 1024 - 5, b"\n"),
        (100, 64 * 1024 + 5, b"\n"),
        (70_000, 8 * 64 * 1024 + 1, b"\r\n"),
        (10, 600_000, b""),
        (3 * 1024 * 1024, 5 * 1024 * 1024, b"\n\n\n"),
    ],
)
def test_last_line_across_the_spans_it_reads(tmp_path, before, length, trailing):
    """Whatever span holds the line's start, the line read is the file's last line."""
    line = (b"0123456789abcdef" * (length // 16 + 1))[:length]
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"e" * before + b"\n" + line + trailing)
    expected = path.read_bytes().rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    assert expected == line
    assert last_line(path) == line
