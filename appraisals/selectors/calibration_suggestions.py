"""The suggestions of a page of appraisals in a calibration session (docs/scoring.md,
Calibration, rule 3), each with its reason in words and the record an accepted
suggestion keeps: a fixed number of queries for any number of appraisals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from appraisals.calibration import Leniency, Suggestion
from appraisals.scoring import round2
from appraisals.selectors.calibration_inputs import (
    shifts_of,
    suggestion_for,
    suggestion_inputs,
)
from organizations.models import Employee

MINUS = "\N{MINUS SIGN}"


@dataclass(frozen=True)
class SuggestionRow:
    """One appraisal's suggestion (None without a score), the reason for it in words,
    the names of the reviewers it involves (reviewer id → name) and the shrinkage
    constant k the leniencies were estimated with."""

    appraisal_id: int
    suggestion: Suggestion | None
    reason: str
    names: Mapping[int, str]
    k: int

    @property
    def delta(self) -> Decimal:
        """δ, 0 without a suggestion."""
        return Decimal(0) if self.suggestion is None else self.suggestion.delta

    def inputs(self, leniencies: Mapping[int, Leniency]) -> dict[str, Any]:
        """What an accepted suggestion records (``CalibrationAdjustment.inputs``):
        the unrounded final, the suggested final, δ, per counted plan its reviewer,
        E, the shift and the corrected E, and per reviewer involved their leniency
        figures as they stand. No query."""
        if self.suggestion is None:
            return {}
        reviewers: list[dict[str, Any]] = []
        for reviewer_id in dict.fromkeys(
            p.reviewer_id for p in self.suggestion.plans if p.reviewer_id is not None
        ):
            figures = leniencies.get(reviewer_id)
            reviewers.append(
                {
                    "reviewer_id": reviewer_id,
                    "name": self.names.get(reviewer_id, ""),
                    "raw": _text(figures.raw if figures else None),
                    "shrunk": _text(figures.shrunk if figures else Decimal(0)),
                    "compared": figures.compared if figures else 0,
                    "k": self.k,
                }
            )
        return {
            "final": str(self.suggestion.final),
            "suggested": str(self.suggestion.suggested),
            "delta": str(self.suggestion.delta),
            "plans": [
                {
                    "plan_id": plan.plan_id,
                    "label": plan.label,
                    "reviewer_id": plan.reviewer_id,
                    "reviewer": self.names.get(plan.reviewer_id or 0, ""),
                    "score": str(plan.score),
                    "shift": str(plan.shift),
                    "corrected": str(plan.corrected),
                }
                for plan in self.suggestion.plans
            ],
            "reviewers": reviewers,
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def signed(value: Decimal | None) -> str:
    """``value`` rounded to 2 places with its sign, in the active language's number
    format: "+0.42", "−0.10", "0.00"; empty for None."""
    if value is None:
        return ""
    shown = round2(value) or Decimal(0)
    text = number_format(abs(shown), 2)
    if shown > 0:
        return f"+{text}"
    if shown < 0:
        return f"{MINUS}{text}"
    return text


def _figure(leniency: Leniency | None) -> str:
    """A reviewer's correction in words: "+0.42 lenient over 31 ratings"."""
    if leniency is None or leniency.too_few:
        compared = 0 if leniency is None else leniency.compared
        return ngettext(
            "too few ratings to correct: %(n)s compared rating",
            "too few ratings to correct: %(n)s compared ratings",
            compared,
        ) % {"n": compared}
    values = {"shift": signed(leniency.shrunk), "n": leniency.compared}
    if leniency.shrunk > 0:
        return (
            ngettext(
                "%(shift)s lenient over %(n)s rating",
                "%(shift)s lenient over %(n)s ratings",
                leniency.compared,
            )
            % values
        )
    if leniency.shrunk < 0:
        return (
            ngettext(
                "%(shift)s harsh over %(n)s rating",
                "%(shift)s harsh over %(n)s ratings",
                leniency.compared,
            )
            % values
        )
    return (
        ngettext(
            "%(shift)s over %(n)s rating",
            "%(shift)s over %(n)s ratings",
            leniency.compared,
        )
        % values
    )


def _matters(leniency: Leniency | None) -> bool:
    """Whether a reviewer belongs in a reason: they are corrected, or they would be
    but for too few ratings (a measured leniency that is not 0)."""
    if leniency is None:
        return False
    if leniency.shrunk != 0:
        return True
    return leniency.too_few and leniency.raw is not None and leniency.raw != 0


def reason_for(
    suggestion: Suggestion | None,
    leniencies: Mapping[int, Leniency],
    names: Mapping[int, str],
) -> str:
    """A suggestion's reason in words: "Rated by Ben Lee (+0.42 lenient over 31
    ratings) on Acme migration; by Ava Archer (−0.10 harsh over 12 ratings) on
    General." Reviewers appear in the order of the plans, each once with all their
    plans; those with ŝ = 0 only when their leniency is measured but too few ratings
    stand behind it. No query."""
    if suggestion is None:
        return _("No score yet, so there is nothing to calibrate.")
    plans: dict[int, list[str]] = {}
    for plan in suggestion.plans:
        if plan.reviewer_id is None or not _matters(leniencies.get(plan.reviewer_id)):
            continue
        plans.setdefault(plan.reviewer_id, []).append(plan.label)
    if not plans:
        return _("No reviewer of this appraisal rates measurably leniently or harshly.")
    parts = []
    for index, (reviewer_id, labels) in enumerate(plans.items()):
        values = {
            "name": names.get(reviewer_id) or _("an unnamed reviewer"),
            "figure": _figure(leniencies.get(reviewer_id)),
            "plans": ", ".join(labels),
        }
        if index == 0:
            parts.append(_("Rated by %(name)s (%(figure)s) on %(plans)s") % values)
        else:
            parts.append(_("by %(name)s (%(figure)s) on %(plans)s") % values)
    return _("%(parts)s.") % {"parts": "; ".join(parts)}


def reviewer_names(reviewer_ids: Sequence[int]) -> dict[int, str]:
    """Reviewer id → full name. One query (none without ids)."""
    if not reviewer_ids:
        return {}
    return dict(
        Employee.objects.filter(pk__in=list(reviewer_ids)).values_list(
            "pk", "full_name"
        )
    )


def suggestion_rows(
    appraisal_ids: Sequence[int],
    leniencies: Mapping[int, Leniency],
    k: int,
    *,
    snapshots: Mapping[int, Mapping[str, Any]] | None = None,
    names: Mapping[int, str] | None = None,
) -> dict[int, SuggestionRow]:
    """The suggestion of each of ``appraisal_ids`` (a page of a session, or a chunk
    of ``services.calibration.accept_all``) from the cycle's ``leniencies``
    (``calibration_inputs.cycle_leniency`` with the organisation's ``k``), with its
    reason in words, by appraisal id. Three queries at most whatever their number
    (``suggestion_inputs``' two, one for the reviewers' names); none without ids.
    A caller with the appraisals' ``snapshots`` (id → snapshot) or reviewers'
    ``names`` (id → name) loaded already saves the query for them (only reviewers
    missing from ``names`` are looked up). ``k`` is recorded with each reviewer's
    figures (``SuggestionRow.inputs``)."""
    inputs = suggestion_inputs(appraisal_ids, snapshots)
    shifts = shifts_of(leniencies.values())
    suggestions = {pk: suggestion_for(item, shifts) for pk, item in inputs.items()}
    reviewer_ids = sorted(
        {
            plan.reviewer_id
            for suggestion in suggestions.values()
            if suggestion is not None
            for plan in suggestion.plans
            if plan.reviewer_id is not None
        }
    )
    known = dict(names or {})
    known.update(reviewer_names([pk for pk in reviewer_ids if pk not in known]))
    names = known
    return {
        pk: SuggestionRow(
            pk, suggestion, reason_for(suggestion, leniencies, names), names, k
        )
        for pk, suggestion in suggestions.items()
    }
