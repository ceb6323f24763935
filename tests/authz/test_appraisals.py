"""The authorisation matrix over the appraisals app's URLs: every target x every actor
x GET and POST against ``tests/authz/policies/appraisals.py``, POSTs that name another
organisation's object, and the evaluations a review plan lists to each member."""

from __future__ import annotations

import pytest

from appraisals.models import Evaluation
from engagements.enums import EngagementRole
from organizations.tenancy import tenant_context
from tests.authz.engine import AppMatrix, ids_listed
from tests.authz.policies.appraisals import POLICY
from tests.authz.policy import Actor, Target
from tests.authz.world import ENGAGEMENT_ACTORS, ROLES_LIKE_THE_REVIEWER


class TestAppraisalsMatrix(AppMatrix):
    policy = POLICY
    foreign_references = [
        ("appraisals:evaluation_assign", "reviewer", "employee"),
        ("appraisals:bulk_finalise", "engagement", "engagement"),
        ("appraisals:bulk_remind", "engagement", "engagement"),
        ("appraisals:calibration_session_new", "cycle", "review_cycle"),
        ("appraisals:calibration_session_new", "participants", "employee"),
    ]


@pytest.mark.django_db
def test_the_plan_lists_each_member_only_the_evaluations_they_may_open(world):
    """The review cycle's plans of ``self``: the review to HR admins, the line
    manager, its reviewer and approvers; the self-assessment, a draft, to ``self``
    only, who sees no review before the appraisal is final."""
    found: dict[Target, dict[str, int]] = {}
    with tenant_context(world.org):
        for target in (Target.OWN, Target.GENERAL_PLAN):
            plan = world.objects[target]["review_plan"]["pk"]
            found[target] = dict(
                Evaluation.objects.filter(plan=plan).values_list("kind", "pk")
            )
    review, assessment = (found[Target.OWN][k] for k in ("review", "self"))
    general_review, general_assessment = (
        found[Target.GENERAL_PLAN][k] for k in ("review", "self")
    )

    listed = {
        (target, actor): ids_listed(
            world,
            actor,
            "appraisals:plan_evaluations",
            world.objects[target]["review_plan"]["pk"],
            "evaluations",
        )
        for target, actors in (
            (Target.OWN, (*ENGAGEMENT_ACTORS, *ROLES_LIKE_THE_REVIEWER)),
            (Target.GENERAL_PLAN, (Actor.HR_ADMIN, Actor.LINE_MANAGER, Actor.SELF)),
        )
        for actor in actors
    }

    assert listed == {
        (Target.OWN, Actor.HR_ADMIN): {review},
        (Target.OWN, Actor.LINE_MANAGER): {review},
        (Target.OWN, Actor.SELF): {assessment},
        (Target.OWN, Actor.PLANNER): set(),
        (Target.OWN, Actor.REVIEWER): {review},
        (Target.OWN, EngagementRole.APPROVER): {review},
        (Target.OWN, EngagementRole.CONTRIBUTOR): set(),
        (Target.GENERAL_PLAN, Actor.HR_ADMIN): {general_review},
        (Target.GENERAL_PLAN, Actor.LINE_MANAGER): {general_review},
        (Target.GENERAL_PLAN, Actor.SELF): {general_assessment},
    }
