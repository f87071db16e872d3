"""ao mcp through the MCP SDK's own stdio client, against the installed ``ao-mcp`` process:
its tools and their schemas, every tool on the backup files and on both test servers
(the Agent Coordinator with its real test runner included), errors and their codes,
progress, cancellation, concurrency, a backend that prints on stdout, a server that goes
down, and the start-up of the other commands, which never load the SDK."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import BIN_DIR, clean_environ
from jsonschema import Draft202012Validator
from mcp.shared.exceptions import MCPError
from mcp_client import serve, stderr, texts
from plugin_dir import install
from runs_fixtures import RunsCoordinator

from ao_core import schemas
from ao_core.mcp.tools import TOOLS

TOOL_NAMES = [
    "status",
    "get_result",
    "list_sessions",
    "wait",
    "start",
    "resume",
    "stop",
    "clean",
    "list_blueprints",
    "show_config",
    "plugins",
]
QUESTIONS = {
    "status",
    "get_result",
    "list_sessions",
    "wait",
    "list_blueprints",
    "show_config",
    "plugins",
}
SLOW = "sleep 30 please"


def ok(result: Any) -> dict[str, Any]:
    """A successful answer's structured content, checked against its JSON text."""
    assert not result.is_error, texts(result)
    assert json.loads(texts(result)[0]) == result.structured_content
    return result.structured_content


def failed(result: Any) -> tuple[str, dict[str, Any]]:
    """A tool error's first text (its Error: line) and its structured content."""
    assert result.is_error, result.structured_content
    return texts(result)[0], result.structured_content


# --- the tools ---------------------------------------------------------------------------


@pytest.mark.parametrize("via_ao", [False, True], ids=["ao-mcp", "ao mcp"])
def test_every_tool_is_listed_with_its_schemas_and_hints(env, tmp_path, via_ao) -> None:
    async def scenario(session):
        return await session.list_tools()

    listed = serve(scenario, env, tmp_path, via_ao=via_ao).tools
    assert [tool.name for tool in listed] == TOOL_NAMES == [tool.name for tool in TOOLS]
    by_name = {tool.name: tool for tool in listed}
    for tool in listed:
        assert tool.title and tool.description
        for schema in (tool.input_schema, tool.output_schema):
            Draft202012Validator.check_schema(schema)
            assert schema["type"] == "object"
        for argument, schema in tool.input_schema["properties"].items():
            assert schema.get("description"), f"{tool.name}.{argument}"
        assert tool.annotations.read_only_hint is (tool.name in QUESTIONS)
        assert tool.annotations.destructive_hint is (
            None if tool.name in QUESTIONS else tool.name in ("clean", "stop")
        )
    # the output schemas are the --json shapes, from the one description of them
    assert by_name["get_result"].output_schema == schemas.RESULT
    assert by_name["show_config"].output_schema == schemas.CONFIG
    for name, item in [
        ("status", schemas.STATUS),
        ("list_sessions", schemas.SESSION),
        ("stop", schemas.STOPPED),
        ("clean", schemas.CLEANED),
    ]:
        assert by_name[name].output_schema["properties"]["sessions"]["items"] == item
    blueprints = by_name["list_blueprints"].output_schema["properties"]["blueprints"]
    assert blueprints["items"] == schemas.BLUEPRINT
    assert by_name["start"].output_schema["oneOf"][:2] == [schemas.RESULT, schemas.DETACHED]


def test_every_tool_on_the_backup_files(env, backups, tmp_path, script) -> None:
    backups.finished("alpha", "the answer")
    backups.running("beta")
    backups.failed("gamma")

    async def scenario(session):
        calls = [
            ("status", {"names": ["alpha", "beta", "gamma", "nobody"]}),
            ("get_result", {"name": "alpha"}),
            ("list_sessions", {"long": True}),
            ("list_sessions", {"status": ["running"]}),
            ("wait", {"names": ["alpha", "gamma"]}),
            ("wait", {"names": ["beta"], "timeout": 0}),
            ("show_config", {"name": "alpha"}),
            ("plugins", {}),
            ("stop", {"names": ["gamma"]}),
            ("clean", {"names": ["alpha"], "dry_run": True}),
            ("clean", {"names": ["alpha", "nobody"]}),
            ("list_blueprints", {}),
            ("start", {"name": "new", "prompt": "hi"}),
            ("resume", {"name": "gamma", "prompt": "more"}),
        ]
        return [await session.call_tool(name, arguments) for name, arguments in calls]

    expected_json = {
        command: json.loads(script(command, *argv, "--json").out)
        for command, argv in [
            ("ao-status", ["alpha", "beta", "gamma", "nobody"]),
            ("ao-get-result", ["alpha"]),
            ("ao-list-sessions", ["--long"]),
            ("ao-show-config", ["alpha"]),
            ("ao-plugins", []),
        ]
    }
    (status, result, listing, running, waited, still, config, plugins, stop, dry, clean,
     blueprints, start, resume) = serve(scenario, env, tmp_path)  # fmt: skip
    # the same documents as --json (arrays held in an object)
    assert ok(status) == {"sessions": expected_json["ao-status"]}
    assert [r["status"] for r in ok(status)["sessions"]] == [
        "finished",
        "running",
        "failed",
        "not_existent",
    ]
    assert ok(result) == expected_json["ao-get-result"] == {"name": "alpha", "result": "the answer"}
    assert ok(listing) == {"sessions": expected_json["ao-list-sessions"]}
    assert [s["name"] for s in ok(running)["sessions"]] == ["beta"]
    assert ok(waited)["ended"] is True
    assert ok(still) == {
        "ended": False,
        "sessions": [{"name": "beta", "status": "running", "backend": "file"}],
    }
    assert ok(config) == expected_json["ao-show-config"]
    assert ok(plugins) == {"backends": expected_json["ao-plugins"]}
    assert ok(stop) == {"sessions": [{"name": "gamma", "stopped": False, "status": "failed"}]}
    assert ok(dry) == {"sessions": [{"name": "alpha", "deleted": False, "would_delete": True}]}
    # a name that failed: a tool error carrying every name's record and each error's code
    line, records = failed(clean)
    assert line == "Error: Session 'nobody' does not exist"
    assert records["sessions"] == [
        {"name": "alpha", "deleted": True},
        {
            "name": "nobody",
            "deleted": False,
            "error": {"code": "not_existent", "message": "Session 'nobody' does not exist"},
        },
    ]
    assert not (backups.path / "alpha.meta.json").exists()
    for answer in (blueprints, start, resume):
        line, document = failed(answer)
        assert document["error"]["code"] == "unsupported"
        assert line == f"Error: {document['error']['message']}"


def test_the_session_manager(session_manager, backups, tmp_path) -> None:
    session_manager.add("sid-1", "alpha", result="from the server")
    session_manager.add("sid-2", "beta")
    settings = session_manager.env(AGENT_ORCHESTRATOR_PROJECT_DIR=str(backups.path.parent.parent))

    async def scenario(session):
        return (
            await session.call_tool("status", {"names": ["alpha", "beta"]}),
            await session.call_tool("get_result", {"name": "alpha"}),
            await session.call_tool("list_sessions", {}),
            await session.call_tool("start", {"name": "gamma", "prompt": "hi"}),
        )

    status, result, listing, start = serve(scenario, settings, tmp_path)
    assert [(r["status"], r["backend"]) for r in ok(status)["sessions"]] == [
        ("finished", "api"),
        ("running", "api"),
    ]
    assert ok(result) == {"name": "alpha", "result": "from the server"}
    assert {s["name"] for s in ok(listing)["sessions"]} == {"alpha", "beta"}
    assert failed(start)[1]["error"]["code"] == "unsupported"


# --- driving sessions on the Agent Coordinator and its runner ---------------------------


@pytest.fixture
def coordinator_env(runs_coordinator: RunsCoordinator, backups) -> dict[str, str]:
    return runs_coordinator.env(AGENT_ORCHESTRATOR_PROJECT_DIR=str(backups.path.parent.parent))


def test_start_resume_stop_clean_on_the_coordinator(
    runs_coordinator, coordinator_env, tmp_path
) -> None:
    server = runs_coordinator

    async def scenario(session):
        answers = {}
        answers["start"] = await session.call_tool("start", {"name": "alpha", "prompt": "hello"})
        answers["again"] = await session.call_tool("start", {"name": "alpha", "prompt": "x"})
        answers["resume"] = await session.call_tool("resume", {"name": "alpha", "prompt": "more"})
        answers["story"] = await session.call_tool(
            "start", {"name": "story", "agent": "topic", "params": {"topic": "cats"}}
        )
        answers["ghost"] = await session.call_tool(
            "start", {"name": "ghost", "prompt": "x", "agent": "ghost"}
        )
        answers["broken"] = await session.call_tool(
            "start", {"name": "broken", "prompt": "hi", "agent": "crash"}
        )
        answers["blueprints"] = await session.call_tool("list_blueprints", {})
        answers["config"] = await session.call_tool("show_config", {"name": "alpha"})
        answers["slow"] = await session.call_tool(
            "start", {"name": "slowpoke", "prompt": SLOW, "detach": True}
        )
        answers["busy"] = await session.call_tool("resume", {"name": "slowpoke", "prompt": "x"})
        answers["stop"] = await session.call_tool("stop", {"names": ["slowpoke"]})
        answers["clean"] = await session.call_tool("clean", {"names": ["alpha"], "stop": True})
        return answers

    answers = serve(scenario, coordinator_env, tmp_path)
    assert ok(answers["start"]) == {"name": "alpha", "result": "echo: hello"}
    line, error = failed(answers["again"])
    assert error["error"]["code"] == "already_exists" and line.startswith("Error: Session 'alpha'")
    assert ok(answers["resume"]) == {"name": "alpha", "result": "echo: more"}
    assert ok(answers["story"]) == {"name": "story", "result": {"output": "a story about cats"}}
    assert failed(answers["ghost"]) == (
        "Error: Agent not found: ghost",
        {"name": None, "error": {"code": "agent_unavailable", "message": "Agent not found: ghost"}},
    )
    line, error = failed(answers["broken"])
    assert error["error"]["code"] == "failed"
    assert line.startswith("Error: Session 'broken' ended in error: ") and "\x1b" not in line
    names = {b["name"] for b in ok(answers["blueprints"])["blueprints"]}
    assert {"echo", "topic", "crash", "slow", "retired"} <= names
    config = ok(answers["config"])
    assert (config["name"], config["backend"], config["status"]) == ("alpha", "api", "idle")
    slow = ok(answers["slow"])
    assert slow["detached"] is True and server.run(slow["run_id"])["session_id"] == "slowpoke"
    assert failed(answers["busy"])[1]["error"]["code"] == "still_running"
    assert ok(answers["stop"]) == {
        "sessions": [{"name": "slowpoke", "stopped": True, "status": "stopped"}]
    }
    assert ok(answers["clean"]) == {
        "sessions": [{"name": "alpha", "deleted": True, "stopped": True}]
    }
    assert server.get("alpha") is None


def test_a_wait_reports_progress_until_the_session_finishes(
    runs_coordinator, coordinator_env, tmp_path
) -> None:
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async def scenario(session):
        await session.call_tool("start", {"name": "alpha", "prompt": "first"})
        resumed = await session.call_tool(
            "resume", {"name": "alpha", "prompt": "sleep 3 then answer", "detach": True}
        )
        waited = await session.call_tool(
            "wait", {"names": ["alpha"], "timeout": 60}, progress_callback=on_progress
        )
        result = await session.call_tool("get_result", {"name": "alpha"})
        return resumed, waited, result

    resumed, waited, result = serve(scenario, coordinator_env, tmp_path)
    assert ok(resumed)["detached"] is True
    assert ok(waited) == {
        "ended": True,
        "sessions": [{"name": "alpha", "status": "idle", "backend": "api"}],
    }
    assert ok(result)["result"].startswith("echo: sleep 3 then answer")
    assert progress, "no progress notification during the wait"
    values = [value for value, _ in progress]
    assert values == sorted(values)
    assert all(message and message.startswith("alpha: ") for _, message in progress)


def test_a_start_that_outlasts_its_timeout_says_it_has_not_ended(
    runs_coordinator, coordinator_env, tmp_path
) -> None:
    async def scenario(session):
        return await session.call_tool("start", {"name": "slowpoke", "prompt": SLOW, "timeout": 0})

    document = ok(serve(scenario, coordinator_env, tmp_path))
    assert document["ended"] is False and document["status"] in ("pending", "running")
    assert runs_coordinator.run(document["run_id"])["session_id"] == "slowpoke"


def test_a_wait_that_runs_out_lets_go_of_its_event_stream(
    runs_coordinator, coordinator_env, tmp_path
) -> None:
    """The server lives on after its calls: a wait that ended unfinished closes the stream
    it followed (a command's process exit would have), so waits called again and again
    hold no streams or threads."""

    async def scenario(session):
        await session.call_tool("start", {"name": "slowpoke", "prompt": SLOW, "detach": True})
        waited = await session.call_tool("wait", {"names": ["slowpoke"], "timeout": 1})
        following = runs_coordinator.open_streams
        await anyio.to_thread.run_sync(runs_coordinator.wait_streams_closed)
        again = await session.call_tool("status", {"names": ["slowpoke"]})
        return waited, following, again

    waited, following, again = serve(scenario, coordinator_env, tmp_path)
    assert ok(waited)["ended"] is False
    assert following <= 1  # closed as the call ended, or about to be
    assert ok(again)["sessions"][0]["status"] == "running"


def test_a_wait_blocks_no_other_call_and_a_cancelled_one_leaves_the_server_answering(
    runs_coordinator, coordinator_env, tmp_path
) -> None:
    async def scenario(session):
        await session.call_tool("start", {"name": "slowpoke", "prompt": SLOW, "detach": True})
        waiting = anyio.Event()
        outcome: dict[str, Any] = {}

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            waiting.set()

        async def wait() -> None:
            with anyio.CancelScope() as scope:
                outcome["scope"] = scope
                outcome["answer"] = await session.call_tool(
                    "wait", {"names": ["slowpoke"], "timeout": 600}, progress_callback=on_progress
                )

        async with anyio.create_task_group() as group:
            group.start_soon(wait)
            await waiting.wait()
            outcome["during"] = await session.call_tool("status", {"names": ["slowpoke"]})
            outcome["streams"] = runs_coordinator.open_streams
            outcome["scope"].cancel()
        cancelled = time.monotonic()
        # the cancelled wait lets go of its event stream, long before its 600 s
        await anyio.to_thread.run_sync(runs_coordinator.wait_streams_closed)
        outcome["closed after"] = time.monotonic() - cancelled
        outcome["after"] = await session.call_tool("status", {"names": ["slowpoke"]})
        outcome["stopped"] = await session.call_tool("stop", {"names": ["slowpoke"]})
        return outcome

    outcome = serve(scenario, coordinator_env, tmp_path)
    assert "answer" not in outcome  # cancelled before it ended
    assert outcome["streams"] == 1  # the wait was following the event stream
    print(f"stream closed {outcome['closed after']:.3f} s after the cancel")
    assert ok(outcome["during"])["sessions"][0]["status"] == "running"
    assert ok(outcome["after"])["sessions"][0]["status"] == "running"
    assert ok(outcome["stopped"])["sessions"][0]["stopped"] is True


# --- failures ------------------------------------------------------------------------------


def test_bad_arguments_are_tool_errors_and_the_server_goes_on(env, backups, tmp_path) -> None:
    backups.finished("alpha")

    async def scenario(session):
        answers = [
            await session.call_tool("status", {"names": []}),
            await session.call_tool("status", {"names": ["alpha"], "colour": "red"}),
            await session.call_tool("status", {}),
            await session.call_tool("get_result", {"name": 42}),
            await session.call_tool("get_result", {"name": "../../etc/passwd"}),
            await session.call_tool("get_result", {"name": "nobody"}),
            await session.call_tool("wait", {"names": ["alpha"], "timeout": -1}),
            await session.call_tool("clean", {"names": ["alpha"], "all": True}),
            await session.call_tool("start", {"name": "x", "prompt": "a", "params": {}}),
        ]
        try:
            await session.call_tool("no_such_tool", {})
        except MCPError as exc:
            answers.append(exc)
        answers.append(await session.call_tool("status", {"names": ["alpha"]}))
        return answers

    *errors, unknown, last = serve(scenario, env, tmp_path)
    codes = [failed(answer)[1]["error"]["code"] for answer in errors]
    assert codes == [
        "usage",
        "usage",
        "usage",
        "usage",
        "invalid_name",
        "not_existent",
        "usage",
        "usage",
        "usage",
    ]
    for answer in errors:
        line, document = failed(answer)
        assert line == f"Error: {document['error']['message']}"
    assert failed(errors[1])[0] == (
        "Error: status: arguments: Additional properties are not allowed ('colour' was unexpected)"
    )
    assert "Unknown tool: no_such_tool" in str(unknown)
    assert ok(last)["sessions"][0]["status"] == "finished"


def test_a_backend_that_prints_on_stdout_cannot_break_the_stream(env, backups, tmp_path) -> None:
    backups.finished("alpha")
    settings = install(
        tmp_path / "plugins",
        {
            "chatty": """
                import os
                from ao_core import hookimpl

                @hookimpl
                def resolve_session(name, config):
                    print("chatty was asked about", name)
                    os.write(1, b"chatty wrote on fd 1\\n")
                    return None
            """
        },
    )
    settings.update(env, AGENT_ORCHESTRATOR_BACKENDS="chatty,file")

    async def scenario(session):
        return [await session.call_tool("status", {"names": ["alpha"]}) for _ in range(3)]

    for answer in serve(scenario, settings, tmp_path):
        assert ok(answer) == {
            "sessions": [{"name": "alpha", "status": "finished", "backend": "file"}]
        }
    written = stderr(tmp_path)
    assert "chatty was asked about alpha" in written and "chatty wrote on fd 1" in written


def test_a_server_down_mid_session_is_the_usual_warning_and_the_files_answer(
    start_coordinator, backups, tmp_path
) -> None:
    server = start_coordinator()
    server.add("alpha", "running")
    backups.finished("alpha", "from the files")
    settings = server.env(AGENT_ORCHESTRATOR_PROJECT_DIR=str(backups.path.parent.parent))

    async def scenario(session):
        before = await session.call_tool("status", {"names": ["alpha"]})
        await anyio.to_thread.run_sync(server.stop)
        after = await session.call_tool("status", {"names": ["alpha"]})
        result = await session.call_tool("get_result", {"name": "alpha"})
        return before, after, result

    before, after, result = serve(scenario, settings, tmp_path)
    assert ok(before) == {"sessions": [{"name": "alpha", "status": "running", "backend": "api"}]}
    document = ok(after)
    assert document["sessions"] == [{"name": "alpha", "status": "finished", "backend": "file"}]
    ((unavailable),) = document["unavailable"]
    assert (unavailable["backend"], unavailable["code"]) == ("api", "unreachable")
    warning = texts(after)[1]
    assert warning.startswith("Warning: ") and "falling back to the other backends" in warning
    assert ok(result)["result"] == "from the files"


# --- installation and start-up -------------------------------------------------------------


def test_without_the_sdk_ao_mcp_says_what_to_install(env, tmp_path) -> None:
    shadow = tmp_path / "no-sdk" / "mcp"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'mcp'\", name='mcp')\n"
    )
    for argv in (["ao-mcp"], ["ao", "mcp"]):
        proc = subprocess.run(
            [str(BIN_DIR / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            env=clean_environ(**env, PYTHONPATH=str(shadow.parent)),
        )
        assert (proc.returncode, proc.stdout) == (1, "")
        assert proc.stderr == (
            "Error: ao mcp needs the MCP SDK (mcp is missing): pip install 'ao-sessions[mcp]'\n"
        )


PROBE = """\
import json, sys
from ao_core.commands.status import main
status = main(["alpha"])
print(json.dumps([status, sorted(sys.modules)]), file=sys.stderr)
"""


def test_the_other_commands_never_load_the_sdk(env, backups, tmp_path) -> None:
    backups.finished("alpha")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environ(**env),
        cwd=tmp_path,
    )
    status, loaded = json.loads(proc.stderr.splitlines()[-1])
    assert (status, proc.stdout) == (0, "finished\n")
    roots = {name.partition(".")[0] for name in loaded}
    assert {"mcp", "mcp_types", "pydantic", "pydantic_core", "anyio", "jsonschema"} & roots == set()
    assert "ao_core.mcp" not in loaded and "ao_core.schemas" not in loaded


def test_a_bad_setting_ends_the_server_before_it_serves(tmp_path) -> None:
    proc = subprocess.run(
        [str(BIN_DIR / "ao-mcp"), "--project-dir", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=clean_environ(),
    )
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith("Error: Project directory does not exist: ")


def test_the_benchmark_runs_and_writes_its_section(tmp_path) -> None:
    """bench/mcp_bench.py, tiny, so it cannot rot; no timings are asserted."""
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n")
    bench = Path(__file__).resolve().parent.parent / "bench" / "mcp_bench.py"
    argv = ["--rounds", "1", "--calls", "1", "--write", "--output", str(output)]
    proc = subprocess.run(
        [sys.executable, str(bench), *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    text = output.read_text()
    assert text.count("<!-- mcp:begin -->") == 1 and "a `status` tool call" in text
