"""The one-click unsubscribe link of report e-mails (``reporting.unsubscribe``, the
public page ``reporting_public:unsubscribe``): a signed link that names the
recipient, a confirmation page, the RFC 8058 one-click POST without a CSRF token,
404 for a tampered link, idempotent, and no e-mail after it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail, signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.tenancy import tenant_context
from reporting.enums import DeliveryStatus
from reporting.models import ReportRecipient
from reporting.unsubscribe import (
    UNSUBSCRIBE_SALT,
    recipient_from_token,
    unsubscribe_token,
    unsubscribe_url,
)
from tests.reporting.subscriptions.conftest import MONDAY_7AM, deliveries, due_at
from tests.reporting_factories import subscription_for

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def recipient(world) -> ReportRecipient:
    digest = subscription_for(world.hr, [world.manager])
    with tenant_context(world.org):
        return ReportRecipient.objects.select_related("subscription").get(
            subscription=digest
        )


def page(recipient: ReportRecipient) -> str:
    return reverse("reporting_public:unsubscribe", args=[unsubscribe_token(recipient)])


def stored(recipient: ReportRecipient) -> ReportRecipient:
    with tenant_context(recipient.organization):
        return ReportRecipient.objects.get(pk=recipient.pk)


def test_the_link_is_absolute_and_names_the_recipient(recipient):
    url = unsubscribe_url(recipient)

    assert url.startswith("http://127.0.0.1:8000/reports/unsubscribe/")
    found = recipient_from_token(url.rstrip("/").rsplit("/", 1)[1])
    assert found is not None
    assert found.pk == recipient.pk


def test_the_page_asks_before_unsubscribing(recipient):
    response = Client().get(page(recipient))

    assert response.status_code == 200
    assert b"Weekly cycle digest" in response.content
    assert b'data-action="unsubscribe"' in response.content
    assert stored(recipient).unsubscribed_at is None


def test_the_one_click_post_unsubscribes_without_a_csrf_token(recipient):
    client = Client(enforce_csrf_checks=True)

    response = client.post(page(recipient), ONE_CLICK)

    assert response.status_code == 200
    assert b'data-state="unsubscribed"' in response.content
    assert stored(recipient).unsubscribed_at is not None


def test_unsubscribing_twice_keeps_the_first_time(recipient):
    client = Client()
    client.post(page(recipient), ONE_CLICK)
    first = stored(recipient).unsubscribed_at

    response = client.post(page(recipient), ONE_CLICK)

    assert response.status_code == 200
    assert stored(recipient).unsubscribed_at == first


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_link_is_not_found(recipient, method):
    token = unsubscribe_token(recipient)
    forged = signing.dumps(
        {"o": recipient.organization_id, "r": recipient.pk}, salt="another.salt"
    )
    client = Client()

    answers = [
        getattr(client, method)(
            reverse("reporting_public:unsubscribe", args=[bad])
        ).status_code
        for bad in (token[:-2] + "xx", forged, "tampered")
    ]

    assert answers == [404, 404, 404]
    assert stored(recipient).unsubscribed_at is None


def test_another_organisations_recipient_is_not_found(recipient, rival):
    token = signing.dumps({"o": rival.org.pk, "r": recipient.pk}, salt=UNSUBSCRIBE_SALT)

    response = Client().post(
        reverse("reporting_public:unsubscribe", args=[token]), ONE_CLICK
    )

    assert response.status_code == 404
    assert stored(recipient).unsubscribed_at is None


@pytest.mark.slow
def test_no_email_after_unsubscribing(world, recipient, dispatch):
    Client().post(page(recipient), ONE_CLICK)
    due_at(recipient.subscription, MONDAY_7AM)

    dispatch(MONDAY_7AM + timedelta(minutes=1))

    [delivery] = deliveries(recipient.subscription)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert mail.outbox == []


@pytest.mark.parametrize(("method", "budget"), [("get", 4), ("post", 7)])
def test_the_page_costs_a_fixed_few_queries(recipient, method, budget):
    client = Client()

    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(page(recipient), ONE_CLICK)

    # The organisation, the tenant's row-security setting, the recipient, the
    # setting's reset; a POST adds the update in a tenant context of its own. The
    # test transaction's savepoints are left out (a request commits instead).
    queries = [
        q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]
    ]
    assert response.status_code == 200
    assert len(queries) <= budget, "\n".join(queries)
