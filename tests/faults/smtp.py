"""A small SMTP server on 127.0.0.1 for the fault tests: it can be absent (nothing
listens on its port), refuse (answers every connection ``421`` and hangs up) or
accept (speaks enough SMTP for Django's backend and keeps each message).

Runs on threads of the test process (``socketserver``): no package is needed, and
the worker processes under test reach it over TCP like any mail server. Plain text
only (no STARTTLS, no AUTH): nothing leaves the machine.

    sink = SmtpSink()              # a free port, nothing listening yet
    env = {..., "EMAIL_URL": sink.email_url}
    sink.start(accept=False)       # refuses
    sink.accept()                  # accepts from now on
    sink.messages                  # what it accepted, parsed
    sink.stop()
"""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from email.message import EmailMessage
from types import TracebackType
from typing import Self

from tests.faults.processes import HOST, free_port

# The largest message accepted (the PDFs of the tests are far smaller).
MAX_MESSAGE = 20 * 1024 * 1024


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.accepting = False
        self.refused = 0  # connections answered 421
        self._messages: list[bytes] = []
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def email_url(self) -> str:
        """The ``EMAIL_URL`` that points Django's SMTP backend here."""
        return f"smtp://{HOST}:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            raw = list(self._messages)
        parsed = []
        for data in raw:
            message = email.message_from_bytes(data, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed

    def start(self, *, accept: bool) -> Self:
        """Listen on the port, refusing or accepting."""
        if self._server is not None:
            raise RuntimeError("The SMTP sink is already listening.")
        self.accepting = accept
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def handle(self) -> None:
                sink._converse(self)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer((HOST, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="smtp-sink", daemon=True
        )
        self._thread.start()
        return self

    def accept(self) -> None:
        """Accept messages from the next connection on."""
        self.accepting = True

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- The conversation -------------------------------------------------------------

    def _converse(self, handler: socketserver.StreamRequestHandler) -> None:
        def say(line: str) -> None:
            handler.wfile.write(line.encode("ascii") + b"\r\n")
            handler.wfile.flush()

        if not self.accepting:
            with self._lock:
                self.refused += 1
            say("421 4.3.2 Service not available, closing transmission channel")
            return
        say(f"220 {HOST} ESMTP test sink")
        while True:
            line = handler.rfile.readline(4096)
            if not line:
                return
            command = line.decode("ascii", "replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                say(f"250 {HOST}")
            elif command.startswith(("MAIL FROM", "RCPT TO", "RSET", "NOOP")):
                say("250 2.0.0 OK")
            elif command == "DATA":
                say("354 End data with <CR><LF>.<CR><LF>")
                data = self._read_data(handler)
                if data is None:
                    return
                with self._lock:
                    self._messages.append(data)
                say("250 2.0.0 Queued")
            elif command == "QUIT":
                say("221 2.0.0 Bye")
                return
            else:
                say("502 5.5.2 Command not implemented")

    def _read_data(self, handler: socketserver.StreamRequestHandler) -> bytes | None:
        """The message up to the line holding a single dot, dot-unstuffed."""
        lines: list[bytes] = []
        size = 0
        while True:
            line = handler.rfile.readline(MAX_MESSAGE)
            if not line:
                return None
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            if line.startswith(b".."):
                line = line[1:]
            size += len(line)
            if size > MAX_MESSAGE:
                return None
            lines.append(line)
