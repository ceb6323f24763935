"""The calibration session page's figures of the scope's scores: the cycle's scale,
the score distribution against the guideline and the nine-box grid, loaded in one
query whatever the number of people (``place``).

Bands and thirds, in words:

- A score's *band* is the labelled point of the cycle's scale nearest to it, halfway
  rounding up (``selectors.appraisals.band_label``): in SQL, the midpoints between
  neighbouring points are the band edges, a score on an edge goes up.
- The nine-box's *performance* is the calibrated final if any, else the final, in
  thirds of the scale [smin, smax]: low below smin + (smax − smin)/3, medium below
  smin + 2(smax − smin)/3, high from there. *Potential* is the line manager's rating
  on the general evaluation; people without one sit in a strip of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appraisals.enums import EvaluationKind, Potential
from appraisals.models import (
    Appraisal,
    Evaluation,
)
from competencies.models import RatingLevel
from engagements.enums import PlanKind
from engagements.models import ReviewCycle

HUNDRED = Decimal(100)
TWO_PLACES = Decimal("0.01")
# Names shown per nine-box cell before "+ N more".
BOX_NAMES = 8
PERFORMANCE = ("low", "medium", "high")
# Rows of the grid, top to bottom.
POTENTIAL_ROWS = (Potential.HIGH, Potential.MEDIUM, Potential.LOW)
NOT_RATED = ""
PERFORMANCE_LABELS = {
    "low": gettext_lazy("Low performance"),
    "medium": gettext_lazy("Medium performance"),
    "high": gettext_lazy("High performance"),
}
POTENTIAL_LABELS: dict[str, Any] = {
    Potential.HIGH: gettext_lazy("high potential"),
    Potential.MEDIUM: gettext_lazy("medium potential"),
    Potential.LOW: gettext_lazy("low potential"),
}
# Width steps of a leniency bar (CSS classes ``cal-w-0`` .. ``cal-w-10``: tenths of
# half the bar; CSP forbids style attributes).
BAR_STEPS = 10


def adjustable(appraisal: Appraisal) -> bool:
    """Whether ``appraisal`` (annotated by ``calibration_scope.with_adjustable``)
    may be adjusted by the viewer it was loaded for."""
    return bool(getattr(appraisal, "adjustable", False))


@dataclass(frozen=True)
class SessionSettings:
    """The organisation's calibration settings as the session page reads them."""

    guideline: tuple[int, ...] | None  # None when the setting does not parse
    guideline_text: str
    tolerance: int
    shrinkage: int


# --- The scale -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    smin: Decimal
    smax: Decimal
    levels: tuple[tuple[Decimal, str], ...]

    def third(self, score: Decimal) -> str:
        """The nine-box performance column of ``score``."""
        span = self.smax - self.smin
        if score < self.smin + span / 3:
            return "low"
        if score < self.smin + 2 * span / 3:
            return "medium"
        return "high"

    def middle_of(self, third: str) -> Decimal:
        """The middle of a performance third, rounded to two places (the move
        form's suggestion)."""
        index = PERFORMANCE.index(third)
        span = self.smax - self.smin
        value = self.smin + span * (2 * index + 1) / 6
        return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def cycle_scale(cycle: ReviewCycle) -> Scale | None:
    """The cycle's rating scale (its own, else the organisation's default) with its
    labelled points; None without a scale or points. One query."""
    if cycle.rating_scale_id is not None:
        levels = RatingLevel.objects.filter(scale_id=cycle.rating_scale_id)
    else:
        levels = RatingLevel.objects.filter(scale__is_default=True)
    rows = list(
        levels.order_by("value").values_list(
            "value", "label", "scale__min_value", "scale__max_value"
        )
    )
    if not rows:
        return None
    return Scale(
        smin=rows[0][2],
        smax=rows[0][3],
        levels=tuple((value, label) for value, label, _a, _b in rows),
    )


# --- Distribution and the nine-box grid ------------------------------------------------


def _score() -> Coalesce:
    return Coalesce("calibrated_score", "final_score")


def _band(scale: Scale) -> Case:
    """The band index of the page's score, in SQL: below the midpoint to the next
    labelled point, the lower point; from it, the higher (halfway rounds up)."""
    points = [value for value, _label in scale.levels]
    whens = [
        When(page_score__lt=(low + high) / 2, then=Value(i))
        for i, (low, high) in enumerate(pairwise(points))
    ]
    return Case(
        When(page_score__isnull=True, then=Value(None)),
        *whens,
        default=Value(len(points) - 1),
        output_field=IntegerField(),
    )


def _third(scale: Scale) -> Case:
    span = scale.smax - scale.smin
    return Case(
        When(page_score__isnull=True, then=Value(None)),
        When(page_score__lt=scale.smin + span / 3, then=Value("low")),
        When(page_score__lt=scale.smin + 2 * span / 3, then=Value("medium")),
        default=Value("high"),
        output_field=CharField(),
    )


def _potential() -> Coalesce:
    general = Evaluation.objects.filter(
        appraisal=OuterRef("pk"),
        kind=EvaluationKind.REVIEW,
        plan__kind=PlanKind.GENERAL,
    ).values("potential")[:1]
    return Coalesce(Subquery(general), Value(NOT_RATED), output_field=CharField())


def placed(appraisals: QuerySet[Appraisal], scale: Scale) -> QuerySet[Appraisal]:
    """``appraisals`` with ``page_score`` (calibrated final, else final), ``band``,
    ``third`` and ``potential``. Builds a queryset only."""
    return (
        appraisals.annotate(page_score=_score())
        .annotate(band=_band(scale), third=_third(scale))
        .annotate(potential_rating=_potential())
    )


@dataclass(frozen=True)
class Band:
    label: str
    count: int
    share: Decimal  # percent of the scored people, two places
    target: int | None
    deviation: Decimal | None  # percentage points
    flagged: bool
    bar: int  # width step of the share, 0..BAR_STEPS
    target_bar: int | None


@dataclass(frozen=True)
class Distribution:
    bands: list[Band]
    scored: int
    unscored: int
    adjusted: int
    guideline_fits: bool
    guideline_text: str
    tolerance: int

    @property
    def total(self) -> int:
        return self.scored + self.unscored

    @property
    def flagged(self) -> int:
        return sum(1 for band in self.bands if band.flagged)


@dataclass(frozen=True)
class Placed:
    """The scope as the distribution and the nine-box read it: people per band
    (None: no score yet) and per box, how many carry an adjustment, and the first
    ``BOX_NAMES`` of each box by name."""

    bands: dict[int | None, int]
    boxes: dict[tuple[str, str], int]
    adjusted: int
    names: list[tuple[str, str, BoxEntry]]  # (third, potential, entry), by name

    @property
    def total(self) -> int:
        return sum(self.bands.values())


def place(appraisals: QuerySet[Appraisal], scale: Scale) -> Placed:
    """``appraisals`` (of ``with_adjustable``) counted per band and per nine-box box,
    with the first ``BOX_NAMES`` names of each box. One query: window counts over
    the scope, returning only each box's first names and one row per band (at most
    9 × ``BOX_NAMES`` + the bands + 1 rows, whatever the scope's size)."""
    box = [F("third"), F("potential_rating")]
    rows = (
        placed(appraisals, scale)
        .annotate(
            band_count=Window(Count("pk"), partition_by=[F("band")]),
            box_count=Window(Count("pk"), partition_by=box),
            adjusted_total=Window(
                Count("pk", filter=Q(calibration_delta__isnull=False))
            ),
            box_rank=Window(
                RowNumber(),
                partition_by=box,
                order_by=[F("employee__full_name").asc(), F("pk").asc()],
            ),
            band_rank=Window(RowNumber(), partition_by=[F("band")], order_by="pk"),
        )
        .filter(Q(box_rank__lte=BOX_NAMES) | Q(band_rank=1))
        .order_by("employee__full_name", "pk")
        .values_list(
            "band",
            "band_count",
            "third",
            "potential_rating",
            "box_count",
            "box_rank",
            "adjusted_total",
            "pk",
            "page_score",
            "adjustable",
            "employee_id",
            "employee__full_name",
            "employee__user_id",
            "employee__line_manager_id",
        )
    )
    bands: dict[int | None, int] = {}
    boxes: dict[tuple[str, str], int] = {}
    names: list[tuple[str, str, BoxEntry]] = []
    adjusted = 0
    for band, band_count, third, potential, box_count, rank, total, *rest in rows:
        adjusted = total
        bands[band] = band_count
        if third is None:
            continue
        potential = potential if potential in POTENTIAL_ROWS else NOT_RATED
        boxes[(third, potential)] = box_count
        if rank <= BOX_NAMES:
            pk, score, adjustable, *person = rest
            names.append(
                (third, potential, BoxEntry(pk, Person(*person), score, adjustable))
            )
    return Placed(bands, boxes, adjusted, names)


def bar_step(share: Decimal) -> int:
    return int(
        (share * BAR_STEPS / HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    )


def distribution(
    found: Placed, scale: Scale, settings: SessionSettings
) -> Distribution:
    """The scope's scores per band against the guideline, with the deviation per
    band in percentage points, flagged beyond the tolerance. No query."""
    per_band = [found.bands.get(i, 0) for i in range(len(scale.levels))]
    unscored = found.bands.get(None, 0)
    adjusted = found.adjusted
    scored = sum(per_band)
    guideline = settings.guideline
    fits = guideline is not None and len(guideline) == len(per_band)
    bands = []
    for i, count in enumerate(per_band):
        share = (Decimal(count) * HUNDRED / scored if scored else Decimal(0)).quantize(
            TWO_PLACES, rounding=ROUND_HALF_UP
        )
        target = guideline[i] if fits and guideline is not None else None
        deviation = None if target is None or not scored else share - target
        point, label = scale.levels[i]
        bands.append(
            Band(
                label=f"{format(point.normalize(), 'f')} · {label}",
                count=count,
                share=share,
                target=target,
                deviation=deviation,
                flagged=deviation is not None and abs(deviation) > settings.tolerance,
                bar=bar_step(share),
                target_bar=None if target is None else bar_step(Decimal(target)),
            )
        )
    return Distribution(
        bands, scored, unscored, adjusted, fits, settings.guideline_text,
        settings.tolerance,
    )  # fmt: skip


@dataclass(frozen=True)
class Person:
    """What ``{% person_link %}`` needs of a directory entry."""

    pk: int
    full_name: str
    user_id: int | None
    line_manager_id: int | None


@dataclass(frozen=True)
class BoxEntry:
    appraisal_id: int
    person: Person
    score: Decimal
    adjustable: bool


@dataclass
class Box:
    performance: str
    potential: str
    count: int = 0
    people: list[BoxEntry] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.count - len(self.people)

    @property
    def key(self) -> str:
        return f"{self.performance}-{self.potential or 'unrated'}"

    @property
    def title(self) -> str:
        """The box in words, for its heading and screen readers."""
        performance = str(PERFORMANCE_LABELS[self.performance])
        if not self.potential:
            return _("%(performance)s, potential not rated") % {
                "performance": performance
            }
        return _("%(performance)s, %(potential)s") % {
            "performance": performance,
            "potential": str(POTENTIAL_LABELS[self.potential]),
        }


@dataclass(frozen=True)
class NineBox:
    rows: list[tuple[str, list[Box]]]  # potential label (high first), its boxes
    unrated: list[Box]  # potential not rated, by performance
    unscored: int

    @property
    def placed(self) -> int:
        return sum(b.count for _p, row in self.rows for b in row) + sum(
            b.count for b in self.unrated
        )


def nine_box(found: Placed) -> NineBox:
    """The nine-box grid from the placed scope. No query."""
    boxes = {
        (third, potential): Box(
            third, potential, found.boxes.get((third, potential), 0)
        )
        for potential in (*POTENTIAL_ROWS, NOT_RATED)
        for third in PERFORMANCE
    }
    for third, potential, entry in found.names:
        boxes[(third, potential)].people.append(entry)
    return NineBox(
        rows=[
            (
                str(Potential(potential).label),
                [boxes[(third, potential)] for third in PERFORMANCE],
            )
            for potential in POTENTIAL_ROWS
        ],
        unrated=[boxes[(third, NOT_RATED)] for third in PERFORMANCE],
        unscored=found.bands.get(None, 0),
    )
