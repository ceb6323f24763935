"""Giving, editing and withdrawing feedback: who may write about whom on an engagement
and in general, bad input, the 24-hour edit window, history, and the e-mail to the
subject (exactly once, never when opted out or for managers only).

``build_world`` is shared by the other feedback test modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from engagements.enums import EngagementRole, PlanKind
from engagements.models import Engagement, Goal, Plan
from engagements.services.roles import assign_role
from feedback.enums import FeedbackKind, Visibility
from feedback.models import Feedback
from feedback.selectors import feedback as selectors
from feedback.selectors.access import feedback_visible_to
from feedback.services import feedback as services
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization, SentEmail
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    EngagementFactory,
    GoalFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@dataclass
class World:
    """One engagement with ``subject`` and ``teammate`` staffed on it, a role holder
    of each kind (not staffed), ``subject``'s line manager, an unrelated colleague,
    another manager, an HR admin, and a second engagement staffed by ``outsider``."""

    org: Organization
    hr: Membership
    boss: Membership  # subject's line manager
    subject: Membership
    teammate: Membership
    planner: Membership
    reviewer: Membership
    approver: Membership
    contributor: Membership
    unrelated: Membership  # an employee staffed elsewhere
    other_manager: Membership
    engagement: Engagement
    other_engagement: Engagement
    plan: Plan  # subject's engagement plan
    general_plan: Plan  # subject's general plan
    goal: Goal  # on subject's engagement plan
    general_goal: Goal  # on subject's general plan
    teammate_goal: Goal  # on teammate's engagement plan

    def entry(self, member: Membership) -> Employee:
        with tenant_context(self.org):
            return Employee.objects.get(user=member.user)


def build_world(org: Organization) -> World:
    def member(role: str = Role.EMPLOYEE, **kwargs: Any) -> Membership:
        return MembershipFactory(organization=org, role=role, **kwargs)

    hr = member(Role.HR_ADMIN)
    boss = member(Role.MANAGER)
    with tenant_context(org):
        boss_entry = Employee.objects.get(user=boss.user)
    subject = member(employee__line_manager=boss_entry)
    teammate = member()
    planner, reviewer, approver, contributor = (member(Role.MANAGER) for _ in range(4))
    unrelated = member()
    other_manager = member(Role.MANAGER)
    cycle = ReviewCycleFactory(organization=org)
    engagement = EngagementFactory(organization=org, name="Cloud migration")
    other_engagement = EngagementFactory(organization=org, name="Other work")
    with tenant_context(org):
        entries = {
            m.pk: Employee.objects.get(user=m.user)
            for m in (subject, teammate, unrelated, planner, reviewer, approver)
        }
        entries[contributor.pk] = Employee.objects.get(user=contributor.user)
    plan = PlanFactory(
        organization=org,
        cycle=cycle,
        engagement=engagement,
        employee=entries[subject.pk],
    )
    teammate_plan = PlanFactory(
        organization=org,
        cycle=cycle,
        engagement=engagement,
        employee=entries[teammate.pk],
    )
    PlanFactory(
        organization=org,
        cycle=cycle,
        engagement=other_engagement,
        employee=entries[unrelated.pk],
    )
    general_plan = PlanFactory(
        organization=org,
        cycle=cycle,
        employee=entries[subject.pk],
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
    )
    goal = GoalFactory(plan=plan, title="Ship the pilot")
    general_goal = GoalFactory(plan=general_plan, title="Mentor a junior")
    teammate_goal = GoalFactory(plan=teammate_plan, title="Teammate goal")
    with tenant_context(org):
        for holder, role in (
            (planner, EngagementRole.PLANNER),
            (reviewer, EngagementRole.REVIEWER),
            (approver, EngagementRole.APPROVER),
            (contributor, EngagementRole.CONTRIBUTOR),
        ):
            assign_role(
                actor=None,
                engagement=engagement,
                employee=entries[holder.pk],
                role=role,
            )
    return World(
        org=org,
        hr=hr,
        boss=boss,
        subject=subject,
        teammate=teammate,
        planner=planner,
        reviewer=reviewer,
        approver=approver,
        contributor=contributor,
        unrelated=unrelated,
        other_manager=other_manager,
        engagement=engagement,
        other_engagement=other_engagement,
        plan=plan,
        general_plan=general_plan,
        goal=goal,
        general_goal=general_goal,
        teammate_goal=teammate_goal,
    )


def give(world: World, actor: Membership, **overrides: Any) -> Feedback:
    """Give feedback as ``actor`` about the world's subject on its engagement."""
    fields: dict[str, Any] = {
        "subject": world.entry(world.subject),
        "engagement": world.engagement,
        "kind": FeedbackKind.PRAISE,
        "body": "Great workshop.",
        "visibility": Visibility.SHARED,
        "goal": None,
    }
    fields.update(overrides)
    with tenant_context(world.org):
        return services.give_feedback(actor=actor, **fields)


def count(world: World) -> int:
    with tenant_context(world.org):
        return Feedback.objects.count()


def age(feedback: Feedback, hours: int) -> None:
    """Pretend ``feedback`` was written ``hours`` ago."""
    with tenant_context(feedback.organization):
        Feedback.objects.filter(pk=feedback.pk).update(
            created_at=timezone.now() - timedelta(hours=hours)
        )
        feedback.refresh_from_db()


@pytest.fixture
def world(org) -> World:
    return build_world(org)


# --- Who may give ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["planner", "reviewer", "approver", "contributor", "boss", "teammate", "hr"]
)
def test_give_feedback_on_engagement_is_allowed_for_role_holders_manager_teammate_hr(
    world, who
):
    actor = getattr(world, who)

    feedback = give(world, actor)

    with tenant_context(world.org):
        stored = Feedback.objects.select_related("author", "subject").get()
    assert stored.pk == feedback.pk
    assert stored.author == world.entry(actor)
    assert stored.subject == world.entry(world.subject)
    assert stored.engagement_id == world.engagement.pk


@pytest.mark.parametrize("who", ["unrelated", "other_manager"])
def test_give_feedback_is_refused_for_unrelated_colleagues(world, who):
    with pytest.raises(DomainError, match="Only people with a role on this engagement"):
        give(world, getattr(world, who))

    assert count(world) == 0


def test_give_feedback_about_oneself_is_refused(world):
    with pytest.raises(DomainError, match="about yourself") as caught:
        give(world, world.subject)

    assert caught.value.field == "subject"
    assert count(world) == 0


def test_give_feedback_about_someone_not_staffed_is_refused(world):
    with pytest.raises(DomainError, match="not staffed on this engagement") as caught:
        give(world, world.hr, subject=world.entry(world.unrelated))

    assert caught.value.field == "subject"
    assert count(world) == 0


def test_give_feedback_without_a_directory_entry_is_refused(world):
    nobody = MembershipFactory(
        organization=world.org, role=Role.HR_ADMIN, employee=False
    )

    with pytest.raises(DomainError, match="no entry in the people directory"):
        give(world, nobody)

    assert count(world) == 0


@pytest.mark.parametrize("who", ["boss", "hr"])
def test_general_feedback_is_allowed_for_line_manager_and_hr(world, who):
    feedback = give(
        world, getattr(world, who), engagement=None, goal=world.general_goal
    )

    with tenant_context(world.org):
        stored = Feedback.objects.get(pk=feedback.pk)
    assert stored.engagement_id is None
    assert stored.goal_id == world.general_goal.pk


@pytest.mark.parametrize("who", ["planner", "reviewer", "teammate", "other_manager"])
def test_general_feedback_is_refused_for_others(world, who):
    with pytest.raises(DomainError, match="line manager or an HR admin"):
        give(world, getattr(world, who), engagement=None)

    assert count(world) == 0


def test_can_give_feedback_matches_the_rules(world):
    subject = world.entry(world.subject)

    with tenant_context(world.org):
        answers = {
            who: selectors.can_give_feedback(
                getattr(world, who), subject, world.engagement
            )
            for who in ("planner", "teammate", "boss", "hr", "unrelated", "subject")
        }
        general = {
            who: selectors.can_give_feedback(getattr(world, who), subject, None)
            for who in ("boss", "hr", "planner")
        }

    assert answers == {
        "planner": True,
        "teammate": True,
        "boss": True,
        "hr": True,
        "unrelated": False,
        "subject": False,
    }
    assert general == {"boss": True, "hr": True, "planner": False}


def test_feedback_subjects_are_everyone_staffed_for_role_holders_and_reports_for_a_manager(
    world,
):
    with tenant_context(world.org):
        for_planner = list(selectors.feedback_subjects(world.planner, world.engagement))
        for_teammate = list(
            selectors.feedback_subjects(world.teammate, world.engagement)
        )
        for_boss = list(selectors.feedback_subjects(world.boss, world.engagement))
        for_unrelated = list(
            selectors.feedback_subjects(world.unrelated, world.engagement)
        )

    both = sorted(
        [world.entry(world.subject), world.entry(world.teammate)],
        key=lambda e: (e.full_name, e.pk),
    )
    assert for_planner == both
    assert for_teammate == [world.entry(world.subject)]
    assert for_boss == [world.entry(world.subject)]
    assert for_unrelated == []


# --- Bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("   \n ", "Write your feedback"),
        ("x" * 4001, "at most 4000 characters"),
    ],
)
def test_give_feedback_rejects_empty_or_too_long_text(world, body, message):
    with pytest.raises(DomainError, match=message) as caught:
        give(world, world.planner, body=body)

    assert caught.value.field == "body"
    assert count(world) == 0


def test_give_feedback_strips_the_text_and_accepts_4000_characters(world):
    feedback = give(world, world.planner, body="  " + "y" * 4000 + "\n")

    assert feedback.body == "y" * 4000


@pytest.mark.parametrize("goal_name", ["teammate_goal", "general_goal"])
def test_give_feedback_rejects_a_goal_of_another_plan(world, goal_name):
    with pytest.raises(DomainError, match="Link one of") as caught:
        give(world, world.planner, goal=getattr(world, goal_name))

    assert caught.value.field == "goal"
    assert count(world) == 0


def test_give_feedback_accepts_the_subjects_goal_on_the_engagement(world):
    feedback = give(world, world.planner, goal=world.goal)

    assert feedback.goal_id == world.goal.pk


def test_give_feedback_rejects_unknown_kind_and_visibility(world):
    with pytest.raises(DomainError) as kind:
        give(world, world.planner, kind="rant")
    with pytest.raises(DomainError) as visibility:
        give(world, world.planner, visibility="everyone")

    assert (kind.value.field, visibility.value.field) == ("kind", "visibility")
    assert count(world) == 0


# --- Edit and withdraw ---------------------------------------------------------------------


def edit(
    world: World, actor: Membership, feedback: Feedback, **overrides: Any
) -> Feedback:
    fields: dict[str, Any] = {
        "kind": feedback.kind,
        "body": feedback.body,
        "visibility": feedback.visibility,
        "goal": None,
    }
    fields.update(overrides)
    with tenant_context(world.org):
        return services.edit_feedback(actor=actor, feedback=feedback, **fields)


def test_edit_within_24_hours_changes_it_and_keeps_every_version(world):
    feedback = give(world, world.planner, body="First version")
    age(feedback, 23)

    edit(world, world.planner, feedback, body="Second version", kind=FeedbackKind.NOTE)

    with tenant_context(world.org):
        stored = Feedback.objects.get(pk=feedback.pk)
        versions = list(
            Feedback.history.filter(id=feedback.pk)
            .order_by("history_date")
            .values_list("body", flat=True)
        )
        timeline = selectors.feedback_history(stored)
    assert (stored.body, stored.kind) == ("Second version", FeedbackKind.NOTE)
    assert stored.edited_at is not None
    assert versions == ["First version", "Second version"]
    assert timeline[0]["who"] == world.planner.user
    changed = {c["field"]: (c["old"], c["new"]) for c in timeline[0]["changes"]}
    assert changed["feedback"] == ("First version", "Second version")


def test_edit_after_24_hours_is_refused_and_changes_nothing(world):
    feedback = give(world, world.planner, body="Permanent")
    age(feedback, 25)

    with pytest.raises(DomainError, match="now permanent"):
        edit(world, world.planner, feedback, body="Changed")

    with tenant_context(world.org):
        stored = Feedback.objects.get(pk=feedback.pk)
        versions = Feedback.history.filter(id=feedback.pk).count()
    assert (stored.body, stored.edited_at, versions) == ("Permanent", None, 1)


def test_edit_by_someone_else_is_refused(world):
    feedback = give(world, world.planner)

    with pytest.raises(DomainError, match="Only the author"):
        edit(world, world.hr, feedback, body="Hijacked")

    with tenant_context(world.org):
        assert Feedback.objects.get(pk=feedback.pk).body == "Great workshop."


def test_edit_rejects_bad_input_and_changes_nothing(world):
    feedback = give(world, world.planner, body="Keep me")

    with pytest.raises(DomainError, match="Write your feedback"):
        edit(world, world.planner, feedback, body=" ")
    with pytest.raises(DomainError, match="Link one of"):
        edit(world, world.planner, feedback, goal=world.teammate_goal)

    with tenant_context(world.org):
        stored = Feedback.objects.get(pk=feedback.pk)
    assert (stored.body, stored.goal_id, stored.edited_at) == ("Keep me", None, None)


def test_withdraw_within_24_hours_hides_it_and_history_keeps_it(world):
    feedback = give(world, world.planner)

    with tenant_context(world.org):
        services.withdraw_feedback(actor=world.planner, feedback=feedback)
        stored = Feedback.objects.get(pk=feedback.pk)
        visible = {
            who: list(feedback_visible_to(getattr(world, who)))
            for who in ("planner", "hr", "subject", "boss")
        }
        versions = Feedback.history.filter(id=feedback.pk).count()
    assert stored.withdrawn_at is not None
    assert visible == {"planner": [], "hr": [], "subject": [], "boss": []}
    assert versions == 2


def test_withdraw_after_24_hours_is_refused(world):
    feedback = give(world, world.planner)
    age(feedback, 24)

    with tenant_context(world.org), pytest.raises(DomainError, match="now permanent"):
        services.withdraw_feedback(actor=world.planner, feedback=feedback)

    with tenant_context(world.org):
        assert Feedback.objects.get(pk=feedback.pk).withdrawn_at is None


def test_withdraw_by_someone_else_is_refused(world):
    feedback = give(world, world.planner)

    with tenant_context(world.org), pytest.raises(DomainError, match="Only the author"):
        services.withdraw_feedback(actor=world.boss, feedback=feedback)

    with tenant_context(world.org):
        assert Feedback.objects.get(pk=feedback.pk).withdrawn_at is None


# --- E-mail --------------------------------------------------------------------------------


def test_shared_feedback_emails_the_subject_once(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        feedback = give(world, world.planner)
    # A second delivery of the same event (Celery delivers at least once).
    for callback in callbacks:
        callback()

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [world.subject.user.email]
    assert world.entry(world.planner).full_name in message.subject
    assert f"/o/{world.org.slug}/feedback/{feedback.pk}/" in message.body
    with tenant_context(world.org):
        keys = list(SentEmail.objects.values_list("key", flat=True))
    assert keys == [f"feedback.shared:{feedback.pk}:{world.subject.user.pk}"]


def test_managers_only_feedback_sends_no_email(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        give(world, world.planner, visibility=Visibility.MANAGERS_ONLY)

    assert mailoutbox == []


def test_no_email_when_the_subject_opted_out(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    user = world.subject.user
    user.optional_emails = False
    user.save()

    with django_capture_on_commit_callbacks(execute=True):
        give(world, world.planner)

    assert mailoutbox == []


def test_editing_shared_feedback_sends_no_second_email(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feedback = give(world, world.planner)
    with django_capture_on_commit_callbacks(execute=True):
        edit(world, world.planner, feedback, body="Even better workshop.")

    assert len(mailoutbox) == 1


def test_sharing_managers_only_feedback_on_edit_emails_once(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feedback = give(world, world.planner, visibility=Visibility.MANAGERS_ONLY)
    with django_capture_on_commit_callbacks(execute=True):
        feedback = edit(world, world.planner, feedback, visibility=Visibility.SHARED)
    with django_capture_on_commit_callbacks(execute=True):
        feedback = edit(
            world, world.planner, feedback, visibility=Visibility.MANAGERS_ONLY
        )
    with django_capture_on_commit_callbacks(execute=True):
        edit(world, world.planner, feedback, visibility=Visibility.SHARED)

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [world.subject.user.email]
