"""A TCP proxy a test puts between a client and a real service, to cut and restore the link.

``cut()`` closes every forwarded connection and stops listening, so new
connections are refused as if the service were down; ``restore()`` listens on
the same port again. The shared services themselves are never stopped::

    with TcpProxy("127.0.0.1", 5672) as proxy:
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}//"
        ...
        proxy.cut()
        proxy.restore()

Runs on real OS threads (the tests that use it are never monkey-patched).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from typing import Any


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``(host, port)`` until closed."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = False
        self._listener: socket.socket | None = None
        self.port = self._listen(0)

    def _listen(self, port: int) -> int:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return int(listener.getsockname()[1])

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by cut() or close()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 0.2)
                if a.fileno() < 0 or b.fileno() < 0:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            self._drop(a, b)

    def _drop(self, a: socket.socket, b: socket.socket) -> None:
        for sock in (a, b):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    @property
    def connections(self) -> int:
        """How many forwarded connections are open now."""
        with self._lock:
            return sum(1 for a, b in self._pairs if a.fileno() >= 0 and b.fileno() >= 0)

    def cut(self) -> None:
        """Drop every forwarded connection and refuse new ones, as a stopped service would."""
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, []
        if listener is not None:
            listener.close()
        for a, b in pairs:
            self._drop(a, b)

    def restore(self) -> None:
        """Accept connections on the same port again."""
        with self._lock:
            if self._closed or self._listener is not None:
                return
        self._listen(self.port)

    def close(self) -> None:
        """Cut for good."""
        self._closed = True
        self.cut()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
