"""The dispatcher and the delivery ledger (``reporting.dispatch``): what is due when
(in the organisation's time zone), one delivery per subscription and period however
often it runs, one e-mail per recipient, other organisations' subscriptions handled
in their own tenant, cycle moves and "send now"."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django_scopes import scopes_disabled

from engagements.enums import CycleStatus
from engagements.services.cycles import transition_cycle
from organizations.tenancy import tenant_context
from reporting.dispatch import send_now
from reporting.enums import (
    CycleEvent,
    DeliveryStatus,
    EmailStatus,
    Frequency,
    SubscriptionKind,
)
from reporting.models import ReportDelivery, ReportSubscription
from tests.reporting.subscriptions.conftest import (
    MONDAY_7AM,
    deliveries,
    due_at,
    emails,
)
from tests.reporting_factories import subscription_for

pytestmark = pytest.mark.slow  # every e-mail carries a rendered PDF


def recipients_of_mail() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_a_weekly_digest_is_not_due_before_its_local_time(world, dispatch):
    digest = subscription_for(world.hr)
    due_at(digest, MONDAY_7AM)

    created = dispatch(MONDAY_7AM - timedelta(seconds=1))

    assert created == 0
    assert deliveries(digest) == []


def test_two_dispatcher_runs_deliver_a_period_once_to_each_recipient(world, dispatch):
    digest = subscription_for(world.hr, [world.hr, world.manager])
    due_at(digest, MONDAY_7AM)

    first = dispatch(MONDAY_7AM + timedelta(minutes=2))
    due_at(digest, MONDAY_7AM)  # as if the first run had not moved it on
    second = dispatch(MONDAY_7AM + timedelta(minutes=7))

    assert (first, second) == (1, 0)
    [delivery] = deliveries(digest)
    assert (delivery.period, delivery.status) == ("2026-W50", DeliveryStatus.SENT)
    assert delivery.due_at == MONDAY_7AM
    assert recipients_of_mail() == sorted(
        [world.hr.user.email, world.manager.user.email]
    )
    assert [e.status for e in emails(digest)] == [EmailStatus.SENT] * 2


def test_the_dispatcher_moves_the_next_run_on_a_week(world, dispatch):
    digest = subscription_for(world.hr)
    due_at(digest, MONDAY_7AM)

    dispatch(MONDAY_7AM + timedelta(minutes=2))

    with tenant_context(world.org):
        digest.refresh_from_db()
    assert digest.next_run_at == MONDAY_7AM + timedelta(days=7)
    assert digest.last_run_at == MONDAY_7AM + timedelta(minutes=2)


def test_a_dispatcher_that_was_down_sends_the_latest_period_once(world, dispatch):
    digest = subscription_for(world.hr)
    due_at(digest, MONDAY_7AM - timedelta(days=14))

    created = dispatch(MONDAY_7AM + timedelta(hours=1))

    assert created == 1
    assert [d.period for d in deliveries(digest)] == ["2026-W50"]
    assert len(mail.outbox) == 1


def test_each_organisation_is_dispatched_in_its_own_tenant(world, rival, dispatch):
    home = subscription_for(world.hr)
    away = subscription_for(rival.hr)
    due_at(home, MONDAY_7AM)
    due_at(away, MONDAY_7AM)

    created = dispatch(MONDAY_7AM + timedelta(minutes=1))

    assert created == 2
    with tenant_context(world.org):
        assert list(ReportDelivery.objects.values_list("subscription", flat=True)) == [
            home.pk
        ]
    with tenant_context(rival.org):
        assert list(ReportDelivery.objects.values_list("subscription", flat=True)) == [
            away.pk
        ]
    assert recipients_of_mail() == sorted([world.hr.user.email, rival.hr.user.email])


def test_paused_and_cycle_event_subscriptions_are_never_due(world, dispatch):
    paused = subscription_for(world.hr, is_active=False)
    following = subscription_for(
        world.hr,
        frequency=Frequency.CYCLE_EVENT,
        weekday=None,
        cycle_event=CycleEvent.CYCLE_CLOSED,
    )
    due_at(paused, MONDAY_7AM)

    created = dispatch(MONDAY_7AM + timedelta(days=1))

    assert created == 0
    assert deliveries(paused) == deliveries(following) == []


def test_closing_a_cycle_delivers_the_subscriptions_that_follow_it(world, after_commit):
    on_close = subscription_for(
        world.hr,
        frequency=Frequency.CYCLE_EVENT,
        weekday=None,
        cycle_event=CycleEvent.CYCLE_CLOSED,
    )
    on_planning = subscription_for(
        world.hr,
        frequency=Frequency.CYCLE_EVENT,
        weekday=None,
        cycle_event=CycleEvent.PLANNING_OPENED,
    )

    def close() -> None:
        with tenant_context(world.org):
            transition_cycle(actor=world.hr, cycle=world.cycle, to=CycleStatus.CLOSED)

    after_commit(close)

    [delivery] = deliveries(on_close)
    assert delivery.period == f"cycle-{world.cycle.pk}-closed"
    assert delivery.status == DeliveryStatus.SENT
    assert deliveries(on_planning) == []
    [message] = mail.outbox
    assert message.subject == f"Weekly cycle digest: {world.cycle.name}"


def test_a_cycle_move_rolled_back_queues_nothing(world, after_commit):
    on_close = subscription_for(
        world.hr,
        frequency=Frequency.CYCLE_EVENT,
        weekday=None,
        cycle_event=CycleEvent.CYCLE_CLOSED,
    )

    def close_then_fail() -> None:
        with tenant_context(world.org), transaction.atomic():
            transition_cycle(actor=world.hr, cycle=world.cycle, to=CycleStatus.CLOSED)
            transaction.set_rollback(True)

    after_commit(close_then_fail)

    assert deliveries(on_close) == []
    assert mail.outbox == []


def test_send_now_delivers_a_period_of_its_own_at_once(world, after_commit):
    digest = subscription_for(world.hr)

    def press() -> ReportDelivery:
        with tenant_context(world.org):
            return send_now(actor=world.hr, subscription=digest)

    first = after_commit(press)
    second = after_commit(press)

    assert first.period != second.period
    assert first.period.startswith("now-")
    assert [d.status for d in deliveries(digest)] == [DeliveryStatus.SENT] * 2
    assert {d.requested_by_id for d in deliveries(digest)} == {world.hr.user_id}
    assert len(mail.outbox) == 2
    with tenant_context(world.org):
        digest.refresh_from_db()
    assert digest.last_run_at == second.due_at  # "last sent": the second press
    assert digest.next_run_at is None  # its schedule untouched (never set here)


def test_my_appraisal_is_sent_once_per_finalised_appraisal(world, dispatch):
    mine = subscription_for(world.employee, kind=SubscriptionKind.MY_APPRAISAL)
    due_at(mine, MONDAY_7AM)

    dispatch(MONDAY_7AM + timedelta(minutes=1))
    due_at(mine, MONDAY_7AM + timedelta(days=7))
    again = dispatch(MONDAY_7AM + timedelta(days=7, minutes=1))

    [delivery] = deliveries(mine)
    assert delivery.period.startswith(f"appraisal-{world.appraisals['Ada'].pk}-")
    assert again == 0
    [message] = mail.outbox
    assert message.to == [world.employee.user.email]
    assert [name for name, _content, _type in message.attachments] == ["ada-review.pdf"]


def test_my_appraisal_without_a_finalised_one_sends_nothing(world, dispatch):
    with tenant_context(world.org):
        world.appraisals["Ada"].status = "open"
        world.appraisals["Ada"].finalized_at = None
        world.appraisals["Ada"].save()
    mine = subscription_for(world.employee, kind=SubscriptionKind.MY_APPRAISAL)
    due_at(mine, MONDAY_7AM)

    created = dispatch(MONDAY_7AM + timedelta(minutes=1))

    assert created == 0
    assert mail.outbox == []
    with tenant_context(world.org):
        assert ReportSubscription.objects.get(pk=mine.pk).next_run_at == (
            MONDAY_7AM + timedelta(days=7)
        )


def test_the_dispatchers_view_across_organisations_ends_with_its_query(
    world, rival, dispatch
):
    due_at(subscription_for(world.hr), MONDAY_7AM)
    due_at(subscription_for(rival.hr), MONDAY_7AM)

    dispatch(MONDAY_7AM + timedelta(minutes=1))

    # Without the organisation filter, row-level security alone decides: the
    # dispatcher's setting would let the rival's subscription through.
    with tenant_context(world.org), scopes_disabled():
        seen = list(ReportSubscription.objects.values_list("organization", flat=True))
    assert seen == [world.org.pk]


def test_send_due_reports_runs_the_dispatcher_at_the_given_time(world, after_commit):
    digest = subscription_for(world.hr)
    due_at(digest, MONDAY_7AM)
    out = StringIO()

    after_commit(
        lambda: call_command(
            "send_due_reports", "--now", "2026-12-07T06:05:00", stdout=out
        )
    )

    assert out.getvalue() == "Queued 1 report deliveries.\n"
    assert [d.status for d in deliveries(digest)] == [DeliveryStatus.SENT]
    assert len(mail.outbox) == 1
