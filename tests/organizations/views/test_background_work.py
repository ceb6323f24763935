"""Settings → Background work: HR sees the outbox backlog and failures of its own
organisation and retries failed work; nobody else may open it. And the operators'
commands over the same figures (``outbox_status``, ``relay_outbox``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from organizations.enums import Role
from organizations.models import Membership, Organization, OutboxMessage
from organizations.notifications import DELIVER_EMAIL_TASK
from organizations.tenancy import tenant_context


def _url(org: Organization) -> str:
    return reverse("organizations:background_work", args=[org.slug])


def _rows(org: Organization, member: Membership, n: int, **fields: Any) -> None:
    """``n`` owed e-mail rows to ``member``, written as the relay would leave them."""
    now = timezone.now()
    with tenant_context(org):
        OutboxMessage.objects.bulk_create(
            OutboxMessage(
                organization=org,
                task=DELIVER_EMAIL_TASK,
                kwargs={
                    "organization_id": org.pk,
                    "key": f"test:{n}:{i}:{fields.get('last_error', '')}",
                    "template": "feedback/email/feedback_shared.txt",
                    "context": {"path": "/"},
                    "user_id": member.user_id,
                    "address": "",
                    "essential": True,
                },
                created_at=now - timedelta(minutes=30),
                next_attempt_at=now,
                **fields,
            )
            for i in range(n)
        )


@pytest.fixture
def hr_client(hr_admin: Membership, client_as: Callable[..., Client]) -> Client:
    return client_as(hr_admin)


def test_hr_sees_counts_and_each_failure_with_its_error(
    org: Organization, hr_admin: Membership, hr_client: Client
) -> None:
    _rows(org, hr_admin, 2)
    _rows(
        org,
        hr_admin,
        1,
        attempts=8,
        dispatched_at=timezone.now(),
        failed_at=timezone.now(),
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
    )

    response = hr_client.get(_url(org))

    assert response.status_code == 200
    counts = response.context["backlog"]
    assert (counts.waiting, counts.running, counts.failed) == (2, 0, 1)
    html = response.content.decode()
    assert "Notification e-mail" in html
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in html
    assert "Retry failed work" in html


def test_with_nothing_owed_the_page_says_so(
    org: Organization, hr_client: Client
) -> None:
    response = hr_client.get(_url(org))

    html = response.content.decode()
    assert "Nothing is owed: all background work is done." in html
    assert "Retry failed work" not in html


def test_retrying_runs_the_failed_work_once(
    org: Organization,
    hr_admin: Membership,
    hr_client: Client,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    _rows(org, hr_admin, 1, attempts=8, failed_at=timezone.now(), last_error="X: y")

    with django_capture_on_commit_callbacks(execute=True):
        response = hr_client.post(_url(org), follow=True)

    assert "1 failed piece of work was queued again." in response.content.decode()
    with tenant_context(org):
        row = OutboxMessage.objects.get()
    assert row.failed_at is None
    assert row.completed_at is not None
    assert len(mailoutbox) == 1


def test_another_organisations_work_is_not_shown_or_retried(
    org: Organization,
    other_org: Organization,
    make_member: Callable[..., Membership],
    hr_client: Client,
) -> None:
    stranger = make_member(other_org, Role.HR_ADMIN)
    _rows(other_org, stranger, 3, failed_at=timezone.now(), last_error="Foreign: x")

    response = hr_client.get(_url(org))
    hr_client.post(_url(org))

    assert response.context["backlog"].failed == 0
    assert "Foreign: x" not in response.content.decode()
    with tenant_context(other_org):
        assert OutboxMessage.objects.filter(failed_at__isnull=False).count() == 3


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_only_hr_admins_may_open_or_post(
    org: Organization,
    make_member: Callable[..., Membership],
    client_as: Callable[..., Client],
    role: str,
) -> None:
    member = make_member(org, role)
    _rows(org, member, 1, failed_at=timezone.now(), last_error="X: y")
    client = client_as(member)

    assert client.get(_url(org)).status_code == 403
    assert client.post(_url(org)).status_code == 403
    with tenant_context(org):
        assert OutboxMessage.objects.get().failed_at is not None


def test_a_member_of_another_organisation_gets_404(
    org: Organization,
    other_org: Organization,
    make_member: Callable[..., Membership],
    client_as: Callable[..., Client],
) -> None:
    outsider = make_member(other_org, Role.HR_ADMIN)

    assert client_as(outsider).get(_url(org)).status_code == 404


def test_the_page_costs_the_same_queries_with_many_rows(
    org: Organization, hr_admin: Membership, hr_client: Client
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert hr_client.get(_url(org)).status_code == 200
        return len(captured.captured_queries)

    _rows(org, hr_admin, 1, failed_at=timezone.now(), last_error="X: y")
    few = queries()
    _rows(org, hr_admin, 40, failed_at=timezone.now(), last_error="Z: w")
    _rows(org, hr_admin, 40)

    assert queries() == few
    assert few <= 15


# --- Operators' commands ------------------------------------------------------------------


def test_outbox_status_prints_each_organisation_and_fails_on_failed_work(
    org: Organization, other_org: Organization, hr_admin: Membership
) -> None:
    _rows(org, hr_admin, 2)
    out = StringIO()
    call_command("outbox_status", stdout=out)
    assert f"{org.slug}: waiting 2, running 0, failed 0" in out.getvalue()
    assert f"{other_org.slug}: waiting 0" in out.getvalue()

    _rows(org, hr_admin, 1, failed_at=timezone.now(), last_error="Boom: it broke")
    out = StringIO()
    with pytest.raises(CommandError, match="1 piece"):
        call_command("outbox_status", "--org", org.slug, stdout=out)
    assert "Boom: it broke" in out.getvalue()


def test_relay_outbox_publishes_what_is_due(
    org: Organization, hr_admin: Membership, mailoutbox: list[Any]
) -> None:
    _rows(org, hr_admin, 3)
    out = StringIO()

    call_command("relay_outbox", stdout=out)

    assert "Published 3 outbox row(s)." in out.getvalue()
    assert len(mailoutbox) == 3
    with tenant_context(org):
        assert not OutboxMessage.objects.filter(completed_at__isnull=True).exists()
