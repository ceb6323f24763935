"""Production refuses unsafe settings; the deploy checks pass; the health probe tells
the truth about the database and the broker."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

from django.test import Client

BASE_DIR = Path(__file__).resolve().parent.parent

LONG_SECRET_KEY = secrets.token_urlsafe(50)


def _run(args: list[str], **overrides: str | None) -> subprocess.CompletedProcess[str]:
    """Run Python in the project with the environment changed by ``overrides``.

    An override of None removes the variable.
    """
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    # Set by tests/conftest.py for this process only; a deployment never has it.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _start(**overrides: str | None) -> subprocess.CompletedProcess[str]:
    return _run(["-c", "import django; django.setup()"], **overrides)


def test_production_refuses_to_start_without_a_secret_key():
    result = _start(DEBUG="false", SECRET_KEY=None, ALLOWED_HOSTS="hrms.example.com")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_with_a_short_secret_key():
    result = _start(
        DEBUG="false", SECRET_KEY="x" * 39, ALLOWED_HOSTS="hrms.example.com"
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_with_the_development_secret_key():
    result = _start(
        DEBUG="false",
        SECRET_KEY="dev-only-insecure-key-do-not-use-in-production",
        ALLOWED_HOSTS="hrms.example.com",
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr


def test_production_starts_with_a_long_secret_key():
    result = _start(
        DEBUG="false", SECRET_KEY=LONG_SECRET_KEY, ALLOWED_HOSTS="hrms.example.com"
    )

    assert (result.returncode, result.stderr) == (0, "")


def test_debug_refuses_to_start_with_a_public_host():
    result = _start(DEBUG="true", ALLOWED_HOSTS="localhost,hrms.example.com")

    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: DEBUG is on while ALLOWED_HOSTS names public hosts "
        "(hrms.example.com)" in result.stderr
    )


def test_debug_starts_with_local_hosts_only():
    result = _start(DEBUG="true", SECRET_KEY=None, ALLOWED_HOSTS="localhost,127.0.0.1")

    assert (result.returncode, result.stderr) == (0, "")


def test_check_deploy_reports_no_issues_in_production_settings():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="false",
        SECRET_KEY=LONG_SECRET_KEY,
        ALLOWED_HOSTS="hrms.example.com",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


# --- /healthz ----------------------------------------------------------------------


def test_healthz_reports_database_and_broker_ok(db, settings):
    assert settings.REDIS_URL, "the test environment names a Redis broker"

    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_200_but_degraded_when_the_broker_is_unreachable(db, settings):
    # The web tier keeps serving during a Redis outage, so the probe must not fail.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "broker": "unavailable",
    }


HEALTHZ_SCRIPT = """
import json
import django
django.setup()
from django.test import Client
response = Client().get("/healthz")
print("RESULT:" + json.dumps([response.status_code, response.json()]))
"""


def test_healthz_is_503_when_the_database_does_not_answer():
    with socket.socket() as refusing:  # bound, never listening: refuses connections
        refusing.bind(("127.0.0.1", 0))
        port = refusing.getsockname()[1]
        result = _run(
            ["-c", HEALTHZ_SCRIPT],
            DATABASE_URL=f"postgres://hrms_app@127.0.0.1:{port}/hrms",
            REDIS_URL=None,
        )

    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT:"))
    assert json.loads(line.removeprefix("RESULT:")) == [
        503,
        {
            "status": "unavailable",
            "database": "unavailable",
            "broker": "eager (no broker configured)",
        },
    ]


def test_healthz_without_a_broker_reports_eager_tasks(db, settings):
    settings.REDIS_URL = ""

    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "eager (no broker configured)",
    }


def test_healthz_refuses_post(db):
    response = Client().post("/healthz")

    assert response.status_code == 405
