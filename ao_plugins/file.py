"""The ``file`` backend: the backup files the older, file-based commands wrote.

Each session is a pair in the sessions directory: ``NAME.meta.json`` (metadata) and
``NAME.jsonl`` (the run's messages, one JSON object per line, the final one being the
agent SDK's result message). A session exists when its ``.meta.json`` does.
"""

from __future__ import annotations

import json
import mmap
import os
from pathlib import Path

from ao_core import Config, Session, SessionFailed, StorageError, hookimpl
from ao_core.session import is_valid_name

NAME = "file"
META_SUFFIX = ".meta.json"
LOG_SUFFIX = ".jsonl"
#: Every file that belongs to session NAME; deleting a session removes these only.
SESSION_SUFFIXES = (META_SUFFIX, LOG_SUFFIX, ".meta.json.tmp")


class FileBackend:
    """Reads and deletes backup files; one instance per command.

    The instance remembers the last message of each ``.jsonl`` it read (keyed by the
    file's size and modification time), so status-then-result parses a large result
    once, and a file that changed is read again.
    """

    def __init__(self) -> None:
        self._last: dict[Path, tuple[tuple[int, int], dict | None]] = {}

    @hookimpl
    def resolve_session(self, name: str, config: Config) -> Session | None:
        if not _exists(config, name):
            return None
        return _session(name, _path(config, name, META_SUFFIX))

    @hookimpl
    def fetch_status(self, session: Session, config: Config) -> str | None:
        if not _exists(config, session.name):
            return None
        message = self._last_message(_path(config, session.name, LOG_SUFFIX))
        return "finished" if message is not None and _has_ended(message) else "running"

    @hookimpl
    def fetch_result(self, session: Session, config: Config) -> str | None:
        if not _exists(config, session.name):
            return None
        message = self._last_message(_path(config, session.name, LOG_SUFFIX))
        if message is None or not _has_ended(message):
            return None
        if _is_failure(message):
            raise SessionFailed(f"Session '{session.name}' ended in error: {_failure(message)}")
        result = message.get("result")
        return result if isinstance(result, str) else None

    @hookimpl
    def list_sessions(self, config: Config) -> list[Session]:
        try:
            with os.scandir(config.sessions_dir) as entries:
                metas = sorted(
                    (entry.name[: -len(META_SUFFIX)], entry.path)
                    for entry in entries
                    if entry.name.endswith(META_SUFFIX) and entry.is_file()
                )
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StorageError(
                f"Cannot read sessions directory {config.sessions_dir}: {exc.strerror or exc}"
            ) from exc
        return [_session(name, path) for name, path in metas]

    @hookimpl
    def delete_session(self, session: Session, config: Config) -> bool:
        if not _exists(config, session.name):
            return False
        for path in (_path(config, session.name, suffix) for suffix in SESSION_SUFFIXES):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise StorageError(f"Cannot delete {path}: {exc.strerror or exc}") from exc
        return True

    def _last_message(self, path: Path) -> dict | None:
        """The last line of a ``.jsonl`` as a JSON object; None if missing, empty or partial."""
        try:
            st = path.stat()
        except OSError:
            return None
        key = (st.st_size, st.st_mtime_ns)
        cached = self._last.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            line = last_line(path)
            message = json.loads(line.decode("utf-8")) if line else None
        except (OSError, ValueError):
            message = None
        if not isinstance(message, dict):
            message = None
        self._last[path] = (key, message)
        return message


def last_line(path: Path) -> bytes:
    """The last non-empty line of a file.

    The file is mapped, not read: the search for the line's start runs backwards from
    the end, so the cost grows with the length of that line only, never with the size
    of the file, and the line is copied once.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return b""
        with mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as view:
            end = size
            while end > 0 and view[end - 1] in b"\r\n":
                end -= 1
            return view[view.rfind(b"\n", 0, end) + 1 : end]


def _path(config: Config, name: str, suffix: str) -> Path | None:
    """The file ``NAME+suffix``, or None for a name that could escape the directory."""
    return config.sessions_dir / (name + suffix) if is_valid_name(name) else None


def _exists(config: Config, name: str) -> bool:
    """A session exists when its ``.meta.json`` does (whatever that file holds)."""
    meta_path = _path(config, name, META_SUFFIX)
    return meta_path is not None and meta_path.is_file()


def _session(name: str, meta_path: str | Path) -> Session:
    """A Session from a ``.meta.json``; what can't be read is left unknown (None)."""
    meta = _read_json(meta_path)
    session_id = meta.get("session_id")
    project_dir = meta.get("project_dir")
    return Session(
        name=name,
        session_id=session_id if isinstance(session_id, str) and session_id else None,
        project_dir=project_dir if isinstance(project_dir, str) and project_dir else None,
        backend=NAME,
    )


def _read_json(path: str | Path) -> dict:
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


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
