"""The appraisal report: one employee's appraisal of one cycle as a PDF.

Who may have it: whoever may open the appraisal page (``get_appraisal_for``: HR
admins, the employee, their line manager), and they read in it what the page shows
them: the employee sees scores only once the appraisal is finalised, HR and the line
manager also the provisional figures (labelled so). Per plan, the goals with target,
actual and attainment, and the ratings of the plan's review evaluation where the
reader may open it (approved; submitted ones too for HR and the line manager,
labelled provisional); the competencies with expected level, rating and the
descriptor of the rated point; the feedback shared with the employee during the
cycle that the reader may read (named feedback only: anonymous answers to feedback
requests are never in it); the acknowledgement and its comment. With a calibration
adjustment in force the reader reads the calibrated final; HR, the line manager and,
when the organisation shows employees their calibration, the employee also read the
computed final, the adjustment and its reason (``selectors.appraisals``'s rule).

Queries: a fixed number whatever the size of the appraisal (``appraisal_html``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.db.models import Count
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appraisals.enums import EvaluationKind, EvaluationStatus
from appraisals.models import Appraisal, CompetencyRating, Evaluation, GoalRating
from appraisals.selectors import appraisals as pages
from appraisals.selectors.access import (
    access_to,
    appraisal_for_member,
    may_open_evaluation,
    sees_scores,
)
from competencies.models import CompetencyDescriptor
from engagements.models import Goal, Plan, PlanCompetency
from engagements.selectors.competencies import scale_for_cycle, scale_points
from feedback.enums import FeedbackKind, Visibility
from feedback.models import Feedback
from feedback.selectors.access import feedback_visible_to
from organizations.models import Membership
from reporting.documents.base import Document, Params

# Feedback items listed in full; beyond, the counts per kind say how many more.
FEEDBACK_LISTED = 30


@dataclass
class GoalLine:
    goal: Goal
    rating: GoalRating | None


@dataclass
class CompetencyLine:
    item: PlanCompetency
    rating: CompetencyRating | None
    descriptor: str  # what the rated point looks like for the competency


@dataclass
class PlanSection:
    plan: Plan
    review: Evaluation | None  # the review whose ratings are shown, if any
    provisional: bool  # its ratings are not approved yet
    goals: list[GoalLine] = field(default_factory=list)
    competencies: list[CompetencyLine] = field(default_factory=list)


def _subject(membership: Membership, params: Params) -> Appraisal | None:
    """The appraisal ``params["appraisal"]`` if the member may open its page. One
    query."""
    try:
        pk = int(params.get("appraisal", 0))
    except (TypeError, ValueError):
        return None
    try:
        appraisal, _access = appraisal_for_member(membership, pk)
    except Http404:
        return None
    return appraisal


def _shown_reviews(
    evaluations: list[Evaluation], access: Any, show_scores: bool
) -> dict[int, tuple[Evaluation, bool]]:
    """Per plan, the review evaluation whose ratings the reader reads, and whether
    they are provisional (submitted, not approved): approved reviews for whoever sees
    scores; submitted ones too for those who see provisional figures."""
    shown: dict[int, tuple[Evaluation, bool]] = {}
    for evaluation in evaluations:
        if evaluation.kind != EvaluationKind.REVIEW or not show_scores:
            continue
        if not may_open_evaluation(access, evaluation, show_scores):
            continue
        if evaluation.status == EvaluationStatus.APPROVED:
            shown[evaluation.plan_id] = (evaluation, False)
        elif (
            evaluation.status == EvaluationStatus.SUBMITTED and access.sees_provisional
        ):
            shown[evaluation.plan_id] = (evaluation, True)
    return shown


def _plan_sections(
    appraisal: Appraisal, evaluations: list[Evaluation], access: Any, show: bool
) -> list[PlanSection]:
    """The appraisal's plans (those its evaluations belong to), each with its goals
    and competencies and the ratings the reader reads. Five queries: the plans'
    goals, their competencies, the ratings of both kinds, the descriptors."""
    plans: dict[int, Plan] = {}
    for evaluation in evaluations:
        plans.setdefault(evaluation.plan_id, evaluation.plan)
    shown = _shown_reviews(evaluations, access, show)
    review_ids = [review.pk for review, _provisional in shown.values()]
    goals = defaultdict(list)
    for goal in Goal.objects.filter(plan_id__in=list(plans)).order_by(
        "plan_id", "position", "pk"
    ):
        goals[goal.plan_id].append(goal)
    items = defaultdict(list)
    for item in (
        PlanCompetency.objects.filter(plan_id__in=list(plans))
        .select_related("competency")
        .order_by("plan_id", "position", "pk")
    ):
        items[item.plan_id].append(item)
    goal_ratings = {
        r.goal_id: r for r in GoalRating.objects.filter(evaluation_id__in=review_ids)
    }
    competency_ratings = {
        r.plan_competency_id: r
        for r in CompetencyRating.objects.filter(evaluation_id__in=review_ids)
    }
    competency_ids = {item.competency_id for rows in items.values() for item in rows}
    descriptors = {
        (d.competency_id, d.value): d.text
        for d in CompetencyDescriptor.objects.filter(competency_id__in=competency_ids)
    }
    sections = []
    for plan_id, plan in plans.items():
        review, provisional = shown.get(plan_id, (None, False))
        section = PlanSection(plan=plan, review=review, provisional=provisional)
        for goal in goals[plan_id]:
            section.goals.append(
                GoalLine(goal, goal_ratings.get(goal.pk) if review else None)
            )
        for item in items[plan_id]:
            rating = competency_ratings.get(item.pk) if review else None
            value = rating.value if rating is not None else None
            section.competencies.append(
                CompetencyLine(
                    item,
                    rating,
                    descriptors.get((item.competency_id, value), "")
                    if value is not None
                    else "",
                )
            )
        sections.append(section)
    return sections


def _feedback(
    membership: Membership, appraisal: Appraisal
) -> tuple[list[Feedback], list[tuple[str, int]]]:
    """The feedback shared with the employee during the cycle that the reader may
    read: the latest ``FEEDBACK_LISTED`` items and the count per kind. Two
    queries."""
    zone = timezone.get_current_timezone()
    cycle = appraisal.cycle
    start = datetime.combine(cycle.start_date, time.min, tzinfo=zone)
    end = datetime.combine(cycle.end_date, time.max, tzinfo=zone)
    shared = feedback_visible_to(membership).filter(
        subject_id=appraisal.employee_id,
        visibility=Visibility.SHARED,
        created_at__range=(start, end),
    )
    counts = dict(shared.order_by().values_list("kind").annotate(n=Count("pk")))
    listed = list(
        shared.select_related("author", "engagement").order_by("-created_at", "-pk")[
            :FEEDBACK_LISTED
        ]
    )
    return listed, [(str(k.label), counts.get(k.value, 0)) for k in FeedbackKind]


def appraisal_html(membership: Membership, appraisal: Appraisal) -> str:
    """The appraisal report's HTML for ``membership`` (``appraisal`` as ``_subject``
    loads it). At most eighteen queries whatever the number of plans, goals and
    competencies: the evaluations, the calibration adjustments, the score
    explanation (none from a stored snapshot, up to seven live), the scale (one, two without levels), the feedback
    (two), the plans' goals, competencies, ratings of both kinds and descriptors
    (five)."""
    access = access_to(membership, appraisal)
    show_scores = sees_scores(access, appraisal)
    evaluations = pages.appraisal_evaluations(appraisal)
    adjustments = pages.appraisal_adjustments(appraisal, membership)
    calibration = pages.appraisal_calibration(
        appraisal, access, adjustments, membership=membership, employee=None
    )
    scores = pages.score_view(
        appraisal, access, evaluations, calibration_shown=calibration.shown
    )
    scale = scale_points(scale_for_cycle(appraisal.cycle))
    points = {p.value: p.text for p in scale}
    labelled = tuple((p.value, p.label) for p in scale if p.label)
    listed, counts = _feedback(membership, appraisal)
    return render_to_string(
        "reporting/pdf/appraisal.html",
        {
            "organization": membership.organization,
            "appraisal": appraisal,
            "employee": appraisal.employee,
            "access": access,
            "show_scores": show_scores,
            "explanation": scores.stored,
            "adjustment": calibration.adjustment,
            "provisional": scores.provisional,
            "sections": _plan_sections(appraisal, evaluations, access, show_scores),
            "points": points,
            "bands": pages.ScoreBands({appraisal.cycle_id: labelled}),
            "feedback": listed,
            "feedback_counts": counts,
            "feedback_total": sum(n for _label, n in counts),
            "generated_at": timezone.localtime(),
        },
    )


def _title(appraisal: Appraisal) -> str:
    return f"{appraisal.employee.full_name} · {appraisal.cycle.name}"


APPRAISAL_REPORT = Document(
    kind="appraisal_pdf",
    label=_("Appraisal report (PDF)"),
    subject=_subject,
    html=appraisal_html,
    title=_title,
)
