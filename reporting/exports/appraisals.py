"""The export datasets of appraisals and their evaluations: the appraisals of a
cycle, the review evaluations and the competency ratings given in them. Each starts
from the viewer's ``ReportScope`` (``appraisals()``, ``reviews()``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import CharField, OuterRef, Subquery
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from appraisals.enums import AppraisalStatus, ApprovalDecision, EvaluationStatus
from appraisals.models import CompetencyRating, EvaluationApproval
from engagements.enums import PlanKind
from reporting.exports.base import (
    CHUNK,
    Column,
    ColumnType,
    Dataset,
    Joined,
    Params,
    Row,
    choice_label,
    cycle_of,
    plan_label,
    two_places,
    yes_no,
)
from reporting.scope import ReportScope

# --- 1. Appraisals of a cycle ------------------------------------------------------------


def _appraisals(scope: ReportScope, params: Params) -> Any:
    return scope.appraisals().filter(cycle_id=cycle_of(params)).order_by()


def _appraisal_rows(scope: ReportScope, params: Params) -> Iterator[Row]:
    rows = (
        _appraisals(scope, params)
        .order_by("employee__full_name", "pk")
        .values_list(
            "employee__full_name",
            "employee__code",
            "employee__business_unit__name",
            "employee__job_title__name",
            "employee__line_manager__full_name",
            "status",
            "general_score",
            "engagement_score",
            "final_score",
            "percent",
            "calibration_delta",
            "calibrated_score",
            "calibrated_percent",
        )
    )
    for name, code, unit, title, manager, status, *scores in rows.iterator(
        chunk_size=CHUNK
    ):
        yield (
            name,
            code,
            unit,
            title,
            manager,
            choice_label(AppraisalStatus, status),
            *(two_places(score) for score in scores),
            yes_no(status == AppraisalStatus.OPEN),
        )


APPRAISALS = Dataset(
    kind="appraisals",
    label=_("Appraisals of a cycle"),
    description=_(
        "One row per person: their status and scores, with the calibration "
        "adjustment and calibrated final where one was made. Scores of appraisals "
        "still open are provisional."
    ),
    columns=(
        Column("employee", _("Employee")),
        Column("code", _("Employee code")),
        Column("business_unit", _("Business unit")),
        Column("job_title", _("Job title")),
        Column("line_manager", _("Line manager")),
        Column("status", _("Status")),
        Column("general_score", _("General score"), ColumnType.DECIMAL),
        Column("engagement_score", _("Engagement composite"), ColumnType.DECIMAL),
        Column("final_score", _("Final score"), ColumnType.DECIMAL),
        Column("percent", _("Percent"), ColumnType.DECIMAL),
        Column("calibration_delta", _("Calibration adjustment"), ColumnType.DECIMAL),
        Column("calibrated_score", _("Calibrated final score"), ColumnType.DECIMAL),
        Column("calibrated_percent", _("Calibrated percent"), ColumnType.DECIMAL),
        Column("provisional", _("Provisional")),
    ),
    rows=_appraisal_rows,
    count=lambda scope, params: _appraisals(scope, params).count(),
    available=lambda scope: scope.has_line(),
)


# --- 2. Review evaluations ---------------------------------------------------------------


def _reviews(scope: ReportScope, params: Params) -> Any:
    return scope.reviews().filter(plan__cycle_id=cycle_of(params)).order_by()


def _approvers() -> Subquery:
    """Who approved the evaluation's current submission, names joined (a correlated
    subquery: one index lookup per row)."""
    return Subquery(
        EvaluationApproval.objects.filter(
            evaluation_id=OuterRef("pk"),
            submission=OuterRef("submission"),
            decision=ApprovalDecision.APPROVED,
        )
        .order_by()
        .values("evaluation_id")
        .annotate(names=Joined("approver__full_name"))
        .values("names"),
        output_field=CharField(),
    )


def _evaluation_rows(scope: ReportScope, params: Params) -> Iterator[Row]:
    rows = (
        _reviews(scope, params)
        .annotate(approved_by=_approvers())
        .order_by("employee__full_name", "plan__kind", "plan__engagement__code", "pk")
        .values_list(
            "plan__kind",
            "plan__engagement__code",
            "plan__engagement__name",
            "employee__full_name",
            "reviewer__full_name",
            "approved_by",
            "status",
            "goal_score",
            "competency_score",
            "score",
            "submitted_at",
            "approved_at",
        )
    )
    for (
        kind,
        code,
        engagement,
        employee,
        reviewer,
        approved_by,
        status,
        goal_score,
        competency_score,
        score,
        submitted_at,
        approved_at,
    ) in rows.iterator(chunk_size=CHUNK):
        yield (
            choice_label(PlanKind, kind),
            f"{code} · {engagement}" if code else None,
            employee,
            reviewer,
            approved_by,
            choice_label(EvaluationStatus, status),
            two_places(goal_score),
            two_places(competency_score),
            two_places(score),
            submitted_at,
            approved_at,
        )


EVALUATIONS = Dataset(
    kind="evaluations",
    label=_("Review evaluations of a cycle"),
    description=_(
        "One row per review (self-assessments are left out): who wrote and "
        "approved it, its status and scores."
    ),
    columns=(
        Column("plan", _("Plan")),
        Column("engagement", _("Engagement")),
        Column("employee", _("Employee")),
        Column("reviewer", _("Reviewer")),
        Column("approved_by", _("Approved by")),
        Column("status", _("Status")),
        Column("goal_score", _("Goal score"), ColumnType.DECIMAL),
        Column("competency_score", _("Competency score"), ColumnType.DECIMAL),
        Column("score", _("Score"), ColumnType.DECIMAL),
        Column("submitted_at", _("Submitted"), ColumnType.DATETIME),
        Column("approved_at", _("Approved"), ColumnType.DATETIME),
    ),
    rows=_evaluation_rows,
    count=lambda scope, params: _reviews(scope, params).count(),
    available=lambda scope: scope.is_hr or scope.reviews().exists(),
)


# --- 4. Competency ratings ------------------------------------------------------------


def _competency_ratings(scope: ReportScope, params: Params) -> Any:
    reviews = _reviews(scope, params).values("pk")
    return CompetencyRating.objects.filter(evaluation_id__in=reviews).order_by()


def _competency_rows(scope: ReportScope, params: Params) -> Iterator[Row]:
    rows = (
        _competency_ratings(scope, params)
        .order_by(
            "evaluation__employee__full_name",
            "evaluation_id",
            "plan_competency__position",
            "pk",
        )
        .values_list(
            "evaluation_id",
            "evaluation__plan__kind",
            "evaluation__plan__engagement__code",
            "evaluation__plan__engagement__name",
            "evaluation__employee__full_name",
            "plan_competency__competency__name",
            "plan_competency__expected_level",
            "value",
            "not_applicable",
        )
    )
    not_applicable = gettext("N/A")
    for (
        evaluation,
        kind,
        code,
        engagement,
        employee,
        competency,
        expected,
        value,
        na,
    ) in rows.iterator(chunk_size=CHUNK):
        yield (
            evaluation,
            plan_label(kind, code, engagement),
            employee,
            competency,
            two_places(expected),
            not_applicable if na else two_places(value),
        )


COMPETENCY_RATINGS = Dataset(
    kind="competency_ratings",
    label=_("Competency ratings of a cycle"),
    description=_(
        "One row per competency rated in a review: the level expected and the "
        "rating given (N/A where it did not apply, empty while not rated)."
    ),
    columns=(
        Column("evaluation", _("Evaluation"), ColumnType.INTEGER),
        Column("plan", _("Plan")),
        Column("employee", _("Employee")),
        Column("competency", _("Competency")),
        Column("expected_level", _("Expected level"), ColumnType.DECIMAL),
        Column("rating", _("Rating"), ColumnType.DECIMAL),
    ),
    rows=_competency_rows,
    count=lambda scope, params: _competency_ratings(scope, params).count(),
    available=lambda scope: scope.is_hr or scope.reviews().exists(),
)
