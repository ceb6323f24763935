"""Client satisfaction on the engagement analytics: which surveys count toward a
cycle (those sent from its first day until the next shown cycle's first day; a draft
cycle is no next cycle), worked out by hand, on the dashboard and on one
engagement's CSAT trend."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from engagements.enums import CycleStatus
from feedback.models import ClientSurvey
from organizations.tenancy import tenant_context
from reporting.figures.engagements import CsatPoint, engagement_detail
from reporting.permissions import Dashboard
from reporting.reports import compute, open_report
from reporting.scope import ReportScope
from tests.engagement_factories import ReviewCycleFactory
from tests.factories import OrganizationFactory
from tests.feedback_factories import ClientSurveyFactory
from tests.reporting.worlds import ReportWorld, build_world


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def _survey(world: ReportWorld, sent: date, overall: int | None) -> ClientSurvey:
    return ClientSurveyFactory(
        organization=world.org,
        engagement=world.engagement,
        sent_at=_noon(sent),
        answered_at=_noon(sent) if overall is not None else None,
        overall=overall,
    )


@pytest.fixture
def world(db: None) -> ReportWorld:
    """The report world (cycle "Review" from 2025-01-01), a cycle "Next" from
    2026-01-01, a draft "Draft" from 2025-07-01, and surveys of Ledger: before any
    cycle (rated 1), in Review's period (4, then 5 after the draft's first day, and
    one unanswered), in Next's (2). A rival organisation's surveys of the same dates
    must never count."""
    rival = build_world(OrganizationFactory(slug="rival", name="Rival"))
    world = build_world(OrganizationFactory(slug="home", name="Home"))
    for w in (world, rival):
        ReviewCycleFactory(
            organization=w.org,
            name="Next",
            status=CycleStatus.PLANNING,
            start_date=date(2026, 1, 1),
            end_date=date(2026, 12, 31),
        )
        ReviewCycleFactory(
            organization=w.org,
            name="Draft",
            status=CycleStatus.DRAFT,
            start_date=date(2025, 7, 1),
            end_date=date(2026, 6, 30),
        )
        for sent, overall in (
            (date(2024, 12, 15), 1),
            (date(2025, 3, 15), 4),
            (date(2025, 8, 15), 5),
            (date(2025, 9, 15), None),
            (date(2026, 2, 15), 2),
        ):
            _survey(w, sent, overall)
    _survey(rival, date(2025, 4, 15), 1)  # one more, in Review's period
    return world


def test_a_cycle_counts_the_surveys_sent_until_the_next_shown_cycle(world):
    with tenant_context(world.org):
        report = open_report(
            world.hr, Dashboard.ENGAGEMENTS, {"cycle": str(world.cycle.pk)}
        )
        (ledger,) = compute(report).rows

    # 2025-03-15 (4), 2025-08-15 (5; the draft's first day ends nothing), 2025-09-15
    # (unanswered); neither 2024 nor 2026.
    assert (ledger.surveys_sent, ledger.surveys_answered) == (3, 2)
    assert ledger.csat == Decimal("4.50")


def test_a_reviewer_reads_the_surveys_a_manager_does_not(world):
    with tenant_context(world.org):
        reviewer = compute(open_report(world.reviewer, Dashboard.ENGAGEMENTS, {})).rows
        manager = compute(open_report(world.manager, Dashboard.ENGAGEMENTS, {})).rows

    assert [(r.surveys_sent, r.csat) for r in reviewer] == [(3, Decimal("4.50"))]
    assert [r.surveys_sent for r in manager] == [None]


def test_the_csat_trend_has_a_point_per_shown_cycle_with_surveys(world):
    with tenant_context(world.org):
        scope = ReportScope(world.hr)
        detail = engagement_detail(
            world.engagement,
            plans=scope.plans(),
            reviews=scope.reviews(),
            may_read_surveys=True,
        )

    assert detail.csat == [
        CsatPoint(cycle="Review", sent=3, answered=2, mean=Decimal("4.50")),
        CsatPoint(cycle="Next", sent=1, answered=1, mean=Decimal("2.00")),
    ]
