"""A TCP proxy on 127.0.0.1 that can cut every connection through it, as a database
that dies or a network that drops would.

    with TcpProxy(upstream_port=5432) as proxy:   # listens on proxy.port
        ...point a process at proxy.port...
        proxy.cut()       # close every open connection, drop every new one
        proxy.restore()   # let new connections through again

``cut_on(marker)`` arms a cut for the moment a client sends bytes containing
``marker`` (for example ``b"COMMIT"``): that chunk is not forwarded, so the server
never sees it, and everything is cut. ``forwarded(pattern)`` tells whether a client
sent ``pattern`` through since the last ``cut_on`` (or ever).

Threads only: one accepting, two pumping per connection. Standard library only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType

CHUNK = 65536
TRANSCRIPT_LIMIT = 4 * 1024 * 1024  # bytes of client traffic kept for forwarded()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``upstream_host``:``upstream_port``."""

    def __init__(
        self, *, upstream_port: int = 5432, upstream_host: str = "127.0.0.1"
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._cut = False
        self._closed = False
        self._marker: bytes | None = None
        self._transcript = bytearray()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)  # so the accept loop notices close()
        self.port: int = self._listener.getsockname()[1]
        self._start(self._accept_loop)

    # --- control ------------------------------------------------------------------------

    def cut(self) -> None:
        """Close every open connection (both ends) and drop new ones until
        ``restore()``: a client sees "server closed the connection"."""
        with self._lock:
            self._cut = True
            self._marker = None
            doomed = list(self._open)
            self._open.clear()
        for sock in doomed:
            _close(sock)

    def restore(self) -> None:
        """Forward new connections again (connections cut stay closed)."""
        with self._lock:
            self._cut = False
            self._marker = None

    def cut_on(self, marker: bytes) -> None:
        """Cut everything when a client next sends a chunk containing ``marker``;
        that chunk is not forwarded. Clears the transcript of ``forwarded``."""
        with self._lock:
            self._marker = marker
            self._transcript.clear()

    def forwarded(self, pattern: bytes) -> bool:
        """Whether clients sent ``pattern`` to the server (since the last
        ``cut_on``)."""
        with self._lock:
            return pattern in self._transcript

    @property
    def is_cut(self) -> bool:
        with self._lock:
            return self._cut

    def close(self) -> None:
        """Stop listening, close every connection and wait for the threads."""
        with self._lock:
            self._closed = True
        self.cut()
        _close(self._listener)
        for thread in self._threads:
            thread.join(timeout=10)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the threads ----------------------------------------------------------------------

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
            try:
                client, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            self._connect(client)

    def _connect(self, client: socket.socket) -> None:
        with self._lock:
            dropping = self._cut or self._closed
        if dropping:
            _close(client)
            return
        try:
            server = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            _close(client)
            return
        server.settimeout(None)
        client.settimeout(None)
        with self._lock:
            self._open.update((client, server))
        self._start(self._pump, client, server, True)
        self._start(self._pump, server, client, False)

    def _pump(
        self, source: socket.socket, target: socket.socket, outbound: bool
    ) -> None:
        try:
            while data := source.recv(CHUNK):
                if outbound and not self._note(data):
                    self.cut()
                    return
                target.sendall(data)
        except OSError:
            pass  # cut, or the other side went away
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(target)
            _close(source)
            _close(target)

    def _note(self, data: bytes) -> bool:
        """Record client bytes; False when they carry the armed marker."""
        with self._lock:
            if self._marker is not None and self._marker in data:
                return False
            if len(self._transcript) + len(data) <= TRANSCRIPT_LIMIT:
                self._transcript.extend(data)
            return True


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
