"""The ``api`` backend: the server's HTTP API, either generation (see :mod:`.backend`)."""

from ao_plugins.api.backend import ApiBackend

__all__ = ["ApiBackend"]
