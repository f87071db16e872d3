"""ao-logs NAME [--follow] on the backup files: the history, its options, and following a
log another process writes line by line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from backup_files import CREATED, result_message
from conftest import BIN_DIR, clean_environ

ESC = "\x1b"


def tool_session(backups, name: str = "worker", output: str = "line\n" * 12) -> Path:
    """A finished session with a tool call, its result, and text with escape sequences."""
    backups.meta(name)
    return backups.log(
        name,
        {"subtype": "init", "data": {"model": "m1"}},
        {
            "content": [
                {"text": f"looking {ESC}[31mred{ESC}[0m"},
                {"id": "t1", "name": "Bash", "input": {"command": "ls -l\n/tmp"}},
            ],
            "model": "m1",
        },
        {"content": [{"tool_use_id": "t1", "content": output, "is_error": False}]},
        result_message("all done"),
    )


def lines_of(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_history_is_one_block_per_event_oldest_first(ao, backups) -> None:
    tool_session(backups)
    outcome = ao("ao-logs", "worker")
    assert outcome.status == 0 and outcome.err == ""
    headings = [line for line in outcome.out.splitlines() if not line.startswith(" ")]
    kinds = [h.split()[2] if h[0].isdigit() else h.split()[1] for h in headings]
    assert kinds == ["user", "system", "assistant", "tool", "tool_result", "result"]
    assert headings[0].startswith("2025-11-26 21:12:05  user")
    assert "  tool  Bash: ls -l /tmp" in outcome.out  # the input on one line
    assert "  tool_result  Bash" in outcome.out  # named after its call
    assert "  all done" in outcome.out


def test_text_from_the_store_is_escaped(ao, backups) -> None:
    tool_session(backups)
    outcome = ao("ao-logs", "worker")
    assert ESC not in outcome.out
    assert "looking \\x1b[31mred\\x1b[0m" in outcome.out


def test_outputs_are_cut_unless_full(ao, backups) -> None:
    tool_session(backups, output="".join(f"out {i}\n" for i in range(12)))
    cut = ao("ao-logs", "worker")
    assert "  | out 4" in cut.out and "out 5" not in cut.out
    assert "  | ... (7 more lines; --full shows them)" in cut.out
    full = ao("ao-logs", "worker", "--full")
    assert "  | out 11" in full.out and "more lines" not in full.out


def test_json_lines_one_strict_document_per_event(ao, backups) -> None:
    tool_session(backups)
    outcome = ao("ao-logs", "worker", "--json")
    docs = [
        json.loads(line, parse_constant=lambda c: pytest.fail(c))
        for line in outcome.out.splitlines()
    ]
    assert [d["kind"] for d in docs] == [
        "user",
        "system",
        "assistant",
        "tool",
        "tool_result",
        "result",
    ]
    assert all(set(d) == {"time", "kind", "text", "tool", "input", "output", "cut"} for d in docs)
    assert docs[0]["time"] == CREATED
    assert docs[3] == {**docs[3], "tool": "Bash", "input": "ls -l /tmp", "output": None}
    assert docs[4]["cut"] == 7 and docs[4]["output"].count("\n") == 4
    assert ESC in docs[2]["text"]  # JSON carries the text as it is, escaped by JSON


def test_tail_keeps_the_last_events(ao, backups) -> None:
    tool_session(backups)
    outcome = ao("ao-logs", "worker", "--tail", "2", "--json")
    assert [d["kind"] for d in lines_of(outcome.out)] == ["tool_result", "result"]
    none = ao("ao-logs", "worker", "--tail", "0")
    assert (none.status, none.out) == (0, "")


def test_since_drops_what_came_before(ao, backups) -> None:
    backups.meta("timed")
    backups.log(
        "timed",
        {"type": "user_message", "content": "later", "timestamp": "2030-01-01T00:00:00Z"},
        {"content": [{"text": "untimed, after it"}]},
    )
    outcome = ao("ao-logs", "timed", "--since", "2029-12-31T23:59:59Z", "--json")
    assert [d["text"] for d in lines_of(outcome.out)] == ["later", "untimed, after it"]
    recent = ao("ao-logs", "timed", "--since", "10m", "--json")
    assert [d["text"] for d in lines_of(recent.out)] == ["later", "untimed, after it"]
    assert "do it" not in recent.out  # the prompt of 2025


@pytest.mark.parametrize(
    "args",
    [
        ["--tail", "-1"],
        ["--tail", "x"],
        ["--since", "yesterday"],
        ["--timeout", "5"],  # without --follow
    ],
)
def test_bad_options_are_usage_errors(ao, backups, args) -> None:
    backups.finished("done")
    outcome = ao("ao-logs", "done", *args)
    assert outcome.status == 2 and outcome.out == ""


def test_unknown_session(ao, backups) -> None:
    outcome = ao("ao-logs", "ghost")
    assert (outcome.status, outcome.err) == (1, "Error: Session 'ghost' does not exist\n")


def test_lines_that_are_not_json_and_a_session_without_a_log(ao, backups) -> None:
    backups.meta("odd")
    backups.log("odd", tail=b"\x00\xff not json\n[1, 2]\n")
    outcome = ao("ao-logs", "odd", "--json")
    docs = lines_of(outcome.out)
    assert [d["kind"] for d in docs] == ["user", "notice", "notice"]
    assert "not a JSON object" in docs[1]["text"]
    backups.meta("empty")
    assert ao("ao-logs", "empty").out == ""


def test_a_log_that_is_a_fifo_is_never_read(call, backups) -> None:
    backups.meta("piped")
    os.mkfifo(backups.path / "piped.jsonl")
    outcome = call("ao-logs", "piped")
    assert (outcome.status, outcome.out) == (0, "")


def test_follow_of_an_ended_session_prints_its_status_last(ao, backups) -> None:
    backups.finished("done")
    outcome = ao("ao-logs", "done", "--follow")
    assert outcome.status == 0 and outcome.out.splitlines()[-1] == "finished"
    backups.failed("broke")
    failed = ao("ao-logs", "broke", "-f", "--json")
    assert failed.status == 1
    assert lines_of(failed.out)[-1]["kind"] == "status"
    assert lines_of(failed.out)[-1]["text"] == "failed"


def test_follow_times_out_with_124(ao, backups) -> None:
    backups.running("busy")
    outcome = ao("ao-logs", "busy", "-f", "--timeout", "0.3")
    assert outcome.status == 124
    assert outcome.err == "Error: Session 'busy' is still running after --timeout\n"
    assert "working" in outcome.out


WRITER = r"""
import json, sys, time
path, go = sys.argv[1], sys.argv[2]
def wait_for(flag):
    while not __import__("os").path.exists(flag):
        time.sleep(0.01)
with open(path, "ab", buffering=0) as log:
    for i in range(5):
        wait_for(f"{go}.{i}")
        line = json.dumps({"content": [{"text": f"step {i}"}]}).encode() + b"\n"
        half = len(line) // 2
        log.write(line[:half])          # a half-written line ...
        wait_for(f"{go}.{i}.half")
        log.write(line[half:])          # ... and its end
    wait_for(f"{go}.end")
    log.write(json.dumps({"subtype": "success", "is_error": False, "result": "ok"}).encode())
    log.write(b"\n")
"""


def spawn_logs(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN_DIR / "ao-logs"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=clean_environ(**env),
    )


def read_until(stream, wanted: str, timeout: float = 20.0) -> list[str]:
    """Lines of ``stream`` up to and including the first containing ``wanted``."""
    seen: list[str] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = stream.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if wanted in line:
            return seen
    raise AssertionError(f"{wanted!r} not seen in {seen}")


def test_follow_prints_lines_another_process_writes_half_lines_included(
    env, backups, tmp_path
) -> None:
    backups.meta("live")
    log = backups.log("live")
    go = tmp_path / "go"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(log), str(go)])
    follower = spawn_logs(env, tmp_path, "live", "--follow", "--json", "--timeout", "60")
    try:
        assert json.loads(read_until(follower.stdout, '"user"')[-1])["text"] == "do it"
        for i in range(5):
            Path(f"{go}.{i}").touch()
            Path(f"{go}.{i}.half").touch()
            line = read_until(follower.stdout, f"step {i}")[-1]
            assert json.loads(line)["text"] == f"step {i}"  # whole, never the half
        Path(f"{go}.end").touch()
        rest = follower.stdout.read().splitlines()
        assert [json.loads(r)["kind"] for r in rest] == ["result", "status"]
        assert json.loads(rest[-1])["text"] == "finished"
        assert follower.wait(10) == 0
        assert follower.stderr.read() == ""
    finally:
        writer.kill()
        follower.kill()
        writer.wait()
        follower.wait()


def test_a_log_rewritten_under_the_reader_is_read_again_with_one_notice(
    env, backups, tmp_path
) -> None:
    backups.meta("redo")
    log = backups.log("redo", {"content": [{"text": "first version " * 20}]})
    follower = spawn_logs(env, tmp_path, "redo", "-f", "--json", "--timeout", "60")
    try:
        read_until(follower.stdout, "first version")
        replacement = log.with_suffix(".new")
        replacement.write_text(json.dumps({"type": "user_message", "content": "again"}) + "\n")
        os.replace(replacement, log)
        notice = json.loads(read_until(follower.stdout, '"notice"')[-1])
        assert "rewritten" in notice["text"]
        assert json.loads(read_until(follower.stdout, "again")[-1])["kind"] == "user"
        with open(log, "a") as f:
            f.write(json.dumps(result_message("end")) + "\n")
        rest = [json.loads(line) for line in follower.stdout.read().splitlines()]
        assert [d["kind"] for d in rest] == ["result", "status"]
        assert follower.wait(10) == 0
    finally:
        follower.kill()
        follower.wait()


def test_tail_of_a_big_log_reads_only_its_end(call, backups) -> None:
    """A 200 MB log of 2 million lines: --tail 3 gives the last three, in bounded memory."""
    backups.meta("big")
    path = backups.path / "big.jsonl"
    line = json.dumps({"content": [{"text": "x" * 80}]}).encode() + b"\n"
    with open(path, "wb") as f:
        f.write(line * 2_000_000)
        f.write(json.dumps({"content": [{"text": "second to last"}]}).encode() + b"\n")
        f.write(json.dumps(result_message("the end")).encode() + b"\n")
    outcome = call("ao-logs", "big", "--tail", "3", "--json")
    assert [d["text"] for d in lines_of(outcome.out)] == ["x" * 80, "second to last", "the end"]


def test_a_reader_that_goes_away_ends_it_quietly(env, backups, tmp_path) -> None:
    backups.meta("long")
    backups.log("long", *({"content": [{"text": f"message {i}"}]} for i in range(20000)))
    shell = f"'{BIN_DIR / 'ao-logs'}' long | head -1; echo \"status ${{PIPESTATUS[0]}}\" >&2"
    done = subprocess.run(
        ["bash", "-c", shell],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=clean_environ(**env),
    )
    assert done.stdout == "2025-11-26 21:12:05  user\n"
    assert done.stderr == "status 141\n"


def test_a_line_too_long_to_read_is_skipped_with_a_notice(call, backups) -> None:
    """A sparse 80 MiB line (over the 64 MiB limit), then a real one."""
    backups.meta("huge")
    path = backups.log("huge")
    with open(path, "ab") as f:
        f.truncate(os.path.getsize(path) + 80 * 1024 * 1024)
        f.seek(0, os.SEEK_END)
        f.write(b"\n" + json.dumps({"content": [{"text": "after it"}]}).encode() + b"\n")
    docs = lines_of(call("ao-logs", "huge", "--json").out)
    assert [d["kind"] for d in docs] == ["user", "notice", "assistant"]
    assert "longer than 67108864 bytes" in docs[1]["text"]
    tail = lines_of(call("ao-logs", "huge", "--tail", "5", "--json").out)
    assert [d["text"] for d in tail] == ["after it"]  # the tail stops at the long line
    with open(path, "ab") as f:
        f.truncate(os.path.getsize(path) + 80 * 1024 * 1024)  # a last line without an end
    assert call("ao-logs", "huge", "--tail", "1", "--json").out == ""  # unreadable: nothing


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_end_a_follow_quietly(env, backups, tmp_path, signum, status) -> None:
    backups.running("busy")
    follower = spawn_logs(env, tmp_path, "busy", "-f", "--timeout", "60")
    try:
        read_until(follower.stdout, "working")
        follower.send_signal(signum)
        assert follower.wait(20) == status
        assert follower.stderr.read() == ""
    finally:
        follower.kill()
        follower.wait()
