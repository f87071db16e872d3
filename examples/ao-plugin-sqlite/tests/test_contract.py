"""The sqlite backend passes the ao author kit."""

from __future__ import annotations

import pytest
from ao_plugin_sqlite import FAILED, SessionDB, SqliteBackend, database_path

from ao_core import Config, StorageError
from ao_core.testing import BackendContract


class DBStore:
    """The kit's seeding interface, writing rows as a real writer of this store would."""

    def __init__(self, db: SessionDB) -> None:
        self.db = db

    def add_finished(self, name: str, result: str, session_id: str) -> None:
        self.db.add(name, session_id=session_id, status="finished", result=result)

    def add_running(self, name: str, session_id: str) -> None:
        self.db.add(name, session_id=session_id, status="running")

    def add_failed(self, name: str, reason: str) -> None:
        self.db.add(name, session_id=f"sid-{name}", status=FAILED, error=reason)


@pytest.fixture(autouse=True)
def _default_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the default database path, whatever the caller's environment."""
    monkeypatch.delenv("AO_SQLITE_PATH", raising=False)


class TestSqliteBackend(BackendContract):
    @pytest.fixture
    def backend(self) -> type[SqliteBackend]:
        return SqliteBackend

    @pytest.fixture
    def backend_name(self) -> str:
        return "sqlite"

    @pytest.fixture
    def store(self, config: Config) -> DBStore:
        return DBStore(SessionDB(database_path(config)))


def test_database_path_from_the_environment(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config.load(project_dir=str(tmp_path), environ={})
    assert database_path(config) == tmp_path / ".agent-orchestrator" / "sessions.sqlite3"
    environ = {"AO_SQLITE_PATH": str(tmp_path / "elsewhere.db")}
    config = Config.load(project_dir=str(tmp_path), environ=environ)
    assert database_path(config) == tmp_path / "elsewhere.db"
    SessionDB(tmp_path / "elsewhere.db").add("kept", session_id="s-1", status="running")
    assert SqliteBackend().resolve_session("kept", config).session_id == "s-1"


def test_unreadable_database_is_a_storage_error(tmp_path) -> None:
    (tmp_path / "broken.db").write_text("not a database")
    with pytest.raises(StorageError, match="Cannot read"):
        SessionDB(tmp_path / "broken.db").all()
