"""Query budgets of list pages: the same number of queries for 1, 3 and 30 rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from organizations.enums import Role
from organizations.models import Membership, Organization
from tests.engagement_factories import (
    EngagementFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import (
    BusinessUnitFactory,
    EmployeeFactory,
    InvitationFactory,
    JobTitleFactory,
    MembershipFactory,
)
from tests.organizations.views.query_budget import get_counted, lookups

pytestmark = pytest.mark.django_db


# --- (b) list pages: the same number of queries for 1, 3 and 30 rows ----------------------


@dataclass
class ListPage:
    name: str
    query: Callable[[dict[str, Any]], str]
    add_rows: Callable[[Organization, Membership, dict[str, Any], int], None]
    shown: Callable[[Any], int]
    # Rows listed besides the added ones: the admin's and the manager's directory
    # entries, or the unit or title the rows refer to.
    fixed: int = 0


def _add_people(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for i in range(count):
        # Every row has a login, a job title, a unit and a line manager to show.
        MembershipFactory(
            organization=org,
            role=Role.EMPLOYEE if i % 2 else Role.MANAGER,
            employee__job_title=refs["job_title"],
            employee__business_unit=refs["business_unit"],
            employee__line_manager=refs["manager"],
        )


def _add_units(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for _ in range(count):
        BusinessUnitFactory(organization=org, parent=refs["business_unit"])


def _add_titles(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    JobTitleFactory.create_batch(count, organization=org)


def _add_invitations(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for _ in range(count):
        InvitationFactory(
            organization=org,
            invited_by=admin.user,
            employee=EmployeeFactory(
                organization=org, job_title=None, business_unit=None
            ),
        )


def _add_cycles(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for _ in range(count):
        # Each with plans to count, so the list's plan column has work to do.
        cycle = ReviewCycleFactory(organization=org)
        PlanFactory.create_batch(2, organization=org, cycle=cycle)


def _add_clients(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for _ in range(count):
        EngagementFactory(organization=org, name="Ledger migration")


def _add_engagements(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for _ in range(count):
        engagement = EngagementFactory(
            organization=org,
            name="Ledger migration",
            business_unit=refs["business_unit"],
        )
        # A team of two to count, and an engagement that does not match the filters.
        PlanFactory.create_batch(2, organization=org, engagement=engagement)
        EngagementFactory(organization=org, name="Other work", status="closed")


def _paginated(response: Any) -> int:
    return response.context["paginator"].count


LIST_PAGES = {
    "people": ListPage(
        "organizations:people", lambda refs: "", _add_people, _paginated, fixed=2
    ),
    "people_filtered": ListPage(
        "organizations:people",
        lambda refs: (
            f"?q=Person&business_unit={refs['business_unit'].pk}"
            f"&job_title={refs['job_title'].pk}&line_manager={refs['manager'].pk}"
            "&is_active=true"
        ),
        _add_people,
        _paginated,
    ),
    "business_units": ListPage(
        "organizations:business_units", lambda refs: "", _add_units, _paginated, fixed=1
    ),
    "job_titles": ListPage(
        "organizations:job_titles", lambda refs: "", _add_titles, _paginated, fixed=1
    ),
    "invitations": ListPage(
        "organizations:invitations",
        lambda refs: "",
        _add_invitations,
        lambda response: len(response.context["pending"]),
    ),
    "cycles": ListPage("engagements:cycles", lambda refs: "", _add_cycles, _paginated),
    "clients": ListPage(
        "engagements:clients", lambda refs: "", _add_clients, _paginated
    ),
    # Each added row also adds a closed engagement: the total counts what matches.
    "engagements": ListPage(
        "engagements:engagements",
        lambda refs: "",
        _add_engagements,
        lambda response: response.context["paginator"].count // 2,
    ),
    "engagements_filtered": ListPage(
        "engagements:engagements",
        lambda refs: (
            f"?q=ledger&status=active&business_unit={refs['business_unit'].pk}"
            "&date_from=2025-01-01&date_to=2025-12-31"
        ),
        _add_engagements,
        _paginated,
    ),
}


@pytest.fixture
def list_setup(org, make_member) -> tuple[Membership, dict[str, Any]]:
    """An HR admin and the references rows point at: one unit, title and manager."""
    admin = make_member(
        org, Role.HR_ADMIN, employee__job_title=None, employee__business_unit=None
    )
    return admin, {
        "business_unit": BusinessUnitFactory(organization=org),
        "job_title": JobTitleFactory(organization=org),
        "manager": EmployeeFactory(
            organization=org, job_title=None, business_unit=None
        ),
    }


@pytest.mark.parametrize(("fewer", "more"), [(1, 3), (3, 30)])
@pytest.mark.parametrize("page", LIST_PAGES)
def test_list_page_query_count_does_not_grow_with_its_rows(
    org, list_setup, client_as, page, fewer, more
):
    admin, refs = list_setup
    spec = LIST_PAGES[page]
    client = client_as(admin)
    url = reverse(spec.name, args=[org.slug]) + spec.query(refs)
    spec.add_rows(org, admin, refs, fewer)
    client.get(url)  # warm up: per-process caches are not the page's cost
    few_response, few_queries = get_counted(client, url)
    spec.add_rows(org, admin, refs, more - fewer)

    many_response, many_queries = get_counted(client, url)

    assert (spec.shown(few_response), spec.shown(many_response)) == (
        fewer + spec.fixed,
        more + spec.fixed,
    )
    assert len(many_queries) == len(few_queries), lookups(many_queries)
