"""The built-in ``file`` backend passes the author kit, seeded through real backup files."""

from __future__ import annotations

import pytest
from backup_files import BackupDir

from ao_core.config import Config
from ao_core.testing import BackendContract
from ao_plugins.file import FileBackend


class BackupStore:
    """The kit's seeding interface, writing backup files as the old commands did."""

    def __init__(self, backups: BackupDir) -> None:
        self.backups = backups

    def add_finished(self, name: str, result: str, session_id: str) -> None:
        self.backups.finished(name, result, session_id)

    def add_running(self, name: str, session_id: str) -> None:
        self.backups.running(name, session_id)

    def add_failed(self, name: str, reason: str) -> None:
        self.backups.failed(name, subtype=reason)


class TestFileBackend(BackendContract):
    @pytest.fixture
    def backend(self) -> FileBackend:
        return FileBackend()

    @pytest.fixture
    def backend_name(self) -> str:
        return "file"

    @pytest.fixture
    def store(self, config: Config) -> BackupStore:
        return BackupStore(BackupDir(config.sessions_dir))
