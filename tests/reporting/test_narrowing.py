"""A filter that narrows a dashboard selects the appraisals of the dashboard's cycle:
someone staffed on a client in another cycle only is not counted under that client
in this one (``reporting.reports.Report``)."""

from __future__ import annotations

from datetime import date

import pytest

from appraisals.enums import AppraisalStatus
from engagements.enums import CycleStatus, PlanKind
from organizations.tenancy import tenant_context
from reporting.permissions import Dashboard
from reporting.reports import compute, open_report
from tests.appraisal_factories import AppraisalFactory
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import OrganizationFactory
from tests.reporting.worlds import build_world


@pytest.fixture
def world(db):
    """The reporting world, and Dan staffed on client South in last year's cycle
    only (in the cycle in review he works for North, as everyone)."""
    world = build_world(OrganizationFactory(slug="home", name="Home"))
    org = world.org
    past = ReviewCycleFactory(
        organization=org,
        name="Past",
        status=CycleStatus.CLOSED,
        start_date=date(2024, 1, 1),
        end_date=date(2024, 12, 31),
    )
    world.south = ClientFactory(organization=org, name="South")
    harbour = EngagementFactory(organization=org, name="Harbour", client=world.south)
    dan = world.people["Dan"]
    AppraisalFactory(
        organization=org, cycle=past, employee=dan, status=AppraisalStatus.FINALIZED
    )
    PlanFactory(
        organization=org,
        cycle=past,
        employee=dan,
        kind=PlanKind.ENGAGEMENT,
        engagement=harbour,
    )
    return world


def _figures(world, dashboard: Dashboard, client) -> object:
    with tenant_context(world.org):
        report = open_report(
            world.hr,
            dashboard,
            {"cycle": str(world.cycle.pk), "client": str(client.pk)},
        )
        assert report.valid
        return compute(report)


def test_the_heatmap_under_a_client_counts_only_those_on_it_in_the_cycle(world):
    south = _figures(world, Dashboard.COMPETENCIES, world.south)
    north = _figures(world, Dashboard.COMPETENCIES, world.engagement.client)

    assert south.is_empty
    # Ada, Ben, Cleo and Dan on Ledger (North): four Teamwork ratings.
    assert [row.total.count for row in north.rows] == [4]


def test_reviewer_consistency_under_a_client_counts_only_those_on_it_in_the_cycle(
    world,
):
    south = _figures(world, Dashboard.REVIEWERS, world.south)
    north = _figures(world, Dashboard.REVIEWERS, world.engagement.client)

    assert south.rows == []
    assert sorted((row.name, row.ratings) for row in north.rows) == [
        ("Rita Reviewer", 3),
        ("Rolf Reviewer", 1),
    ]
