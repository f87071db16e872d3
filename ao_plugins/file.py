"""The ``file`` backend: the backup files the older, file-based commands wrote.

Each session is a pair in the sessions directory: ``NAME.meta.json`` (metadata) and
``NAME.jsonl`` (the run's messages, one JSON object per line, the final one being the
agent SDK's result message). A session exists when its ``.meta.json`` is a regular file
(symlinks followed) and NAME is a valid session name.

The directory is written by other processes and may hold anything, so every read is
bounded and no file can take a command down:

- Only regular files are read. Files are opened with ``O_NONBLOCK`` (a FIFO cannot block
  the open) and the opened descriptor's ``fstat`` decides, so a file swapped for a special
  one between a check and the open is still never read. A ``.meta.json`` that is not a
  regular file (directory, FIFO, device, socket, dangling symlink or symlink loop) is not
  a session; a ``.jsonl`` that is not one reads like a missing log: ``running``.
- Files are read with ``os.pread``, never memory-mapped: a file truncated while it is read
  gives a short read (the session counts as ``running``), not SIGBUS.
- The last line of a ``.jsonl`` is found by reading blocks backwards from the end, so the
  cost grows with that line only; a last line longer than :data:`LAST_LINE_LIMIT` is not
  read (``running``). A ``.meta.json`` larger than :data:`META_LIMIT`, or whose JSON
  cannot be parsed (nested too deep included), leaves the metadata unknown. Such a file
  spoils only its own session: listing and ``ao-clean --all`` go on with the others.
  ``MemoryError`` is not caught: it is the process's state, not a file's, and the limits
  already bound what is read.
- Permission denied (on the directory, a meta file or a log) is a :class:`StorageError`:
  the store is there but unreadable, and ``running`` or ``not_existent`` would mislead.
  Only a listing goes on past an unreadable meta file (one warning; that session is
  listed with its metadata unknown), so one such file cannot hide the others.
- A run that ended with an SDK error subtype (``error_max_turns`` ...) is ``failed``, the
  word the Agent Coordinator uses for the same thing, with the subtype as its reason.

Paths are strings (``config.sessions_path``, ``os.path``): pathlib costs a command's start
more than reading the two files does.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from typing import TYPE_CHECKING

from ao_core import Config, Session, SessionFailed, StorageError, console, hookimpl
from ao_core.session import FAILED, Status, is_valid_name

if TYPE_CHECKING:
    from pathlib import Path

    from ao_core.records import Details, Event, EventLog
    from ao_plugins.file_log import LogReader

NAME = "file"
META_SUFFIX = ".meta.json"
LOG_SUFFIX = ".jsonl"
TMP_SUFFIX = ".meta.json.tmp"
#: Every file that belongs to session NAME, in the order deleting removes them. The meta
#: file goes last: a deletion that fails half-way leaves a session that still exists (and
#: can be deleted later), never a log without its meta file that no command can clean.
SESSION_SUFFIXES = (LOG_SUFFIX, TMP_SUFFIX, META_SUFFIX)

#: The longest last line of a ``.jsonl`` that is read (64 MiB); a longer one is not read
#: and the session counts as ``running``. Results of megabytes fit; a runaway or hostile
#: file (a 1 GB line, a sparse file without a newline) costs bounded time and memory.
LAST_LINE_LIMIT = 64 * 1024 * 1024
#: The largest ``.meta.json`` that is read (1 MiB; real ones are a few hundred bytes).
#: A larger one is not read: the session exists, its metadata is unknown.
META_LIMIT = 1024 * 1024
#: The spans read at the end of a ``.jsonl`` to find its last line, in turn: one block
#: (most lines), 8 MiB (long results, in one more read), then all the limit allows.
BLOCK = 64 * 1024
SPANS = (BLOCK, 8 * 1024 * 1024, LAST_LINE_LIMIT + BLOCK)

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
#: Errors from stat or open that mean "no regular file there": missing, a symlink loop,
#: or a special file that refuses to be opened.
_NO_FILE = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENXIO, errno.ENODEV, errno.EISDIR}
)


class _Changed(Exception):
    """The file shrank while it was being read: what was read is not a line of it."""


class FileBackend:
    """Reads and deletes backup files; one instance per command.

    The instance remembers the last message of each ``.jsonl`` it read (keyed by the
    file's identity, size and modification time), so status-then-result parses a large
    result once, and a file that changed is read again.
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[tuple[int, int, int, int], dict | None]] = {}
        #: The logs ``ao-logs`` reads, by session name (where following goes on from).
        self._readers: dict[str, LogReader] = {}

    @hookimpl
    def resolve_session(self, name: str, config: Config) -> Session | None:
        if not _exists(config, name):
            return None
        meta = _read_meta(_path(config, name, META_SUFFIX))
        return None if meta is None else _session(name, meta)

    @hookimpl
    def fetch_status(self, session: Session, config: Config) -> str | None:
        exists, ended = self._end_of_run(session.name, config)
        return _status(ended) if exists else None

    @hookimpl
    def describe_session(self, session: Session, config: Config) -> Details | None:
        """The ``.meta.json``'s agent, project directory and times, and the status."""
        if not _exists(config, session.name):
            return None
        meta = _read_meta(_path(config, session.name, META_SUFFIX))
        if meta is None:
            return None
        found = _session(session.name, meta)
        from ao_core.records import Details

        return Details(
            session_id=found.session_id,
            project_dir=found.project_dir,
            agent=_text(meta.get("agent")),
            created_at=_text(meta.get("created_at")),
            last_resumed_at=_text(meta.get("last_resumed_at")),
            status=self.fetch_status(found, config),
        )

    @hookimpl
    def fetch_statuses(self, sessions: list[Session], config: Config) -> dict[str, str]:
        """The statuses of the listed sessions in one pass: each log's last line only."""
        directory = config.sessions_path
        return {
            session.name: _status(_read_message(f"{directory}/{session.name}{LOG_SUFFIX}")[1])
            for session in sessions
            if session.backend == NAME  # listed here, so its name is a valid one
        }

    @hookimpl
    def fetch_result(self, session: Session, config: Config) -> str | None:
        _, ended = self._end_of_run(session.name, config)
        if ended is None:
            return None
        if _is_failure(ended):
            raise SessionFailed(f"Session '{session.name}' ended in error: {_failure(ended)}")
        result = ended.get("result")
        return result if isinstance(result, str) else None

    @hookimpl
    def list_sessions(self, config: Config) -> list[Session]:
        try:
            with os.scandir(config.sessions_path) as entries:
                metas = sorted(
                    (entry.name[: -len(META_SUFFIX)], entry.path)
                    for entry in entries
                    if entry.name.endswith(META_SUFFIX) and _is_file(entry)
                )
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StorageError(
                f"Cannot read sessions directory {config.sessions_path}: {exc.strerror or exc}"
            ) from exc
        sessions = []
        for name, path in metas:
            if not is_valid_name(name):
                continue
            try:
                meta = _read_meta(path)
            except StorageError as exc:  # one unreadable file spoils only its own line
                _check_searchable(config.sessions_path)
                console.warn(str(exc))
                meta = {}
            if meta is not None:
                sessions.append(_session(name, meta))
        return sessions

    @hookimpl
    def delete_session(self, session: Session, config: Config) -> bool:
        """True when this command removed the session's meta file (what makes it a session):
        a session another command deleted meanwhile is not this one's deletion."""
        if not _exists(config, session.name):
            return False
        removed = False
        for suffix in SESSION_SUFFIXES:
            path = _path(config, session.name, suffix)
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageError(f"Cannot delete {path}: {exc.strerror or exc}") from exc
            removed = suffix == META_SUFFIX
        return removed

    @hookimpl
    def fetch_events(self, session: Session, config: Config, tail: int | None) -> EventLog | None:
        """The ``.jsonl``'s lines as events, streamed (see :mod:`ao_plugins.file_log`)."""
        if not _exists(config, session.name):
            return None
        from ao_core.records import EventLog
        from ao_plugins.file_log import LogReader

        path = os.fspath(_path(config, session.name, LOG_SUFFIX))
        reader = self._readers[session.name] = LogReader(path, session.name)
        return EventLog(reader.history(tail))

    @hookimpl
    def follow_events(self, session: Session, timeout: float, last: bool) -> list[Event] | None:
        """The events of the lines written since; the log is looked at every 50 ms."""
        reader = self._readers.get(session.name)
        return None if reader is None else reader.follow(timeout, last=last)

    def _end_of_run(self, name: str, config: Config) -> tuple[bool, dict | None]:
        """Whether session ``name`` exists here, and its run's result message if it ended."""
        if not _exists(config, name):
            return False, None
        message = self._last_message(_path(config, name, LOG_SUFFIX))
        return True, message if message is not None and _has_ended(message) else None

    def _last_message(self, path: str) -> dict | None:
        """The last line of a ``.jsonl`` as a JSON object (see :func:`_read_message`),
        remembered for this command while the file stays the same."""
        cached = self._last.get(path)
        if cached is not None:
            st = _stat(path)
            if st is not None and cached[0] == _key(st):
                return cached[1]
        key, message = _read_message(path)
        if key is not None:
            self._last[path] = (key, message)
        return message


def _read_message(path: str) -> tuple[tuple[int, int, int, int] | None, dict | None]:
    """The identity of a ``.jsonl`` and its last line as a JSON object.

    The message is None when the log is missing, not a regular file, empty, or its last
    line is partial, not an object, longer than :data:`LAST_LINE_LIMIT` or shrank while
    read (the identity is then None too: nothing to remember).
    """
    opened = _open_regular(path)
    if opened is None:
        return None, None
    fd, st = opened
    try:
        line = _read_last_line(fd, st.st_size, path)
    except _Changed:
        return None, None
    finally:
        os.close(fd)
    return _key(st), (_parse_line(line) if line else None)


def last_line(path: str | Path) -> bytes | None:
    """The last non-empty line of a regular file (``b""`` if it has none).

    None when ``path`` is missing or not a regular file, when the line is longer than
    :data:`LAST_LINE_LIMIT`, or when the file shrank while it was read. Spans are read at
    the end of the file, so the cost grows with the length of that line only, never with
    the size of the file. Raises :class:`StorageError` on permission denied.
    """
    opened = _open_regular(path)
    if opened is None:
        return None
    fd, st = opened
    try:
        line = _read_last_line(fd, st.st_size, path)
        return None if line is None else bytes(line)
    except _Changed:
        return None
    finally:
        os.close(fd)


def _read_last_line(fd: int, size: int, path: str | Path) -> bytes | memoryview | None:
    """The last non-empty line within the first ``size`` bytes of ``fd``, or None if too long.

    Reads one span at the end of the file, each of :data:`SPANS` in turn (never past the
    file's start) until one holds the line's start; the line is a view into that span, so
    even a 5 MB line costs two reads and no copy, and memory stays bounded by
    :data:`LAST_LINE_LIMIT`. Trailing line breaks are skipped; a file whose last
    :data:`BLOCK` bytes are all line breaks has no readable last line (None). Raises
    :class:`_Changed` on a short read.
    """
    tail = _pread(fd, min(size, BLOCK), max(0, size - BLOCK), path)
    end = size - len(tail) + len(tail.rstrip(b"\r\n"))  # where the last line ends
    if end == size - len(tail):
        return b"" if end == 0 else None
    for span in SPANS:
        start = max(0, size - span)
        data = tail if span == BLOCK else _pread(fd, size - start, start, path)
        newline = data.rfind(b"\n", 0, end - start)
        if newline >= 0 or start == 0:
            line = memoryview(data)[newline + 1 : end - start]
            return line if len(line) <= LAST_LINE_LIMIT else None
        if end - start > LAST_LINE_LIMIT:
            return None
    return None


def _pread(fd: int, length: int, offset: int, path: str | Path) -> bytes:
    """Exactly ``length`` bytes at ``offset``; :class:`_Changed` if the file is shorter now."""
    try:
        data = os.pread(fd, length, offset)
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if len(data) != length:
        raise _Changed
    return data


def _parse_line(line: bytes | memoryview) -> dict | None:
    """A JSON object from one line; None for anything else (partial, binary, too deep).

    A view's bytes are let go once decoded, so a line of 64 MiB is held as bytes, text
    and parsed value no more than two at a time.
    """
    try:
        text = str(line, "utf-8")
    except ValueError:
        return None
    finally:
        if isinstance(line, memoryview):
            line.release()
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) else None


def _key(st: os.stat_result) -> tuple[int, int, int, int]:
    """What identifies one version of a file: a rewrite or an append changes it."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _path(config: Config, name: str, suffix: str) -> str | None:
    """The file ``NAME+suffix``, or None for a name that could escape the directory."""
    return os.path.join(config.sessions_path, name + suffix) if is_valid_name(name) else None


def _exists(config: Config, name: str) -> bool:
    """A session exists when its ``.meta.json`` is a regular file (whatever it holds)."""
    meta_path = _path(config, name, META_SUFFIX)
    st = None if meta_path is None else _stat(meta_path)
    return st is not None and stat.S_ISREG(st.st_mode)


def _is_file(entry: os.DirEntry) -> bool:
    """Whether a directory entry is a regular file; usually answered without a system call.

    A cheap first sort, so special files are not even opened; :func:`_open_regular`
    still decides on what it opened.
    """
    try:
        return entry.is_file()
    except OSError:
        return False


def _stat(path: str | Path) -> os.stat_result | None:
    """``os.stat(path)``; None when nothing is there; StorageError when it can't be known."""
    try:
        return os.stat(path)
    except OSError as exc:
        if exc.errno in _NO_FILE:
            return None
        raise _unreadable(path, exc) from exc


def _open_regular(path: str | Path) -> tuple[int, os.stat_result] | None:
    """A read-only descriptor on ``path`` and its status, if it is a regular file.

    None when there is no regular file there. ``O_NONBLOCK`` keeps a FIFO from blocking
    the open; the descriptor's own ``fstat`` (not the path's) decides, so nothing swapped
    in after a check is ever read. Raises :class:`StorageError` on permission denied.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in _NO_FILE:
            return None
        raise _unreadable(path, exc) from exc
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise _unreadable(path, exc) from exc
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    return fd, st


def _read_meta(path: str | Path) -> dict | None:
    """The JSON object in a ``.meta.json``; None when it is not a regular file (no session).

    ``{}`` (metadata unknown, the session still exists) when it is larger than
    :data:`META_LIMIT` or holds anything but a JSON object: invalid, binary, nested too
    deep for the parser, or shrunk while read.
    """
    opened = _open_regular(path)
    if opened is None:
        return None
    fd, st = opened
    try:
        if st.st_size > META_LIMIT:
            return {}
        data = _pread(fd, st.st_size, 0, path)
    except _Changed:
        return {}
    finally:
        os.close(fd)
    try:
        meta = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _check_searchable(directory: str) -> None:
    """Raise :class:`StorageError` when nothing in ``directory`` can be reached at all."""
    try:
        os.stat(os.path.join(directory, "."))  # pathlib would drop the "."
    except PermissionError as exc:
        raise StorageError(
            f"Cannot read sessions directory {directory}: {exc.strerror or exc}"
        ) from exc
    except OSError:
        pass


def _unreadable(path: str | Path, exc: OSError) -> StorageError:
    return StorageError(f"Cannot read {path}: {exc.strerror or exc}")


def _session(name: str, meta: dict) -> Session:
    """A Session from a ``.meta.json``'s object; what it lacks is left unknown (None)."""
    session_id = meta.get("session_id")
    project_dir = meta.get("project_dir")
    return Session(
        name=name,
        session_id=session_id if isinstance(session_id, str) and session_id else None,
        project_dir=project_dir if isinstance(project_dir, str) and project_dir else None,
        backend=NAME,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _status(message: dict | None) -> str:
    """The status a log's last message gives: ``running`` until a result message ends it."""
    if message is None or not _has_ended(message):
        return "running"
    return Status(FAILED, _failure(message)) if _is_failure(message) else "finished"


def _has_ended(message: dict) -> bool:
    """A result message ends a run: ``success`` with a result, or a failure."""
    return (message.get("subtype") == "success" and "result" in message) or _is_failure(message)


def _is_failure(message: dict) -> bool:
    """An ``error*`` subtype, or a result message flagged ``is_error``."""
    subtype = message.get("subtype")
    if not isinstance(subtype, str):
        return False
    return subtype.startswith("error") or (message.get("is_error") is True and "result" in message)


def _failure(message: dict) -> str:
    detail = message.get("result")
    reason = str(message.get("subtype"))
    return f"{reason}: {detail}" if isinstance(detail, str) and detail else reason
