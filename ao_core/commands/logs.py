"""ao-logs NAME [--follow]: print what a session did (its prompts, messages, tool calls,
results), and with --follow keep printing until it ends."""

from __future__ import annotations

import argparse
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence

from ao_core import answers, cli, console, logs, options
from ao_core.errors import NotExistent, TimedOut, Unsupported, UsageError
from ao_core.guard import DELIBERATE
from ao_core.records import Event
from ao_core.session import FAILED, IN_PROGRESS, NOT_EXISTENT, Session
from ao_core.text import describe, printable

#: The longest single wait for new events; the session's status is asked at least this
#: often while following.
SLICE = 1.0

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ("ao-logs architect", "what the session did, one block per event, oldest first"),
    ("ao-logs reviewer --follow", "and what it does, until it ends; then its status"),
    ("ao-logs reviewer --since 10m --tail 5", "the last 5 events of the last ten minutes"),
)


def parser() -> argparse.ArgumentParser:
    """The ao-logs parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-logs",
        "Print a session's events: oldest first, one block per event with its time (the "
        "prompt, the assistant's text, each tool call with its input on one line and its "
        "output cut to a few lines, each turn's result, errors and the run boundaries). "
        "With --follow, keep printing new events until the session ends, then print its "
        "status (as ao-status does) on the last line.",
        epilog="The backend that knows the session answers (the Agent Coordinator: its "
        "history, which it gives only up to the oldest 100 events, and its event stream; "
        f"the backup files: the .jsonl). {options.ASKS_IN_ORDER}",
        json_help='print one JSON document per line (JSON Lines), one per event: {"time", '
        '"kind", "text", "tool", "input", "output", "cut"}; with --follow the last is '
        '{"kind": "status", "text": STATUS, ...}',
        examples=EXAMPLES,
    )
    options.add_name_argument(p)
    p.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep printing new events until the session is no longer pending, running or "
        "stopping; exit status 1 when it failed",
    )
    p.add_argument(
        "--tail", type=_count, metavar="N", help="print only the last N events of the history"
    )
    p.add_argument(
        "--since",
        type=_since,
        metavar="WHEN",
        help="print only events from WHEN on: a duration back from now (30s, 10m, 2h, 1d) "
        "or an ISO 8601 time (UTC unless it names a zone)",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help=f"print tool outputs whole (otherwise: their first {logs.OUTPUT_LINES} lines, "
        f"at most {logs.OUTPUT_CHARS} characters)",
    )
    options.add_timeout_option(p, "with --follow: stop following after SECONDS")
    return p


def show_logs(args: argparse.Namespace) -> int:
    if args.timeout is not None and not args.follow:
        raise UsageError("--timeout needs --follow")
    from ao_core import interrupts

    with interrupts.quiet_termination():  # SIGTERM: 143, quietly, as Ctrl-C is 130
        return _show(args)


def _show(args: argparse.Namespace) -> int:
    name = args.name
    ctx = cli.start(args, [name])
    session = ctx.resolve(name)
    if session is None:
        raise NotExistent(f"Session '{name}' does not exist", name=name)
    log = ctx.pm.hook.fetch_events(
        session=session, config=ctx.config, tail=args.tail, follow=args.follow
    )
    if log is None:
        raise _cannot(ctx, name, "show the events of")
    show = _printer(args)
    since = logs.Since(args.since)
    events: Iterable[Event] = (e for e in _checked(log.events) if since.keep(e))
    if args.tail is not None:
        events = deque(events, maxlen=args.tail)
    for event in events:
        show(event)
    if not args.follow:
        return 0
    status = _follow(ctx, args, session, show, since)
    if args.json:
        console.emit(
            answers.json_text(logs.document(Event(kind="status", text=status), full=False))
        )
    else:
        console.emit(printable(status))
    return 1 if status in (FAILED, NOT_EXISTENT) else 0


def _follow(
    ctx: cli.Context,
    args: argparse.Namespace,
    session: Session,
    show: Callable[[Event], None],
    since: logs.Since,
) -> str:
    """Print new events until the session is no longer in progress; its final status.

    The backend waits for events at most :data:`SLICE` at a time, so the deadline and
    Ctrl-C stay with this loop; the status is asked after a quiet slice, and at least
    every slice while events flow.
    """
    from ao_core import deadline, waiting

    timeout = args.timeout
    if timeout is None:
        timeout = ctx.config.get(waiting.WAIT_TIMEOUT)
    started = time.monotonic()
    asked: float | None = None
    quiet = True
    with deadline.within(timeout):
        while True:
            now = time.monotonic()
            if quiet or asked is None or now - asked >= SLICE:
                status = ctx.fresh_status(session)
                asked = now
                if status not in IN_PROGRESS:
                    for event in _new_events(ctx, session, 0.0, last=True):
                        if since.keep(event):
                            show(event)
                    return status
            remaining = started + timeout - time.monotonic()
            if remaining <= 0:
                raise TimedOut(
                    f"Session '{args.name}' is still {status} after --timeout", name=args.name
                )
            new = _new_events(ctx, session, min(SLICE, remaining), last=False)
            for event in new:
                if since.keep(event):
                    show(event)
            quiet = not new


def _new_events(ctx: cli.Context, session: Session, timeout: float, *, last: bool) -> list[Event]:
    new = ctx.pm.hook.follow_events(session=session, config=ctx.config, timeout=timeout, last=last)
    if new is None:
        raise _cannot(ctx, session.name, "follow the events of")
    return new


def _printer(args: argparse.Namespace) -> Callable[[Event], None]:
    """The function that prints one event: a block, or a JSON Lines document."""
    if args.json:
        return lambda event: console.emit(answers.json_text(logs.document(event, full=args.full)))
    return lambda event: console.emit(logs.block(event, full=args.full))


def _checked(events: Iterable[Event]) -> Iterator[Event]:
    """A backend's events as the command reads them: what is not an :class:`Event`, or a
    backend that fails while its events are read, ends the history with one warning (a
    deliberate error, such as an unreadable store, still ends the command)."""
    try:
        for event in events:
            if not isinstance(event, Event):
                console.warn(f"a backend gave {type(event).__name__} as an event; stopped there")
                return
            yield event
    except DELIBERATE:
        raise
    except Exception as exc:
        console.warn(f"a backend failed while reading the events: {describe(exc)}")


def _cannot(ctx: cli.Context, name: str, doing: str) -> Unsupported:
    asked = ", ".join(reversed([n for n, _ in ctx.pm.list_name_plugin()]))
    return Unsupported(
        f"No backend can {doing} session '{name}' (asked: {asked or 'none'}); the Agent "
        "Coordinator and the backup files can"
    )


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"not a number of events >= 0: {value!r}")
    return number


def _since(value: str) -> object:
    try:
        return logs.parse_since(value)
    except (ValueError, OverflowError) as exc:
        raise argparse.ArgumentTypeError(f"{exc}: {value!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(show_logs, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
