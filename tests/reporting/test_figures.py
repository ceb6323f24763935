"""Every dashboard's figures against the world of ``tests/reporting/worlds.py``,
worked out by hand there; another organisation with the same shape (and other
scores) exists in every test and must never count."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models import Evaluation
from engagements.enums import EngagementRole
from engagements.models import Plan
from engagements.services.roles import assign_role
from feedback.enums import FeedbackKind, Visibility
from feedback.models import Feedback
from feedback.selectors.access import feedback_visible_to
from organizations.models import BusinessUnit, Employee
from organizations.tenancy import tenant_context
from reporting.figures.distribution import (
    distribution_from_tallies,
    score_distribution,
)
from reporting.figures.engagements import engagement_analytics, engagement_detail
from reporting.figures.heatmap import (
    Heatmap,
    competency_heatmap,
    heatmap_from_tallies,
    heatmap_of,
)
from reporting.figures.overview import Overview, cycle_overview, overview_from_tallies
from reporting.figures.reviewers import (
    Consistency,
    consistency_from_tallies,
    reviewer_consistency,
)
from reporting.figures.stats import median
from reporting.figures.trends import score_trends, trends_from_tallies
from reporting.filters import BY_BUSINESS_UNIT, BY_CLIENT
from reporting.models import (
    CompetencyTally,
    DistributionTally,
    ScoreTally,
    TypeDistributionTally,
)
from reporting.scope import ReportScope
from tests.appraisal_factories import AppraisalFactory
from tests.engagement_factories import EngagementFactory, PlanFactory
from tests.factories import EmployeeFactory, OrganizationFactory
from tests.feedback_factories import FeedbackFactory
from tests.reporting.worlds import ReportWorld, build_world

D = Decimal
SCALE = (D(1), D(5))


@pytest.fixture
def world(db: None) -> ReportWorld:
    other = OrganizationFactory(slug="rival", name="Rival")
    build_world(other, extra_people=2)  # must never count
    return build_world(OrganizationFactory(slug="home", name="Home"))


@pytest.mark.parametrize("source", ["ratings", "tallies"])
def test_distribution_of_the_whole_organisation(world, source):
    with tenant_context(world.org):
        appraisals = ReportScope(world.hr).appraisals().filter(cycle=world.cycle)
        if source == "tallies":
            figures = distribution_from_tallies(
                DistributionTally.objects.filter(cycle=world.cycle),
                world.cycle,
                SCALE,
                types=TypeDistributionTally.objects.filter(cycle=world.cycle),
                appraisals=appraisals,
            )
        else:
            figures = score_distribution(appraisals, world.cycle, SCALE)

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
    assert [(g.name, g.summary.count) for g in figures.by_job_title] == [
        ("Consultant", 3)
    ]
    assert [(g.name, g.summary.count) for g in figures.by_engagement_type] == [
        ("No engagement type", 3)
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


def _heatmap(world: ReportWorld, source: str) -> Heatmap:
    """HR's heatmap of the world's cycle, grouped from the ratings or read from the
    tallies the triggers keep (what the dashboard reads for HR)."""
    if source == "tallies":
        return heatmap_from_tallies(
            CompetencyTally.objects.filter(cycle=world.cycle), BY_BUSINESS_UNIT
        )
    reviews = ReportScope(world.hr).reviews().filter(plan__cycle=world.cycle)
    return competency_heatmap(reviews, BY_BUSINESS_UNIT)


def _consistency(world: ReportWorld, source: str, **page: int) -> Consistency:
    if source == "tallies":
        return consistency_from_tallies(world.cycle, **page)
    reviews = ReportScope(world.hr).reviews().filter(plan__cycle=world.cycle)
    return reviewer_consistency(reviews, **page)


SOURCES = pytest.mark.parametrize("source", ["ratings", "tallies"])


def _heatmap_of(rows: list[dict[str, object]], *, page: int) -> Heatmap:
    return heatmap_of(rows, BY_BUSINESS_UNIT, page)


@SOURCES
def test_heatmap_suppresses_cells_of_fewer_than_three_ratings(world, source):
    with tenant_context(world.org):
        figures = _heatmap(world, source)

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


@SOURCES
def test_reviewer_bias_against_the_organisation_mean(world, source):
    with tenant_context(world.org):
        figures = _consistency(world, source)

    assert figures.organisation_mean == D("3.50")
    assert [(r.name, r.reviews, r.mean, r.spread, r.bias) for r in figures.rows] == [
        ("Rita Reviewer", 3, D("4.00"), D("0.82"), D("0.50")),
        ("Rolf Reviewer", 1, D("2.00"), D("0.00"), D("-1.50")),
    ]


def _overview(world: ReportWorld, source: str) -> Overview:
    scope, today = ReportScope(world.hr), timezone.localdate()
    if source == "tallies":
        return overview_from_tallies(world.cycle, today=today)
    return cycle_overview(
        world.cycle,
        appraisals=scope.appraisals().filter(cycle=world.cycle),
        plans=scope.plans_in(world.cycle),
        reviews=scope.reviews_in(world.cycle),
        today=today,
    )


@SOURCES
def test_overview_counts_by_status_and_completion(world, source):
    with tenant_context(world.org):
        figures = _overview(world, source)

    assert figures.evaluations_total == 4
    assert dict(figures.appraisals_by_status)["Open"] == 2
    assert dict(figures.appraisals_by_status)["Finalised"] == 2
    assert dict(figures.plans_by_status)["Draft"] == 4
    assert figures.approved_share == 100
    assert figures.completion[-1].cumulative == 4
    assert (figures.completion[0].day, figures.completion[-1].day) == (
        timezone.localdate() - timedelta(days=1),
        timezone.localdate(),
    )


@SOURCES
def test_overview_names_who_holds_the_overdue_work(world, source):
    with tenant_context(world.org):
        rolf = Employee.objects.get(full_name="Rolf Reviewer")
        assign_role(
            actor=None,
            engagement=world.engagement,
            employee=rolf,
            role=EngagementRole.APPROVER,
        )
        late = timezone.localdate() - timedelta(days=2)
        # Rita owes Ben's review (sent back), Rolf must approve Cleo's.
        Evaluation.objects.filter(plan__employee=world.people["Ben"]).update(
            status=EvaluationStatus.RETURNED, due_date=late, approved_at=None
        )
        Evaluation.objects.filter(plan__employee=world.people["Cleo"]).update(
            status=EvaluationStatus.SUBMITTED, due_date=late, approved_at=None
        )

        figures = _overview(world, source)
        other = _overview(world, "rows" if source == "tallies" else "tallies")

    assert (figures.overdue, figures.approved_share) == (2, 50)
    assert [(p.name, p.overdue) for p in figures.late_reviewers] == [
        ("Rita Reviewer", 1)
    ]
    assert [(p.name, p.overdue) for p in figures.late_approvers] == [
        ("Rolf Reviewer", 1)
    ]
    assert figures == other  # the tallies and the rows agree


def _analytics(world, membership, **options):
    with tenant_context(world.org):
        scope = ReportScope(membership)
        return engagement_analytics(
            world.cycle,
            cycles=[world.cycle],
            plans=scope.plans_in(world.cycle),
            reviews=scope.reviews_in(world.cycle),
            feedback=Feedback.objects.all(),
            survey_engagements=scope.survey_engagement_ids(),
            **options,
        )


# Both ways of paging: in the database (HR's) and of a viewer's few plans.
FEW = pytest.mark.parametrize("few", [False, True], ids=["paged", "few"])


@FEW
def test_engagement_analytics_of_hr_and_of_a_manager(world, few):
    hr = _analytics(world, world.hr, few=few)
    line = _analytics(world, world.manager, few=few)

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


@FEW
def test_client_analytics_sum_their_engagements(world, few):
    EngagementFactory(organization=world.org, client=world.engagement.client)

    (north,) = _analytics(world, world.hr, by=BY_CLIENT, few=few).rows

    assert (north.name, north.team, north.average_score) == ("North", 4, D("3.50"))


@FEW
def test_engagement_analytics_come_a_page_at_a_time(world, few):
    for n in range(3):
        other = EngagementFactory(organization=world.org, name=f"Zeta {n}")
        PlanFactory(
            organization=world.org,
            cycle=world.cycle,
            employee=world.people["Ada"],
            engagement=other,
        )

    first = _analytics(world, world.hr, per_page=2, few=few)
    last = _analytics(world, world.hr, per_page=2, page=9, few=few)

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


@SOURCES
def test_trends_per_business_unit(world, source):
    with tenant_context(world.org):
        if source == "tallies":
            figures = trends_from_tallies(ScoreTally.objects.all())
        else:
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
                cycles=[world.cycle],
                plans=scope.plans_in(world.cycle),
                reviews=scope.reviews_in(world.cycle),
                feedback=feedback_visible_to(membership),
                survey_engagements=scope.survey_engagement_ids(),
            ).rows
        return row.feedback

    assert volume(world.hr) == {"praise": 1, "improvement": 1, "note": 1}
    # Ada's line manager reads what is about Ada, managers-only included; not Cleo's.
    assert volume(world.manager) == {"praise": 1, "improvement": 1, "note": 0}
    # The engagement's reviewer reads all of its feedback.
    assert volume(world.reviewer) == {"praise": 1, "improvement": 1, "note": 1}


@SOURCES
def test_reviewers_come_a_page_at_a_time_most_lenient_first(world, source):
    with tenant_context(world.org):
        first = _consistency(world, source, per_page=1)
        second = _consistency(world, source, per_page=1, page=2)
        past_the_end = _consistency(world, source, per_page=1, page=9)

    assert (first.total, first.pages) == (2, 2)
    assert [r.name for r in first.rows + second.rows] == [
        "Rita Reviewer",
        "Rolf Reviewer",
    ]
    assert (past_the_end.page, past_the_end.rows) == (2, second.rows)


def test_a_managers_heatmap_counts_their_line_read_as_a_set_of_ids(world):
    with tenant_context(world.org):
        reviews = ReportScope(world.manager).reviews().filter(plan__cycle=world.cycle)

        narrow = competency_heatmap(reviews, BY_BUSINESS_UNIT, narrow=True)
        plain = competency_heatmap(reviews, BY_BUSINESS_UNIT)

    assert narrow == plain
    assert narrow.columns == ["Audit"]
    (row,) = narrow.rows
    assert [(c.count, c.average) for c in row.cells] == [(2, None)]


def test_heatmap_columns_come_twelve_to_a_page_and_all_counts_every_column():
    rows = [
        {"competency": "Teamwork", "column": f"Unit {i:02}", "n": 3, "total": D(9)}
        | {"expected": D(6)}
        for i in range(14)
    ]

    first = _heatmap_of(rows, page=1)
    second = _heatmap_of(rows, page=2)
    past_the_end = _heatmap_of(rows, page=5)

    assert (first.total, first.pages, len(first.columns)) == (14, 2, 12)
    assert second.columns == ["Unit 12", "Unit 13"]
    assert past_the_end.columns == second.columns
    (row,) = second.rows
    assert [(c.count, c.average, c.gap) for c in row.cells] == [
        (3, D("3.00"), D("1.00")),
        (3, D("3.00"), D("1.00")),
    ]
    assert (row.total.count, row.total.average) == (42, D("3.00"))
    assert first.rows[0].total == row.total


def test_the_distribution_tallies_give_the_figures_of_the_appraisals(world):
    # Seventy more people with scores spread over the scale, in three units and no
    # unit, some open, some finalised: every figure the same both ways (medians of
    # odd and even groups, spreads, bands, the engagement types).
    rng = random.Random(7)
    with tenant_context(world.org):
        units = [*BusinessUnit.objects.all(), None]
        for i in range(70):
            score = D(rng.randint(100, 500)) / 100
            AppraisalFactory(
                organization=world.org,
                cycle=world.cycle,
                employee=EmployeeFactory(
                    organization=world.org, business_unit=units[i % len(units)]
                ),
                status=AppraisalStatus.OPEN if i % 3 else AppraisalStatus.FINALIZED,
                final_score=score if i % 11 else None,
                percent=(score - 1) * 25 if i % 11 else None,
            )
        appraisals = ReportScope(world.hr).appraisals().filter(cycle=world.cycle)

        grouped = score_distribution(appraisals, world.cycle, SCALE)
        tallied = distribution_from_tallies(
            DistributionTally.objects.filter(cycle=world.cycle),
            world.cycle,
            SCALE,
            types=TypeDistributionTally.objects.filter(cycle=world.cycle),
            appraisals=appraisals,
        )

    assert tallied == grouped
    assert grouped.summary.count == 3 + 63
