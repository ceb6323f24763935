"""The feedback and appraisals of the authorisation matrix's world: feedback, a
feedback request and its ask, a client survey, and a review cycle moved to review,
for one organisation."""

from __future__ import annotations

from typing import Any

from appraisals.enums import CalibrationScope, EvaluationKind
from appraisals.models import Appraisal, Evaluation
from appraisals.services.calibration import open_session
from engagements.enums import CycleStatus
from engagements.models import Engagement
from engagements.services.cycles import transition_cycle
from feedback.enums import FeedbackKind, Visibility
from feedback.selectors.surveys import survey_token
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisal_factories import RecomputeRunFactory
from tests.authz.policy import Target
from tests.authz.world_engagements import general_plan_with_goals, plan_with_goals
from tests.engagement_factories import ReviewCycleFactory
from tests.feedback_factories import (
    ClientSurveyFactory,
    FeedbackAskFactory,
    FeedbackFactory,
    FeedbackRequestFactory,
)


def review_objects(
    organization: Organization,
    *,
    engagement_pk: int,
    employee: Employee,
    author: Employee,
    requestee: Employee,
    actor: Membership,
) -> tuple[dict[Target, dict[str, dict[str, Any]]], dict[str, Any]]:
    """Feedback about ``employee`` on the engagement by ``author`` (shared, and
    managers-only) and general feedback by their line manager (or ``author``); a
    feedback request ``employee`` made about themselves there with an ask of
    ``requestee``; a client survey of the engagement; and a review cycle in which
    ``employee`` has an engagement plan and a general plan, moved to review by
    ``actor`` (which opens the appraisal, the reviews and the self-assessments), with
    a finished score recomputation and an open calibration session over the whole
    organisation in which ``employee``'s line manager takes part.

    Returns the URL kwargs of each target kind by target, and the references the
    POST bodies and links need.
    """
    with tenant_context(organization):
        engagement = Engagement.objects.get(pk=engagement_pk)
        general_author = employee.line_manager or author
    on_engagement = {
        "organization": organization,
        "author": author,
        "subject": employee,
        "engagement": engagement,
    }
    shared = FeedbackFactory(**on_engagement)
    private = FeedbackFactory(
        **on_engagement,
        kind=FeedbackKind.IMPROVEMENT,
        visibility=Visibility.MANAGERS_ONLY,
    )
    general = FeedbackFactory(
        organization=organization,
        author=general_author,
        subject=employee,
        engagement=None,
        kind=FeedbackKind.NOTE,
    )
    asked = FeedbackRequestFactory(
        organization=organization, requested_by=employee, engagement=engagement
    )
    ask = FeedbackAskFactory(request=asked, requestee=requestee)
    survey = ClientSurveyFactory(organization=organization, engagement=engagement)
    cycle = ReviewCycleFactory(
        organization=organization, status=CycleStatus.IN_PROGRESS
    )
    plan, _, _ = plan_with_goals(
        organization=organization, cycle=cycle, engagement=engagement, employee=employee
    )
    general_plan, _, _ = general_plan_with_goals(
        organization=organization, cycle=cycle, employee=employee
    )
    with tenant_context(organization):
        transition_cycle(actor=actor, cycle=cycle, to=CycleStatus.REVIEW)
        appraisal = Appraisal.objects.get(cycle=cycle, employee=employee)
        evaluations = {
            (e.plan_id, e.kind): e
            for e in Evaluation.objects.filter(appraisal=appraisal)
        }
    review = evaluations[(plan.pk, EvaluationKind.REVIEW)]
    general_review = evaluations[(general_plan.pk, EvaluationKind.REVIEW)]
    assessment = evaluations[(plan.pk, EvaluationKind.SELF)]
    run = RecomputeRunFactory(cycle=cycle)
    with tenant_context(organization):
        cycle.refresh_from_db()  # moved to review above
        # The whole organisation, with ``employee``'s line manager taking part
        # (when they have one); HR admins always do.
        session = open_session(
            actor=actor,
            cycle=cycle,
            name="Matrix calibration",
            scope=CalibrationScope.ORGANIZATION,
            participants=[employee.line_manager] if employee.line_manager else [],
        )
    objects = {
        Target.OWN: {
            "feedback": {"pk": shared.pk},
            "feedback_request": {"pk": asked.pk},
            "feedback_ask": {"pk": ask.pk},
            "evaluation": {"pk": review.pk},
            "appraisal": {"pk": appraisal.pk},
            "review_cycle": {"pk": cycle.pk},
            "review_plan": {"pk": plan.pk},
            "recompute_run": {"pk": run.pk},
            "calibration_session": {"pk": session.pk},
            "calibration_entry": {"pk": session.pk, "appraisal_pk": appraisal.pk},
        },
        Target.GENERAL_PLAN: {
            "feedback": {"pk": general.pk},
            "evaluation": {"pk": general_review.pk},
            "review_plan": {"pk": general_plan.pk},
        },
        Target.PRIVATE: {
            "feedback": {"pk": private.pk},
            "evaluation": {"pk": assessment.pk},
        },
    }
    refs = {
        "survey_token": survey_token(survey),
        "appraisal": appraisal.pk,
        "reviews": [review.pk, general_review.pk],
        "review_cycle": cycle.pk,
        "calibration_session": session.pk,
    }
    return objects, refs
