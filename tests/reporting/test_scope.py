"""``ReportScope`` for a login with engagement roles in two organisations: the
permission rows behind the roles are the login's, so their engagement ids may name
another organisation's engagements; they must count nothing in this one."""

from __future__ import annotations

import pytest

from engagements.enums import EngagementRole
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.models import Employee
from organizations.tenancy import tenant_context
from reporting.exports.registry import available_datasets
from reporting.permissions import Dashboard
from reporting.reports import compute, open_report
from reporting.scope import ReportScope, may_read_surveys
from tests.factories import MembershipFactory, OrganizationFactory
from tests.reporting.worlds import ReportWorld, build_world


@pytest.fixture
def worlds(db: None) -> tuple[ReportWorld, ReportWorld, object]:
    """Two organisations; one login reviews Ledger in each (a member of both)."""
    home = build_world(OrganizationFactory(slug="home", name="Home"))
    away = build_world(OrganizationFactory(slug="away", name="Away"))
    here = MembershipFactory(organization=home.org, role=Role.EMPLOYEE)
    there = MembershipFactory(organization=away.org, role=Role.EMPLOYEE, user=here.user)
    for world, membership in ((home, here), (away, there)):
        with tenant_context(world.org):
            assign_role(
                actor=None,
                engagement=world.engagement,
                employee=Employee.objects.get(user=membership.user),
                role=EngagementRole.REVIEWER,
            )
    return home, away, here


def test_roles_elsewhere_count_nothing_here(worlds):
    home, _away, here = worlds

    with tenant_context(home.org):
        scope = ReportScope(here)
        engagements = list(scope.engagements().values_list("pk", flat=True))
        plans = set(scope.plans().values_list("engagement_id", flat=True))
        reviews = set(scope.reviews().values_list("plan__engagement_id", flat=True))
        reads_home = may_read_surveys(scope, home.engagement)

    assert engagements == [home.engagement.pk]
    assert plans == reviews == {home.engagement.pk}
    assert reads_home


def test_a_reviewer_only_elsewhere_may_not_export_surveys_here(worlds):
    home, away, _here = worlds
    elsewhere = MembershipFactory(organization=home.org, role=Role.EMPLOYEE)
    MembershipFactory(organization=away.org, role=Role.EMPLOYEE, user=elsewhere.user)
    with tenant_context(away.org):
        assign_role(
            actor=None,
            engagement=away.engagement,
            employee=Employee.objects.get(user=elsewhere.user),
            role=EngagementRole.REVIEWER,
        )

    with tenant_context(home.org):
        scope = ReportScope(elsewhere)
        kinds = [dataset.kind for dataset in available_datasets(scope)]
        engagements = scope.engagements().count()

    assert "client_surveys" not in kinds
    assert engagements == 0


def test_a_reviewer_of_two_organisations_sees_one_on_the_dashboard(worlds):
    home, _away, here = worlds

    with tenant_context(home.org):
        figures = compute(open_report(here, Dashboard.ENGAGEMENTS, {}))

    (ledger,) = figures.rows
    assert (ledger.key, ledger.team) == (home.engagement.pk, 4)
