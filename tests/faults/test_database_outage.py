"""PostgreSQL outages in the web tier: a plain 503 page, nothing half-written, and a
process that recovers by itself.

The slow tests run gunicorn against the test database through a TCP proxy that cuts
every connection (``tests.faults.proxy``), so PostgreSQL really goes away under a
running process. The fast tests check the 503 page itself through Django's test
client, with a database error raised by a replaced selector: they prove the rendering
and the headers, not the outage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client
from django.urls import reverse

from feedback.views import surveys
from organizations import selectors
from organizations.models import BusinessUnit, Membership, Organization
from organizations.tenancy import tenant_context
from tests.faults.proxy import TcpProxy
from tests.faults.web import (
    HttpSession,
    WebServer,
    database_url,
    process_env,
    start_web,
)

UNAVAILABLE = "Engagement HRMS is temporarily unavailable"


def _raiser(error: Exception) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


def _client_of(membership: Membership) -> Client:
    # Django's test client re-raises a view's error unless told not to.
    client = Client(raise_request_exception=False)
    client.force_login(
        membership.user, backend="django.contrib.auth.backends.ModelBackend"
    )
    return client


def _assert_plain_503(response: Any) -> None:
    page = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert UNAVAILABLE in page
    assert "Traceback" not in page
    assert "Error" not in page
    names = [t.name for t in response.templates]
    assert "503.html" in names
    assert "base.html" not in names  # standalone: nothing that reads the database


# --- The 503 page (fast, the test client) ----------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("error_class", [OperationalError, InterfaceError])
@pytest.mark.django_db
def test_database_error_on_a_tenant_page_answers_the_plain_503_page(
    monkeypatch, settings, hr_admin, debug, error_class
):
    settings.DEBUG = debug
    monkeypatch.setattr(
        selectors, "hr_overview", _raiser(error_class("connection lost"))
    )

    response = _client_of(hr_admin).get(
        reverse("organizations:home", args=[hr_admin.organization.slug])
    )

    _assert_plain_503(response)


@pytest.mark.django_db
def test_database_error_on_a_tenant_page_keeps_the_security_headers(
    monkeypatch, hr_admin
):
    monkeypatch.setattr(selectors, "hr_overview", _raiser(OperationalError("gone")))

    response = _client_of(hr_admin).get(
        reverse("organizations:home", args=[hr_admin.organization.slug])
    )

    assert response.status_code == 503
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.django_db
def test_database_error_in_a_page_outside_the_tenant_answers_the_plain_503_page(
    monkeypatch, settings, debug
):
    settings.DEBUG = debug
    monkeypatch.setattr(
        surveys, "survey_from_token", _raiser(OperationalError("server closed"))
    )

    response = Client(raise_request_exception=False).get(
        reverse("survey:answer", args=["any-token"])
    )

    _assert_plain_503(response)


@pytest.mark.django_db
def test_other_errors_still_answer_the_500_page(monkeypatch, hr_admin):
    monkeypatch.setattr(selectors, "hr_overview", _raiser(RuntimeError("a bug")))

    response = _client_of(hr_admin).get(
        reverse("organizations:home", args=[hr_admin.organization.slug])
    )

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "Retry-After" not in response


# --- A real outage: gunicorn behind a proxy that cuts PostgreSQL -------------------------


@pytest.fixture(scope="module")
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy(upstream_port=5432) as running:
        yield running


@pytest.fixture(scope="module")
def web(django_db_setup: None, proxy: TcpProxy) -> Iterator[WebServer]:
    """One gunicorn worker for the module, connected through the proxy, keeping its
    connection between requests (``CONN_MAX_AGE``) as a production process would."""
    server = start_web(
        process_env(database_url=database_url(port=proxy.port), CONN_MAX_AGE="60")
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def outage(proxy: TcpProxy, web: WebServer) -> Iterator[TcpProxy]:
    """The proxy, restored after the test whatever happened (the server is shared)."""
    try:
        yield proxy
    finally:
        proxy.restore()


@pytest.fixture
def hr(transactional_db: None, org: Organization, hr_admin: Membership) -> Membership:
    """An HR admin whose rows are committed, so gunicorn sees them."""
    return hr_admin


def _units_url(organization: Organization) -> str:
    return reverse("organizations:business_units", args=[organization.slug])


def _unit_names(organization: Organization) -> set[str]:
    with tenant_context(organization):
        return set(BusinessUnit.objects.values_list("name", flat=True))


@pytest.mark.slow
def test_database_outage_answers_503_and_the_same_process_recovers(outage, web, hr):
    session = HttpSession(web.url, hr.user)
    url = _units_url(hr.organization)
    before = session.get(url)
    workers = web.worker_pids()

    outage.cut()
    page = session.get(url)
    posted = session.post(url, {"name": "Cut off", "parent": ""})
    health = session.get("/healthz")
    saved_during_the_outage = _unit_names(hr.organization)
    outage.restore()
    page_after = session.get(url)
    posted_after = session.post(url, {"name": "Back again", "parent": ""})

    assert before[0] == 200
    assert page[0] == 503
    assert UNAVAILABLE in page[1]
    assert "Traceback" not in page[1]
    assert "OperationalError" not in page[1]
    assert posted[0] == 503
    assert UNAVAILABLE in posted[1]
    assert "Cut off" not in saved_during_the_outage
    assert health[0] == 503
    assert json.loads(health[1])["database"] == "unavailable"
    assert page_after[0] == 200
    assert posted_after[0] == 302
    assert "Back again" in _unit_names(hr.organization)
    assert "Cut off" not in _unit_names(hr.organization)
    assert web.worker_pids() == workers, web.log()
    assert web.process.poll() is None


@pytest.mark.slow
def test_connection_lost_before_the_commit_saves_nothing(outage, web, hr):
    session = HttpSession(web.url, hr.user)
    url = _units_url(hr.organization)
    assert session.get(url)[0] == 200
    outage.cut_on(b"COMMIT")

    posted = session.post(url, {"name": "Half written", "parent": ""})

    # The insert reached PostgreSQL inside the request's transaction; the commit
    # never did, so PostgreSQL rolled it back when the connection died.
    assert outage.forwarded(b'INSERT INTO "organizations_businessunit"')
    assert outage.is_cut
    assert posted[0] == 503
    assert UNAVAILABLE in posted[1]
    assert "Half written" not in _unit_names(hr.organization)


@pytest.mark.slow
def test_connection_cut_while_idle_is_replaced_without_an_error(outage, web, hr):
    session = HttpSession(web.url, hr.user)
    url = _units_url(hr.organization)
    assert session.get(url)[0] == 200  # the worker now keeps a connection open

    outage.cut()  # PostgreSQL "restarts" between two requests
    outage.restore()
    page = session.get(url)

    # CONN_HEALTH_CHECKS: the dead connection is noticed and replaced before use.
    assert page[0] == 200
