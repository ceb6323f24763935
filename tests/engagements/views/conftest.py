"""Fixtures of the client and engagement page tests: people around one engagement,
and that engagement."""

from __future__ import annotations

import pytest

from engagements.enums import EngagementRole
from organizations.enums import Role
from organizations.models import Employee
from organizations.tenancy import tenant_context
from tests.engagement_factories import EngagementFactory, PlanFactory
from tests.engagements.views.helpers import employee_of, give_role


@pytest.fixture
def people(org, make_member):
    """Members around one engagement: staffed, their line manager, a planner, and
    people with no tie to it."""
    line_manager = make_member(org, Role.MANAGER)
    staffed = make_member(org, Role.EMPLOYEE)
    with tenant_context(org):
        entry = Employee.objects.get(user=staffed.user)
        entry.line_manager = Employee.objects.get(user=line_manager.user)
        entry.save()
    return {
        "line_manager": line_manager,
        "staffed": staffed,
        "planner": make_member(org, Role.EMPLOYEE),
        "stranger": make_member(org, Role.EMPLOYEE),
        "other_manager": make_member(org, Role.MANAGER),
    }


@pytest.fixture
def engagement(org, people):
    """An engagement with ``staffed`` on it and ``planner`` as its planner."""
    engagement = EngagementFactory(organization=org, name="Staffed engagement")
    PlanFactory(
        organization=org,
        engagement=engagement,
        employee=employee_of(people["staffed"]),
        role_title="Analyst",
    )
    give_role(engagement, people["planner"], EngagementRole.PLANNER)
    return engagement


# --- query counts --------------------------------------------------------------------------
