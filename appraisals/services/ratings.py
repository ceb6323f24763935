"""Writing the goal and competency ratings of an evaluation, and what still stops
it from being submitted. Called by the workflow services in
``appraisals.services.evaluations``, inside their transaction and row locks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from appraisals.enums import EvaluationKind
from appraisals.models import CompetencyRating, Evaluation, GoalRating
from appraisals.selectors.settings import attainment_bands, suggested_rating
from engagements.models import Goal, PlanCompetency
from engagements.selectors.competencies import scale_for_cycle
from organizations.errors import DomainError
from organizations.models import Membership


@dataclass(frozen=True)
class RatingInput:
    """One goal or competency as the writer entered it. ``value`` None and
    ``not_applicable`` False means "not rated yet"."""

    value: Decimal | None = None
    not_applicable: bool = False
    comment: str = ""
    override_reason: str = ""  # goals only


def _points(evaluation: Evaluation) -> set[Decimal]:
    scale = scale_for_cycle(evaluation.plan.cycle)
    return set(scale.points()) if scale is not None else set()


def write_ratings(
    actor: Membership,
    evaluation: Evaluation,
    goal_ratings: Mapping[int, RatingInput],
    competency_ratings: Mapping[int, RatingInput],
) -> None:
    """Store the ratings given (others stay as they are). Values must be points of the
    cycle's scale; ids must be goals / competencies of the evaluation's plan.
    A fixed number of queries whatever the number of items."""
    points = _points(evaluation)
    goals = {
        g.pk: g
        for g in Goal.objects.filter(plan_id=evaluation.plan_id, pk__in=goal_ratings)
    }
    items = set(
        PlanCompetency.objects.filter(
            plan_id=evaluation.plan_id, pk__in=competency_ratings
        ).values_list("pk", flat=True)
    )
    for key, ids, prefix in (
        (goal_ratings, set(goals), "goal"),
        (competency_ratings, items, "competency"),
    ):
        for pk, rating in key.items():
            if pk not in ids:
                raise DomainError(
                    _("An item of the form is not part of this plan. Reload the page.")
                )
            if rating.value is not None and (
                rating.not_applicable or rating.value not in points
            ):
                raise DomainError(
                    _("Choose one of the points of the scale, or N/A."),
                    field=f"{prefix}_{pk}_value",
                )
    bands = attainment_bands()
    review = evaluation.kind == EvaluationKind.REVIEW
    existing = {r.goal_id: r for r in GoalRating.objects.filter(evaluation=evaluation)}
    _store_rows(
        actor,
        GoalRating,
        existing,
        {
            pk: {
                "value": r.value,
                "not_applicable": r.not_applicable,
                "comment": r.comment,
                "override_reason": r.override_reason if review else "",
                "suggested": suggested_rating(goals[pk].attainment, bands),
            }
            for pk, r in goal_ratings.items()
        },
        lambda pk: GoalRating(goal_id=pk),
        evaluation,
    )
    existing_c = {
        r.plan_competency_id: r
        for r in CompetencyRating.objects.filter(evaluation=evaluation)
    }
    _store_rows(
        actor,
        CompetencyRating,
        existing_c,
        {
            pk: {
                "value": r.value,
                "not_applicable": r.not_applicable,
                "comment": r.comment,
            }
            for pk, r in competency_ratings.items()
        },
        lambda pk: CompetencyRating(plan_competency_id=pk),
        evaluation,
    )


def _store_rows(
    actor: Membership,
    model: type[GoalRating] | type[CompetencyRating],
    existing: Mapping[int, GoalRating | CompetencyRating],
    wanted: Mapping[int, dict[str, object]],
    new: Callable[[int], GoalRating | CompetencyRating],
    evaluation: Evaluation,
) -> None:
    """Create the missing rating rows and update the changed ones, with history."""
    created: list[GoalRating | CompetencyRating] = []
    changed: list[GoalRating | CompetencyRating] = []
    fields: list[str] = []
    for pk, values in wanted.items():
        fields = list(values)
        row = existing.get(pk)
        if row is None:
            row = new(pk)
            row.organization_id = evaluation.organization_id
            row.evaluation = evaluation
            for name, value in values.items():
                setattr(row, name, value)
            created.append(row)
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            changed.append(row)
    if created:
        bulk_create_with_history(created, model, default_user=actor.user)
    if changed:
        bulk_update_with_history(changed, model, fields, default_user=actor.user)


def submission_errors(evaluation: Evaluation) -> dict[str, str]:
    """What stops ``evaluation`` from being submitted, by form field name: unrated
    items, and (reviews) ratings that differ from the suggested one without a
    reason. Four queries."""
    errors: dict[str, str] = {}
    goal_rows = {r.goal_id: r for r in GoalRating.objects.filter(evaluation=evaluation)}
    for goal_id in Goal.objects.filter(plan_id=evaluation.plan_id).values_list(
        "pk", flat=True
    ):
        row = goal_rows.get(goal_id)
        if row is None or not row.is_rated:
            errors[f"goal_{goal_id}_value"] = _("Rate this goal, or mark it N/A.")
        elif (
            evaluation.kind == EvaluationKind.REVIEW
            and row.value is not None
            and row.suggested is not None
            and row.value != row.suggested
            and not row.override_reason.strip()
        ):
            errors[f"goal_{goal_id}_reason"] = _(
                "Your rating differs from the suggested %(suggested)s: say why."
            ) % {"suggested": f"{row.suggested.normalize():f}"}
    competency_rows = {
        r.plan_competency_id: r
        for r in CompetencyRating.objects.filter(evaluation=evaluation)
    }
    for item_id in PlanCompetency.objects.filter(
        plan_id=evaluation.plan_id
    ).values_list("pk", flat=True):
        found = competency_rows.get(item_id)
        if found is None or not found.is_rated:
            errors[f"competency_{item_id}_value"] = _(
                "Rate this competency, or mark it N/A."
            )
    return errors
