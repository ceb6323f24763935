"""The scoring rules of docs/scoring.md: the worked example (pure and through the
database) and Hypothesis properties of ``appraisals.scoring``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appraisals import explanation, scores, scoring
from appraisals.enums import EvaluationStatus
from appraisals.models import Appraisal, Evaluation
from appraisals.scoring import CycleInput, PlanInput, Rated
from engagements.enums import CycleStatus, PlanKind
from engagements.models import Plan
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.appraisal_factories import (
    AppraisalFactory,
    CompetencyRatingFactory,
    EvaluationFactory,
    GoalRatingFactory,
)
from tests.competency_factories import RatingScaleFactory
from tests.engagement_factories import (
    EngagementFactory,
    GoalFactory,
    PlanCompetencyFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import EmployeeFactory

D = Decimal
CYCLE_START, CYCLE_END = date(2026, 1, 1), date(2026, 6, 30)
WORKED_CYCLE = CycleInput(
    general_weight=D(40), weighting=scoring.EFFORT, smin=D(1), smax=D(5)
)


def worked_plans() -> list[PlanInput]:
    """docs/scoring.md's worked example as scoring inputs."""
    return [
        PlanInput(
            plan_id=1,
            label="General plan",
            kind="general",
            goal_weight=D(70),
            goals=(Rated(D(50), D(4)), Rated(D(50), D(3))),
            competencies=(Rated(D(1), D(4)), Rated(D(1), D(5))),
        ),
        PlanInput(
            plan_id=2,
            label="Engagement A",
            kind="engagement",
            goal_weight=D(70),
            goals=(Rated(D(40), D(5)), Rated(D(60), D(4))),
            competencies=(Rated(D(1), D(3)), Rated(D(1), D(4))),
            allocation=D(60),
            days=scoring.days_inside(
                date(2026, 1, 1), date(2026, 6, 30), CYCLE_START, CYCLE_END
            ),
        ),
        PlanInput(
            plan_id=3,
            label="Engagement B",
            kind="engagement",
            goal_weight=D(70),
            goals=(Rated(D(50), D(3)),),
            allocation=D(40),
            days=scoring.days_inside(
                date(2026, 4, 1), date(2026, 9, 30), CYCLE_START, CYCLE_END
            ),
        ),
    ]


EXACT_EC = (D(60) * 181 * D("4.13") + D(40) * 91 * D(3)) / (D(60) * 181 + D(40) * 91)


def test_worked_example_through_the_pure_functions() -> None:
    plans = worked_plans()

    result = scoring.score_appraisal(WORKED_CYCLE, plans)

    assert [p.days for p in plans] == [0, 181, 91]
    assert result.general == D("3.80")
    assert result.engagement == EXACT_EC
    assert result.engagement is not None
    six_places = D("0.000001")
    assert result.engagement.quantize(six_places) == D("3.846331")
    assert result.final is not None
    assert result.final.quantize(six_places) == D("3.827799")
    assert result.rounded() == {
        "general_score": D("3.80"),
        "engagement_score": D("3.85"),
        "final_score": D("3.83"),
        "percent": D("70.69"),
    }
    components = {c.label: c for c in result.components}
    assert components["Engagement A"].evaluation == D("4.13")
    assert components["Engagement A"].goal == D("4.4")
    assert components["Engagement A"].competency == D("3.5")
    assert components["Engagement B"].evaluation == D(3)
    assert components["Engagement A"].weight == D(60) * 181
    assert sum(c.share for c in result.components) == D(1)


def build_worked_example(
    organization: Organization, *, b_status: str = EvaluationStatus.APPROVED
) -> Appraisal:
    """The worked example in the database: one employee, a general plan and two
    engagement plans, approved review evaluations (engagement B's in ``b_status``)."""
    scale = RatingScaleFactory(organization=organization, name="Standard 1–5")
    cycle = ReviewCycleFactory(
        organization=organization,
        name="H1 2026",
        start_date=CYCLE_START,
        end_date=CYCLE_END,
        general_weight=D(40),
        engagement_weighting="effort",
        rating_scale=scale,
        status=CycleStatus.REVIEW,
    )
    employee = EmployeeFactory(organization=organization, full_name="Ada Example")
    appraisal = AppraisalFactory(cycle=cycle, employee=employee)

    def plan(**fields: object) -> Plan:
        return PlanFactory(  # type: ignore[return-value]  # factories are untyped
            organization=organization,
            cycle=cycle,
            employee=employee,
            goal_weight=D(70),
            **fields,
        )

    def evaluate(
        target: Plan,
        goals: list[tuple[int, int]],
        competencies: list[int],
        status: str = EvaluationStatus.APPROVED,
    ) -> Evaluation:
        evaluation = EvaluationFactory(plan=target, appraisal=appraisal, status=status)
        for position, (weight, rating) in enumerate(goals):
            goal = GoalFactory(plan=target, weight=D(weight), position=position)
            GoalRatingFactory(evaluation=evaluation, goal=goal, value=D(rating))
        for rating in competencies:
            use = PlanCompetencyFactory(plan=target, weight=D(1))
            CompetencyRatingFactory(
                evaluation=evaluation, plan_competency=use, value=D(rating)
            )
        return evaluation  # type: ignore[return-value]  # factories are untyped

    general = plan(
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        start_date=CYCLE_START,
        end_date=CYCLE_END,
    )
    evaluate(general, [(50, 4), (50, 3)], [4, 5])
    engagement_a = EngagementFactory(
        organization=organization,
        name="Engagement A",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
    )
    plan_a = plan(
        engagement=engagement_a,
        allocation=D(60),
        start_date=date(2026, 1, 1),
        end_date=date(2026, 6, 30),
    )
    evaluate(plan_a, [(40, 5), (60, 4)], [3, 4])
    engagement_b = EngagementFactory(
        organization=organization,
        name="Engagement B",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
    )
    plan_b = plan(
        engagement=engagement_b,
        allocation=D(40),
        start_date=date(2026, 4, 1),
        end_date=date(2026, 9, 30),
    )
    evaluate(plan_b, [(50, 3)], [], status=b_status)
    return appraisal  # type: ignore[return-value]  # factories are untyped


@pytest.mark.django_db
def test_worked_example_end_to_end_through_the_database(org: Organization) -> None:
    appraisal = build_worked_example(org)

    with tenant_context(org):
        updated = scores.recompute_appraisals([appraisal.pk])
        appraisal.refresh_from_db()
        evaluations = {
            e.plan.engagement.name if e.plan.engagement else "general": e
            for e in Evaluation.objects.filter(appraisal=appraisal).select_related(
                "plan__engagement"
            )
        }

    assert updated == 1
    assert appraisal.general_score == D("3.80")
    assert appraisal.engagement_score == D("3.85")
    assert appraisal.final_score == D("3.83")
    assert appraisal.percent == D("70.69")
    assert appraisal.computed_at is not None
    assert (
        evaluations["general"].goal_score,
        evaluations["general"].competency_score,
        evaluations["general"].score,
    ) == (D("3.50"), D("4.50"), D("3.80"))
    assert evaluations["Engagement A"].score == D("4.13")
    assert evaluations["Engagement B"].score == D("3.00")
    assert evaluations["Engagement B"].competency_score is None
    snap = appraisal.snapshot
    assert snap["scale"] == {"min": "1.0", "max": "5.0"}
    assert snap["general_weight"] == "40.00"
    assert snap["weighting"] == "effort"
    assert [(p["label"], p["allocation"], p["days"]) for p in snap["plans"]] == [
        ("General plan", None, 181),
        ("Engagement A", "60.00", 181),
        ("Engagement B", "40.00", 91),
    ]
    assert [c["score"] for c in snap["components"]] == ["3.80", "4.13", "3.00"]
    assert snap["result"] == {
        "general_score": "3.80",
        "engagement_score": "3.85",
        "final_score": "3.83",
        "percent": "70.69",
    }
    assert scoring.replay(snap).rounded() == appraisal_figures(appraisal)


def appraisal_figures(appraisal: Appraisal) -> dict[str, Decimal | None]:
    return {
        "general_score": appraisal.general_score,
        "engagement_score": appraisal.engagement_score,
        "final_score": appraisal.final_score,
        "percent": appraisal.percent,
    }


# --- Properties ----------------------------------------------------------------------

SCALES = st.sampled_from([(D(1), D(5)), (D(0), D(4)), (D(1), D(10)), (D(1), D(7))])


@st.composite
def rated_items(draw: st.DrawFn, smin: Decimal, smax: Decimal) -> tuple[Rated, ...]:
    steps = int((smax - smin) * 2)
    items = draw(
        st.lists(
            st.tuples(
                st.integers(1, 100),
                st.one_of(st.none(), st.integers(0, steps)),
            ),
            max_size=5,
        )
    )
    return tuple(Rated(D(w), None if r is None else smin + D(r) / 2) for w, r in items)


@st.composite
def appraisal_inputs(
    draw: st.DrawFn, *, weighting: str | None = None, csat: bool = True
) -> tuple[CycleInput, list[PlanInput]]:
    smin, smax = draw(SCALES)
    cycle = CycleInput(
        general_weight=D(draw(st.integers(0, 100))),
        weighting=weighting
        or draw(st.sampled_from([scoring.EFFORT, scoring.EQUAL, scoring.CUSTOM])),
        smin=smin,
        smax=smax,
        csat_weight=D(draw(st.integers(0, 100))) if csat else D(0),
    )
    plans = []
    if draw(st.booleans()):
        plans.append(
            PlanInput(
                plan_id=0,
                label="General plan",
                kind="general",
                goal_weight=D(draw(st.integers(0, 100))),
                goals=draw(rated_items(smin, smax)),
                competencies=draw(rated_items(smin, smax)),
                counted=draw(st.booleans()),
            )
        )
    for index in range(draw(st.integers(0, 4))):
        plans.append(
            PlanInput(
                plan_id=index + 1,
                label=f"Engagement {index}",
                kind="engagement",
                goal_weight=D(draw(st.integers(0, 100))),
                goals=draw(rated_items(smin, smax)),
                competencies=draw(rated_items(smin, smax)),
                counted=draw(st.booleans()),
                allocation=D(draw(st.integers(0, 100))),
                days=draw(st.integers(0, 181)),
                custom_weight=D(draw(st.integers(0, 10))),
                csat=draw(st.one_of(st.none(), st.integers(1, 5).map(D))),
            )
        )
    return cycle, plans


def close(a: Decimal | None, b: Decimal | None) -> bool:
    """Equal up to Decimal's 28-digit precision (sums in another order may differ in
    the last digit)."""
    if a is None or b is None:
        return a is b
    return abs(a - b) < D("1e-20")


@given(appraisal_inputs())
def test_final_score_stays_within_the_scale(
    case: tuple[CycleInput, list[PlanInput]],
) -> None:
    cycle, plans = case

    result = scoring.score_appraisal(cycle, plans)

    if result.final is not None:
        assert cycle.smin <= result.final <= cycle.smax
        assert result.percent is not None
        assert D(0) <= result.percent <= D(100)
        rounded = result.rounded()["final_score"]
        assert rounded is not None
        assert cycle.smin <= rounded <= cycle.smax


@given(appraisal_inputs(), st.data())
def test_zero_weight_items_and_plans_change_nothing(
    case: tuple[CycleInput, list[PlanInput]], data: st.DataObject
) -> None:
    cycle, plans = case
    extra = Rated(D(0), cycle.smax)
    padded = [
        replace(p, goals=(*p.goals, extra), competencies=(extra, *p.competencies))
        for p in plans
    ]
    zero_plan = PlanInput(
        plan_id=99,
        label="Zero",
        kind="engagement",
        goal_weight=D(50),
        goals=(Rated(D(1), cycle.smax),),
        allocation=D(0),
        days=0,
        custom_weight=D(0),
    )
    if cycle.weighting != scoring.EQUAL:  # under equal weighting every plan weighs 1
        padded.append(zero_plan)

    assert scoring.score_appraisal(cycle, padded) == scoring.score_appraisal(
        cycle, plans
    )


@given(appraisal_inputs(), st.randoms(use_true_random=False))
def test_score_is_independent_of_the_order_of_ratings_and_plans(
    case: tuple[CycleInput, list[PlanInput]], rng: object
) -> None:
    cycle, plans = case
    shuffle = rng.shuffle  # type: ignore[attr-defined]  # Hypothesis Random
    shuffled = []
    for plan in plans:
        goals, competencies = list(plan.goals), list(plan.competencies)
        shuffle(goals)
        shuffle(competencies)
        shuffled.append(
            replace(plan, goals=tuple(goals), competencies=tuple(competencies))
        )
    shuffle(shuffled)

    first = scoring.score_appraisal(cycle, plans)
    second = scoring.score_appraisal(cycle, shuffled)

    assert close(first.general, second.general)
    assert close(first.engagement, second.engagement)
    assert close(first.final, second.final)
    assert first.rounded() == second.rounded()


@given(appraisal_inputs())
def test_general_only_is_g_and_engagement_only_is_ec(
    case: tuple[CycleInput, list[PlanInput]],
) -> None:
    cycle, plans = case
    general_only = [p for p in plans if p.kind == "general"]
    engagement_only = [p for p in plans if p.kind == "engagement"]

    only_g = scoring.score_appraisal(cycle, general_only)
    only_ec = scoring.score_appraisal(cycle, engagement_only)

    assert only_g.engagement is None
    assert only_g.final == only_g.general
    assert only_ec.general is None
    assert only_ec.final == only_ec.engagement


@given(appraisal_inputs())
def test_rounding_happens_only_at_the_end(
    case: tuple[CycleInput, list[PlanInput]],
) -> None:
    cycle, plans = case

    result = scoring.score_appraisal(cycle, plans)

    beta = cycle.general_weight / 100
    if result.general is not None and result.engagement is not None:
        exact = beta * result.general + (1 - beta) * result.engagement
        assert result.final == exact
        assert result.rounded()["final_score"] == scoring.round2(exact)
    if result.final is not None:
        exact_percent = (result.final - cycle.smin) / (cycle.smax - cycle.smin) * 100
        assert result.rounded()["percent"] == scoring.round2(exact_percent)


def test_rounded_intermediates_would_give_a_different_figure() -> None:
    # The worked example: the percent from the unrounded final (3.827799…) is 70.69;
    # from the rounded final 3.83 it would be 70.75.
    result = scoring.score_appraisal(WORKED_CYCLE, worked_plans())
    rounded_final = scoring.round2(result.final)
    assert rounded_final is not None

    from_rounded = scoring.round2((rounded_final - 1) / 4 * 100)

    assert result.rounded()["percent"] == D("70.69")
    assert from_rounded == D("70.75")


def test_rounded_plan_scores_would_give_a_different_final() -> None:
    # E₁ = 3.005 (→ 3.01), E₂ = 3.0049… (→ 3.00), equal weight: EC = 3.00495 → 3.00
    # unrounded, but (3.01 + 3.00) / 2 = 3.005 → 3.01 from rounded plan scores.
    cycle = CycleInput(D(0), scoring.EQUAL, D(1), D(5))
    plans = [
        PlanInput(1, "A", "engagement", D(100), goals=(Rated(D(1), D("3.005")),)),
        PlanInput(2, "B", "engagement", D(100), goals=(Rated(D(1), D("3.0049")),)),
    ]

    result = scoring.score_appraisal(cycle, plans)
    from_rounded = scoring.round2(
        sum((scoring.round2(c.score) or D(0) for c in result.components), D(0)) / 2
    )

    assert result.rounded()["final_score"] == D("3.00")
    assert from_rounded == D("3.01")


@given(appraisal_inputs(weighting=scoring.EQUAL, csat=False))
def test_equal_weighting_averages_the_counted_engagement_scores(
    case: tuple[CycleInput, list[PlanInput]],
) -> None:
    cycle, plans = case
    scores = [
        s.score
        for p in plans
        if p.kind == "engagement" and p.counted
        for s in [scoring.score_plan(p.goals, p.competencies, p.goal_weight)]
        if s.score is not None
    ]

    result = scoring.score_appraisal(cycle, plans)

    if scores:
        assert close(result.engagement, sum(scores, D(0)) / len(scores))
    else:
        assert result.engagement is None


def test_custom_weighting_uses_each_plans_custom_weight() -> None:
    cycle = CycleInput(D(0), scoring.CUSTOM, D(1), D(5))
    plans = [
        PlanInput(
            1, "A", "engagement", D(100), goals=(Rated(D(1), D(5)),), custom_weight=D(3)
        ),
        PlanInput(
            2, "B", "engagement", D(100), goals=(Rated(D(1), D(1)),), custom_weight=D(1)
        ),
        PlanInput(
            3, "C", "engagement", D(100), goals=(Rated(D(1), D(1)),), custom_weight=D(0)
        ),
    ]

    result = scoring.score_appraisal(cycle, plans)

    assert result.engagement == D(4)  # (3·5 + 1·1) / 4; C weighs 0 and drops out
    assert [c.label for c in result.components] == ["A", "B"]


def test_weight_zero_plans_drop_out_under_effort() -> None:
    plans = worked_plans()
    outside = replace(
        plans[2], plan_id=4, label="Outside", days=0, goals=(Rated(D(1), D(1)),)
    )
    idle = replace(
        plans[2], plan_id=5, label="Idle", allocation=D(0), goals=(Rated(D(1), D(1)),)
    )

    result = scoring.score_appraisal(WORKED_CYCLE, [*plans, outside, idle])

    assert result.engagement == EXACT_EC
    assert [c.label for c in result.components] == [
        "General plan",
        "Engagement A",
        "Engagement B",
    ]


@pytest.mark.parametrize(
    ("rating", "on_scale"), [(1, D(1)), (5, D(5)), (3, D(3)), (2, D(2))]
)
def test_csat_maps_one_to_five_linearly_onto_the_scale(
    rating: int, on_scale: Decimal
) -> None:
    assert scoring.csat_on_scale(D(rating), D(1), D(5)) == on_scale
    assert scoring.csat_on_scale(D(1), D(0), D(10)) == D(0)
    assert scoring.csat_on_scale(D(5), D(0), D(10)) == D(10)


def test_csat_blends_into_the_engagement_score_with_gamma() -> None:
    cycle = replace(WORKED_CYCLE, csat_weight=D(25))
    plans = worked_plans()
    plans[1] = replace(plans[1], csat=D(5))

    result = scoring.score_appraisal(cycle, plans)

    component = {c.label: c for c in result.components}["Engagement A"]
    assert component.evaluation == D("4.13")
    assert component.csat == D(5)
    assert component.score == D("0.75") * D("4.13") + D("0.25") * D(5)
    assert result.engagement == (D(60) * 181 * component.score + D(40) * 91 * D(3)) / (
        D(60) * 181 + D(40) * 91
    )


@given(appraisal_inputs())
def test_gamma_zero_ignores_client_ratings(
    case: tuple[CycleInput, list[PlanInput]],
) -> None:
    cycle, plans = case
    cycle = replace(cycle, csat_weight=D(0))
    without = [replace(p, csat=None) for p in plans]

    assert scoring.score_appraisal(cycle, plans) == scoring.score_appraisal(
        cycle, without
    )


@settings(max_examples=50)
@given(appraisal_inputs())
def test_replaying_a_snapshot_reproduces_the_score(
    case: tuple[CycleInput, list[PlanInput]],
) -> None:
    cycle, plans = case
    result = scoring.score_appraisal(cycle, plans)

    replayed = scoring.replay(scoring.snapshot(cycle, plans, result))

    assert replayed == result
    assert (
        explanation.inputs_from_snapshot(scoring.snapshot(cycle, plans, result))[0]
        == cycle
    )
