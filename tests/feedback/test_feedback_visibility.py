"""Who reads which feedback: ``feedback_visible_to`` for every relationship and both
visibilities, the team tab's ``team_feedback``, ``feedback_about`` (used by the
appraisal form) and another organisation's feedback."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engagements.enums import EngagementRole
from engagements.services.roles import assign_role
from feedback.enums import FeedbackKind, Visibility
from feedback.models import Feedback
from feedback.selectors.access import feedback_visible_to, team_feedback
from feedback.selectors.feedback import feedback_about
from organizations.enums import Role
from organizations.tenancy import tenant_context
from tests.factories import MembershipFactory
from tests.feedback.test_feedback_services import World, build_world, give
from tests.feedback_factories import FeedbackFactory

pytestmark = pytest.mark.django_db


@dataclass
class Written:
    shared: Feedback  # planner → subject, engagement, shared
    private: Feedback  # reviewer → subject, engagement, managers only
    by_teammate: Feedback  # teammate → subject, engagement, shared
    general_shared: Feedback  # boss → subject, general, shared
    general_private: Feedback  # hr → subject, general, managers only
    about_teammate: Feedback  # planner → teammate, managers only


@pytest.fixture
def world(org) -> World:
    return build_world(org)


@pytest.fixture
def written(world) -> Written:
    return Written(
        shared=give(world, world.planner),
        private=give(world, world.reviewer, visibility=Visibility.MANAGERS_ONLY),
        by_teammate=give(world, world.teammate, kind=FeedbackKind.IMPROVEMENT),
        general_shared=give(world, world.boss, engagement=None),
        general_private=give(
            world, world.hr, engagement=None, visibility=Visibility.MANAGERS_ONLY
        ),
        about_teammate=give(
            world,
            world.planner,
            subject=world.entry(world.teammate),
            visibility=Visibility.MANAGERS_ONLY,
        ),
    )


def _visible(world: World, who: str) -> set[int]:
    with tenant_context(world.org):
        return set(
            feedback_visible_to(getattr(world, who)).values_list("pk", flat=True)
        )


def _pks(*items: Feedback) -> set[int]:
    return {item.pk for item in items}


def test_hr_admin_and_line_manager_read_everything_about_the_subject(world, written):
    everything = _pks(*vars(written).values())
    about_subject = everything - _pks(written.about_teammate)

    assert _visible(world, "hr") == everything
    assert _visible(world, "boss") == about_subject


@pytest.mark.parametrize("who", ["reviewer", "approver"])
def test_reviewers_and_approvers_read_all_on_their_engagement(world, written, who):
    on_engagement = _pks(
        written.shared, written.private, written.by_teammate, written.about_teammate
    )

    assert _visible(world, who) == on_engagement


def test_planner_contributor_and_teammate_read_only_what_they_wrote(world, written):
    assert _visible(world, "planner") == _pks(written.shared, written.about_teammate)
    assert _visible(world, "contributor") == set()
    # The teammate also reads nothing managers-only about themselves.
    assert _visible(world, "teammate") == _pks(written.by_teammate)


def test_subject_reads_only_shared_feedback_about_them(world, written):
    assert _visible(world, "subject") == _pks(
        written.shared, written.by_teammate, written.general_shared
    )


@pytest.mark.parametrize("who", ["unrelated", "other_manager"])
def test_unrelated_colleagues_read_nothing(world, written, who):
    assert _visible(world, who) == set()


def test_withdrawn_feedback_is_read_by_nobody(world, written):
    with tenant_context(world.org):
        Feedback.objects.filter(pk=written.shared.pk).update(
            withdrawn_at=written.shared.created_at
        )

    for who in ("hr", "boss", "planner", "subject", "reviewer"):
        assert written.shared.pk not in _visible(world, who)


def test_a_reviewer_never_reads_managers_only_feedback_about_themselves(world):
    # The reviewer is also staffed, so feedback can be about them.
    with tenant_context(world.org):
        assign_role(
            actor=None,
            engagement=world.engagement,
            employee=world.entry(world.teammate),
            role=EngagementRole.REVIEWER,
        )
    private = give(
        world,
        world.planner,
        subject=world.entry(world.teammate),
        visibility=Visibility.MANAGERS_ONLY,
    )
    shared = give(world, world.planner, subject=world.entry(world.teammate))
    about_subject = give(world, world.planner, visibility=Visibility.MANAGERS_ONLY)

    assert _visible(world, "teammate") == _pks(shared, about_subject)
    assert private.pk in _visible(world, "hr")


def test_an_hr_admin_never_reads_managers_only_feedback_about_themselves(world):
    hr_entry = world.entry(world.hr)
    private = FeedbackFactory(
        organization=world.org,
        subject=hr_entry,
        engagement=None,
        visibility=Visibility.MANAGERS_ONLY,
    )
    shared = FeedbackFactory(organization=world.org, subject=hr_entry, engagement=None)
    other_hr = MembershipFactory(organization=world.org, role=Role.HR_ADMIN)

    assert private.pk not in _visible(world, "hr")
    assert shared.pk in _visible(world, "hr")
    with tenant_context(world.org):
        assert feedback_visible_to(other_hr).filter(pk=private.pk).exists()


def test_team_feedback_is_what_managers_reviewers_and_hr_are_entitled_to(
    world, written
):
    def team(who: str) -> set[int]:
        with tenant_context(world.org):
            return set(team_feedback(getattr(world, who)).values_list("pk", flat=True))

    assert team("boss") == _pks(*vars(written).values()) - _pks(written.about_teammate)
    assert team("reviewer") == _pks(
        written.shared, written.private, written.by_teammate, written.about_teammate
    )
    assert team("planner") == set()
    assert team("subject") == set()


def test_feedback_about_is_visible_feedback_on_one_subject_newest_first(world, written):
    subject = world.entry(world.subject)

    with tenant_context(world.org):
        for_boss = list(feedback_about(world.boss, subject.pk))
        on_engagement = list(
            feedback_about(world.reviewer, subject.pk, world.engagement.pk)
        )
        for_planner = list(
            feedback_about(world.planner, subject.pk, world.engagement.pk)
        )

    assert for_boss == [
        written.general_private,
        written.general_shared,
        written.by_teammate,
        written.private,
        written.shared,
    ]
    assert on_engagement == [written.by_teammate, written.private, written.shared]
    assert for_planner == [written.shared]


def test_another_organisations_feedback_is_never_visible(world, written, other_org):
    foreign = FeedbackFactory(organization=other_org)
    foreign_hr = MembershipFactory(organization=other_org, role=Role.HR_ADMIN)

    with tenant_context(other_org):
        theirs = list(feedback_visible_to(foreign_hr))

    assert foreign.pk not in _visible(world, "hr")
    assert theirs == [foreign]
