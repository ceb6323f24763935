"""The rating tallies (``reporting.tallies``): the triggers keep them equal to a
recount of the ratings through every write they depend on, a tally that drifted is
reported, they hold one organisation's ratings only, and HR's dashboards read them
exactly when they count what the ratings would give."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models import Appraisal, CompetencyRating, Evaluation
from engagements.enums import PlanKind
from engagements.models import Engagement, EngagementType, Plan, PlanCompetency
from organizations.models import BusinessUnit, Employee, Organization
from organizations.tenancy import tenant_context
from reporting.figures.heatmap import competency_heatmap
from reporting.filters import BY_BUSINESS_UNIT, BY_ENGAGEMENT_TYPE
from reporting.models import CompetencyTally, ReviewerTally
from reporting.permissions import Dashboard
from reporting.reports import compute, open_report
from reporting.tallies import check_reporting_tallies, recount
from tests.appraisal_factories import EvaluationFactory
from tests.engagement_factories import (
    EngagementFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import OrganizationFactory
from tests.reporting.worlds import ReportWorld, build_world


@pytest.fixture
def world(db: None) -> ReportWorld:
    build_world(OrganizationFactory(slug="rival", name="Rival"), extra_people=2)
    return build_world(OrganizationFactory(slug="home", name="Home"))


def teamwork_totals(world: ReportWorld) -> tuple[int, Decimal]:
    """The world's competency tallies summed: (ratings, their sum)."""
    with tenant_context(world.org):
        rows = CompetencyTally.objects.filter(cycle=world.cycle)
        return (
            sum(t.n for t in rows),
            sum((t.total for t in rows), Decimal(0)),
        )


def test_the_tallies_hold_the_organisations_counted_ratings(world):
    # Rita: Ada 4, Ben 3, Dan 5; Rolf: Cleo 2 (the rival's four more are not here).
    assert teamwork_totals(world) == (4, Decimal(14))
    with tenant_context(world.org):
        assert check_reporting_tallies() == []
        reviewers = {
            t.reviewer.full_name: (t.n, t.total, t.squares)
            for t in ReviewerTally.objects.select_related("reviewer")
        }
    assert reviewers == {
        "Rita Reviewer": (3, Decimal(12), Decimal(50)),
        "Rolf Reviewer": (1, Decimal(2), Decimal(4)),
    }


def test_the_triggers_follow_every_write_the_tallies_depend_on(world):
    ada, cleo = world.people["Ada"], world.people["Cleo"]
    with tenant_context(world.org):
        rating = CompetencyRating.objects.get(evaluation__employee=ada)
        review = rating.evaluation
        tax = BusinessUnit.objects.get(name="Tax")
        writes = {
            "a rating's value": lambda: CompetencyRating.objects.filter(
                pk=rating.pk
            ).update(value=Decimal("2.5")),
            "a rating made N/A": lambda: CompetencyRating.objects.filter(
                evaluation__employee=cleo
            ).update(value=None, not_applicable=True),
            "a review sent back to a draft": lambda: Evaluation.objects.filter(
                pk=review.pk
            ).update(status=EvaluationStatus.RETURNED),
            "the review submitted again": lambda: Evaluation.objects.filter(
                pk=review.pk
            ).update(status=EvaluationStatus.SUBMITTED),
            "another reviewer": lambda: Evaluation.objects.filter(pk=review.pk).update(
                reviewer=world.people["Ben"]
            ),
            "a person moved to another unit": lambda: Employee.objects.filter(
                pk=ada.pk
            ).update(business_unit=tax, job_title=None),
            "an engagement given a type": lambda: Engagement.objects.filter(
                pk=world.engagement.pk
            ).update(
                engagement_type=EngagementType.objects.create(
                    organization=world.org, name="Audit work"
                )
            ),
            "an expected level raised": lambda: PlanCompetency.objects.filter(
                plan__employee=ada
            ).update(expected_level=F("expected_level") + 1),
            "a plan moved to another cycle": lambda: Plan.objects.filter(
                employee=ada
            ).update(cycle=ReviewCycleFactory(organization=world.org, name="Next")),
            "a review deleted with its ratings": lambda: Evaluation.objects.filter(
                plan__employee=world.people["Ben"]
            ).delete(),
            "a review approved": lambda: Evaluation.objects.filter(
                plan__employee=cleo
            ).update(
                status=EvaluationStatus.APPROVED,
                # Noon UTC: the next day at UTC+14 (the time zone written below).
                approved_at=timezone.now().replace(hour=12) - timedelta(days=3),
            ),
            "a new review": lambda: EvaluationFactory(
                organization=world.org,
                plan=Plan.objects.get(employee=world.people["Ben"]),
                appraisal=world.appraisals["Ben"],
                created_at=timezone.now() - timedelta(days=9),
            ),
            "a final score changed": lambda: Appraisal.objects.filter(
                employee=cleo
            ).update(final_score=Decimal("4.25")),
            "an appraisal reopened": lambda: Appraisal.objects.filter(
                employee=cleo
            ).update(status=AppraisalStatus.OPEN),
            "a score given": lambda: Appraisal.objects.filter(
                pk=world.appraisals["Dan"].pk
            ).update(final_score=Decimal("1.00")),
            "a plan on another engagement": lambda: PlanFactory(
                organization=world.org,
                cycle=world.cycle,
                employee=cleo,
                kind=PlanKind.ENGAGEMENT,
                engagement=EngagementFactory(
                    organization=world.org,
                    engagement_type=EngagementType.objects.create(
                        organization=world.org, name="Tax work"
                    ),
                ),
            ),
            "a plan moved to another engagement": lambda: Plan.objects.filter(
                employee=cleo, engagement=world.engagement
            ).update(
                engagement=EngagementFactory(
                    organization=world.org,
                    engagement_type=EngagementType.objects.get(name="Tax work"),
                )
            ),
            "the organisation's time zone": lambda: Organization.objects.filter(
                pk=world.org.pk
            ).update(timezone="Pacific/Kiritimati"),
        }
        for write, change in writes.items():
            before = recount()
            change()
            assert recount() != before, write  # the write changed what counts
            assert check_reporting_tallies() == [], write


def test_a_tally_that_drifted_is_reported(world):
    with tenant_context(world.org):
        CompetencyTally.objects.update(n=F("n") + 1)

        differences = check_reporting_tallies()

    assert len(differences) == 2  # Audit and Tax
    assert all(d.subject.startswith("CompetencyTally (") for d in differences)
    assert {(d.expected, d.found) for d in differences} == {
        ("3, 12, 9 (recounted)", "4, 12, 9 stored"),
        ("1, 2, 3 (recounted)", "2, 2, 3 stored"),
    }


@pytest.mark.parametrize(
    ("viewer", "filters", "reads_tallies"),
    [
        ("hr", {}, True),
        ("hr", {"business_unit": "Audit"}, True),
        ("hr", {"line_manager": "boss"}, False),
        ("manager", {}, False),
    ],
)
def test_hr_dashboards_read_the_tallies_only_for_what_they_hold(
    world, viewer, filters, reads_tallies
):
    with tenant_context(world.org):
        data = {"columns": BY_ENGAGEMENT_TYPE}
        if "business_unit" in filters:
            data["business_unit"] = str(BusinessUnit.objects.get(name="Audit").pk)
        if "line_manager" in filters:
            data["line_manager"] = str(world.people["Ada"].line_manager_id)
        report = open_report(getattr(world, viewer), Dashboard.COMPETENCIES, data)

        tallied = report.tally_filters()
        figures = compute(report)
        grouped = competency_heatmap(report.reviews_in(world.cycle), BY_ENGAGEMENT_TYPE)

    assert (tallied is not None) == reads_tallies
    assert figures == grouped  # whichever way, the same figures
    assert not figures.is_empty


def test_a_business_unit_filter_counts_its_people_from_the_tallies(world):
    with tenant_context(world.org):
        audit = BusinessUnit.objects.get(name="Audit")
        report = open_report(
            world.hr,
            Dashboard.COMPETENCIES,
            {"business_unit": str(audit.pk), "columns": BY_BUSINESS_UNIT},
        )
        figures = compute(report)

    assert report.tally_filters() == {"business_unit": audit}
    assert figures.columns == ["Audit"]
    (row,) = figures.rows
    assert (row.total.count, row.total.average) == (3, Decimal("4.00"))
