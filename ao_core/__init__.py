"""ao: ask about named agent sessions through pluggable storage backends.

Plugin authors need only what is exported here: the :data:`hookimpl` marker, the
:class:`Session` record, the :class:`Config` every hook receives, a :class:`Setting` to
declare what the backend reads from the environment, the records the optional driving hooks answer
with (:class:`Turn`, :class:`Details`, :class:`Blueprint`), the events ``ao-logs`` shows
(:class:`Event`, :class:`EventLog`), and the errors a backend may
raise.
"""

from ao_core.config import Config
from ao_core.errors import (
    AlreadyExists,
    BackendUnavailable,
    Refused,
    SessionBusy,
    SessionFailed,
    StorageError,
)
from ao_core.hookspecs import hookimpl
from ao_core.session import Session, StructuredResult
from ao_core.settings import Setting
from ao_core.version import __version__

__all__ = [
    "AlreadyExists",
    "BackendUnavailable",
    "Blueprint",
    "Config",
    "Details",
    "Event",
    "EventLog",
    "Refused",
    "Session",
    "SessionBusy",
    "SessionFailed",
    "Setting",
    "StorageError",
    "StructuredResult",
    "Turn",
    "hookimpl",
    "__version__",
]

#: The records of the optional hooks, imported when first asked for (``from ao_core
#: import Turn``): making their dataclasses costs every command about 3 ms at start-up,
#: and only the commands that drive sessions or show events use them.
_RECORDS = ("Blueprint", "Details", "Event", "EventLog", "Turn")


def __getattr__(name: str) -> object:
    if name in _RECORDS:
        from ao_core import records

        return getattr(records, name)
    raise AttributeError(f"module 'ao_core' has no attribute {name!r}")
