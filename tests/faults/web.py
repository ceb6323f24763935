"""The web tier in real processes, for fault tests.

    env = process_env(database_url=database_url(port=proxy.port))
    web = start_web(env)                   # gunicorn on 127.0.0.1:<free port>
    try:
        session = HttpSession(web.url, membership.user)
        status, body = session.get("/o/acme/")
        status, body = session.post("/o/acme/settings/business-units/", {...})
    finally:
        web.stop()

The processes use the test database (as the application role, so row-level security
applies) and must see the test's rows: use pytest-django's ``transactional_db`` (or
``django_db(transaction=True)``), whose data is committed and truncated afterwards.

Sessions live in the database and are signed with ``SECRET_KEY`` (the session data
and the user's session hash both are), so the processes get ``RUN_SECRET_KEY``, made
afresh for each test run, and ``HttpSession`` logs its user in under that key.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings
from django.db import connections
from django.test import Client
from django.test.utils import override_settings

BASE_DIR = Path(__file__).resolve().parents[2]

# The processes' settings: the project's, with static files served unhashed (the
# tests do not run collectstatic); see tests/faults/settings.py.
SETTINGS_MODULE = "tests.faults.settings"

# Long and random enough for production's check (DEBUG is off in the processes).
RUN_SECRET_KEY = secrets.token_urlsafe(48)  # 64 characters

START_TIMEOUT = 60.0  # seconds for gunicorn to answer /healthz on a busy machine
STOP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0

T = TypeVar("T")


def database_url(*, port: int | None = None) -> str:
    """The current test database, as the application role, at 127.0.0.1:<port>
    (5432 unless given: pass a proxy's port to put the proxy in between)."""
    current = connections["default"].settings_dict
    user = quote(settings.DATABASE_APP_ROLE, safe="")
    # The test process connects as the application role with this password too.
    password = current.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    name = quote(current["NAME"], safe="")
    return f"postgres://{credentials}@127.0.0.1:{port or 5432}/{name}"


def file_email_url(directory: Path) -> str:
    """An ``EMAIL_URL`` that writes every e-mail as a file into ``directory``."""
    # django-environ reads the path after "filemail://" as relative unless it starts
    # with a further slash: four slashes in all for an absolute directory.
    return "filemail:///" + quote(str(directory.resolve()), safe="/")


def process_env(
    *, database_url: str, redis_url: str = "", **extra: str
) -> dict[str, str]:
    """The environment of a web or worker process: this process's, with the
    database, Redis, production mode (``DEBUG`` off, plain HTTP on 127.0.0.1) and
    ``RUN_SECRET_KEY``. Without ``redis_url`` tasks run eagerly in the process.

    ``extra`` is added last (``CONN_MAX_AGE="60"``, ``LOG_LEVEL=...``). An
    ``EMAIL_FILE_PATH`` in it makes e-mails files in that directory; without one
    they are printed to the process's output.
    """
    env = dict(os.environ)
    # Set by tests/conftest.py for the test process only; a deployment never has it.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        DATABASE_URL=database_url,
        DATABASE_APP_ROLE=settings.DATABASE_APP_ROLE,
        REDIS_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="false" if redis_url else "true",
        DEBUG="false",
        SECRET_KEY=RUN_SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        EMAIL_URL="consolemail://",
        PYTHONUNBUFFERED="1",
    )
    if "EMAIL_FILE_PATH" in extra:
        env["EMAIL_URL"] = file_email_url(Path(extra["EMAIL_FILE_PATH"]))
    env.update(extra)
    return env


@dataclass
class WebServer:
    """A gunicorn started by ``start_web``; its output is in ``log_path`` (a
    temporary directory that ``stop()`` removes, keeping the text for ``log()``)."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _final_log: str | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop gunicorn (SIGTERM, then SIGKILL to its process group) and wait."""
        _stop(self.process)
        if self._final_log is None:
            self._final_log = self.log()
            shutil.rmtree(self.log_path.parent, ignore_errors=True)

    def log(self) -> str:
        """Everything gunicorn and the application wrote so far."""
        if self._final_log is not None:
            return self._final_log
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        """Every worker gunicorn booted so far, in order: a worker that died and was
        replaced shows up as a second pid."""
        return [
            int(pid)
            for pid in re.findall(r"Booting worker with pid: (\d+)", self.log())
        ]


def start_web(env: dict[str, str], *, workers: int = 1) -> WebServer:
    """Start ``gunicorn config.wsgi:application`` on 127.0.0.1:<free port> (gunicorn
    binds port 0 and logs the port it got) and wait until ``/healthz`` answers with
    any status (at most ``START_TIMEOUT`` seconds). Call ``stop()`` in a finally or
    a fixture's teardown."""
    log_path = Path(tempfile.mkdtemp(prefix="hrms-web-")) / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind=127.0.0.1:0",
                f"--workers={workers}",
                "--timeout=120",
                "--graceful-timeout=10",
                "--access-logfile=-",
                "--error-logfile=-",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() can end it whole
        )
    try:
        port = _wait_for(
            lambda: _listening_port(log_path), process, log_path, "to listen"
        )
        url = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _answers(f"{url}/healthz"), process, log_path, "to answer")
    except BaseException:
        _stop(process)
        shutil.rmtree(log_path.parent, ignore_errors=True)
        raise
    return WebServer(url=url, process=process, log_path=log_path)


class HttpSession:
    """A logged-in HTTP client of a server in another process (standard library).

    The session is made in the test process, as ``Client.force_login`` does, under
    ``RUN_SECRET_KEY``; the session row must be committed (``transactional_db``).
    Cookies the server sets are kept and sent back (their Secure flag ignored: the
    processes speak plain HTTP). Redirects are not followed.
    """

    def __init__(self, base_url: str, user: Any) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.cookies: dict[str, str] = {}
        client = Client()
        with override_settings(SECRET_KEY=RUN_SECRET_KEY):
            client.force_login(
                user, backend="django.contrib.auth.backends.ModelBackend"
            )
        cookie = settings.SESSION_COOKIE_NAME
        self.cookies[cookie] = client.cookies[cookie].value

    def get(self, path: str) -> tuple[int, str]:
        return self._request("GET", path)

    def post(self, path: str, data: dict[str, Any]) -> tuple[int, str]:
        """POST ``data`` as a form, with the CSRF cookie and token. Without a CSRF
        cookie from the server yet, the session makes its own secret, which Django
        accepts as long as the cookie and the form field carry the same one (so a
        POST works even when no page could be fetched first)."""
        token = self.cookies.setdefault(settings.CSRF_COOKIE_NAME, _csrf_secret())
        body = urlencode({**data, "csrfmiddlewaretoken": token}, doseq=True)
        return self._request(
            "POST",
            path,
            body.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=REQUEST_TIMEOUT
        )
        try:
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            connection.request(
                method, path, body=body, headers={**(headers or {}), "Cookie": cookie}
            )
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
            for header in response.msg.get_all("Set-Cookie") or []:
                self._keep(header)
            return response.status, text
        finally:
            connection.close()

    def _keep(self, header: str) -> None:
        for name, morsel in SimpleCookie(header).items():
            if morsel["max-age"] == "0" or not morsel.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value


# --- helpers ---------------------------------------------------------------------------


def _csrf_secret() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def _listening_port(log_path: Path) -> int | None:
    found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log_path.read_text())
    return int(found.group(1)) if found else None


def _answers(url: str) -> bool | None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=5
    )
    try:
        connection.request("GET", parts.path)
        connection.getresponse().read()
    except OSError:
        return None
    finally:
        connection.close()
    return True


def _wait_for(
    probe: Callable[[], T | None],
    process: subprocess.Popen[bytes],
    log_path: Path,
    what: str,
) -> T:
    """Poll ``probe`` until it answers, the process dies or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        result = probe()
        if result is not None:
            return result
        if process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited ({process.returncode}) before it began {what}:\n"
                + log_path.read_text(errors="replace")
            )
        time.sleep(0.2)
    raise TimeoutError(
        f"gunicorn did not begin {what} within {START_TIMEOUT:.0f} s:\n"
        + log_path.read_text(errors="replace")
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to gunicorn's master, which stops its workers and waits for them;
    if it has not ended in time, SIGKILL to the process group it leads
    (``start_new_session``), workers included."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        # Not reaped yet, so the group id is still this master's own.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)
