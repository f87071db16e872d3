"""ao: ask about named agent sessions through pluggable storage backends.

Plugin authors need only what is exported here: the :data:`hookimpl` marker, the
:class:`Session` record, the :class:`Config` every hook receives, a :class:`Setting` to
declare what the backend reads from the environment, and the errors a backend may raise.
"""

from ao_core.config import Config
from ao_core.errors import BackendUnavailable, SessionBusy, SessionFailed, StorageError
from ao_core.hookspecs import hookimpl
from ao_core.session import Session, StructuredResult
from ao_core.settings import Setting
from ao_core.version import __version__

__all__ = [
    "BackendUnavailable",
    "Config",
    "Session",
    "SessionBusy",
    "SessionFailed",
    "Setting",
    "StorageError",
    "StructuredResult",
    "hookimpl",
    "__version__",
]
