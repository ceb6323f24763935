"""In-app notifications written by ``queue_email``: one per event and recipient, in
the event's transaction, honouring the in-app switch apart from the e-mail one, and
only for recipients who may open the target."""

from __future__ import annotations

import pytest

from feedback.enums import Visibility
from organizations.enums import NotificationKind
from organizations.models import Notification, SentEmail
from organizations.notifications import queue_email
from organizations.tenancy import tenant_context
from tests.feedback.test_feedback_services import build_world, give

TEMPLATE = "feedback/email/feedback_shared.txt"


def context(path: str = "/o/acme-test/feedback/1/") -> dict[str, object]:
    return {"author": "Ada Author", "kind": "Praise", "engagement": "X", "path": path}


def notifications_of(org, user) -> list[tuple[str, str, str]]:
    with tenant_context(org):
        return list(
            Notification.objects.filter(recipient=user).values_list(
                "kind", "key", "path"
            )
        )


@pytest.fixture
def world(org):
    return build_world(org)


def test_shared_feedback_notifies_its_subject_once_with_a_path_they_can_open(
    world, client_as, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feedback = give(world, world.planner)

    rows = notifications_of(world.org, world.subject.user)
    path = f"/o/{world.org.slug}/feedback/{feedback.pk}/"
    key = f"feedback.shared:{feedback.pk}:{world.subject.user.pk}"
    assert rows == [(NotificationKind.FEEDBACK_RECEIVED, key, path)]
    assert client_as(world.subject).get(path).status_code == 200
    with tenant_context(world.org):
        title = Notification.objects.get().title
    assert title == f"{world.entry(world.planner).full_name} shared feedback with you"


def test_managers_only_feedback_notifies_nobody_who_may_not_read_it(world):
    give(world, world.planner, visibility=Visibility.MANAGERS_ONLY)

    with tenant_context(world.org):
        assert Notification.objects.count() == 0


def test_a_repeated_event_key_creates_no_second_notification(org, employee_member):
    user = employee_member.user

    for _ in range(2):
        with tenant_context(org):
            queue_email(
                organization=org,
                key="feedback.shared:1:9",
                template=TEMPLATE,
                context=context(),
                user=user,
            )

    assert len(notifications_of(org, user)) == 1


def test_notification_rolls_back_with_its_event(org, employee_member):
    def failing_event() -> None:
        with tenant_context(org):
            queue_email(
                organization=org,
                key="feedback.shared:1:9",
                template=TEMPLATE,
                context=context(),
                user=employee_member.user,
            )
            raise RuntimeError("the event failed")

    with pytest.raises(RuntimeError, match="the event failed"):
        failing_event()

    assert notifications_of(org, employee_member.user) == []


def test_kind_switched_off_in_app_creates_none_while_the_email_still_goes(
    org, employee_member, mailoutbox, django_capture_on_commit_callbacks
):
    user = employee_member.user
    user.muted_notification_kinds = [NotificationKind.FEEDBACK_RECEIVED]
    user.save()

    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        queue_email(
            organization=org,
            key="feedback.shared:1:9",
            template=TEMPLATE,
            context=context(),
            user=user,
        )
        queue_email(
            organization=org,
            key="appraisal.reminder:1:2026-01-01:9",
            template="appraisals/email/appraisal_reminder_review.txt",
            context={"employee": "E", "plan": "P", "due": "", "path": "/o/x/"},
            user=user,
        )

    assert [kind for kind, _key, _path in notifications_of(org, user)] == [
        NotificationKind.REMINDER
    ]
    assert len(mailoutbox) == 2


def test_emails_switched_off_still_notify_in_app(
    org, employee_member, mailoutbox, django_capture_on_commit_callbacks
):
    user = employee_member.user
    user.optional_emails = False
    user.save()

    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        queue_email(
            organization=org,
            key="feedback.shared:1:9",
            template=TEMPLATE,
            context=context(),
            user=user,
        )

    assert mailoutbox == []
    assert len(notifications_of(org, user)) == 1
    with tenant_context(org):
        assert SentEmail.objects.count() == 0


@pytest.mark.parametrize(
    ("key", "extra"),
    [
        ("survey.sent:1", {}),  # not a notifying event
        ("feedback.shared:1:9", {"path": ""}),  # nothing to open
    ],
)
def test_events_without_a_kind_or_a_target_notify_nobody(
    org, employee_member, key, extra
):
    with tenant_context(org):
        queue_email(
            organization=org,
            key=key,
            template=TEMPLATE,
            context={**context(), **extra},
            user=employee_member.user,
        )

    assert notifications_of(org, employee_member.user) == []


def test_inactive_user_gets_no_notification(org, employee_member):
    user = employee_member.user
    user.is_active = False
    user.save()

    with tenant_context(org):
        queue_email(
            organization=org,
            key="feedback.shared:1:9",
            template=TEMPLATE,
            context=context(),
            user=user,
        )

    assert notifications_of(org, user) == []
