"""Issue 19, items 6 and 7: a broken or hostile plugin of the suite's own, installed for real
(:mod:`plugin_dir`), never takes a command down and never reaches the terminal raw.

BaseExceptions at import and in hooks, a ``KeyboardInterrupt`` raised by the plugin (not
the user's Ctrl-C), sessions whose fields have the wrong types, statuses whose hashing or
truthiness raises, a hook that never returns inside ``--wait``, and text full of escape
sequences, separators and invisible characters: each costs one warning at most, the
other backends still answer, and what is printed is escaped.
"""

from __future__ import annotations

import json
import re
import signal

import pytest
from plugin_dir import DISTRIBUTION, VERSION, install

ORIGIN = f"from {DISTRIBUTION} {VERSION}"
FINISHES = 30

#: A backend that knows one session, "alpha", whose hooks do what HOOK says.
TEMPLATE = """
import time
from ao_core import Session, hookimpl
from ao_core.session import Status

class Odd(str):
    def __hash__(self): raise RuntimeError("no hash for you")
    def __bool__(self): raise RuntimeError("no truth for you")
    def __eq__(self, other): raise RuntimeError("no equality for you")
    __ne__ = __eq__

class Custom(BaseException):
    pass

class Backend:
    @hookimpl
    def resolve_session(self, name, config):
        {resolve}

    @hookimpl
    def fetch_status(self, session, config):
        {status}

    @hookimpl
    def fetch_result(self, session, config):
        {result}

    @hookimpl
    def list_sessions(self, config):
        {listing}

    @hookimpl
    def delete_session(self, session, config):
        return False
"""
ALPHA = 'return Session(name="alpha", session_id="a-1") if name == "alpha" else None'


def plugin(
    resolve: str = ALPHA,
    status: str = "return None",
    listing: str = "return []",
    result: str = "return None",
) -> str:
    """The source of a backend whose hooks run these bodies (Python, any number of lines)."""
    bodies = {"resolve": resolve, "status": status, "listing": listing, "result": result}
    return TEMPLATE.format(**{k: v.replace("\n", "\n        ") for k, v in bodies.items()})


@pytest.fixture
def with_plugins(tmp_path):
    """Install ``{name: source}`` as plugins; the settings that ask them before the files."""

    def make(plugins: dict[str, str], order: str | None = None) -> dict[str, str]:
        env = install(tmp_path / "plugins", plugins)
        env["AGENT_ORCHESTRATOR_BACKENDS"] = order or ",".join([*plugins, "file"])
        return env

    return make


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("Warning:")]


# --- BaseException, at import and in hooks -------------------------------------------------

AT_IMPORT = {
    "keyboard-interrupt": "raise KeyboardInterrupt",
    "generator-exit": "raise GeneratorExit('bye')",
    "system-exit": "raise SystemExit(3)",
    "custom-base-exception": "class Custom(BaseException): pass\nraise Custom('deep')",
    "broken-str": (
        "class Weird(Exception):\n    def __str__(self): raise ValueError('no')\nraise Weird()"
    ),
}


@pytest.mark.parametrize("kind", list(AT_IMPORT))
def test_a_base_exception_at_import_is_one_warning(script, backups, with_plugins, kind) -> None:
    backups.finished("alpha", "from the files")
    env = with_plugins({"broken": AT_IMPORT[kind]})
    outcome = script("ao-get-result", "alpha", extra_env=env, timeout=FINISHES)
    assert (outcome.status, outcome.out) == (0, "from the files\n")
    (line,) = outcome.err.splitlines()
    assert line.startswith(f"Warning: backend 'broken' ({ORIGIN}) failed to load: ")
    assert "Traceback" not in outcome.err


IN_HOOKS = {
    "keyboard-interrupt": "raise KeyboardInterrupt",
    "system-exit": "raise SystemExit(0)",
    "generator-exit": "raise GeneratorExit",
    "custom-base-exception": "raise Custom('deep')",
    "memory-error": "raise MemoryError",
}


@pytest.mark.parametrize("kind", list(IN_HOOKS))
def test_a_base_exception_in_a_hook_is_one_warning(script, backups, with_plugins, kind) -> None:
    """A plugin's own ``KeyboardInterrupt`` is not the user's Ctrl-C: the command goes on."""
    backups.finished("alpha", "from the files")
    raising = IN_HOOKS[kind]
    env = with_plugins({"broken": plugin(resolve=raising, status=raising, result=raising)})
    outcome = script("ao-get-result", "alpha", extra_env=env, timeout=FINISHES)
    assert (outcome.status, outcome.out) == (0, "from the files\n")
    assert [line.split(":")[1] for line in outcome.err.splitlines()] == [
        " backend 'broken' failed in resolve_session",
        " backend 'broken' failed in fetch_status",
        " backend 'broken' failed in fetch_result",
    ]


def test_the_users_ctrl_c_still_stops_a_wait(waiter, backups, with_plugins) -> None:
    """While a plugin's hook runs (here: it sleeps), Ctrl-C is the user's: exit 130."""
    backups.running("alpha")
    env = with_plugins({"slow": plugin(resolve="time.sleep(0.2); return None")})
    w = waiter("ao-status", "alpha", "--wait", extra_env=env)
    w.wait_for_stderr("alpha: running")
    w.proc.send_signal(signal.SIGINT)
    assert w.finish() == (130, "")
    assert b"Traceback" not in w.seen and b"Warning" not in w.seen


# --- answers of the wrong type or shape ---------------------------------------------------

BAD_SESSIONS = {
    "name-a-list": 'Session(name=["x"], session_id="b-1")',
    "name-none": 'Session(name=None, session_id="b-2")',
    "id-a-number": 'Session(name="b3", session_id=3)',
    "project-dir-a-dict": 'Session(name="b4", project_dir={"a": 1})',
    "name-of-a-megabyte": 'Session(name="n" * 1_000_000)',
    "not-a-session": '{"name": "b7"}',
}


def test_bad_sessions_are_left_out_and_hide_nothing(script, backups, with_plugins) -> None:
    backups.finished("from-files")
    good = "Session(name='good-one'), Session(name=Odd('copied'))"
    listing = f"return [{good}, " + ", ".join(BAD_SESSIONS.values()) + "]"
    env = with_plugins({"odd": plugin(listing=listing)})
    outcome = script("ao-list-sessions", extra_env=env, timeout=FINISHES)
    assert outcome.status == 0
    names = [line.split()[0] for line in outcome.out.splitlines()]
    assert names == ["good-one", "copied", "from-files"]
    (line,) = warnings(outcome.err)
    assert line.startswith(
        f"Warning: backend 'odd' in list_sessions: {len(BAD_SESSIONS)} answers left out"
    )


ODD_STATUSES = {
    "hash-and-truth-raise": 'return Odd("finished")',
    "a-status-whose-reason-is-a-list": 's = Status("failed"); s.reason = ["x"]; return s',
    "bytes": 'return b"finished"',
    "a-megabyte": 'return "x" * 1_000_000',
}


@pytest.mark.parametrize("kind", list(ODD_STATUSES))
def test_odd_statuses_never_end_as_internal(script, backups, with_plugins, kind) -> None:
    backups.running("alpha")
    env = with_plugins({"odd": plugin(status=ODD_STATUSES[kind])})
    outcome = script("ao-status", "alpha", "--json", extra_env=env, timeout=FINISHES)
    assert outcome.status == 0, outcome.err
    answer = json.loads(outcome.out)
    if kind == "hash-and-truth-raise":
        assert (answer["status"], outcome.err) == ("finished", "")  # a plain copy of it
    else:
        assert answer["status"] == "running"  # the files' answer
        (line,) = warnings(outcome.err)
        assert line.startswith("Warning: backend 'odd' failed in fetch_status: returned ")


# --- a hook that never returns, inside --wait ----------------------------------------------

NEVER_RETURNS = (
    "while True:\n    try:\n        time.sleep(3600)\n    except BaseException:\n        pass"
)


@pytest.mark.parametrize("hook", ["resolve", "status"])
def test_a_hook_that_never_returns_cannot_hold_a_wait(script, backups, with_plugins, hook):
    """Before: ``--wait --timeout 2`` was held past 15 s. Now the answer is left out with
    one warning, and the wait ends on time as a timeout."""
    backups.running("alpha")
    kw = {"resolve": NEVER_RETURNS} if hook == "resolve" else {"status": NEVER_RETURNS}
    env = with_plugins({"stuck": plugin(**kw)})
    wait = ("--wait", "--timeout", "2", "--interval", "0.2")
    outcome = script("ao-status", "alpha", *wait, extra_env=env, timeout=FINISHES)
    assert (outcome.status, outcome.out) == (124, "running\n")
    name = "resolve_session" if hook == "resolve" else "fetch_status"
    assert warnings(outcome.err) == [
        f"Warning: backend 'stuck' did not answer {name} before the --wait timeout: left out"
    ]


def test_in_process_a_stuck_hook_leaves_the_command_free(call, backups, with_plugins, monkeypatch):
    """In-process too, the caller gets its answer on time; the stuck thread is a daemon."""
    import sys

    backups.running("alpha")
    env = with_plugins({"stuck": plugin(resolve=NEVER_RETURNS)})
    monkeypatch.syspath_prepend(env["PYTHONPATH"].split(":")[0])
    import importlib.metadata

    importlib.invalidate_caches()
    outcome = call("ao-status", "alpha", "--wait", "--timeout", "1", extra_env=env)
    assert (outcome.status, outcome.out) == (124, "running\n")
    assert "ao_hostile_stuck" in sys.modules


# --- 7. what reaches the terminal ------------------------------------------------------------

HOSTILE_TEXT = (
    "st\x1b]0;pwned\x07at\x1b[2J\u2028forged\u2029line\u200bzero\u200e\u200f\u061c"
    "\ufeff\u00ad\u202eevil\u2066\u3164"
)
#: No raw C0/C1 control but the live line's own \r ESC [ K, no line or paragraph separator,
#: no zero-width, direction or invisible character.
RAW = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u061c\ufeff\u00ad\u202a-\u202e\u2066-\u2069\u3164]"
)


def shown_raw(text: str) -> list[str]:
    return RAW.findall(text.replace("\r\x1b[K", ""))


def test_the_live_line_escapes_a_hostile_status(waiter, backups, with_plugins) -> None:
    """beta has ended with a status full of escapes; the live line shows it while alpha
    (in the files) is still running."""
    backups.running("alpha")
    beta = 'return Session(name="beta", session_id="b-1") if name == "beta" else None'
    status = f"return {HOSTILE_TEXT!r} if session.name == 'beta' else None"
    env = with_plugins({"loud": plugin(resolve=beta, status=status)})
    wait = ("--wait", "--timeout", "3", "--interval", "0.2")
    w = waiter("ao-status", "alpha", "beta", *wait, extra_env=env)
    w.wait_for_stderr("alpha: running")
    status, out = w.finish()
    seen = w.seen.decode("utf-8", "replace")
    assert shown_raw(seen) == [] and shown_raw(out) == []
    assert "\\x1b]0;pwned\\x07" in seen and "\\u2028" in seen and "\\u200b" in seen


def test_names_and_messages_are_escaped_everywhere(script, backups, with_plugins) -> None:
    listing = f"return [Session(name={'ad' + HOSTILE_TEXT + 'min'!r})]"
    failing = f"raise RuntimeError({HOSTILE_TEXT!r})"
    env = with_plugins({"loud": plugin(listing=listing, status=failing)})
    listed = script("ao-list-sessions", "--long", extra_env=env, timeout=FINISHES)
    assert listed.status == 0
    assert shown_raw(listed.out) == [] and shown_raw(listed.err) == []
    assert len(listed.out.splitlines()) == 1
    debug = script(
        "ao-status", "alpha", extra_env={**env, "AGENT_ORCHESTRATOR_DEBUG": "1"}, timeout=FINISHES
    )
    assert "Traceback (most recent call last)" in debug.err
    assert shown_raw(debug.err) == []
    assert "\\x1b]0;pwned" in debug.err
