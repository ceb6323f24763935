"""``manage.py check_consistency``: background work still owed (the outbox) and
e-mails owed but not sent are found and named (the rest: test_check_consistency.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import factory
import pytest
from django.utils import timezone

from organizations.models import (
    Membership,
    Organization,
    OutboxMessage,
    SentEmail,
    User,
)
from organizations.notifications import queue_email, receives_email
from organizations.tenancy import tenant_context
from tests.check_command import ago, check
from tests.factories import OrganizationFactory, TenantFactory

# --- Outbox and e-mails ------------------------------------------------------------------


class OutboxMessageFactory(TenantFactory):
    """A pending outbox row owing a recompute (the columns ``outbox.enqueue`` fills)."""

    class Meta:
        model = OutboxMessage

    organization = factory.SubFactory(OrganizationFactory)
    task = "appraisals.recompute_appraisal"
    key = factory.Sequence(lambda n: f"recompute:{n + 1}")
    kwargs = factory.LazyAttribute(
        lambda o: {"appraisal_id": 1, "organization_id": o.organization.pk}
    )


def owe(org: Organization, key: str, **fields: Any) -> OutboxMessage:
    return cast(
        OutboxMessage, OutboxMessageFactory(organization=org, key=key, **fields)
    )


def test_check_consistency_old_pending_and_failed_outbox_rows_are_named(
    org: Organization,
) -> None:
    old = owe(org, "recompute:1", created_at=ago(30))
    failed = owe(
        org,
        "recompute:2",
        failed_at=timezone.now(),
        dispatched_at=timezone.now(),
        attempts=8,
        last_error="OperationalError: the database is gone",
    )
    recent = owe(org, "recompute:3")
    owe(org, "recompute:4", created_at=ago(30), completed_at=ago(29))

    outcome = check("--org", org.slug)

    outbox = [line for line in outcome.lines if line.startswith("outbox row")]
    assert outcome.error is not None
    assert outbox == [
        f'outbox row {old.pk} (task appraisals.recompute_appraisal, key "recompute:1"): '
        "expected completed within 10 minute(s) of being queued, found still "
        "waiting to be published, queued 30 minute(s) ago",
        f'outbox row {failed.pk} (task appraisals.recompute_appraisal, key "recompute:2"): '
        "expected completed (it is marked failed: it will not be tried again by "
        "itself), found failed after 8 publication(s), queued 0 minute(s) ago "
        "(last error: OperationalError: the database is gone)",
    ]
    assert recent.pk not in {int(line.split()[2]) for line in outbox}


def test_check_consistency_outbox_minutes_sets_how_old_is_late(
    org: Organization,
) -> None:
    owe(org, "recompute:1", created_at=ago(30))

    patient = check("--org", org.slug, "--outbox-minutes", "60")
    impatient = check("--org", org.slug, "--outbox-minutes", "20")

    assert patient.error is None, patient.output
    assert impatient.error is not None


def email(
    org: Organization, member: Membership, key: str, *, essential: bool = False
) -> OutboxMessage:
    with tenant_context(org):
        queue_email(
            organization=org,
            key=key,
            template="feedback/email/feedback_shared.txt",
            context={"path": "/"},
            user=member.user,
            essential=essential,
        )
        return OutboxMessage.objects.get(key=f"email:{key}")


def test_check_consistency_email_owed_for_long_is_named(
    org: Organization, employee_member: Membership
) -> None:
    row = email(org, employee_member, "feedback.shared:1:1")
    with tenant_context(org):
        OutboxMessage.objects.filter(pk=row.pk).update(created_at=ago(45))

    outcome = check("--org", org.slug)

    assert outcome.error is not None
    assert (
        f'e-mail "feedback.shared:1:1" to user {employee_member.user_id} (outbox row '
        f"{row.pk}): expected sent within 10 minute(s) of being queued, found not "
        "sent: its outbox row is still waiting to be published, queued 45 minute(s) ago"
    ) in outcome.lines
    assert any(line.startswith("E-mails: 1 difference.") for line in outcome.lines)


def test_check_consistency_completed_email_without_ledger_row_is_named_when_owed(
    org: Organization, make_member: Callable[..., Membership]
) -> None:
    keen = make_member(org)
    opted_out = make_member(org, user__optional_emails=False)
    sent = email(org, keen, "event:sent")
    lost = email(org, keen, "event:lost")
    skipped = email(org, opted_out, "event:skipped")
    essential = email(org, opted_out, "event:essential", essential=True)
    with tenant_context(org):
        OutboxMessage.objects.filter(
            pk__in=[sent.pk, lost.pk, skipped.pk, essential.pk]
        ).update(completed_at=ago(5))
        SentEmail.objects.create(
            organization=org, key="event:sent", recipient=keen.user.email
        )

        found = [
            line for line in check("--org", org.slug).lines if line.startswith("e-mail")
        ]

    assert found == [
        f'e-mail "event:lost" to user {keen.user_id} (outbox row {lost.pk}): expected a '
        "ledger row (sent e-mail) for its key, as the recipient receives it, found "
        "its outbox row completed 5 minute(s) ago, no ledger row",
        f'e-mail "event:essential" to user {opted_out.user_id} (outbox row '
        f"{essential.pk}): expected a ledger row (sent e-mail) for its key, as the "
        "recipient receives it, found its outbox row completed 5 minute(s) ago, no "
        "ledger row",
    ]


@pytest.mark.parametrize(
    ("active", "member", "optional", "essential", "receives"),
    [
        (True, True, True, False, True),
        (True, True, False, False, False),
        (True, True, False, True, True),
        (True, False, True, True, False),
        (False, True, True, True, False),
    ],
)
def test_receives_email_mirrors_deliver_email(
    active: bool, member: bool, optional: bool, essential: bool, receives: bool
) -> None:
    user = User(is_active=active, optional_emails=optional)

    assert receives_email(user, member=member, essential=essential) is receives
    assert receives_email(None, member=True, essential=True) is False
