"""Consistency checks of the appraisals app: the stored scores of open appraisals,
and the cycle progress page's tallies (``check_progress_tallies``).

Every open appraisal's stored figures (general score, engagement composite, final
score, percent, the snapshot the explanation is built from) and its evaluations'
stored figures are recomputed in memory from the ratings, with the same loading code
and rules that store them (``appraisals.scores.figures_to_store``), and compared
exactly. Finalised and acknowledged appraisals are frozen on purpose and left out.

A read-only selector run by ``manage.py check_consistency`` inside one organisation's
tenant context; it writes and locks nothing, so a recomputation running meanwhile can
show up as a difference that a second run no longer finds.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from appraisals.enums import AppraisalStatus, EvaluationKind
from appraisals.models import (
    Appraisal,
    AppraisalReviewTally,
    ApprovalFallback,
    CycleAppraisalTally,
    CycleReviewTally,
    EngagementReviewTally,
    EngagementWorkload,
    Evaluation,
)
from appraisals.scores import (
    APPRAISAL_FIELDS,
    EVALUATION_FIELDS,
    Figures,
    figures_to_store,
)
from appraisals.tallies import fallback_reviews, kept_by_triggers, recount
from engagements.enums import PlanKind
from engagements.models import CyclePlanTally
from engagements.tallies import plans_recounted
from organizations.consistency import Difference

SCORES = "scores"
# Open appraisals checked per load (a fixed number of queries each).
CHUNK = 500
# Snapshot entries that hold words, not figures: a renamed engagement changes its
# label without changing any score.
WORDS_IN_SNAPSHOT = frozenset({"rules", "label"})
MISSING = object()


def _field_names() -> dict[str, str]:
    return {
        "general_score": _("general score"),
        "engagement_score": _("engagement composite"),
        "final_score": _("final score"),
        "percent": _("percent"),
        "goal_score": _("goal score"),
        "competency_score": _("competency score"),
        "score": _("score"),
    }


def check_scores() -> list[Difference]:
    """Stored figures of the active organisation's open appraisals, and of their
    evaluations, that differ from the figures their ratings give now.

    The snapshot is compared figure by figure (its words are left out) when the
    appraisal was computed at least once; one never computed stores no snapshot.

    Queries: per 500 open appraisals, 1 for the appraisals, 5 to 7 for the
    recomputation and 1 for the evaluations' stored figures.
    """
    differences: list[Difference] = []
    after = 0
    while True:
        chunk = list(
            Appraisal.objects.filter(status=AppraisalStatus.OPEN, pk__gt=after)
            .select_related("employee", "cycle")
            .order_by("pk")[:CHUNK]
        )
        if not chunk:
            return differences
        computed = figures_to_store(chunk)
        for appraisal in chunk:
            differences.extend(_appraisal_differences(appraisal, computed))
        differences.extend(_evaluation_differences(chunk, computed))
        after = chunk[-1].pk


def _describe(value: Any) -> str:
    if value is MISSING:
        return _("absent")
    if value is None:
        return _("empty")
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def _mismatch(subject: str, what: str, recomputed: Any, stored: Any) -> Difference:
    return Difference(
        SCORES,
        subject,
        _("%(what)s %(value)s (recomputed from its ratings)")
        % {"what": what, "value": _describe(recomputed)},
        _("%(value)s stored") % {"value": _describe(stored)},
    )


def _appraisal_differences(
    appraisal: Appraisal, computed: Figures
) -> Iterator[Difference]:
    subject = _('appraisal %(id)s (%(person)s, cycle "%(cycle)s")') % {
        "id": appraisal.pk,
        "person": appraisal.employee.full_name,
        "cycle": appraisal.cycle.name,
    }
    expected = computed.appraisals[appraisal.pk]
    names = _field_names()
    for name in APPRAISAL_FIELDS:
        if name == "snapshot":
            continue
        recomputed, stored = getattr(expected, name), getattr(appraisal, name)
        if recomputed != stored:
            yield _mismatch(subject, names[name], recomputed, stored)
    if appraisal.computed_at is None:
        return
    for path, recomputed, stored in snapshot_differences(
        expected.snapshot, appraisal.snapshot
    ):
        yield _mismatch(
            subject, _("snapshot %(path)s") % {"path": path}, recomputed, stored
        )


def _evaluation_differences(
    chunk: list[Appraisal], computed: Figures
) -> Iterator[Difference]:
    by_id = {appraisal.pk: appraisal for appraisal in chunk}
    names = _field_names()
    rows = (
        Evaluation.objects.filter(pk__in=list(computed.evaluations))
        .order_by("appraisal_id", "pk")
        .values_list(
            "pk",
            "appraisal_id",
            "kind",
            "plan__kind",
            "plan__engagement__name",
            *EVALUATION_FIELDS,
        )
    )
    for pk, appraisal_id, kind, plan_kind, engagement, *stored in rows:
        appraisal = by_id[appraisal_id]
        context = {
            "id": pk,
            "person": appraisal.employee.full_name,
            "engagement": engagement or "",
            "cycle": appraisal.cycle.name,
        }
        review = kind == EvaluationKind.REVIEW
        if plan_kind == PlanKind.GENERAL:
            subject = (
                _('review %(id)s (%(person)s, general plan, cycle "%(cycle)s")')
                if review
                else _(
                    'self-assessment %(id)s (%(person)s, general plan, cycle "%(cycle)s")'
                )
            ) % context
        else:
            subject = (
                _(
                    'review %(id)s (%(person)s, engagement "%(engagement)s", '
                    'cycle "%(cycle)s")'
                )
                if review
                else _(
                    'self-assessment %(id)s (%(person)s, engagement "%(engagement)s", '
                    'cycle "%(cycle)s")'
                )
            ) % context
        expected = computed.evaluations[pk]
        for name, value in zip(EVALUATION_FIELDS, stored, strict=True):
            recomputed = getattr(expected, name)
            if recomputed != value:
                yield _mismatch(subject, names[name], recomputed, value)


def snapshot_differences(
    recomputed: Any, stored: Any, path: str = ""
) -> Iterator[tuple[str, Any, Any]]:
    """The figures where two snapshots differ, as (path, recomputed, stored).

    Paths read like ``plans[1].goals[0].rating``. Figures are compared as Decimals
    (exactly; "3.40" and "3.4" are the same figure); entries in
    ``WORDS_IN_SNAPSHOT`` are left out. Lists of different lengths are one
    difference (their lengths), not one per entry. Pure.
    """
    if isinstance(recomputed, dict) and isinstance(stored, dict):
        keys = [*recomputed, *(key for key in stored if key not in recomputed)]
        for key in keys:
            if key in WORDS_IN_SNAPSHOT:
                continue
            yield from snapshot_differences(
                recomputed.get(key, MISSING),
                stored.get(key, MISSING),
                f"{path}.{key}" if path else str(key),
            )
        return
    if isinstance(recomputed, list) and isinstance(stored, list):
        if len(recomputed) != len(stored):
            yield (
                path,
                _("%(count)s entries") % {"count": len(recomputed)},
                _("%(count)s entries") % {"count": len(stored)},
            )
            return
        for index, (left, right) in enumerate(zip(recomputed, stored, strict=True)):
            yield from snapshot_differences(left, right, f"{path}[{index}]")
        return
    if not _same_figure(recomputed, stored):
        yield (path, recomputed, stored)


def _same_figure(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        try:
            return Decimal(left) == Decimal(right)
        except InvalidOperation:
            return left == right
    return bool(left == right)


# --- Progress tallies ---------------------------------------------------------------

TALLIES = "tallies"


def _tally_differences(
    name: str, stored: dict[Any, Any], recounted: dict[Any, Any], zero: Any
) -> Iterator[Difference]:
    for key in sorted(set(stored) | set(recounted), key=str):
        found, expected = stored.get(key, zero), recounted.get(key, zero)
        if found != expected:
            parts = key if isinstance(key, tuple) else (key,)
            yield Difference(
                TALLIES,
                _("%(tally)s (%(key)s)")
                % {"tally": name, "key": ", ".join(str(part) for part in parts)},
                _("%(value)s (recounted)") % {"value": expected},
                _("%(value)s stored") % {"value": found},
            )


def check_progress_tallies() -> list[Difference]:
    """The counts the database keeps by triggers (``tallies.DERIVED_MODELS``: the
    cycle progress page's tallies, the plans per cycle and the reviews only HR may
    approve) that differ from a recount of the active organisation's rows, table by
    table.

    Queries: one per table (seven) and the recounts (three for the tallies, one for
    the plans, four for the approval fallback); the recount of appraisals reads one
    row per appraisal of the organisation."""
    if not kept_by_triggers():
        # SQLite: the pages rebuild the tallies whenever they read them.
        return []
    counted = recount()
    return [
        *_tally_differences(
            "CycleReviewTally",
            {
                (r.cycle_id, r.status, r.due_date): r.n
                for r in CycleReviewTally.objects.all()
            },
            counted.cycle_reviews,
            0,
        ),
        *_tally_differences(
            "EngagementReviewTally",
            {
                (r.cycle_id, r.engagement_id, r.status, r.due_date): r.n
                for r in EngagementReviewTally.objects.all()
            },
            counted.engagement_reviews,
            0,
        ),
        *_tally_differences(
            "EngagementWorkload",
            {
                (r.cycle_id, r.engagement_id): (r.total, r.approved)
                for r in EngagementWorkload.objects.all()
            },
            counted.workloads,
            (0, 0),
        ),
        *_tally_differences(
            "AppraisalReviewTally",
            {
                r.appraisal_id: (r.reviews, r.approved)
                for r in AppraisalReviewTally.objects.all()
            },
            counted.per_appraisal,
            (0, 0),
        ),
        *_tally_differences(
            "CycleAppraisalTally",
            {
                (r.cycle_id, r.status, r.ready): r.n
                for r in CycleAppraisalTally.objects.all()
            },
            counted.appraisals,
            0,
        ),
        *_tally_differences(
            "CyclePlanTally",
            {(r.cycle_id, r.kind, r.status): r.n for r in CyclePlanTally.objects.all()},
            plans_recounted(),
            0,
        ),
        *_tally_differences(
            "ApprovalFallback",
            {pk: 1 for pk in ApprovalFallback.objects.values_list("pk", flat=True)},
            {review.pk: 1 for review in fallback_reviews()},
            0,
        ),
    ]
