"""Read queries of appraisals: the member's list, the appraisal page (its score
explained, its calibration, evaluations and history) and readiness to finalise (HR's
cycle progress page is ``selectors.progress``'s).

Who may see an appraisal at all is ``selectors.access``'s business. Who sees how a
score was calibrated is this module's (``sees_calibration``): HR and the line
manager always; the employee, once they see their scores, only when the
organisation's ``AppraisalSettings.calibration_visible`` says so, and otherwise
reads the calibrated final as their final and nothing about calibration.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from appraisals.enums import (
    FINAL_STATUSES,
    AppraisalStatus,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.explanation import Explanation, calibrated_as_final, explain, signed
from appraisals.models import (
    Appraisal,
    AppraisalSettings,
    CalibrationAdjustment,
    CalibrationParticipant,
    Evaluation,
)
from appraisals.selectors.access import (
    AppraisalAccess,
    access_to,
    appraisals_visible_to,
    sees_scores,
)
from appraisals.selectors.calibration_scope import may_adjust, viewer_in
from competencies.models import RatingLevel
from engagements.enums import CycleStatus
from engagements.models import ReviewCycle
from organizations.history import timeline
from organizations.models import Employee, Membership
from organizations.permissions import Access

# Fields whose values would reveal scores in the history timeline.
SCORE_FIELDS = ("general_score", "engagement_score", "final_score", "percent")
# Fields that tell of calibration: the adjustment (its own timeline entries say
# more) and the calibrated figures.
CALIBRATION_FIELDS = ("calibration_delta", "calibrated_score", "calibrated_percent")


def with_evaluation_counts(qs: QuerySet[Appraisal]) -> QuerySet[Appraisal]:
    """Annotate ``n_reviews`` (review evaluations) and ``n_approved`` (approved ones);
    an appraisal is ready to finalise when both are equal and not zero."""
    review = Q(evaluations__kind=EvaluationKind.REVIEW)
    return qs.annotate(
        n_reviews=Count("evaluations", filter=review, distinct=True),
        n_approved=Count(
            "evaluations",
            filter=review & Q(evaluations__status=EvaluationStatus.APPROVED),
            distinct=True,
        ),
    )


# --- Who sees calibration -----------------------------------------------------------


def employees_see_calibration() -> Coalesce:
    """The organisation's ``calibration_visible`` as an expression (a subquery of its
    settings; the field's default without a settings row), to annotate rows with.
    No query of its own."""
    default = AppraisalSettings._meta.get_field("calibration_visible").default
    return Coalesce(
        Subquery(AppraisalSettings.objects.values("calibration_visible")[:1]),
        Value(default),
        output_field=BooleanField(),
    )


def sees_calibration(
    access: AppraisalAccess, appraisal: Appraisal, employees_see: bool
) -> bool:
    """Whether the viewer sees that and how ``appraisal``'s score was calibrated (the
    computed final beside the calibrated one, the adjustment, its reason): HR and the
    line manager always; the employee (an HR admin reading their own appraisal too)
    when they see their scores and ``employees_see`` (the organisation's
    ``calibration_visible``). No query."""
    if access.sees_provisional:
        return True
    return employees_see and sees_scores(access, appraisal)


def shown_final(
    appraisal: Appraisal, *, details: bool
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """The final score, its percent and, for a viewer who sees calibration
    (``details``), the computed final it was calibrated from (else None): the
    calibrated final when an adjustment is in force, else the computed one. No
    query."""
    if appraisal.calibration_delta is None or appraisal.calibrated_score is None:
        return appraisal.final_score, appraisal.percent, None
    return (
        appraisal.calibrated_score,
        appraisal.calibrated_percent,
        appraisal.final_score if details else None,
    )


# --- The band of a final score ------------------------------------------------------


def band_label(score: Decimal | None, levels: Sequence[tuple[Decimal, str]]) -> str:
    """The name of the band a score falls in, from its rating scale's labelled points
    ``levels`` ((point, label) pairs): the labelled point nearest the score, halfway
    rounding up (3.5 on a 1–5 scale is named by the 4), as "4 · Exceeds". Attainment
    bands name no band (they suggest goal ratings), so the scale's labels do. Empty
    for no score or a scale without labelled points. No query."""
    if score is None or not levels:
        return ""
    point, label = min(levels, key=lambda level: (abs(level[0] - score), -level[0]))
    return f"{format(point.normalize(), 'f')} · {label}"


@dataclass(frozen=True)
class ScoreBands:
    """The labelled points of the rating scale of each cycle (by id), to name the
    band of a score of that cycle (``band_label``)."""

    levels: dict[int, tuple[tuple[Decimal, str], ...]]

    def label(self, cycle_id: int, score: Decimal | None) -> str:
        """The band of ``score`` in cycle ``cycle_id``; empty when it has none."""
        return band_label(score, self.levels.get(cycle_id, ()))


def score_bands(cycles: Iterable[ReviewCycle]) -> ScoreBands:
    """The bands of the scales of ``cycles`` (a cycle's own scale, else the
    organisation's default, as ``scale_for_cycle``). One query; none without
    cycles."""
    cycles = list(cycles)
    if not cycles:
        return ScoreBands({})
    wanted = Q(scale_id__in={c.rating_scale_id for c in cycles if c.rating_scale_id})
    if any(c.rating_scale_id is None for c in cycles):
        wanted |= Q(scale__is_default=True)
    by_scale: dict[int, list[tuple[Decimal, str]]] = {}
    default_id = None
    for scale_id, value, label, is_default in (
        RatingLevel.objects.filter(wanted)
        .order_by("value")
        .values_list("scale_id", "value", "label", "scale__is_default")
    ):
        by_scale.setdefault(scale_id, []).append((value, label))
        if is_default:
            default_id = scale_id
    return ScoreBands(
        {
            c.pk: tuple(by_scale.get(c.rating_scale_id or default_id or 0, ()))
            for c in cycles
        }
    )


# --- A person's appraisals across cycles --------------------------------------------


@dataclass(frozen=True)
class PersonAppraisal:
    """One row of a person's appraisals: the score only where the viewer may see it
    (``sees_scores``), and its change from the previous row with a shown score."""

    appraisal: Appraisal
    score: Decimal | None
    percent: Decimal | None
    is_provisional: bool
    change: Decimal | None
    hidden: bool  # the viewer may not see this appraisal's scores yet
    # The computed final beside a calibrated ``score``, for viewers who see
    # calibration; None otherwise.
    computed: Decimal | None = None


def person_appraisals(
    membership: Membership, employee: Employee
) -> list[PersonAppraisal]:
    """The appraisals of ``employee`` the member may see (``appraisals_visible_to``),
    newest cycle first, with the trend of the final score from cycle to cycle (the
    calibrated final where an adjustment is in force, with the computed one beside
    it for viewers who see calibration: ``sees_calibration``). A score the member
    may not see yet (the employee's own before finalisation) is left out, of the
    row and of the trend. One query."""
    appraisals = (
        appraisals_visible_to(membership)
        .filter(employee=employee)
        .select_related("cycle", "employee__line_manager")
        .annotate(employees_see_calibration=employees_see_calibration())
        .order_by("cycle__start_date", "cycle_id")
    )
    rows: list[PersonAppraisal] = []
    previous: Decimal | None = None
    for appraisal in appraisals:
        access = access_to(membership, appraisal)
        shown = sees_scores(access, appraisal)
        details = sees_calibration(
            access, appraisal, bool(vars(appraisal)["employees_see_calibration"])
        )
        final, percent, computed = shown_final(appraisal, details=details)
        score = final if shown else None
        rows.append(
            PersonAppraisal(
                appraisal=appraisal,
                score=score,
                percent=percent if shown else None,
                computed=computed if shown else None,
                is_provisional=appraisal.status not in FINAL_STATUSES,
                change=score - previous
                if score is not None and previous is not None
                else None,
                hidden=not shown,
            )
        )
        if score is not None:
            previous = score
    rows.reverse()
    return rows


# --- The member's appraisals -------------------------------------------------------


@dataclass(frozen=True)
class AppraisalRow:
    """One appraisal of a list with the final the viewer reads (``shown_final``):
    ``score`` and ``percent``, and ``computed`` beside a calibrated score for a
    viewer who sees calibration."""

    appraisal: Appraisal
    score: Decimal | None
    percent: Decimal | None
    computed: Decimal | None


@dataclass(frozen=True)
class MyAppraisals:
    own: list[AppraisalRow]
    reports: list[AppraisalRow]


def _row(appraisal: Appraisal, *, details: bool) -> AppraisalRow:
    return AppraisalRow(appraisal, *shown_final(appraisal, details=details))


def my_appraisals(membership: Membership) -> MyAppraisals:
    """The member's own appraisals and their direct reports', newest cycle first,
    with evaluation counts and the final each is read with: the calibrated final
    where an adjustment is in force, the computed one beside it for the reports
    (their line manager sees calibration) and for the member's own only when the
    organisation shows employees their calibration (``sees_calibration``). Two
    queries whatever the number of rows."""
    uid = membership.user_id
    base = (
        with_evaluation_counts(
            Appraisal.objects.select_related("cycle", "employee__job_title")
        )
        .annotate(employees_see_calibration=employees_see_calibration())
        .order_by("-cycle__start_date", "employee__full_name", "pk")
    )
    return MyAppraisals(
        own=[
            _row(a, details=bool(vars(a)["employees_see_calibration"]))
            for a in base.filter(employee__user_id=uid)
        ],
        reports=[
            _row(a, details=True)
            for a in base.filter(employee__line_manager__user_id=uid)
        ],
    )


def appraisals_to_acknowledge(membership: Membership) -> list[Appraisal]:
    """The member's finalised appraisals still waiting for their acknowledgement.
    One query."""
    return list(
        Appraisal.objects.filter(
            employee__user_id=membership.user_id, status=AppraisalStatus.FINALIZED
        )
        .select_related("cycle")
        .order_by("-finalized_at", "pk")
    )


# --- The appraisal page ---------------------------------------------------------------


def appraisal_evaluations(appraisal: Appraisal) -> list[Evaluation]:
    """The appraisal's evaluations (reviews first, then self-assessments) with plan,
    engagement and reviewer. One query."""
    return list(
        Evaluation.objects.filter(appraisal=appraisal)
        .select_related("plan__engagement__client", "reviewer")
        .order_by("kind", "plan__kind", "plan__start_date", "pk")
    )


@dataclass(frozen=True)
class ScoreView:
    """The explanations the appraisal page shows: the stored (approved-only) score,
    and for HR and the line manager a provisional one when evaluations are waiting
    for approval. Either may be None (not shown)."""

    stored: Explanation | None
    provisional: Explanation | None


def score_view(
    appraisal: Appraisal,
    access: AppraisalAccess,
    evaluations: list[Evaluation],
    *,
    calibration_shown: bool,
) -> ScoreView:
    """What the caller sees of the score (``sees_scores``), explained; with a
    calibration adjustment in force, its step ends the formula for a viewer who sees
    calibration (``calibration_shown``: ``sees_calibration``), and anyone else reads
    the calibrated final as the final (``calibrated_as_final``).

    Cost: 5 to 7 queries for one live explanation, none for a snapshot. When a
    provisional explanation is computed live, the approved-only one is explained from
    the snapshot the last recomputation stored (what the stored figures are), so the
    page never computes twice.
    """
    if not sees_scores(access, appraisal):
        return ScoreView(None, None)
    waiting = any(
        e.kind == EvaluationKind.REVIEW and e.status == EvaluationStatus.SUBMITTED
        for e in evaluations
    )
    if appraisal.status != AppraisalStatus.OPEN or not waiting:
        stored = explain(appraisal)
        return ScoreView(
            stored if calibration_shown else calibrated_as_final(stored), None
        )
    provisional = explain(appraisal, provisional=True)
    if not appraisal.snapshot:
        return ScoreView(None, provisional)
    return ScoreView(explain(appraisal, stored=True), provisional)


# --- Calibration of one appraisal ---------------------------------------------------


def appraisal_records(appraisal: Appraisal) -> list[Any]:
    """The appraisal's history rows (django-simple-history) with their authors, for
    ``appraisal_history`` and ``appraisal_adjustments``. One query."""
    return list(appraisal.history.select_related("history_user"))


def appraisal_adjustments(
    appraisal: Appraisal,
    membership: Membership,
    records: Sequence[Any] | None = None,
) -> list[CalibrationAdjustment]:
    """Every calibration adjustment of ``appraisal``, the one in force and those
    removed, newest first, with who made and removed them and their session (and
    its cycle). Each carries ``employees_see_calibration`` (the organisation's
    ``calibration_visible``) and ``in_session``: does ``membership``'s member take
    part in the adjustment's session.

    One query; none when the appraisal has no adjustment in force and none of its
    history rows ``records`` (``appraisal_records``) had one, so it never had any
    (without ``records``: none in force, so only the one in force is wanted)."""
    ever = appraisal.calibration_delta is not None or any(
        r.calibration_delta is not None for r in records or ()
    )
    if not ever:
        return []
    return list(
        CalibrationAdjustment.objects.filter(appraisal=appraisal)
        .select_related("created_by", "removed_by", "session__cycle")
        .annotate(
            employees_see_calibration=employees_see_calibration(),
            in_session=Exists(
                CalibrationParticipant.objects.filter(
                    session=OuterRef("session"),
                    employee__user_id=membership.user_id,
                )
            ),
        )
        .order_by("-created_at", "-pk")
    )


@dataclass(frozen=True)
class AppraisalCalibration:
    """What the appraisal page shows of calibration: the adjustment in force (None
    without one, or when the viewer may not know of it), whether the viewer sees
    calibration at all (``shown``), may open the adjustment's session page
    (``opens_session``) and may remove the adjustment (``removable``)."""

    adjustment: CalibrationAdjustment | None
    shown: bool
    opens_session: bool
    removable: bool


def appraisal_calibration(
    appraisal: Appraisal,
    access: AppraisalAccess,
    adjustments: list[CalibrationAdjustment],
    *,
    membership: Membership,
    employee: Employee | None,
) -> AppraisalCalibration:
    """The calibration of ``appraisal`` as the viewer sees it, from its
    ``appraisal_adjustments``. Removing happens in the adjustment's session, so it
    is offered on an open appraisal while that session is open and its cycle in
    review: to HR admins (not on their own) and to a participant who may adjust
    the appraisal there (``calibration_scope.may_adjust``); the removal's own
    service decides finally. No query, but three for a participating manager who
    is not an HR admin (their line, participation, scope)."""
    in_force = next((a for a in adjustments if a.removed_at is None), None)
    employees_see = (
        bool(vars(in_force)["employees_see_calibration"]) if in_force else False
    )
    shown = sees_calibration(access, appraisal, employees_see)
    if in_force is None or not shown or not sees_scores(access, appraisal):
        return AppraisalCalibration(None, shown, opens_session=False, removable=False)
    in_session = bool(vars(in_force)["in_session"])
    opens_session = in_force.session_id is not None and (
        (access.is_hr and not access.is_subject) or in_session
    )
    session = in_force.session
    removable = False
    if (
        session is not None
        and appraisal.status == AppraisalStatus.OPEN
        and not access.is_subject
    ):
        if access.is_hr:
            removable = session.is_open and session.cycle.status == CycleStatus.REVIEW
        elif in_session:
            viewer = viewer_in(Access(membership), session, employee)
            removable = may_adjust(session, viewer, appraisal)
    return AppraisalCalibration(in_force, shown, opens_session, removable)


def _adjustment_entries(
    adjustments: list[CalibrationAdjustment],
) -> list[dict[str, object]]:
    """Timeline entries (as ``organizations.history.timeline``'s) for adjustments
    made and removed: who, when, δ, how and why. No query."""
    entries: list[dict[str, object]] = []
    for adjustment in adjustments:
        delta = _("Adjustment: %(delta)s") % {"delta": signed(adjustment.delta)}
        items = [delta, adjustment.get_kind_display()]
        if adjustment.session is not None:
            items.append(_("Session: %(name)s") % {"name": adjustment.session.name})
        entries.append(
            {
                "when": adjustment.created_at,
                "who": adjustment.created_by,
                "kind": _("Calibration adjustment made"),
                "subject": _("Reason: %(reason)s") % {"reason": adjustment.reason},
                "items": items,
                "changes": [],
            }
        )
        if adjustment.removed_at is not None:
            entries.append(
                {
                    "when": adjustment.removed_at,
                    "who": adjustment.removed_by,
                    "kind": _("Calibration adjustment removed"),
                    "subject": _("Reason: %(reason)s")
                    % {"reason": adjustment.removal_reason},
                    "items": [delta],
                    "changes": [],
                }
            )
    return entries


def appraisal_history(
    appraisal: Appraisal,
    records: Sequence[Any],
    *,
    show_scores: bool,
    is_subject: bool = False,
    adjustments: Sequence[CalibrationAdjustment] = (),
    calibration_shown: bool = False,
) -> list[dict[str, object]]:
    """The appraisal's change timeline from its history ``records``
    (``appraisal_records``), newest first; score changes are left out for
    viewers who may not see scores yet. The employee's acknowledgement comment is
    "your comment" to the employee (``is_subject``) and "<name>'s comment" to anyone
    else. For a viewer who sees calibration (``calibration_shown``, with scores)
    the calibration ``adjustments`` (``appraisal_adjustments``) made and removed
    stand in order with the rest; for anyone else nothing tells of calibration. One
    query (the names of the users who finalised)."""
    entries = timeline(records)
    comment_field = str(Appraisal._meta.get_field("acknowledgement").verbose_name)
    comment_label = (
        _("your comment")
        if is_subject
        else _("%(name)s's comment") % {"name": appraisal.employee.full_name}
    )
    calibration = show_scores and calibration_shown
    hidden_names = {"calibration_delta"}  # the adjustment's own entries say more
    if not show_scores:
        hidden_names.update(SCORE_FIELDS)
    if not calibration:
        hidden_names.update(CALIBRATION_FIELDS)
    hidden = {
        str(f.verbose_name)
        for f in Appraisal._meta.concrete_fields
        if f.name in hidden_names
    }
    for entry in entries:
        changes = cast("list[dict[str, Any]]", entry["changes"])  # timeline's rows
        entry["changes"] = [
            {**c, "field": comment_label} if c["field"] == comment_field else c
            for c in changes
            if c["field"] not in hidden
        ]
    if calibration and adjustments:
        entries = sorted(
            [*entries, *_adjustment_entries(list(adjustments))],
            key=lambda e: cast("Any", e["when"]),
            reverse=True,
        )
    return entries


# --- Readiness -------------------------------------------------------------------------


def review_counts(appraisal: Appraisal) -> tuple[int, int]:
    """The appraisal's review evaluations and approved ones, as
    ``with_evaluation_counts`` (or another queryset of this module) annotated them
    on the row: ``n_reviews`` and ``n_approved``. KeyError when it was not."""
    annotated = vars(appraisal)
    return int(annotated["n_reviews"]), int(annotated["n_approved"])


def is_ready(appraisal: Appraisal) -> bool:
    """Open, with review evaluations, all approved (needs ``with_evaluation_counts``)."""
    n_reviews, n_approved = review_counts(appraisal)
    return (
        appraisal.status == AppraisalStatus.OPEN
        and n_reviews > 0
        and n_reviews == n_approved
    )
