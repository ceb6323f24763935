"""The cycle progress page's tallies (``appraisals.models``, "Progress tallies"), kept
by the triggers of migration 0005: after every kind of change they equal a recount
(``consistency.check_progress_tallies``), and they count one organisation's rows only.

The triggers see SQL statements, whoever issues them: the workflow's status changes
are made here with the statements its services issue (``save(update_fields=...)``),
bulk ones with queryset updates; finalising goes through the services.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection

from appraisals.consistency import check_progress_tallies
from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models import Appraisal, ApprovalFallback, CycleReviewTally, Evaluation
from appraisals.selectors.progress import (
    busiest_engagements,
    cycle_appraisals,
    cycle_summary,
    ready,
)
from appraisals.services import appraisals as finalisation
from appraisals.services import bulk
from appraisals.services.opening import open_appraisals
from engagements.enums import PlanKind, PlanStatus
from engagements.models import CyclePlanTally, Plan, ReviewCycle
from organizations.models import Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisal_factories import EvaluationFactory
from tests.appraisals.test_finalisation_services import review_cycle
from tests.engagement_factories import EngagementFactory, PlanFactory
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 7, 10)
LATE = TODAY - timedelta(days=3)
LATER = TODAY + timedelta(days=3)


def _world(org: Organization) -> dict:
    """A cycle in review with two engagements: on Alpha an approved review (its
    appraisal ready) and a late draft, on Beta a submitted review due later, and a
    general plan's returned review, each of its own employee."""
    cycle = review_cycle(org)
    alpha = EngagementFactory(organization=org, name="Alpha")
    beta = EngagementFactory(organization=org, name="Beta")

    def review(engagement, status, due):
        plan = PlanFactory(
            organization=org,
            cycle=cycle,
            engagement=engagement,
            employee=EmployeeFactory(organization=org, job_title=None),
            **({} if engagement else {"kind": PlanKind.GENERAL, "allocation": None}),
        )
        return EvaluationFactory(plan=plan, status=status, due_date=due)

    return {
        "cycle": cycle,
        "alpha": alpha,
        "beta": beta,
        "approved": review(alpha, EvaluationStatus.APPROVED, LATE),
        "draft": review(alpha, EvaluationStatus.DRAFT, LATE),
        "submitted": review(beta, EvaluationStatus.SUBMITTED, LATER),
        "returned": review(None, EvaluationStatus.RETURNED, LATE),
    }


def _summary(org: Organization, cycle: ReviewCycle) -> dict:
    with tenant_context(org):
        summary = cycle_summary(cycle, TODAY)
    return {
        "appraisals": summary.appraisals_total,
        "ready": summary.ready,
        "by_status": dict(summary.evaluations_by_status),
        "waiting": summary.waiting,
        "overdue": summary.overdue,
    }


def _assert_recounted(org: Organization) -> None:
    with tenant_context(org):
        assert check_progress_tallies() == []


def _set_status(evaluation: Evaluation, status: str) -> None:
    with tenant_context(evaluation.organization):
        evaluation.status = status
        evaluation.version += 1
        evaluation.save(update_fields=["version", "status"])


def test_tallies_count_created_rows(org):
    work = _world(org)

    summary = _summary(org, work["cycle"])

    _assert_recounted(org)
    assert summary == {
        "appraisals": 4,
        "ready": 1,
        "by_status": {"Draft": 1, "Submitted": 1, "Approved": 1, "Returned": 1},
        "waiting": 3,
        "overdue": 2,
    }


def test_tallies_count_what_opening_a_cycle_creates(org):
    cycle = review_cycle(org)
    plans = [
        PlanFactory(
            organization=org,
            cycle=cycle,
            engagement=EngagementFactory(organization=org),
            employee=EmployeeFactory(organization=org, job_title=None),
        )
        for _ in range(3)
    ]

    with tenant_context(org):
        open_appraisals(cycle=cycle)

    _assert_recounted(org)
    assert _summary(org, cycle)["waiting"] == len(plans)


@pytest.mark.parametrize(
    ("name", "status", "ready", "waiting"),
    [
        ("draft", EvaluationStatus.SUBMITTED, 1, 3),
        ("draft", EvaluationStatus.APPROVED, 2, 2),
        ("submitted", EvaluationStatus.RETURNED, 1, 3),
        ("approved", EvaluationStatus.RETURNED, 0, 4),
    ],
)
def test_tallies_follow_each_status_change(org, name, status, ready, waiting):
    work = _world(org)

    _set_status(work[name], status)

    _assert_recounted(org)
    summary = _summary(org, work["cycle"])
    assert (summary["ready"], summary["waiting"]) == (ready, waiting)


def test_tallies_follow_a_bulk_status_change(org):
    work = _world(org)

    with tenant_context(org):
        Evaluation.objects.filter(appraisal__cycle=work["cycle"]).update(
            status=EvaluationStatus.APPROVED
        )

    _assert_recounted(org)
    assert _summary(org, work["cycle"])["ready"] == 4


def test_tallies_follow_a_due_date_change(org):
    work = _world(org)

    with tenant_context(org):
        Evaluation.objects.filter(pk=work["submitted"].pk).update(due_date=LATE)

    _assert_recounted(org)
    assert _summary(org, work["cycle"])["overdue"] == 3


def test_tallies_forget_deleted_rows(org):
    work = _world(org)

    with tenant_context(org):
        work["draft"].delete()
        work["approved"].appraisal.delete()

    _assert_recounted(org)
    assert _summary(org, work["cycle"]) == {
        "appraisals": 3,
        "ready": 0,
        "by_status": {"Draft": 0, "Submitted": 1, "Approved": 0, "Returned": 1},
        "waiting": 2,
        "overdue": 1,
    }


def test_tallies_follow_a_review_moved_to_another_plan(org):
    work = _world(org)
    evaluation = work["draft"]
    plan = PlanFactory(
        organization=org,
        cycle=work["cycle"],
        engagement=work["beta"],
        employee=evaluation.employee,
    )

    with tenant_context(org):
        evaluation.plan = plan
        evaluation.save(update_fields=["plan"])

    _assert_recounted(org)


def test_tallies_follow_a_plan_moved_to_another_engagement(org):
    work = _world(org)

    with tenant_context(org):
        Plan.objects.filter(pk=work["draft"].plan_id).update(engagement=work["beta"])
        busiest = busiest_engagements(work["cycle"], TODAY)

    _assert_recounted(org)
    assert [(row.name, row.open) for row in busiest.rows] == [
        ("Beta", 2),
        ("General plans", 1),
        ("Alpha", 0),
    ]


def test_tallies_follow_finalising_one_appraisal(org, hr_admin):
    work = _world(org)
    appraisal = work["approved"].appraisal

    with tenant_context(org):
        finalisation.finalise_appraisal(actor=hr_admin, appraisal=appraisal)

    _assert_recounted(org)
    assert _summary(org, work["cycle"])["ready"] == 0


def test_tallies_follow_bulk_finalising_and_reopening(org, hr_admin: Membership):
    work = _world(org)
    _set_status(work["draft"], EvaluationStatus.APPROVED)

    with tenant_context(org):
        outcome = bulk.finalise_matching(
            actor=hr_admin,
            cycle=work["cycle"],
            appraisals=ready(cycle_appraisals(work["cycle"])),
            expected=2,
        )
    finalised = _summary(org, work["cycle"])
    with tenant_context(org):
        Appraisal.objects.filter(cycle=work["cycle"]).update(
            status=AppraisalStatus.OPEN, finalized_at=None
        )

    _assert_recounted(org)
    assert outcome.done == 2
    assert finalised["ready"] == 0
    assert _summary(org, work["cycle"])["ready"] == 2


def test_another_organisations_rows_are_never_counted(org, other_org):
    work = _world(org)
    theirs = _world(other_org)

    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT organization_id FROM appraisals_cyclereviewtally"
        )
        visible = [row[0] for row in cursor.fetchall()]
        mine = CycleReviewTally.objects.filter(cycle=theirs["cycle"]).count()

    _assert_recounted(org)
    _assert_recounted(other_org)
    assert visible == [org.pk]
    assert mine == 0
    assert _summary(org, work["cycle"]) == _summary(other_org, theirs["cycle"])


def test_the_consistency_check_reports_a_tally_that_differs(org):
    work = _world(org)

    with tenant_context(org):
        CycleReviewTally.objects.filter(
            cycle=work["cycle"], status=EvaluationStatus.DRAFT
        ).update(n=5)
        differences = check_progress_tallies()

    assert [(d.subject, d.expected, d.found) for d in differences] == [
        (
            f"CycleReviewTally ({work['cycle'].pk}, draft, {LATE})",
            "1 (recounted)",
            "5 stored",
        )
    ]


def test_the_consistency_check_reports_plan_tallies_and_fallback_rows_that_differ(org):
    work = _world(org)
    draft = work["draft"]

    with tenant_context(org):
        CyclePlanTally.objects.filter(
            cycle=work["cycle"], kind=PlanKind.GENERAL
        ).update(n=7)
        ApprovalFallback.objects.create(
            organization=org, evaluation=draft, submitted_at=None
        )
        differences = check_progress_tallies()

    assert [(d.subject, d.expected, d.found) for d in differences] == [
        (
            f"CyclePlanTally ({work['cycle'].pk}, general, {PlanStatus.DRAFT})",
            "1 (recounted)",
            "7 stored",
        ),
        (f"ApprovalFallback ({draft.pk})", "0 (recounted)", "1 stored"),
    ]
