"""The calibration rules of docs/scoring.md ("Calibration"): the worked example,
computed by hand below, through the pure functions of ``appraisals.calibration`` and
through the database (``appraisals.selectors.calibration_inputs``).

The world. One cycle, scale 1–5, 2026-01-01..2026-06-30 (181 days), β = 40 %,
weighting ``effort``, α = 70 % on every plan. Three reviewers: Lee (lenient), Hart
(harsh) and Ned (neutral). Items: the library competencies c1 (Communication), c2
(Delivery) and c3 (Innovation), and the goal attainment bands g4 and g5 (goals whose
measured attainment suggested the rating 4, or 5). Eight approved review evaluations:

====  ==============================  ========  ==============================
eval  plan                            reviewer  ratings
====  ==============================  ========  ==============================
E1    Ada, general (Lee manages her)  Lee       g4 goal 5; c1 5; c2 4
E2    Ada, engagement X (50 %)        Hart      g5 goal 5; c1 3; c2 3; c3 N/A
E3    Ben, general (Ned manages him)  Ned       g4 goal 4; c1 3; c2 3
E4    Ben, engagement Y (75 %)        Lee       c1 5; c2 5; c3 5
E5    Ben, engagement Z (25 %)        Hart      g4 goal 3; c1 2; c2 2
E6    Cy, engagement                  Lee       c1 4
E7    Dee, engagement                 Hart      c2 2
E8    Dee, general                    Ned       c1 4
====  ==============================  ========  ==============================

Besides, Hart's *submitted* (not approved) review of Eve rates c1 5, and Eve's own
self-assessment rates c1 5: neither counts.

Tallies (count, sum) per reviewer and item, and per item in all (N_i, S_i):

=====  ========  ========  ========  ========
item   Lee       Hart      Ned       all
=====  ========  ========  ========  ========
c1     3, 14     2, 5      2, 7      7, 26
c2     2, 9      3, 7      1, 3      6, 19
c3     1, 5      (N/A)     –         1, 5
g4     1, 5      1, 3      1, 4      3, 12
g5     –         1, 5      –         1, 5
=====  ========  ========  ========  ========

c3 and g5 have one reviewer each: nobody compares, they drop out of rule 1. For each
other item a reviewer's term is ``s − n × (S − s) / (N − n)``:

- Lee:  c1 14 − 3 × 12/4 = 5;  c2 9 − 2 × 10/4 = 4;  g4 5 − 1 × 7/2 = 1.5.
  n = 6, b = 10.5 / 6 = 1.75, ŝ = 1.75 × 6 / 16 = 0.65625.
- Hart: c1 5 − 2 × 21/5 = −3.4;  c2 7 − 3 × 12/3 = −5;  g4 3 − 1 × 9/2 = −1.5.
  n = 6, b = −9.9 / 6 = −1.65, ŝ = −1.65 × 6 / 16 = −0.61875.
- Ned:  c1 7 − 2 × 19/5 = −0.6;  c2 3 − 1 × 16/5 = −0.2;  g4 4 − 1 × 8/2 = 0.
  n = 4, b = −0.8 / 4 = −0.2, below the minimum of 5: ŝ = 0.

Ada. E(general, Lee) = 0.7 × 5 + 0.3 × 4.5 = 4.85; E(X, Hart) = 0.7 × 5 + 0.3 × 3 =
4.4. Final = 0.4 × 4.85 + 0.6 × 4.4 = 4.58 (89.50 %). Corrected: 4.85 − 0.65625 =
4.19375 and clamp(4.4 + 0.61875 = 5.01875) = 5. Suggested final = 0.4 × 4.19375 +
0.6 × 5 = 4.6775, δ = +0.0975 (without the clamp it would be 4.68875, δ = +0.10875).
Calibrated after acceptance: 4.6775 → 4.68, percent 3.6775 / 4 × 100 = 91.9375 →
91.94.

Ben. E(general, Ned) = 0.7 × 4 + 0.3 × 3 = 3.7; E(Y, Lee) = 5 (competencies alone);
E(Z, Hart) = 0.7 × 3 + 0.3 × 2 = 2.7. Effort weights: Y 75 × 181, Z 25 × 181 (Z runs
2025-10-01..2026-09-30: 181 days inside the cycle), shares 3/4 and 1/4. EC = 0.75 ×
5 + 0.25 × 2.7 = 4.425; final = 0.4 × 3.7 + 0.6 × 4.425 = 4.135 (78.375 → 78.38 %).
Corrected: 3.7 (Ned's ŝ is 0), 5 − 0.65625 = 4.34375, 2.7 + 0.61875 = 3.31875; EC =
0.75 × 4.34375 + 0.25 × 3.31875 = 4.0875; suggested final = 0.4 × 3.7 + 0.6 × 4.0875
= 3.9325, δ = −0.2025. Calibrated: 3.9325 → 3.93, percent 2.9325 / 4 × 100 = 73.3125
→ 73.31.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from pytest_django import DjangoAssertNumQueries

from appraisals import calibration, scores, scoring
from appraisals.calibration import ItemTally
from appraisals.enums import CalibrationScope, EvaluationKind, EvaluationStatus
from appraisals.models import Appraisal, AppraisalSettings, Evaluation
from appraisals.scoring import CycleInput, PlanInput, Rated
from appraisals.selectors import calibration_inputs
from appraisals.services import calibration as services
from engagements.enums import CycleStatus, PlanKind
from engagements.models import Plan, ReviewCycle
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisal_factories import (
    AppraisalFactory,
    CompetencyRatingFactory,
    EvaluationFactory,
    GoalRatingFactory,
)
from tests.competency_factories import CompetencyFactory, RatingScaleFactory
from tests.engagement_factories import (
    GoalFactory,
    PlanCompetencyFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import EmployeeFactory

D = Decimal
LEE, HART, NED = 1, 2, 3
CYCLE_START, CYCLE_END = date(2026, 1, 1), date(2026, 6, 30)
CYCLE = CycleInput(general_weight=D(40), weighting=scoring.EFFORT, smin=D(1), smax=D(5))

# (reviewer, item, count, sum, sum of squares), from the table of the docstring.
TALLIES = [
    ItemTally(LEE, "c1", 3, D(14), D(66)),
    ItemTally(LEE, "c2", 2, D(9), D(41)),
    ItemTally(LEE, "c3", 1, D(5), D(25)),
    ItemTally(LEE, "g4", 1, D(5), D(25)),
    ItemTally(HART, "c1", 2, D(5), D(13)),
    ItemTally(HART, "c2", 3, D(7), D(17)),
    ItemTally(HART, "g4", 1, D(3), D(9)),
    ItemTally(HART, "g5", 1, D(5), D(25)),
    ItemTally(NED, "c1", 2, D(7), D(25)),
    ItemTally(NED, "c2", 1, D(3), D(9)),
    ItemTally(NED, "g4", 1, D(4), D(16)),
]

RAW = {
    LEE: (Fraction(7, 4), 6),
    HART: (Fraction(-33, 20), 6),
    NED: (Fraction(-1, 5), 4),
}
SHRUNK = {LEE: D("0.65625"), HART: D("-0.61875"), NED: D(0)}


def ada_plans(general: int = 11, engagement: int = 12) -> list[PlanInput]:
    """Ada's plans as her snapshot records them (plan ids as given)."""
    return [
        PlanInput(
            plan_id=general,
            label="General plan",
            kind="general",
            goal_weight=D(70),
            goals=(Rated(D(100), D(5)),),
            competencies=(Rated(D(1), D(5)), Rated(D(1), D(4))),
        ),
        PlanInput(
            plan_id=engagement,
            label="Engagement X",
            kind="engagement",
            goal_weight=D(70),
            goals=(Rated(D(100), D(5)),),
            competencies=(Rated(D(1), D(3)), Rated(D(1), D(3)), Rated(D(1), None)),
            allocation=D(50),
            days=181,
        ),
    ]


def ben_plans(general: int = 21, y: int = 22, z: int = 23) -> list[PlanInput]:
    """Ben's plans as his snapshot records them (plan ids as given)."""
    return [
        PlanInput(
            plan_id=general,
            label="General plan",
            kind="general",
            goal_weight=D(70),
            goals=(Rated(D(100), D(4)),),
            competencies=(Rated(D(1), D(3)), Rated(D(1), D(3))),
        ),
        PlanInput(
            plan_id=y,
            label="Engagement Y",
            kind="engagement",
            goal_weight=D(70),
            competencies=(Rated(D(1), D(5)), Rated(D(1), D(5)), Rated(D(1), D(5))),
            allocation=D(75),
            days=181,
        ),
        PlanInput(
            plan_id=z,
            label="Engagement Z",
            kind="engagement",
            goal_weight=D(70),
            goals=(Rated(D(100), D(3)),),
            competencies=(Rated(D(1), D(2)), Rated(D(1), D(2))),
            allocation=D(25),
            days=181,
        ),
    ]


ADA_REVIEWERS = {11: LEE, 12: HART}
BEN_REVIEWERS = {21: NED, 22: LEE, 23: HART}


# --- Pure -------------------------------------------------------------------------


def test_raw_leniency_of_the_worked_example_is_exact() -> None:
    assert calibration.raw_leniency(TALLIES) == RAW


def test_shrunk_leniency_of_the_worked_example() -> None:
    result = calibration.leniency(TALLIES, k=10)

    assert {r: (x.raw, x.compared, x.shrunk) for r, x in result.items()} == {
        LEE: (D("1.75"), 6, D("0.65625")),
        HART: (D("-1.65"), 6, D("-0.61875")),
        NED: (D("-0.2"), 4, D(0)),
    }
    assert [r for r, x in result.items() if x.too_few] == [NED]


def test_figures_cover_every_rating_and_drivers_come_from_compared_items() -> None:
    result = calibration.leniency(TALLIES, k=10)

    lee, hart, ned = result[LEE], result[HART], result[NED]
    # Every rating (c3 and g5 included): Lee 5 5 4 4 5 5 5, Hart 3 2 3 2 2 3 5.
    assert (lee.ratings, lee.mean) == (7, D(33) / D(7))
    assert lee.spread == (D(10) / D(49)).sqrt()  # 157/7 − (33/7)² = 10/49
    assert (hart.ratings, hart.mean) == (7, D(20) / D(7))
    assert hart.spread == (D(48) / D(49)).sqrt()  # 64/7 − (20/7)² = 48/49
    assert (ned.ratings, ned.mean, ned.spread) == (4, D("3.5"), D("0.5"))
    # The items that move b most: count × difference = each item's term above.
    assert [(d.item, d.count, d.mean, d.others_mean) for d in lee.drivers] == [
        ("c1", 3, D(14) / D(3), D(3)),
        ("c2", 2, D("4.5"), D("2.5")),
        ("g4", 1, D(5), D("3.5")),
    ]
    assert [d.item for d in hart.drivers] == ["c2", "c1", "g4"]


def test_shrinkage_grows_with_k_and_stops_below_the_minimum() -> None:
    assert calibration.shrink(Fraction(7, 4), 6, 0) == D("1.75")
    assert calibration.shrink(Fraction(7, 4), 6, 10) == D("0.65625")
    assert calibration.shrink(Fraction(7, 4), 6, 30) == D(
        "0.2916666666666666666666666667"
    )
    assert calibration.shrink(Fraction(7, 4), 4, 0) == D(0)
    assert calibration.shrink(None, 12, 10) == D(0)


def test_suggestion_for_ada_is_clamped_at_the_top_of_the_scale() -> None:
    suggestion = calibration.suggest(CYCLE, ada_plans(), ADA_REVIEWERS, SHRUNK)

    assert suggestion is not None
    assert suggestion.final == D("4.58")
    assert [
        (p.reviewer_id, p.score, p.shift, p.corrected) for p in suggestion.plans
    ] == [
        (LEE, D("4.85"), D("0.65625"), D("4.19375")),
        (HART, D("4.4"), D("-0.61875"), D(5)),  # 5.01875 clamped
    ]
    assert suggestion.suggested == D("4.6775")
    assert suggestion.delta == D("0.0975")


def test_suggestion_for_ben_weighs_engagements_by_effort() -> None:
    suggestion = calibration.suggest(CYCLE, ben_plans(), BEN_REVIEWERS, SHRUNK)

    assert suggestion is not None
    assert suggestion.final == D("4.135")
    assert [p.corrected for p in suggestion.plans] == [
        D("3.7"),
        D("4.34375"),
        D("3.31875"),
    ]
    assert suggestion.suggested == D("3.9325")
    assert suggestion.delta == D("-0.2025")


@pytest.mark.parametrize(
    ("final", "delta", "score", "percent", "shown"),
    [
        (D("4.58"), D("0.0975"), D("4.6775"), D("91.9375"), (D("4.68"), D("91.94"))),
        (D("4.135"), D("-0.2025"), D("3.9325"), D("73.3125"), (D("3.93"), D("73.31"))),
        (D("4.58"), D(1), D(5), D(100), (D("5.00"), D("100.00"))),
        (D("1.2"), D(-1), D(1), D(0), (D("1.00"), D("0.00"))),
    ],
)
def test_calibrated_final_and_percent_after_acceptance(
    final: Decimal,
    delta: Decimal,
    score: Decimal,
    percent: Decimal,
    shown: tuple[Decimal, Decimal],
) -> None:
    result = calibration.calibrated(final, delta, D(1), D(5))

    assert (result.score, result.percent) == (score, percent)
    assert (scoring.round2(result.score), scoring.round2(result.percent)) == shown


def test_a_reviewer_without_a_shift_leaves_the_plan_alone() -> None:
    plans = ada_plans()

    suggestion = calibration.suggest(CYCLE, plans, {11: None, 12: 99}, SHRUNK)

    assert suggestion is not None
    assert suggestion.delta == 0
    assert [p.shift for p in suggestion.plans] == [D(0), D(0)]


# --- Through the database ---------------------------------------------------------


@dataclass
class World:
    cycle: ReviewCycle
    reviewers: dict[int, Employee]  # LEE, HART, NED → their rows
    competencies: dict[str, int]  # "c1" → library competency id
    ada: Appraisal
    ben: Appraisal
    plans: dict[str, Plan]  # "ada general", "ada X", "ben general", "ben Y", "ben Z"


def build_world(organization: Organization) -> World:
    """The worked example of the module docstring in the database: eight approved
    review evaluations, a submitted one and a self-assessment that do not count."""
    scale = RatingScaleFactory(organization=organization)
    cycle = ReviewCycleFactory(
        organization=organization,
        start_date=CYCLE_START,
        end_date=CYCLE_END,
        general_weight=D(40),
        engagement_weighting="effort",
        rating_scale=scale,
        status=CycleStatus.REVIEW,
    )
    lee = EmployeeFactory(organization=organization, full_name="Bo Lee")
    hart = EmployeeFactory(organization=organization, full_name="Hal Hart")
    ned = EmployeeFactory(organization=organization, full_name="Nia Ned")
    people = {
        name: EmployeeFactory(
            organization=organization, full_name=name, line_manager=manager
        )
        for name, manager in [
            ("Ada", lee),
            ("Ben", ned),
            ("Cy", lee),
            ("Dee", ned),
            ("Eve", lee),
        ]
    }
    library = {
        key: CompetencyFactory(organization=organization, name=name).pk
        for key, name in [
            ("c1", "Communication"),
            ("c2", "Delivery"),
            ("c3", "Innovation"),
        ]
    }
    appraisals = {
        name: AppraisalFactory(cycle=cycle, employee=person)
        for name, person in people.items()
    }
    plans: dict[str, Plan] = {}

    def evaluate(
        key: str,
        person: str,
        reviewer: Employee,
        *,
        general: bool = False,
        allocation: int = 50,
        start: date = CYCLE_START,
        end: date = CYCLE_END,
        goal: tuple[int, int] | None = None,
        ratings: tuple[tuple[str, int | None], ...] = (),
        status: str = EvaluationStatus.APPROVED,
        kind: str = EvaluationKind.REVIEW,
    ) -> list[object]:
        """A plan of ``person`` and its evaluation by ``reviewer``: ``goal`` is
        (band, rating) of one goal of weight 100, ``ratings`` (competency, rating or
        None for N/A). Returns the plan's competencies."""
        fields: dict[str, object] = (
            {"kind": PlanKind.GENERAL, "engagement": None, "allocation": None}
            if general
            else {"allocation": D(allocation)}
        )
        plan = PlanFactory(
            organization=organization,
            cycle=cycle,
            employee=people[person],
            goal_weight=D(70),
            start_date=start,
            end_date=end,
            **fields,
        )
        plans[key] = plan
        evaluation = EvaluationFactory(
            plan=plan,
            appraisal=appraisals[person],
            reviewer=reviewer,
            status=status,
            kind=kind,
        )
        if goal is not None:
            band, rating = goal
            GoalRatingFactory(
                evaluation=evaluation,
                goal=GoalFactory(plan=plan, weight=D(100)),
                value=D(rating),
                suggested=D(band),
            )
        uses = []
        for item, rating in ratings:
            use = PlanCompetencyFactory(
                plan=plan, competency_id=library[item], weight=D(1)
            )
            CompetencyRatingFactory(
                evaluation=evaluation,
                plan_competency=use,
                value=None if rating is None else D(rating),
                not_applicable=rating is None,
            )
            uses.append(use)
        return uses

    evaluate(
        "ada general",
        "Ada",
        lee,
        general=True,
        goal=(4, 5),
        ratings=(("c1", 5), ("c2", 4)),
    )
    evaluate(
        "ada X",
        "Ada",
        hart,
        goal=(5, 5),
        ratings=(("c1", 3), ("c2", 3), ("c3", None)),
    )
    evaluate(
        "ben general",
        "Ben",
        ned,
        general=True,
        goal=(4, 4),
        ratings=(("c1", 3), ("c2", 3)),
    )
    evaluate(
        "ben Y",
        "Ben",
        lee,
        allocation=75,
        ratings=(("c1", 5), ("c2", 5), ("c3", 5)),
    )
    evaluate(
        "ben Z",
        "Ben",
        hart,
        allocation=25,
        start=date(2025, 10, 1),
        end=date(2026, 9, 30),
        goal=(4, 3),
        ratings=(("c1", 2), ("c2", 2)),
    )
    evaluate("cy", "Cy", lee, ratings=(("c1", 4),))
    evaluate("dee", "Dee", hart, ratings=(("c2", 2),))
    evaluate("dee general", "Dee", ned, general=True, ratings=(("c1", 4),))
    # Neither counts: a review not approved yet, and a self-assessment.
    (eve_c1,) = evaluate(
        "eve",
        "Eve",
        hart,
        ratings=(("c1", 5),),
        status=EvaluationStatus.SUBMITTED,
    )
    self_assessment = EvaluationFactory(
        plan=plans["eve"],
        appraisal=appraisals["Eve"],
        kind=EvaluationKind.SELF,
        reviewer=people["Eve"],
        status=EvaluationStatus.SUBMITTED,
    )
    CompetencyRatingFactory(
        evaluation=self_assessment,
        plan_competency=eve_c1,
        value=D(5),
    )
    return World(
        cycle=cycle,
        reviewers={LEE: lee, HART: hart, NED: ned},
        competencies=library,
        ada=appraisals["Ada"],
        ben=appraisals["Ben"],
        plans=plans,
    )


def as_worked_example(world: World, tallies: list[ItemTally]) -> list[ItemTally]:
    """The database's tallies renamed as the pure example's (reviewer 1–3, items
    c1–c3, g4, g5), sorted like ``TALLIES``."""
    reviewer = {row.pk: key for key, row in world.reviewers.items()}
    item = {f"c:{pk}": key for key, pk in world.competencies.items()}
    item |= {"g:4.0": "g4", "g:5.0": "g5"}
    return sorted(
        (
            ItemTally(
                reviewer[row.reviewer_id],
                item[row.item],
                row.count,
                row.total,
                row.squares,
            )
            for row in tallies
        ),
        key=lambda row: (row.reviewer_id, row.item),
    )


@pytest.mark.django_db
def test_leniency_tallies_are_the_worked_examples_in_one_query(
    org: Organization, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    world = build_world(org)

    with tenant_context(org), django_assert_num_queries(1):
        tallies = calibration_inputs.leniency_tallies(world.cycle.pk)

    assert as_worked_example(world, tallies) == TALLIES


@pytest.mark.django_db
def test_cycle_leniency_reads_k_from_the_settings(org: Organization) -> None:
    world = build_world(org)

    with tenant_context(org):
        AppraisalSettings.objects.create(organization=org, calibration_shrinkage=2)
        default = calibration_inputs.cycle_leniency(world.cycle.pk, k=10)
        configured = calibration_inputs.cycle_leniency(world.cycle.pk)

    ids = {row.pk: key for key, row in world.reviewers.items()}
    assert {ids[r]: x.shrunk for r, x in default.items()} == SHRUNK
    # k = 2: Lee 1.75 × 6/8, Hart −1.65 × 6/8; Ned still below the minimum.
    assert {ids[r]: x.shrunk for r, x in configured.items()} == {
        LEE: D("1.3125"),
        HART: D("-1.2375"),
        NED: D(0),
    }
    assert {ids[r]: (x.raw, x.compared) for r, x in default.items()} == {
        LEE: (D("1.75"), 6),
        HART: (D("-1.65"), 6),
        NED: (D("-0.2"), 4),
    }


@pytest.mark.django_db
def test_suggestions_through_the_database_match_the_worked_example(
    org: Organization, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    world = build_world(org)

    with tenant_context(org):
        scores.recompute_appraisals(
            list(
                Appraisal.objects.filter(cycle=world.cycle).values_list("pk", flat=True)
            )
        )
        shifts = calibration_inputs.shifts_of(
            calibration_inputs.cycle_leniency(world.cycle.pk, k=10).values()
        )
        with django_assert_num_queries(2):
            inputs = calibration_inputs.suggestion_inputs([world.ada.pk, world.ben.pk])
        ada = calibration_inputs.suggestion_for(inputs[world.ada.pk], shifts)
        ben = calibration_inputs.suggestion_for(inputs[world.ben.pk], shifts)
        world.ada.refresh_from_db()
        world.ben.refresh_from_db()

    assert (world.ada.final_score, world.ada.percent) == (D("4.58"), D("89.50"))
    assert (world.ben.final_score, world.ben.percent) == (D("4.14"), D("78.38"))
    assert calibration.final_of(world.ben.snapshot) == (D("4.135"), D(1), D(5))
    assert ada is not None
    assert ben is not None
    assert (ada.final, ada.suggested, ada.delta) == (
        D("4.58"),
        D("4.6775"),
        D("0.0975"),
    )
    assert (ben.final, ben.suggested, ben.delta) == (
        D("4.135"),
        D("3.9325"),
        D("-0.2025"),
    )
    reviewer = {row.pk: key for key, row in world.reviewers.items()}
    assert [(reviewer[p.reviewer_id or 0], p.corrected) for p in ada.plans] == [
        (LEE, D("4.19375")),
        (HART, D(5)),
    ]
    assert {p.plan_id for p in ben.plans} == {
        world.plans[key].pk for key in ("ben general", "ben Y", "ben Z")
    }


@pytest.mark.django_db
def test_suggestion_inputs_name_the_reviewer_of_each_approved_review(
    org: Organization,
) -> None:
    world = build_world(org)

    with tenant_context(org):
        inputs = calibration_inputs.suggestion_inputs([world.ada.pk])
        reviews = dict(
            Evaluation.objects.filter(
                appraisal=world.ada, kind=EvaluationKind.REVIEW
            ).values_list("plan_id", "reviewer_id")
        )

    assert dict(inputs[world.ada.pk].reviewers) == reviews
    assert calibration_inputs.suggestion_inputs([]) == {}


@pytest.mark.django_db
def test_accepting_both_suggestions_stores_the_worked_examples_figures(
    org: Organization, make_member: Callable[..., Membership]
) -> None:
    world = build_world(org)
    hr = make_member(org, Role.HR_ADMIN)
    with tenant_context(org):
        scores.recompute_appraisals([world.ada.pk, world.ben.pk])
        session = services.open_session(
            actor=hr,
            cycle=world.cycle,
            name="H1 calibration",
            scope=CalibrationScope.ORGANIZATION,
        )

    with tenant_context(org):
        for appraisal in (world.ada, world.ben):
            services.accept_suggestion(actor=hr, session=session, appraisal=appraisal)
        world.ada.refresh_from_db()
        world.ben.refresh_from_db()

    assert (
        world.ada.calibration_delta,
        world.ada.calibrated_score,
        world.ada.calibrated_percent,
    ) == (D("0.0975"), D("4.68"), D("91.94"))
    assert (
        world.ben.calibration_delta,
        world.ben.calibrated_score,
        world.ben.calibrated_percent,
    ) == (D("-0.2025"), D("3.93"), D("73.31"))
    assert (world.ada.final_score, world.ben.final_score) == (D("4.58"), D("4.14"))
