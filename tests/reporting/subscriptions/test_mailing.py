"""What each recipient's report e-mail holds (``reporting.mailing``): computed with
their own access, so a manager's digest names their line only and another
organisation's rows never appear; recipients who left, were deactivated or lost the
access get nothing; the e-mail's parts, attachment and headers."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from django.core import mail
from django.core.files.storage import default_storage

from organizations.models import Membership, User
from organizations.tenancy import tenant_context
from reporting.enums import DeliveryStatus, EmailStatus, JobStatus, SubscriptionKind
from reporting.mailing import compose, preview
from reporting.models import ReportJob
from tests.reporting.subscriptions.conftest import (
    MONDAY_7AM,
    deliveries,
    due_at,
    emails,
    pdf_text,
)
from tests.reporting_factories import subscription_for

OUTSIDE_THE_LINE = ("Cleo", "Dan", "Rita Reviewer", "Rolf Reviewer", "Extra 0")

pytestmark = pytest.mark.slow  # the e-mails carry rendered PDFs


def mail_to(address: str):
    [message] = [m for m in mail.outbox if address in m.to]
    return message


def test_a_managers_digest_names_only_their_line(world, dispatch, tmp_path):
    digest = subscription_for(world.hr, [world.hr, world.manager])
    due_at(digest, MONDAY_7AM)

    dispatch(MONDAY_7AM + timedelta(minutes=1))

    managers = mail_to(world.manager.user.email)
    [(_name, pdf, _type)] = managers.attachments
    text = pdf_text(pdf, tmp_path)
    assert "Ada" in text
    assert "Ben" in text
    for outsider in OUTSIDE_THE_LINE:
        assert outsider not in text
        assert outsider not in managers.body
        assert outsider not in managers.alternatives[0][0]
    # Their line: Ben's and Ada's reviews, one appraisal of two finalised.
    assert "Reviews approved: 2 of 2 (100%)" in managers.body
    assert "Appraisals finalised: 1 of 2" in managers.body
    hrs = pdf_text(mail_to(world.hr.user.email).attachments[0][1], tmp_path)
    assert "Cleo" in hrs
    assert "Extra 0" not in hrs  # another organisation's


def test_a_team_summary_for_a_member_without_a_line_is_skipped(world, dispatch):
    summary = subscription_for(
        world.hr,
        [world.manager, world.employee],
        kind=SubscriptionKind.TEAM_SUMMARY,
        title="Team summary",
    )
    due_at(summary, MONDAY_7AM)

    dispatch(MONDAY_7AM + timedelta(minutes=1))

    by_recipient = {e.recipient_id: e for e in emails(summary)}
    assert by_recipient[world.manager.pk].status == EmailStatus.SENT
    assert by_recipient[world.employee.pk].status == EmailStatus.SKIPPED
    assert by_recipient[world.employee.pk].error == (
        "The recipient has nobody in their line."
    )
    assert [m.to for m in mail.outbox] == [[world.manager.user.email]]
    assert deliveries(summary)[0].status == DeliveryStatus.SENT


def test_members_who_left_or_were_deactivated_get_nothing(world, dispatch):
    digest = subscription_for(world.hr, [world.hr, world.manager, world.reviewer])
    with tenant_context(world.org):
        Membership.objects.filter(pk=world.manager.pk).update(is_active=False)
    User.objects.filter(pk=world.reviewer.user_id).update(is_active=False)
    due_at(digest, MONDAY_7AM)

    dispatch(MONDAY_7AM + timedelta(minutes=1))

    assert [e.recipient_id for e in emails(digest)] == [world.hr.pk]
    assert [m.to for m in mail.outbox] == [[world.hr.user.email]]


def test_a_recipient_who_leaves_before_the_send_is_skipped_with_the_reason(world):
    digest = subscription_for(world.hr, [world.manager])
    with tenant_context(world.org):
        Membership.objects.filter(pk=world.manager.pk).update(is_active=False)
        world.manager.refresh_from_db()

        message = compose(digest, world.manager, with_pdf=False)

    assert message is None


def test_the_email_has_both_parts_the_pdf_and_the_unsubscribe_headers(world, dispatch):
    digest = subscription_for(world.hr)
    due_at(digest, MONDAY_7AM)

    dispatch(MONDAY_7AM + timedelta(minutes=1))

    [message] = mail.outbox
    [email] = emails(digest)
    parsed = message_from_bytes(message.message().as_bytes(), policy=default_policy)
    types = [part.get_content_type() for part in parsed.walk()]
    assert types == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/pdf",
    ]
    unsubscribe = str(parsed["List-Unsubscribe"]).strip()
    assert unsubscribe.startswith("<http://127.0.0.1:8000/reports/unsubscribe/")
    assert unsubscribe.endswith("/>")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Message-ID"] == email.message_id
    assert email.message_id == f"<report-{world.org.pk}-{email.pk}@127.0.0.1>"
    assert unsubscribe[1:-1] in message.body
    assert "Reviews overdue:" in message.body
    html = message.alternatives[0][0]
    assert "<table" in html
    assert "http://127.0.0.1:8000/o/home/reports/overview/?cycle=" in html
    [(name, pdf, mimetype)] = message.attachments
    assert (name, mimetype) == ("cycle-report-review.pdf", "application/pdf")
    assert pdf.startswith(b"%PDF-")
    with default_storage.open(email.file.name, "rb") as stored:
        assert stored.read() == pdf
    assert email.file.name.startswith(f"reports/{world.org.pk}/")


def test_a_pdf_too_large_to_attach_is_linked_as_a_report_job(world, dispatch, settings):
    settings.REPORT_EMAIL_MAX_ATTACHMENT = 1000
    digest = subscription_for(world.hr, [world.manager])
    due_at(digest, MONDAY_7AM)

    dispatch(MONDAY_7AM + timedelta(minutes=1))

    [message] = mail.outbox
    with tenant_context(world.org):
        [job] = ReportJob.objects.all()
    assert message.attachments == []
    assert (job.status, job.kind, job.requested_by_id) == (
        JobStatus.DONE,
        "cycle_pdf",
        world.manager.user_id,
    )
    assert job.parameters == {"cycle": world.cycle.pk}
    assert f"/o/home/reports/jobs/{job.pk}/" in message.body
    assert emails(digest)[0].status == EmailStatus.SENT


def test_an_engagement_report_follows_the_recipients_scope(world):
    analytics = subscription_for(
        world.hr,
        [world.hr, world.manager, world.employee],
        kind=SubscriptionKind.ENGAGEMENT_ANALYTICS,
        title="Ledger",
        filters={"engagement": world.engagement.pk},
    )
    with tenant_context(world.org):
        hrs = compose(analytics, world.hr, with_pdf=False)
        managers = compose(analytics, world.manager, with_pdf=False)
        employees = compose(analytics, world.employee, with_pdf=False)

    assert hrs is not None
    assert managers is not None
    assert employees is None
    assert dict(hrs.headlines)["Team in Review"] == "4"
    assert dict(managers.headlines)["Team in Review"] == "2"


def test_preview_shows_the_message_without_rendering_the_pdf(world):
    digest = subscription_for(world.hr, [world.manager])
    with tenant_context(world.org):
        message = preview(digest, world.hr)

    assert message is not None
    assert message.pdf is None
    assert message.unsubscribe_url == ""  # HR does not receive it
    assert message.subject == "Weekly cycle digest: Review"
    assert dict(message.headlines)["Appraisals finalised"] == "2 of 4"
