"""The calibration session page's evidence: the names it shows (one query for
people, reviewers and competencies), the reviewer panel (each reviewer's leniency
with the items that drive it) and the lines of the suggestions table. The rules are
``appraisals.calibration``'s; who sees whom is ``calibration_scope``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    CharField,
    IntegerField,
    QuerySet,
    Value,
)
from django.utils.translation import gettext as _

from appraisals.calibration import MINIMUM_RATINGS, Leniency
from appraisals.models import (
    Appraisal,
    CalibrationParticipant,
    CalibrationSession,
    CalibrationSessionJobTitle,
    CalibrationSessionUnit,
)
from appraisals.selectors.appraisals import band_label
from appraisals.selectors.calibration_grid import Person, Scale, bar_step
from appraisals.selectors.calibration_suggestions import suggestion_rows
from competencies.models import Competency
from organizations.models import BusinessUnit, Employee, JobTitle

HUNDRED = Decimal(100)
TWO_PLACES = Decimal("0.01")
# Reviewers shown in the panel before "show all".
PANEL_SIZE = 25
# Width steps of a leniency bar (CSS classes ``cal-w-0`` .. ``cal-w-10``: tenths of
# half the bar; CSP forbids style attributes).
BAR_STEPS = 10


def adjustable(appraisal: Appraisal) -> bool:
    """Whether ``appraisal`` (annotated by ``calibration_scope.with_adjustable``)
    may be adjusted by the viewer it was loaded for."""
    return bool(getattr(appraisal, "adjustable", False))


def _round(value: Decimal | None, places: Decimal = TWO_PLACES) -> Decimal | None:
    return None if value is None else value.quantize(places, rounding=ROUND_HALF_UP)


# --- Names -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    reviewers: dict[int, str]
    competencies: dict[int, str]
    participants: list[Person]
    scope: list[str]


def _part(queryset: QuerySet[Any], kind: str, name: str, person: bool) -> Any:
    none = Value(None, output_field=IntegerField())
    return queryset.order_by().values_list(
        Value(kind, output_field=CharField()),
        "pk",
        name,
        "user_id" if person else none,
        "line_manager_id" if person else none,
    )


def session_names(
    session: CalibrationSession,
    reviewer_ids: Iterable[int],
    competency_ids: Iterable[int],
) -> Names:
    """The names the session page shows besides its people: reviewers, the
    competencies that drive their leniency, the participants and the scope's units
    or job titles. One query (a UNION)."""
    parts = [
        _part(Employee.objects.filter(pk__in=list(reviewer_ids)), "r", "full_name", True),
        _part(
            Employee.objects.filter(
                pk__in=CalibrationParticipant.objects.filter(session=session).values(
                    "employee_id"
                )
            ),
            "p", "full_name", True,
        ),
        _part(Competency.objects.filter(pk__in=list(competency_ids)), "c", "name", False),
        _part(
            BusinessUnit.objects.filter(
                pk__in=CalibrationSessionUnit.objects.filter(session=session).values(
                    "business_unit_id"
                )
            ),
            "s", "name", False,
        ),
        _part(
            JobTitle.objects.filter(
                pk__in=CalibrationSessionJobTitle.objects.filter(
                    session=session
                ).values("job_title_id")
            ),
            "s", "name", False,
        ),
    ]  # fmt: skip
    names = Names({}, {}, [], [])
    for kind, pk, name, user_id, manager_id in parts[0].union(*parts[1:], all=True):
        if kind == "r":
            names.reviewers[pk] = name
        elif kind == "p":
            names.participants.append(Person(pk, name, user_id, manager_id))
        elif kind == "c":
            names.competencies[pk] = name
        else:
            names.scope.append(name)
    names.participants.sort(key=lambda p: (p.full_name.casefold(), p.pk))
    names.scope.sort(key=str.casefold)
    return names


def competency_ids(leniencies: Iterable[Leniency]) -> set[int]:
    return {
        int(driver.item[2:])
        for item in leniencies
        for driver in item.drivers
        if driver.item.startswith("c:")
    }


# --- The reviewer panel ----------------------------------------------------------------


@dataclass(frozen=True)
class DriverLine:
    text: str
    count: int
    mean: Decimal | None
    others_mean: Decimal | None
    difference: Decimal | None


@dataclass(frozen=True)
class ReviewerRow:
    reviewer_id: int
    name: str
    leniency: Leniency
    raw: Decimal | None  # rounded for display
    shrunk: Decimal | None
    mean: Decimal | None
    spread: Decimal | None
    raw_bar: int
    shrunk_bar: int
    lenient: bool  # positive raw: bars to the right
    drivers: list[DriverLine]


@dataclass(frozen=True)
class ReviewerPanel:
    rows: list[ReviewerRow]
    total: int
    showing_all: bool
    minimum: int = MINIMUM_RATINGS

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)


def item_text(item: str, competencies: Mapping[int, str]) -> str:
    """A leniency item in words: a competency's name, or the goals of an
    attainment band."""
    kind, _sep, key = item.partition(":")
    if kind == "c":
        return competencies.get(int(key), _("A competency no longer in the library"))
    point = format(Decimal(key).normalize(), "f")
    return _("Goals in the band suggesting %(rating)s") % {"rating": point}


def reviewer_panel(
    leniencies: Mapping[int, Leniency], names: Names, *, show_all: bool
) -> ReviewerPanel:
    """Every reviewer of the cycle, the largest |ŝ| first (then |b|, then name),
    the first ``PANEL_SIZE`` unless ``show_all``. No query."""
    ordered = sorted(
        leniencies.values(),
        key=lambda item: (
            -abs(item.shrunk),
            -abs(item.raw or Decimal(0)),
            names.reviewers.get(item.reviewer_id, "").casefold(),
            item.reviewer_id,
        ),
    )
    largest = max((abs(item.raw or Decimal(0)) for item in ordered), default=Decimal(0))
    largest = max(largest, Decimal("0.5"))

    def step(value: Decimal | None) -> int:
        if value is None:
            return 0
        return min(BAR_STEPS, bar_step(abs(value) * HUNDRED / largest))

    shown = ordered if show_all else ordered[:PANEL_SIZE]
    rows = [
        ReviewerRow(
            reviewer_id=item.reviewer_id,
            name=names.reviewers.get(item.reviewer_id, "—"),
            leniency=item,
            raw=_round(item.raw),
            shrunk=_round(item.shrunk),
            mean=_round(item.mean),
            spread=_round(item.spread),
            raw_bar=step(item.raw),
            shrunk_bar=step(item.shrunk),
            lenient=(item.raw or Decimal(0)) >= 0,
            drivers=[
                DriverLine(
                    item_text(d.item, names.competencies),
                    d.count,
                    _round(d.mean),
                    _round(d.others_mean),
                    _round(d.difference),
                )
                for d in item.drivers
            ],
        )
        for item in shown
    ]
    return ReviewerPanel(rows, len(ordered), show_all or len(ordered) <= PANEL_SIZE)


# --- The suggestions table -------------------------------------------------------------


@dataclass(frozen=True)
class SuggestionLine:
    appraisal: Appraisal
    band: str
    adjusted: bool
    delta: Decimal | None  # the adjustment in force, or the suggestion's δ (rounded)
    calibrated: Decimal | None  # the calibrated final, or the suggested final
    reason: str
    has_suggestion: bool
    adjustable: bool


def suggestion_lines(
    appraisals: Sequence[Appraisal],
    leniencies: Mapping[int, Leniency],
    k: int,
    scale: Scale | None,
    names: Mapping[int, str] | None = None,
) -> list[SuggestionLine]:
    """One page of the suggestions table: each appraisal's computed final with its
    band, and the adjustment in force or else the suggestion and its reason. One
    query (the page's approved reviews, whatever its size; its snapshots come with
    ``appraisals``), one more when a reviewer is missing from ``names``; none for
    an empty page."""
    if not appraisals:
        return []
    found = suggestion_rows(
        [a.pk for a in appraisals],
        leniencies,
        k,
        snapshots={a.pk: a.snapshot for a in appraisals},
        names=names,
    )
    levels = scale.levels if scale is not None else ()
    lines = []
    for appraisal in appraisals:
        row = found.get(appraisal.pk)
        suggestion = row.suggestion if row is not None else None
        adjusted = appraisal.calibration_delta is not None
        if adjusted:
            delta, calibrated = appraisal.calibration_delta, appraisal.calibrated_score
        elif suggestion is not None and not suggestion.is_zero:
            delta, calibrated = suggestion.delta, suggestion.suggested
        else:
            delta = calibrated = None
        lines.append(
            SuggestionLine(
                appraisal=appraisal,
                band=band_label(appraisal.final_score, levels),
                adjusted=adjusted,
                delta=_round(delta),
                calibrated=_round(calibrated),
                reason=row.reason if row is not None else "",
                has_suggestion=not adjusted
                and suggestion is not None
                and not suggestion.is_zero,
                adjustable=adjustable(appraisal),
            )
        )
    return lines
