"""The authorisation matrix over the feedback app's URLs (client surveys and the public
survey page included): every target x every actor x GET and POST against
``tests/authz/policies/feedback.py``, POSTs that name another organisation's object,
and what the feeds show each member."""

from __future__ import annotations

import pytest

from engagements.enums import EngagementRole
from tests.authz.engine import AppMatrix, ids_listed
from tests.authz.policies.feedback import POLICY
from tests.authz.policy import Actor, Target
from tests.authz.world import ENGAGEMENT_ACTORS, ROLES_LIKE_THE_REVIEWER


class TestFeedbackMatrix(AppMatrix):
    policy = POLICY
    foreign_references = [
        ("feedback:give", "subject", "employee"),
        ("feedback:request_create", "subject", "employee"),
        ("feedback:request_create", "engagement", "engagement"),
        ("feedback:request_create", "requestees", "employee"),
    ]


@pytest.mark.django_db
def test_the_feeds_show_each_member_only_the_feedback_they_may_read(world):
    """The engagement's feed and ``self``'s: shared feedback (``OWN``), managers-only
    feedback (``PRIVATE``) about ``self`` on the engagement and general feedback
    (``GENERAL_PLAN``); the subject never reads managers-only feedback, contributors
    read none they did not write."""
    shared, private, general = (
        world.objects[target]["feedback"]["pk"]
        for target in (Target.OWN, Target.PRIVATE, Target.GENERAL_PLAN)
    )
    engagement = world.objects[Target.OWN]["engagement"]["pk"]
    on_engagement = {
        actor: ids_listed(world, actor, "feedback:engagement_feed", engagement, "rows")
        for actor in (*ENGAGEMENT_ACTORS, *ROLES_LIKE_THE_REVIEWER)
    }
    about_self = {
        actor: ids_listed(
            world, actor, "feedback:employee_feed", world.subject.pk, "rows"
        )
        for actor in (Actor.HR_ADMIN, Actor.LINE_MANAGER, Actor.SELF)
    }

    assert on_engagement == {
        Actor.HR_ADMIN: {shared, private},
        Actor.LINE_MANAGER: {shared, private},
        Actor.SELF: {shared},
        Actor.PLANNER: {shared, private},
        Actor.REVIEWER: {shared, private},
        EngagementRole.APPROVER: {shared, private},
        EngagementRole.CONTRIBUTOR: set(),
    }
    assert about_self == {
        Actor.HR_ADMIN: {shared, private, general},
        Actor.LINE_MANAGER: {shared, private, general},
        Actor.SELF: {shared, general},
    }
