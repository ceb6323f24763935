"""The scheduled e-mails' pages: the list, the form (who may subscribe whom to what,
and bad input refused beside its field with nothing saved), pausing, deleting,
unsubscribing in the app, a delivery's e-mails and the PDF each carried. The
authorisation matrix (tests/authz) checks every URL for every role; these tests check
what the pages show and change."""

from __future__ import annotations

import html
import re
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.enums import Role
from organizations.models import Employee
from organizations.tenancy import tenant_context
from reporting.enums import Frequency, SubscriptionKind
from reporting.models import (
    ReportDelivery,
    ReportEmail,
    ReportRecipient,
    ReportSubscription,
)
from tests.reporting_factories import sent_delivery, subscription_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _url(name, org, *args):
    return reverse(f"reporting:{name}", args=[org.slug, *args])


def _entry(membership):
    with tenant_context(membership.organization):
        return Employee.objects.get(user=membership.user)


def _field_error(page, name):
    found = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(found.group(1)) if found else None


def _refresh(subscription):
    with tenant_context(subscription.organization):
        subscription.refresh_from_db()


def _subscriptions(org):
    with tenant_context(org):
        return list(
            ReportSubscription.objects.order_by("pk").values_list(
                "title", "kind", "frequency", "weekday", "day_of_month"
            )
        )


def _recipients(subscription):
    with tenant_context(subscription.organization):
        return sorted(
            ReportRecipient.objects.filter(subscription=subscription).values_list(
                "membership_id", flat=True
            )
        )


@pytest.fixture
def line(org, make_member):
    """A manager with one report, who has a login."""
    manager = make_member(org, Role.MANAGER)
    report = make_member(org, Role.EMPLOYEE)
    with tenant_context(org):
        Employee.objects.filter(user=report.user).update(line_manager=_entry(manager))
    return manager, report


WEEKLY_DIGEST = {
    "title": "Monday digest",
    "kind": SubscriptionKind.CYCLE_DIGEST,
    "frequency": Frequency.WEEKLY,
    "weekday": "0",
    "time_of_day": "07:00",
}


# --- The list ---------------------------------------------------------------------------


def test_the_list_shows_hr_every_subscription_and_others_their_own(
    client_as, org, other_org, hr_admin, line, make_member
):
    manager, report = line
    mine = subscription_for(manager, title="Manager's digest")
    subscription_for(hr_admin, title="Board digest")
    subscription_for(make_member(other_org, Role.HR_ADMIN), title="Away digest")

    hr_page = client_as(hr_admin).get(_url("subscriptions", org)).content.decode()
    manager_page = client_as(manager).get(_url("subscriptions", org)).content.decode()
    report_page = client_as(report).get(_url("subscriptions", org)).content.decode()

    assert "Manager&#x27;s digest" in hr_page
    assert "Board digest" in hr_page
    assert "Away digest" not in hr_page
    assert "Manager&#x27;s digest" in manager_page
    assert "Board digest" not in manager_page
    assert _url("subscription_detail", org, mine.pk) in manager_page
    assert "No scheduled e-mails yet" in report_page


def test_the_list_reads_the_same_queries_for_one_row_or_many(
    client_as, org, hr_admin, line
):
    manager, _report = line
    subscription_for(manager)
    client = client_as(hr_admin)
    client.get(_url("subscriptions", org))
    with CaptureQueriesContext(connection) as one:
        assert client.get(_url("subscriptions", org)).status_code == 200
    for n in range(12):
        subscription_for(manager, title=f"Digest {n}", recipients=[manager, hr_admin])
    with CaptureQueriesContext(connection) as many:
        assert client.get(_url("subscriptions", org)).status_code == 200

    assert len(many) == len(one) <= 15


# --- The form ---------------------------------------------------------------------------


def test_an_employee_subscribes_themselves_to_their_appraisal(client_as, org, line):
    _manager, report = line

    response = client_as(report).post(
        _url("subscription_create", org),
        {
            "title": "My appraisal",
            "kind": SubscriptionKind.MY_APPRAISAL,
            "frequency": Frequency.CYCLE_EVENT,
            "cycle_event": "closed",
            "time_of_day": "07:00",
        },
    )

    assert response.status_code == 302
    with tenant_context(org):
        subscription = ReportSubscription.objects.get()
    assert subscription.created_by_id == report.user_id
    assert subscription.next_run_at is None  # follows the cycle's events
    assert _recipients(subscription) == [report.pk]


def test_hr_subscribes_the_managing_director_to_the_weekly_digest(
    client_as, org, hr_admin, make_member
):
    director = make_member(org, Role.HR_ADMIN)

    response = client_as(hr_admin).post(
        _url("subscription_create", org),
        {**WEEKLY_DIGEST, "recipients": [_entry(director).pk]},
    )

    assert response.status_code == 302
    with tenant_context(org):
        subscription = ReportSubscription.objects.get()
    assert _recipients(subscription) == [director.pk]
    assert subscription.next_run_at is not None
    assert subscription.filters == {}
    page = client_as(hr_admin).get(response["Location"]).content.decode()
    assert "Weekly on Monday at 07:00" in page


def test_a_manager_who_names_someone_else_still_subscribes_only_themselves(
    client_as, org, line, hr_admin
):
    manager, _report = line

    response = client_as(manager).post(
        _url("subscription_create", org),
        {**WEEKLY_DIGEST, "recipients": [_entry(hr_admin).pk]},
    )

    assert response.status_code == 302
    with tenant_context(org):
        subscription = ReportSubscription.objects.get()
    assert _recipients(subscription) == [manager.pk]


def test_an_employee_may_not_subscribe_to_the_cycle_digest(client_as, org, line):
    _manager, report = line

    response = client_as(report).post(_url("subscription_create", org), WEEKLY_DIGEST)

    assert response.status_code == 400
    assert _field_error(response.content.decode(), "kind") == (
        "Choose one of the reports listed."
    )
    assert _subscriptions(org) == []


def test_a_weekly_email_needs_its_weekday(client_as, org, line):
    manager, _report = line

    response = client_as(manager).post(
        _url("subscription_create", org), {**WEEKLY_DIGEST, "weekday": ""}
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), "weekday") == (
        "Choose the weekday it is sent on."
    )
    assert _subscriptions(org) == []


def test_a_monthly_email_needs_a_day_from_1_to_31(client_as, org, line):
    manager, _report = line

    response = client_as(manager).post(
        _url("subscription_create", org),
        {**WEEKLY_DIGEST, "frequency": Frequency.MONTHLY, "day_of_month": "32"},
    )

    assert response.status_code == 400
    assert "from 1 to 31" in _field_error(response.content.decode(), "day_of_month")
    assert _subscriptions(org) == []


def test_hr_cannot_send_a_team_summary_to_someone_without_a_team(
    client_as, org, hr_admin, line
):
    _manager, report = line

    response = client_as(hr_admin).post(
        _url("subscription_create", org),
        {
            **WEEKLY_DIGEST,
            "kind": SubscriptionKind.TEAM_SUMMARY,
            "recipients": [_entry(report).pk],
        },
    )

    assert response.status_code == 400
    assert "has nobody reporting to them" in _field_error(
        response.content.decode(), "recipients"
    )
    assert _subscriptions(org) == []


def test_hr_must_name_a_recipient(client_as, org, hr_admin):
    response = client_as(hr_admin).post(_url("subscription_create", org), WEEKLY_DIGEST)

    assert response.status_code == 400
    assert _field_error(response.content.decode(), "recipients") == (
        "Choose at least one recipient."
    )
    assert _subscriptions(org) == []


def test_editing_changes_the_schedule_and_keeps_only_its_fields(client_as, org, line):
    manager, _report = line
    subscription = subscription_for(manager)

    response = client_as(manager).post(
        _url("subscription_edit", org, subscription.pk),
        {
            **WEEKLY_DIGEST,
            "frequency": Frequency.MONTHLY,
            "day_of_month": "31",
            "time_of_day": "18:00",
        },
    )

    assert response.status_code == 302
    _refresh(subscription)
    assert (subscription.frequency, subscription.weekday) == (Frequency.MONTHLY, None)
    assert (subscription.day_of_month, subscription.time_of_day) == (31, time(18, 0))


# --- Pausing, deleting, unsubscribing ------------------------------------------------


def test_pausing_stops_the_schedule_and_resuming_restarts_it(client_as, org, line):
    manager, _report = line
    subscription = subscription_for(manager)
    client = client_as(manager)

    client.post(_url("subscription_toggle", org, subscription.pk))
    _refresh(subscription)
    assert (subscription.is_active, subscription.next_run_at) == (False, None)

    client.post(_url("subscription_toggle", org, subscription.pk))
    _refresh(subscription)
    assert subscription.is_active
    assert subscription.next_run_at is not None


def test_deleting_removes_the_deliveries_and_their_pdfs(
    client_as, org, line, django_capture_on_commit_callbacks
):
    manager, _report = line
    subscription = subscription_for(manager)
    name = default_storage.save(f"reports/{org.pk}/sent.pdf", ContentFile(b"%PDF"))
    sent_delivery(subscription, manager, file=name)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(manager).post(
            _url("subscription_delete", org, subscription.pk)
        )

    assert response.status_code == 302
    assert _subscriptions(org) == []
    with tenant_context(org):
        assert not ReportDelivery.objects.exists()
        assert not ReportEmail.objects.exists()
    assert not default_storage.exists(name)


def test_a_recipient_unsubscribes_in_the_app(client_as, org, hr_admin, line):
    manager, _report = line
    subscription = subscription_for(hr_admin, recipients=[hr_admin, manager])

    response = client_as(manager).post(
        _url("subscription_unsubscribe", org, subscription.pk)
    )

    assert response.status_code == 302
    with tenant_context(org):
        gone = ReportRecipient.objects.get(membership=manager)
        stays = ReportRecipient.objects.get(membership=hr_admin)
    assert gone.unsubscribed_at is not None
    assert stays.unsubscribed_at is None
    page = client_as(manager).get(response["Location"]).content.decode()
    assert "Unsubscribed on" in page
    assert "Stop sending it to me" not in page


# --- Deliveries -----------------------------------------------------------------------


def test_a_delivery_shows_hr_every_email_and_a_recipient_their_own(
    client_as, org, hr_admin, line
):
    manager, _report = line
    subscription = subscription_for(hr_admin, recipients=[hr_admin, manager])
    name = default_storage.save(f"reports/{org.pk}/mine.pdf", ContentFile(b"%PDF-x"))
    delivery, email = sent_delivery(subscription, manager, file=name)
    with tenant_context(org):
        ReportEmail.objects.create(
            organization=org,
            delivery=delivery,
            recipient=hr_admin,
            address=hr_admin.user.email,
            status="failed",
            attempts=3,
            error="The mail server refused the connection.",
        )
    url = _url("delivery_detail", org, subscription.pk, delivery.pk)

    hr_page = client_as(hr_admin).get(url).content.decode()
    manager_page = client_as(manager).get(url).content.decode()

    assert "The mail server refused the connection." in hr_page
    assert manager.user.email in hr_page
    assert "The mail server refused the connection." not in manager_page
    pdf_url = _url("delivery_email_pdf", org, subscription.pk, delivery.pk, email.pk)
    assert pdf_url in manager_page
    response = client_as(manager).get(pdf_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-x"
    assert response["Content-Type"] == "application/pdf"


def test_an_emails_pdf_is_gone_once_deleted(client_as, org, line):
    manager, _report = line
    subscription = subscription_for(manager)
    delivery, email = sent_delivery(
        subscription, manager, file=f"reports/{org.pk}/deleted.pdf"
    )

    response = client_as(manager).get(
        _url("delivery_email_pdf", org, subscription.pk, delivery.pk, email.pk)
    )

    assert response.status_code == 410
    assert "Send now" in response.content.decode()


def test_a_delivery_page_reads_the_same_queries_for_one_email_or_many(
    client_as, org, hr_admin, make_member
):
    subscription = subscription_for(hr_admin)
    delivery, _email = sent_delivery(subscription, hr_admin)
    client = client_as(hr_admin)
    url = _url("delivery_detail", org, subscription.pk, delivery.pk)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    with tenant_context(org):
        for _n in range(10):
            member = make_member(org, Role.MANAGER)
            ReportEmail.objects.create(
                organization=org, delivery=delivery, recipient=member, status="sent"
            )
    with CaptureQueriesContext(connection) as many:
        client.get(url)

    assert len(many) == len(one) <= 15


def test_a_new_subscription_starts_on_mondays_at_seven(client_as, org, line):
    manager, _report = line

    page = client_as(manager).get(_url("subscription_create", org)).content.decode()

    assert re.search(r'<input[^>]*value="weekly"[^>]*checked', page)
    assert re.search(r'<option value="0" selected>Monday</option>', page)
    assert 'value="07:00"' in page
    assert "---------" not in page
    assert "Choose a cycle event" in page
    # A manager subscribes themselves: no recipients to choose.
    assert 'name="recipients"' not in page
