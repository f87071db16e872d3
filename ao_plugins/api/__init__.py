"""The ``api`` backend: the Agent Session Manager's HTTP API (see :mod:`.backend`)."""

from ao_plugins.api.backend import ApiBackend

__all__ = ["ApiBackend"]
