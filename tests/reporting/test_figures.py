"""Every dashboard's figures against the world of ``tests/reporting/worlds.py``,
worked out by hand there; another organisation with the same shape (and other
scores) exists in every test and must never count."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from appraisals.models import Evaluation
from engagements.models import Plan
from feedback.enums import FeedbackKind, Visibility
from feedback.models import Feedback
from feedback.selectors.access import feedback_visible_to
from organizations.tenancy import tenant_context
from reporting.figures.distribution import score_distribution
from reporting.figures.engagements import engagement_analytics, engagement_detail
from reporting.figures.heatmap import competency_heatmap
from reporting.figures.overview import cycle_overview
from reporting.figures.reviewers import reviewer_consistency
from reporting.figures.stats import median
from reporting.figures.trends import score_trends
from reporting.filters import BY_BUSINESS_UNIT, BY_CLIENT
from reporting.scope import ReportScope
from tests.engagement_factories import EngagementFactory, PlanFactory
from tests.factories import OrganizationFactory
from tests.feedback_factories import FeedbackFactory
from tests.reporting.worlds import ReportWorld, build_world

D = Decimal
SCALE = (D(1), D(5))


@pytest.fixture
def world(db: None) -> ReportWorld:
    other = OrganizationFactory(slug="rival", name="Rival")
    build_world(other, extra_people=2)  # must never count
    return build_world(OrganizationFactory(slug="home", name="Home"))


def test_distribution_of_the_whole_organisation(world):
    with tenant_context(world.org):
        scope = ReportScope(world.hr)

        figures = score_distribution(
            scope.appraisals().filter(cycle=world.cycle), world.cycle, SCALE
        )

    assert (figures.summary.count, figures.summary.mean) == (3, D("3.17"))
    assert (figures.summary.median, figures.summary.stdev) == (D("3.00"), D("0.62"))
    assert (figures.provisional, figures.unscored) == (1, 1)
    assert figures.bands == [0, 1, 1, 1, 0]
    assert [b.count for b in figures.histogram] == [0, 0, 0, 1, 1, 0, 1, 0]
    assert [
        (g.name, g.summary.count, g.summary.mean) for g in figures.by_business_unit
    ] == [
        ("Audit", 2, D("3.50")),
        ("Tax", 1, D("2.50")),
    ]


def test_distribution_of_a_manager_counts_only_their_line(world):
    with tenant_context(world.org):
        scope = ReportScope(world.manager)

        figures = score_distribution(
            scope.appraisals().filter(cycle=world.cycle), world.cycle, SCALE
        )

    assert figures.summary.count == 2
    assert (figures.summary.mean, figures.summary.median) == (D("3.50"), D("3.50"))
    assert figures.summary.stdev == D("0.50")


def test_an_employee_counts_nobody_in_the_dashboards(world):
    with tenant_context(world.org):
        scope = ReportScope(world.employee)

        counted = list(scope.appraisals())

    assert counted == []


def test_heatmap_suppresses_cells_of_fewer_than_three_ratings(world):
    with tenant_context(world.org):
        reviews = ReportScope(world.hr).reviews().filter(plan__cycle=world.cycle)

        figures = competency_heatmap(reviews, BY_BUSINESS_UNIT)

    assert figures.columns == ["Audit", "Tax"]
    (row,) = figures.rows
    audit, tax = row.cells
    assert (audit.count, audit.average, audit.gap, audit.tone) == (
        3,
        D("4.00"),
        D("1.00"),
        "heat-high2",
    )
    assert (tax.count, tax.average, tax.suppressed) == (1, None, True)
    assert (row.total.count, row.total.average, row.total.gap) == (
        4,
        D("3.50"),
        D("0.50"),
    )


def test_reviewer_bias_against_the_organisation_mean(world):
    with tenant_context(world.org):
        reviews = ReportScope(world.hr).reviews().filter(plan__cycle=world.cycle)

        figures = reviewer_consistency(reviews)

    assert figures.organisation_mean == D("3.50")
    assert [(r.name, r.reviews, r.mean, r.spread, r.bias) for r in figures.rows] == [
        ("Rita Reviewer", 3, D("4.00"), D("0.82"), D("0.50")),
        ("Rolf Reviewer", 1, D("2.00"), D("0.00"), D("-1.50")),
    ]


def test_overview_counts_by_status_and_completion(world):
    with tenant_context(world.org):
        scope = ReportScope(world.hr)

        figures = cycle_overview(
            world.cycle,
            appraisals=scope.appraisals(),
            plans=scope.plans(),
            reviews=scope.reviews(),
            today=timezone.localdate(),
        )

    assert figures.evaluations_total == 4
    assert dict(figures.appraisals_by_status)["Open"] == 2
    assert dict(figures.appraisals_by_status)["Finalised"] == 2
    assert figures.approved_share == 100
    assert figures.completion[-1].cumulative == 4


def _analytics(world, membership, **options):
    with tenant_context(world.org):
        scope = ReportScope(membership)
        return engagement_analytics(
            world.cycle,
            plans=scope.plans(),
            reviews=scope.reviews(),
            feedback=Feedback.objects.all(),
            survey_engagements=scope.survey_engagement_ids(),
            **options,
        )


def test_engagement_analytics_of_hr_and_of_a_manager(world):
    hr, line = _analytics(world, world.hr), _analytics(world, world.manager)

    (ledger,) = hr.rows
    assert (ledger.name, ledger.client, ledger.team) == ("Ledger", "North", 4)
    assert ledger.average_score == D("3.50")  # (4 + 3 + 2 + 5) / 4
    assert (ledger.goals, ledger.goals_met, ledger.attainment) == (3, 2, D("66.67"))
    assert ledger.surveys_sent == 0
    (mine,) = line.rows
    assert (mine.team, mine.average_score, mine.attainment) == (
        2,
        D("3.50"),
        D("50.00"),
    )
    assert mine.surveys_sent is None  # a manager reads no client survey


def test_client_analytics_sum_their_engagements(world):
    EngagementFactory(organization=world.org, client=world.engagement.client)

    (north,) = _analytics(world, world.hr, by=BY_CLIENT).rows

    assert (north.name, north.team, north.average_score) == ("North", 4, D("3.50"))


def test_engagement_analytics_come_a_page_at_a_time(world):
    for n in range(3):
        other = EngagementFactory(organization=world.org, name=f"Zeta {n}")
        PlanFactory(
            organization=world.org,
            cycle=world.cycle,
            employee=world.people["Ada"],
            engagement=other,
        )

    first = _analytics(world, world.hr, per_page=2)
    last = _analytics(world, world.hr, per_page=2, page=9)

    assert (first.total, first.pages, [r.name for r in first.rows]) == (
        4,
        2,
        ["Ledger", "Zeta 0"],
    )
    assert (last.page, [r.name for r in last.rows]) == (2, ["Zeta 1", "Zeta 2"])


def test_engagement_detail_shows_the_reviewers_team(world):
    with tenant_context(world.org):
        scope = ReportScope(world.reviewer)

        detail = engagement_detail(
            world.engagement,
            plans=scope.plans(),
            reviews=scope.reviews(),
            may_read_surveys=True,
        )

    assert sorted((m.name, m.score) for m in detail.team) == [
        ("Ada", D("4.00")),
        ("Ben", D("3.00")),
        ("Cleo", D("2.00")),
        ("Dan", D("5.00")),
    ]


def test_trends_per_business_unit(world):
    with tenant_context(world.org):
        figures = score_trends(ReportScope(world.hr).appraisals())

    assert figures.cycles == ["Review"]
    assert figures.overall.points[0].mean == D("3.17")
    assert [
        (line.name, line.points[0].mean, line.points[0].provisional)
        for line in figures.by_business_unit
    ] == [
        ("Audit", D("3.50"), 1),
        ("Tax", D("2.50"), 0),
    ]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({D(1): 1}, D(1)),
        ({D(1): 1, D(3): 1}, D(2)),
        ({D(1): 2, D(5): 1}, D(1)),
        ({D(2): 1, D(4): 2, D(9): 1}, D(4)),
    ],
)
def test_median_of_grouped_values(counts, expected):
    assert median(counts) == expected


def test_scope_of_another_organisation_counts_nothing_here(world):
    with tenant_context(world.org):
        plans = Plan.objects.count()
        reviews = Evaluation.objects.count()

    assert (plans, reviews) == (4, 4)


def test_feedback_volume_counts_only_feedback_the_viewer_may_read(world):
    ada, cleo = world.people["Ada"], world.people["Cleo"]
    for subject, kind, visibility in (
        (ada, FeedbackKind.PRAISE, Visibility.SHARED),
        (ada, FeedbackKind.IMPROVEMENT, Visibility.MANAGERS_ONLY),
        (cleo, FeedbackKind.NOTE, Visibility.MANAGERS_ONLY),
    ):
        FeedbackFactory(
            organization=world.org,
            subject=subject,
            engagement=world.engagement,
            kind=kind,
            visibility=visibility,
        )

    def volume(membership):
        with tenant_context(world.org):
            scope = ReportScope(membership)
            (row,) = engagement_analytics(
                world.cycle,
                plans=scope.plans(),
                reviews=scope.reviews(),
                feedback=feedback_visible_to(membership),
                survey_engagements=scope.survey_engagement_ids(),
            ).rows
        return row.feedback

    assert volume(world.hr) == {"praise": 1, "improvement": 1, "note": 1}
    # Ada's line manager reads what is about Ada, managers-only included; not Cleo's.
    assert volume(world.manager) == {"praise": 1, "improvement": 1, "note": 0}
    # The engagement's reviewer reads all of its feedback.
    assert volume(world.reviewer) == {"praise": 1, "improvement": 1, "note": 1}


def test_reviewers_come_a_page_at_a_time_most_lenient_first(world):
    with tenant_context(world.org):
        reviews = ReportScope(world.hr).reviews().filter(plan__cycle=world.cycle)

        first = reviewer_consistency(reviews, per_page=1)
        second = reviewer_consistency(reviews, per_page=1, page=2)

    assert (first.total, first.pages) == (2, 2)
    assert [r.name for r in first.rows + second.rows] == [
        "Rita Reviewer",
        "Rolf Reviewer",
    ]


def test_a_managers_heatmap_counts_their_line_read_as_a_set_of_ids(world):
    with tenant_context(world.org):
        reviews = ReportScope(world.manager).reviews().filter(plan__cycle=world.cycle)

        narrow = competency_heatmap(reviews, BY_BUSINESS_UNIT, narrow=True)
        plain = competency_heatmap(reviews, BY_BUSINESS_UNIT)

    assert narrow == plain
    assert narrow.columns == ["Audit"]
    (row,) = narrow.rows
    assert [(c.count, c.average) for c in row.cells] == [(2, None)]
