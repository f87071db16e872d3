"""An ao storage backend keeping sessions in one SQLite file (an example plugin).

The file is ``$AO_SQLITE_PATH``, else ``PROJECT_DIR/.agent-orchestrator/sessions.sqlite3``.
A missing file means an empty store: nothing is created until something is written.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from ao_core import Config, Session, SessionFailed, Setting, StorageError, hookimpl

__version__ = "0.1.0"
NAME = "sqlite"
DEFAULT_FILE = Path(".agent-orchestrator") / "sessions.sqlite3"
DATABASE = Setting(
    "AO_SQLITE_PATH",
    None,
    "The SQLite file the sqlite backend reads.",
    default_text=f"PROJECT_DIR/{DEFAULT_FILE}",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    name        TEXT PRIMARY KEY,
    session_id  TEXT,
    project_dir TEXT,
    status      TEXT NOT NULL,
    result      TEXT,
    error       TEXT
)
"""
FAILED = "failed"


def database_path(config: Config) -> Path:
    """Where the sessions are: ``$AO_SQLITE_PATH`` or the project's default file."""
    configured = config.get(DATABASE)
    return Path(configured) if configured else config.project_dir / DEFAULT_FILE


class SessionDB:
    """The sessions table: what writers use to record sessions, and what the backend reads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def add(
        self,
        name: str,
        *,
        session_id: str | None = None,
        project_dir: str | None = None,
        status: str = "running",
        result: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record (or replace) the session called ``name``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path)) as db, db:
            db.execute(SCHEMA)
            db.execute(
                "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?)",
                (name, session_id, project_dir, status, result, error),
            )

    def get(self, name: str) -> sqlite3.Row | None:
        rows, _ = self._run("SELECT * FROM sessions WHERE name = ?", (name,))
        return rows[0] if rows else None

    def all(self) -> list[sqlite3.Row]:
        return self._run("SELECT * FROM sessions ORDER BY name", ())[0]

    def delete(self, name: str) -> bool:
        """Delete the session called ``name``; True if there was one."""
        return self._run("DELETE FROM sessions WHERE name = ?", (name,))[1] > 0

    def _run(self, sql: str, params: tuple) -> tuple[list[sqlite3.Row], int]:
        """One statement's rows and row count; a missing file is an empty store."""
        if not self.path.is_file():
            return [], 0
        uri = f"{self.path.resolve().as_uri()}?mode=rw"  # never create the file when reading
        try:
            with closing(sqlite3.connect(uri, uri=True)) as db, db:
                db.row_factory = sqlite3.Row
                db.execute(SCHEMA)
                cursor = db.execute(sql, params)
                return cursor.fetchall(), cursor.rowcount
        except sqlite3.Error as exc:
            raise StorageError(f"Cannot read {self.path}: {exc}") from exc


class SqliteBackend:
    """The five hooks, answered from the sessions table."""

    #: What this backend reads from the environment (``ao-plugins`` lists it).
    settings = (DATABASE,)

    @hookimpl
    def resolve_session(self, name: str, config: Config) -> Session | None:
        row = SessionDB(database_path(config)).get(name)
        return _session(row) if row is not None else None

    @hookimpl
    def fetch_status(self, session: Session, config: Config) -> str | None:
        row = self._row(session, config)
        return row["status"] if row is not None else None

    @hookimpl
    def fetch_result(self, session: Session, config: Config) -> str | None:
        row = self._row(session, config)
        if row is None:
            return None
        if row["status"] == FAILED:
            raise SessionFailed(f"Session '{session.name}' ended in error: {row['error']}")
        return row["result"]

    @hookimpl
    def list_sessions(self, config: Config) -> list[Session]:
        return [_session(row) for row in SessionDB(database_path(config)).all()]

    @hookimpl
    def delete_session(self, session: Session, config: Config) -> bool:
        return SessionDB(database_path(config)).delete(session.name)

    def _row(self, session: Session, config: Config) -> sqlite3.Row | None:
        """Our row for ``session``; None when we have none, or one with another id."""
        row = SessionDB(database_path(config)).get(session.name)
        if row is None:
            return None
        if session.session_id and row["session_id"] and session.session_id != row["session_id"]:
            return None
        return row


def _session(row: sqlite3.Row) -> Session:
    return Session(
        name=row["name"],
        session_id=row["session_id"],
        project_dir=row["project_dir"],
        backend=NAME,
    )
