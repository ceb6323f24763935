"""The score explanation the appraisal page shows: every component with its weight
and contribution, the formula in words and what is missing, and the calibration
adjustment in force as the formula's last step (docs/scoring.md, "Calibration").

Presentation only: the figures come from ``appraisals.scores`` (live) or from the
snapshot stored with the appraisal (frozen), and the rules from ``appraisals.scoring``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from appraisals import calibration, scoring
from appraisals.enums import AppraisalStatus
from appraisals.models import Appraisal
from appraisals.scores import compute
from appraisals.scoring import CycleInput, PlanInput
from appraisals.scoring import inputs_from_snapshot as scoring_inputs_from_snapshot
from appraisals.selectors.calibration_suggestions import signed


@dataclass(frozen=True)
class ExplainedComponent:
    """One row of the score table (figures rounded for display)."""

    label: str
    kind: str
    goal: Decimal | None
    competency: Decimal | None
    evaluation: Decimal | None  # E before client satisfaction
    csat: Decimal | None  # CSAT on the scale, when it applied
    score: Decimal | None  # the score this row contributes
    weight: Decimal  # Wₚ (1 for the general plan)
    weight_basis: str  # how the weight came about, in words
    share: Decimal | None  # percent of the final score this row carries
    contribution: Decimal | None


@dataclass(frozen=True)
class Explanation:
    """Everything the appraisal page shows to explain a score."""

    components: tuple[ExplainedComponent, ...]
    general: Decimal | None
    engagement: Decimal | None
    final: Decimal | None
    percent: Decimal | None
    formula: tuple[str, ...]
    missing: tuple[str, ...]
    is_provisional: bool
    from_snapshot: bool
    scale_min: Decimal
    scale_max: Decimal
    general_weight: Decimal
    weighting: str
    csat_weight: Decimal
    # The calibration adjustment in force (exact) and the calibrated final and
    # percent it gives (rounded for display); None without an adjustment.
    calibration_delta: Decimal | None = None
    calibrated: Decimal | None = None
    calibrated_percent: Decimal | None = None

    @property
    def adjustment(self) -> str:
        """The calibration adjustment for display (``signed``); empty without."""
        return signed(self.calibration_delta)


def _calibration_line(
    final: Decimal, delta: Decimal, result: calibration.Calibrated
) -> str:
    figures = {
        "final": scoring.round2(final),
        "delta": signed(delta),
        "calibrated": scoring.round2(result.score),
        "percent": scoring.round2(result.percent),
    }
    if result.score != final + delta:
        return (
            _(
                "Calibration: computed final %(final)s + adjustment %(delta)s, "
                "clamped to the scale = calibrated final %(calibrated)s, percent "
                "%(percent)s."
            )
            % figures
        )
    return (
        _(
            "Calibration: computed final %(final)s + adjustment %(delta)s = "
            "calibrated final %(calibrated)s, percent %(percent)s."
        )
        % figures
    )


def with_calibration(
    explanation: Explanation, final: Decimal | None, delta: Decimal | None
) -> Explanation:
    """``explanation`` with the calibration step: the calibrated final and percent
    of ``final`` (the unrounded computed final) and ``delta``, and its line at the
    end of the formula. Unchanged without a final or an adjustment. No query."""
    if final is None or delta is None:
        return explanation
    result = calibration.calibrated(
        final, delta, explanation.scale_min, explanation.scale_max
    )
    return replace(
        explanation,
        formula=(*explanation.formula, _calibration_line(final, delta, result)),
        calibration_delta=delta,
        calibrated=scoring.round2(result.score),
        calibrated_percent=scoring.round2(result.percent),
    )


def calibrated_as_final(explanation: Explanation) -> Explanation:
    """``explanation`` as an employee reads it when the organisation does not tell
    them about calibration: the calibrated final and percent as the final ones,
    and no calibration step. Unchanged without an adjustment. No query."""
    if explanation.calibration_delta is None:
        return explanation
    return replace(
        explanation,
        final=explanation.calibrated,
        percent=explanation.calibrated_percent,
        formula=explanation.formula[:-1],
        calibration_delta=None,
        calibrated=None,
        calibrated_percent=None,
    )


def _num(value: Decimal) -> str:
    """``60.00`` → ``60``, ``2.50`` → ``2.5``: weights as people write them."""
    return format(value.normalize(), "f")


def _basis(plan: PlanInput, weighting: str) -> str:
    if plan.kind != "engagement":
        return _("general plan")
    if weighting == scoring.EQUAL:
        return _("equal weight per engagement")
    if weighting == scoring.CUSTOM:
        return _("custom weight %(weight)s") % {
            "weight": _num(plan.custom_weight or Decimal(0))
        }
    return _("%(allocation)s %% × %(days)s days") % {
        "allocation": _num(plan.allocation or Decimal(0)),
        "days": plan.days,
    }


def _formula(cycle: CycleInput, *, provisional: bool) -> tuple[str, ...]:
    beta = cycle.general_weight
    weighting = {
        scoring.EFFORT: _(
            "Engagement composite EC = Σ Wₚ × Eₚ ÷ Σ Wₚ over engagement plans with a "
            "counted evaluation, where Wₚ = allocation % × days of the plan inside "
            "the cycle. Plans of weight 0 are left out."
        ),
        scoring.EQUAL: _(
            "Engagement composite EC = the plain average of the engagement plans' "
            "scores Eₚ (every engagement weighs the same)."
        ),
        scoring.CUSTOM: _(
            "Engagement composite EC = Σ Wₚ × Eₚ ÷ Σ Wₚ, where Wₚ is each plan's "
            "custom weight. Plans of weight 0 are left out."
        ),
    }[cycle.weighting]
    lines = [
        _(
            "A plan's score E = α × goal score + (1 − α) × competency score, α being "
            "the plan's goal weight. Goal and competency scores are weighted averages "
            "of the ratings; items rated N/A are left out, and when only one part is "
            "rated it counts alone."
        ),
        _("General score G = the score of the general plan."),
        weighting,
    ]
    if cycle.csat_weight > 0:
        lines.append(
            _(
                "Client satisfaction: an engagement with survey ratings of the employee "
                "scores %(rest)s %% × E + %(gamma)s %% × CSAT, where CSAT maps the mean "
                "1–5 client rating onto the scale (1 → %(min)s, 5 → %(max)s)."
            )
            % {
                "rest": _num(100 - cycle.csat_weight),
                "gamma": _num(cycle.csat_weight),
                "min": _num(cycle.smin),
                "max": _num(cycle.smax),
            }
        )
    lines += [
        _(
            "Final score = %(beta)s %% × G + %(rest)s %% × EC; when only one of them "
            "exists, it alone is the final score."
        )
        % {"beta": _num(beta), "rest": _num(100 - beta)},
        _("Percent = (final − %(min)s) ÷ (%(max)s − %(min)s) × 100.")
        % {"min": _num(cycle.smin), "max": _num(cycle.smax)},
        _(
            "Every step uses the unrounded result of the step before; only the "
            "figures shown are rounded to two decimal places."
        ),
        _(
            "Provisional: evaluations submitted but not yet approved are included, so "
            "these figures can still change."
        )
        if provisional
        else _("Only approved evaluations count."),
    ]
    return tuple(lines)


def _not_counted(label: str, general: bool, *, provisional: bool) -> str:
    if general:
        if provisional:
            return _("The general evaluation is not submitted yet.")
        return _("The general evaluation is not approved yet.")
    if provisional:
        return _("%(label)s: the evaluation is not submitted yet.") % {"label": label}
    return _("%(label)s: the evaluation is not approved yet.") % {"label": label}


def _missing(
    cycle: CycleInput, plans: Sequence[PlanInput], *, provisional: bool
) -> tuple[str, ...]:
    """Why parts of the score are absent, in words."""
    notes: list[str] = []
    if not any(p.kind != "engagement" for p in plans):
        notes.append(_("There is no general plan in this cycle."))
    for plan in plans:
        general = plan.kind != "engagement"
        if not plan.counted:
            notes.append(_not_counted(plan.label, general, provisional=provisional))
            continue
        result = scoring.score_plan(plan.goals, plan.competencies, plan.goal_weight)
        if result.score is None:
            notes.append(
                _("%(label)s: nothing is rated (everything N/A), so it is left out.")
                % {"label": plan.label}
            )
        elif not general and scoring.plan_weight(plan, cycle.weighting) <= 0:
            notes.append(
                _("%(label)s: its weight is 0 (%(basis)s), so it is left out.")
                % {"label": plan.label, "basis": _basis(plan, cycle.weighting)}
            )
    return tuple(notes)


def _in_reader_language(plans: Sequence[PlanInput]) -> list[PlanInput]:
    """``plans`` with the general plan's label in the reader's language (the inputs
    and the snapshot carry it untranslated)."""
    return [
        replace(p, label=_("General plan")) if p.kind != "engagement" else p
        for p in plans
    ]


def inputs_from_snapshot(data: dict[str, Any]) -> tuple[CycleInput, list[PlanInput]]:
    """The inputs recorded by ``scoring.snapshot``, with the general plan's label in
    the reader's language."""
    cycle, plans = scoring_inputs_from_snapshot(data)
    return cycle, _in_reader_language(plans)


def explain(
    appraisal: Appraisal, *, provisional: bool = False, stored: bool = False
) -> Explanation:
    """The score of ``appraisal`` with every component, its weight and contribution,
    the formula in words and what is missing.

    A finalised or acknowledged appraisal is explained from its stored snapshot, so
    the explanation stays what it was even after weights change (``provisional`` is
    then ignored); ``stored`` does the same for an open one (the figures of its last
    recomputation, i.e. the stored scores). Otherwise it is computed live: approved
    evaluations only, or with ``provisional`` submitted ones too. Without a snapshot
    it is always computed live. With a calibration adjustment in force
    (``Appraisal.calibration_delta``) the formula ends with the calibration step,
    applied to the final computed here (``with_calibration``). Queries: none from a
    snapshot, else 5 to 7.
    """
    has_snapshot = "plans" in (appraisal.snapshot or {})
    frozen = has_snapshot and (stored or appraisal.status != AppraisalStatus.OPEN)
    if frozen:
        cycle, plans = inputs_from_snapshot(appraisal.snapshot)
        result = scoring.score_appraisal(cycle, plans)
        provisional = False
    else:
        cycle, computed, result = compute([appraisal], provisional=provisional)[
            appraisal.pk
        ]
        plans = _in_reader_language(computed)
    by_id = {p.plan_id: p for p in plans}
    rows = tuple(
        ExplainedComponent(
            label=by_id[c.plan_id].label,
            kind=c.kind,
            goal=scoring.round2(c.goal),
            competency=scoring.round2(c.competency),
            evaluation=scoring.round2(c.evaluation),
            csat=scoring.round2(c.csat),
            score=scoring.round2(c.score),
            weight=c.weight,
            weight_basis=(
                _("β = %(beta)s %%") % {"beta": _num(cycle.general_weight)}
                if c.kind != "engagement"
                else _basis(by_id[c.plan_id], cycle.weighting)
            ),
            share=scoring.round2(c.share * scoring.HUNDRED),
            contribution=scoring.round2(c.contribution),
        )
        for c in result.components
    )
    figures = result.rounded()
    explanation = Explanation(
        components=rows,
        general=figures["general_score"],
        engagement=figures["engagement_score"],
        final=figures["final_score"],
        percent=figures["percent"],
        formula=_formula(cycle, provisional=provisional),
        missing=_missing(cycle, plans, provisional=provisional),
        is_provisional=provisional,
        from_snapshot=frozen,
        scale_min=cycle.smin,
        scale_max=cycle.smax,
        general_weight=cycle.general_weight,
        weighting=cycle.weighting,
        csat_weight=cycle.csat_weight,
    )
    return with_calibration(explanation, result.final, appraisal.calibration_delta)
