"""Set-based recomputation: fixed query count, same result as one by one, frozen
finalised appraisals, approved-only versus provisional figures, explanations, CSAT."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appraisals import scores
from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.explanation import explain
from appraisals.models import Appraisal, Evaluation, GoalRating
from bench.review_cycle import seed_cycle
from engagements.models import Plan, ReviewCycle
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.appraisals.test_scoring_rules import build_worked_example
from tests.factories import OrganizationFactory
from tests.feedback_factories import ClientSurveyFactory, ClientSurveyRatingFactory

pytestmark = pytest.mark.django_db
D = Decimal
SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b")


def lookups(captured: CaptureQueriesContext) -> list[str]:
    """The captured SQL without test-only savepoint bookkeeping."""
    return [
        q["sql"] for q in captured.captured_queries if not SAVEPOINT.match(q["sql"])
    ]


def stored(org: Organization, cycle: ReviewCycle) -> dict[int, Any]:
    """Every appraisal's and evaluation's stored figures in ``cycle``."""
    with tenant_context(org):
        appraisals = {
            a.pk: (a.general_score, a.engagement_score, a.final_score, a.percent)
            for a in Appraisal.objects.filter(cycle=cycle)
        }
        evaluations = {
            -e.pk: (e.goal_score, e.competency_score, e.score)
            for e in Evaluation.objects.filter(appraisal__cycle=cycle)
        }
    return {**appraisals, **evaluations}


def test_cycle_recompute_query_count_is_the_same_for_10_and_100_employees() -> None:
    small = cast(Organization, OrganizationFactory(slug="small"))
    large = cast(Organization, OrganizationFactory(slug="large"))
    small_cycle = seed_cycle(small, 10, variety=True)
    large_cycle = seed_cycle(large, 100, variety=True)
    counts: dict[str, tuple[int, int]] = {}

    for org, cycle in ((small, small_cycle), (large, large_cycle)):
        with tenant_context(org):
            with CaptureQueriesContext(connection) as captured:
                updated = scores.recompute_cycle(cycle)
            counts[org.slug] = (updated, len(lookups(captured)))

    assert counts["small"][0] == 10
    assert counts["large"][0] == 100
    assert counts["small"][1] == counts["large"][1]
    assert counts["small"][1] <= 4


def test_cycle_recompute_equals_recomputing_each_appraisal_alone(
    org: Organization,
) -> None:
    cycle = seed_cycle(org, 12, variety=True)
    with tenant_context(org):
        ids = list(Appraisal.objects.filter(cycle=cycle).values_list("pk", flat=True))
        scores.recompute_cycle(cycle)
    together = stored(org, cycle)
    with tenant_context(org):
        Appraisal.objects.filter(cycle=cycle).update(
            general_score=None, engagement_score=None, final_score=None, percent=None
        )
        Evaluation.objects.filter(appraisal__cycle=cycle).update(
            goal_score=None, competency_score=None, score=None
        )

    with tenant_context(org):
        for pk in ids:
            assert scores.recompute_appraisals([pk]) == 1
    one_by_one = stored(org, cycle)

    assert one_by_one == together
    assert any(v[2] is not None for k, v in together.items() if k > 0)


def row_versions(org: Organization, cycle: ReviewCycle) -> dict[str, str]:
    """Each appraisal's and evaluation's row version (PostgreSQL's ``xmin``): it
    changes when an UPDATE writes the row, even with the same values."""
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'appraisal ' || id, xmin::text FROM appraisals_appraisal "
            "WHERE cycle_id = %s UNION ALL "
            "SELECT 'evaluation ' || e.id, e.xmin::text FROM appraisals_evaluation e "
            "JOIN appraisals_appraisal a ON a.id = e.appraisal_id WHERE a.cycle_id = %s",
            [cycle.pk, cycle.pk],
        )
        return dict(cursor.fetchall())


def test_a_recompute_that_changes_nothing_writes_no_row(org: Organization) -> None:
    cycle = seed_cycle(org, 4, variety=True)
    with tenant_context(org):
        scores.recompute_cycle(cycle)
        computed_at = set(
            Appraisal.objects.filter(cycle=cycle).values_list("computed_at", flat=True)
        )
    before = row_versions(org, cycle)

    with tenant_context(org):
        again = scores.recompute_cycle(cycle)
        scores.store_rated(list(Appraisal.objects.filter(cycle=cycle)))
        computed_again = set(
            Appraisal.objects.filter(cycle=cycle).values_list("computed_at", flat=True)
        )

    assert again == 4
    assert row_versions(org, cycle) == before
    assert computed_again == computed_at


def test_a_changed_rating_rewrites_its_evaluation_and_appraisal_only(
    org: Organization,
) -> None:
    cycle = seed_cycle(org, 3)
    with tenant_context(org):
        scores.recompute_cycle(cycle)
        rating = GoalRating.objects.filter(
            evaluation__appraisal__cycle=cycle, evaluation__kind=EvaluationKind.REVIEW
        ).order_by("pk")[0]
        rating.value = D(1) if rating.value != D(1) else D(5)
        rating.save()
        appraisal_id = rating.evaluation.appraisal_id
    before = row_versions(org, cycle)

    with tenant_context(org):
        scores.recompute_cycle(cycle)
    after = row_versions(org, cycle)

    rewritten = {key for key in before if before[key] != after[key]}
    assert rewritten == {
        f"appraisal {appraisal_id}",
        f"evaluation {rating.evaluation_id}",
    }


def test_single_appraisal_recompute_runs_three_queries(org: Organization) -> None:
    cycle = seed_cycle(org, 2)
    with tenant_context(org):
        pk = Appraisal.objects.filter(cycle=cycle).values_list("pk", flat=True)[0]

        with CaptureQueriesContext(connection) as captured:
            scores.recompute_appraisals([pk])

    # The lock (with the cycle), the inputs (plans, evaluations, ratings' sums),
    # the write (evaluations and appraisal).
    assert len(lookups(captured)) == 3


def test_single_appraisal_recompute_query_count_is_fixed(org: Organization) -> None:
    cycle = seed_cycle(org, 3)
    with tenant_context(org):
        ids = list(Appraisal.objects.filter(cycle=cycle).values_list("pk", flat=True))

        with CaptureQueriesContext(connection) as one:
            scores.recompute_appraisals(ids[:1])
        with CaptureQueriesContext(connection) as three:
            scores.recompute_appraisals(ids)

    assert len(lookups(one)) == len(lookups(three))


def test_finalised_and_acknowledged_appraisals_are_left_untouched(
    org: Organization,
) -> None:
    cycle = seed_cycle(org, 3)
    with tenant_context(org):
        frozen = list(Appraisal.objects.filter(cycle=cycle).order_by("pk")[:2])
        for appraisal, status in zip(
            frozen,
            [AppraisalStatus.FINALIZED, AppraisalStatus.ACKNOWLEDGED],
            strict=True,
        ):
            appraisal.status = status
            appraisal.final_score = D("1.11")
            appraisal.snapshot = {"kept": True}
            appraisal.finalized_at = timezone.now()
            appraisal.save()
        Evaluation.objects.filter(appraisal__in=frozen).update(score=D("1.11"))

        updated = scores.recompute_cycle(cycle)
        again = scores.recompute_appraisals([a.pk for a in frozen])
        after = {a.pk: a for a in Appraisal.objects.filter(cycle=cycle)}
        frozen_scores = set(
            Evaluation.objects.filter(appraisal__in=frozen).values_list(
                "score", flat=True
            )
        )

    assert updated == 1
    assert again == 0
    for appraisal in frozen:
        assert after[appraisal.pk].final_score == D("1.11")
        assert after[appraisal.pk].snapshot == {"kept": True}
        assert after[appraisal.pk].computed_at is None
    assert frozen_scores == {D("1.11")}


def test_only_approved_evaluations_count_and_provisional_adds_submitted(
    org: Organization,
) -> None:
    appraisal = build_worked_example(org, b_status=EvaluationStatus.SUBMITTED)

    with tenant_context(org):
        scores.recompute_appraisals([appraisal.pk])
        appraisal.refresh_from_db()
        provisional = scores.provisional_score(appraisal)

    # Approved only: engagement B's submitted evaluation is left out, EC = E_A.
    assert appraisal.engagement_score == D("4.13")
    assert appraisal.final_score == D("4.00")  # 0.4 × 3.80 + 0.6 × 4.13 = 3.998
    assert [p["counted"] for p in appraisal.snapshot["plans"]] == [True, True, False]
    assert appraisal.snapshot["plans"][2]["goals"] == []
    # Provisional: B counts, which gives the worked example's figures.
    assert provisional.rounded()["final_score"] == D("3.83")
    assert provisional.rounded()["percent"] == D("70.69")


@pytest.mark.parametrize("status", [EvaluationStatus.DRAFT, EvaluationStatus.RETURNED])
def test_draft_and_returned_evaluations_never_count(
    org: Organization, status: str
) -> None:
    appraisal = build_worked_example(org, b_status=status)

    with tenant_context(org):
        provisional = scores.provisional_score(appraisal)

    assert provisional.rounded()["engagement_score"] == D("4.13")


def test_self_assessments_get_display_scores_but_never_count(
    org: Organization,
) -> None:
    cycle = seed_cycle(org, 2)
    with tenant_context(org):
        own = Evaluation.objects.filter(
            appraisal__cycle=cycle, kind=EvaluationKind.SELF
        ).first()
        assert own is not None
        GoalRating.objects.filter(evaluation=own).update(value=D(5))
        scores.recompute_cycle(cycle)
        own.refresh_from_db()
        appraisal = own.appraisal
        review = Evaluation.objects.get(plan=own.plan, kind=EvaluationKind.REVIEW)

    assert own.goal_score == D("5.00")
    assert appraisal.snapshot["components"][0]["score"] == str(review.score)


def test_ratings_of_items_on_another_plan_are_ignored(org: Organization) -> None:
    appraisal = build_worked_example(org)
    with tenant_context(org):
        general = Evaluation.objects.get(
            appraisal=appraisal, plan__kind="general", kind=EvaluationKind.REVIEW
        )
        stray_goal = Plan.objects.get(engagement__name="Engagement B").goals.get()
        GoalRating.objects.create(
            organization=org, evaluation=general, goal=stray_goal, value=D(1)
        )

        result = scores.compute([appraisal])[appraisal.pk][2]

    assert result.rounded()["general_score"] == D("3.80")


def test_explain_lists_every_component_with_weights_and_contributions(
    org: Organization,
) -> None:
    appraisal = build_worked_example(org)

    with tenant_context(org):
        explanation = explain(appraisal)

    rows = [(r.label, r.score, r.weight_basis, r.share) for r in explanation.components]
    assert rows == [
        ("General plan", D("3.80"), "β = 40 %", D("40.00")),
        ("Engagement A", D("4.13"), "60 % × 181 days", D("44.94")),
        ("Engagement B", D("3.00"), "40 % × 91 days", D("15.06")),
    ]
    assert (explanation.general, explanation.engagement) == (D("3.80"), D("3.85"))
    assert (explanation.final, explanation.percent) == (D("3.83"), D("70.69"))
    assert sum(r.contribution or 0 for r in explanation.components) == D("3.83")
    assert explanation.missing == ()
    assert not explanation.is_provisional
    assert not explanation.from_snapshot
    assert any("40 % × G + 60 % × EC" in line for line in explanation.formula)
    assert explanation.formula[-1] == "Only approved evaluations count."


def test_explain_names_missing_parts_and_labels_provisional_figures(
    org: Organization,
) -> None:
    appraisal = build_worked_example(org, b_status=EvaluationStatus.SUBMITTED)

    with tenant_context(org):
        approved = explain(appraisal)
        provisional = explain(appraisal, provisional=True)

    assert approved.missing == ("Engagement B: the evaluation is not approved yet.",)
    assert [r.label for r in approved.components] == ["General plan", "Engagement A"]
    assert provisional.is_provisional
    assert provisional.missing == ()
    assert provisional.final == D("3.83")
    assert provisional.formula[-1].startswith("Provisional:")


def test_finalised_appraisal_is_explained_from_its_snapshot_after_weights_change(
    org: Organization,
) -> None:
    appraisal = build_worked_example(org)
    with tenant_context(org):
        scores.recompute_appraisals([appraisal.pk])
        appraisal.refresh_from_db()
        appraisal.status = AppraisalStatus.FINALIZED
        appraisal.finalized_at = timezone.now()
        appraisal.save()
        ReviewCycle.objects.filter(pk=appraisal.cycle_id).update(general_weight=D(90))
        Plan.objects.filter(engagement__name="Engagement A").update(allocation=D(10))

        with CaptureQueriesContext(connection) as captured:
            explanation = explain(appraisal)
        live = scores.compute([appraisal])[appraisal.pk][2]

    assert explanation.from_snapshot
    assert explanation.final == D("3.83") == appraisal.final_score
    assert explanation.general_weight == D("40.00")
    assert [r.weight_basis for r in explanation.components][1] == "60 % × 181 days"
    assert lookups(captured) == []
    assert live.rounded()["final_score"] != D("3.83")


def test_explain_stored_reads_an_open_appraisals_last_snapshot(
    org: Organization,
) -> None:
    appraisal = build_worked_example(org, b_status=EvaluationStatus.SUBMITTED)
    with tenant_context(org):
        never_computed = explain(appraisal, stored=True)
        scores.recompute_appraisals([appraisal.pk])
        appraisal.refresh_from_db()
        Evaluation.objects.filter(plan__engagement__name="Engagement B").update(
            status=EvaluationStatus.APPROVED
        )

        with CaptureQueriesContext(connection) as captured:
            stored = explain(appraisal, stored=True)
        live = explain(appraisal)

    assert not never_computed.from_snapshot
    assert stored.from_snapshot
    assert lookups(captured) == []
    assert stored.final == appraisal.final_score == D("4.00")
    assert stored.missing == ("Engagement B: the evaluation is not approved yet.",)
    assert live.final == D("3.83")


def test_client_satisfaction_blends_in_with_gamma(org: Organization) -> None:
    appraisal = build_worked_example(org)
    with tenant_context(org):
        ReviewCycle.objects.filter(pk=appraisal.cycle_id).update(csat_weight=D(25))
        plan_a = Plan.objects.select_related("engagement").get(
            engagement__name="Engagement A"
        )
    in_cycle = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for rating in (5, 2):
        survey = ClientSurveyFactory(
            organization=org,
            engagement=plan_a.engagement,
            answered_at=in_cycle,
            overall=4,
        )
        ClientSurveyRatingFactory(
            survey=survey, employee=appraisal.employee, rating=rating
        )
    before_cycle = ClientSurveyFactory(
        organization=org,
        engagement=plan_a.engagement,
        answered_at=in_cycle - timedelta(days=120),
        overall=1,
    )
    ClientSurveyRatingFactory(
        survey=before_cycle, employee=appraisal.employee, rating=1
    )
    unanswered = ClientSurveyFactory(organization=org, engagement=plan_a.engagement)
    ClientSurveyRatingFactory(survey=unanswered, employee=appraisal.employee, rating=1)

    with tenant_context(org):
        scores.recompute_appraisals([appraisal.pk])
        appraisal.refresh_from_db()
        explanation = explain(appraisal)

    e_a = D("0.75") * D("4.13") + D("0.25") * D("3.5")  # mean client rating 3.5
    ec = (D(60) * 181 * e_a + D(40) * 91 * D(3)) / (D(60) * 181 + D(40) * 91)
    assert appraisal.snapshot["plans"][1]["csat"] == "3.5"
    assert appraisal.snapshot["plans"][2]["csat"] is None
    assert appraisal.engagement_score == ec.quantize(D("0.01"))
    assert appraisal.final_score == (D("0.4") * D("3.8") + D("0.6") * ec).quantize(
        D("0.01")
    )
    assert explanation.components[1].csat == D("3.50")
    assert any("25 % × CSAT" in line for line in explanation.formula)


def test_client_ratings_are_not_loaded_when_gamma_is_zero(org: Organization) -> None:
    appraisal = build_worked_example(org)
    with tenant_context(org), CaptureQueriesContext(connection) as captured:
        scores.compute([appraisal])

    assert not any("feedback_" in sql for sql in lookups(captured))
