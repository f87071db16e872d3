"""What every ao-* command shares: common options, start-up, and turning errors into exits."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pluggy

from ao_core import console, waiting
from ao_core.config import ENV_DEBUG, Config, is_on
from ao_core.errors import AoError
from ao_core.plugins import get_plugin_manager
from ao_core.session import NOT_EXISTENT, Session, validate_name
from ao_core.version import __version__

#: The name a command runs under when ``ao`` runs it (``ao status``), for its usage line
#: and errors; None: its parser's own. Set only by :mod:`ao_core.commands.ao`.
RUN_AS: str | None = None

EPILOG_BACKENDS = (
    "Backends are asked in order: the Agent Session Manager API first, then third-party "
    "backends, then the backup files; the first that knows the session answers."
)


def make_parser(
    prog: str, description: str, *, json_help: str | None = None
) -> argparse.ArgumentParser:
    """A parser with the options every command takes; ``json_help`` adds ``--json``."""
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=EPILOG_BACKENDS)
    parser.add_argument(
        "--project-dir",
        metavar="DIR",
        help="project directory (default: $AGENT_ORCHESTRATOR_PROJECT_DIR, else the current "
        "directory)",
    )
    parser.add_argument(
        "--sessions-dir",
        metavar="DIR",
        help="backup files directory (default: $AGENT_ORCHESTRATOR_SESSIONS_DIR, else "
        "PROJECT_DIR/.agent-orchestrator/agent-sessions)",
    )
    parser.add_argument(
        "--backends",
        metavar="LIST",
        help="comma-separated backends to ask, in order (default: "
        "$AGENT_ORCHESTRATOR_BACKENDS, else api, third-party by name, file)",
    )
    if json_help:
        parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def add_name_argument(parser: argparse.ArgumentParser) -> None:
    """The positional session name taken by the single-session commands."""
    parser.add_argument("name", metavar="NAME", help="session name (1-60 of A-Z a-z 0-9 _ -)")


@dataclass(frozen=True)
class Context:
    """What a command works with once its arguments are understood."""

    config: Config
    pm: pluggy.PluginManager

    @property
    def hook(self) -> pluggy.HookRelay:
        return self.pm.hook

    def resolve(self, name: str) -> Session | None:
        """The session ``name`` refers to, from the first backend that knows it."""
        return self.hook.resolve_session(name=name, config=self.config)

    def status_of(self, name: str) -> tuple[Session | None, str]:
        """The session ``name`` refers to and its status (``not_existent`` when none)."""
        session = self.resolve(name)
        status = session and self.hook.fetch_status(session=session, config=self.config)
        return session, status or NOT_EXISTENT

    def settled_status(self, args: argparse.Namespace) -> tuple[Session | None, str, bool]:
        """The status of ``args.name``, waited for with ``--wait``; True when that timed out."""
        if not args.wait:
            return (*self.status_of(args.name), False)
        progress = waiting.progress_line(args.name)

        def poll() -> tuple[Session | None, str]:
            self.hook.start_round(config=self.config)
            return self.status_of(args.name)

        with waiting.quiet_interruptions():
            return waiting.wait_until_done(
                poll,
                timeout=self.config.wait_timeout if args.timeout is None else args.timeout,
                interval=args.interval or waiting.DEFAULT_INTERVAL,
                progress=progress,
            )


def start(args: argparse.Namespace, names: Sequence[str] = ()) -> Context:
    """Validate ``names`` and settings, then load the backends (in that order, no I/O first)."""
    for name in names:
        validate_name(name)
    config = Config.load(
        project_dir=args.project_dir, sessions_dir=args.sessions_dir, backends=args.backends
    )
    return Context(config, get_plugin_manager(config))


def run(
    command: Callable[[argparse.Namespace], int],
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
) -> int:
    """Parse ``argv`` and run ``command``; every failure becomes one line and an exit status.

    A traceback is shown only when ``AGENT_ORCHESTRATOR_DEBUG`` is set.
    """
    if RUN_AS is not None:
        parser.prog = RUN_AS
    args = parser.parse_args(argv)
    try:
        return command(args)
    except AoError as exc:
        _debug_traceback()
        console.error(str(exc))
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
    except waiting.Terminated as exc:
        return exc.exit_status
    except BrokenPipeError:
        # The reader went away (`ao-list-sessions | head -1`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        _debug_traceback()
        console.error(
            f"unexpected {type(exc).__name__}: {exc} (set AGENT_ORCHESTRATOR_DEBUG=1 for details)"
        )
        return 1


def _debug_traceback() -> None:
    if is_on(os.environ.get(ENV_DEBUG)):
        console.traceback()
