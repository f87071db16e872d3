"""Servers that fail below HTTP: a port that refuses, and one that accepts and never answers."""

from __future__ import annotations

import socket
import threading


class RefusingPort:
    """A port bound but not listening: connecting is refused, and no one else can take it."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def close(self) -> None:
        self._socket.close()


class HangingServer:
    """Accepts connections, reads nothing, answers nothing; counts the connections."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def connections(self) -> int:
        """How many connections were made: stops accepting, then takes what is queued."""
        self._stopping.set()
        self._thread.join(5)
        self._socket.setblocking(False)
        while True:
            try:
                self._held.append(self._socket.accept()[0])
            except (BlockingIOError, InterruptedError):
                return len(self._held)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        for conn in self._held:
            conn.close()
        self._socket.close()
