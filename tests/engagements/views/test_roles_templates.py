"""Role rules and plan templates pages: HR admins only, bad input changes nothing,
another organisation's objects are 404, and query counts stay flat as rows grow."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.shortcuts import get_perms

from engagements.enums import AssignmentSource, CycleStatus, EngagementRole
from engagements.models import PlanTemplate, RoleAssignment, RoleRule, TemplateGoal
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization, User
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    EngagementFactory,
    PlanFactory,
    PlanTemplateFactory,
    ReviewCycleFactory,
    RoleRuleFactory,
    TemplateGoalFactory,
)
from tests.factories import JobTitleFactory

pytestmark = pytest.mark.django_db

ClientAs = Callable[[Membership | None], Client]
MakeMember = Callable[..., Membership]
MAX_QUERIES = 15


def _url(name: str, org: Organization, *args: int) -> str:
    return reverse(f"engagements:{name}", args=[org.slug, *args])


def _field_error(page: str, auto_id: str) -> str | None:
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="{auto_id}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def _rules(org: Organization) -> list[tuple[int, str]]:
    with tenant_context(org):
        return list(
            RoleRule.objects.order_by("job_title_id", "role").values_list(
                "job_title_id", "role"
            )
        )


def _templates(org: Organization) -> list[tuple[str, str, Decimal]]:
    with tenant_context(org):
        return list(
            PlanTemplate.objects.order_by("name").values_list(
                "name", "description", "goal_weight"
            )
        )


def _template_goals(template: PlanTemplate) -> list[str]:
    with tenant_context(template.organization):
        return list(
            TemplateGoal.objects.filter(template=template)
            .order_by("position")
            .values_list("title", flat=True)
        )


# --- role rules: the list and creating -------------------------------------------------------


def test_role_rules_page_lists_the_rules(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    RoleRuleFactory(
        organization=org,
        job_title=JobTitleFactory(organization=org, name="Engagement Manager"),
        role=EngagementRole.REVIEWER,
    )
    RoleRuleFactory(
        organization=other_org,
        job_title=JobTitleFactory(organization=other_org, name="Foreign Title"),
    )

    response = client_as(hr_admin).get(_url("role_rules", org))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<td>Engagement Manager</td>" in page
    assert "<td>Reviewer</td>" in page
    assert "Foreign Title" not in page


def test_role_rules_create_applies_the_rule_to_people_already_staffed(
    client_as: ClientAs, hr_admin: Membership, make_member: MakeMember
) -> None:
    org = hr_admin.organization
    title = JobTitleFactory(organization=org, name="Engagement Manager")
    lead = make_member(org, Role.EMPLOYEE, employee__job_title=title)
    engagement = EngagementFactory(organization=org)
    with tenant_context(org):
        lead_employee = Employee.objects.get(user=lead.user)
    PlanFactory(
        organization=org,
        engagement=engagement,
        employee=lead_employee,
        cycle=ReviewCycleFactory(organization=org, status=CycleStatus.PLANNING),
    )

    response = client_as(hr_admin).post(
        _url("role_rules", org),
        {"job_title": title.pk, "role": EngagementRole.REVIEWER},
    )

    assert (response.status_code, response.url) == (302, _url("role_rules", org))
    assert _rules(org) == [(title.pk, EngagementRole.REVIEWER)]
    with tenant_context(org):
        roles = list(
            RoleAssignment.objects.filter(engagement=engagement).values_list(
                "employee_id", "role", "source"
            )
        )
    assert roles == [(lead_employee.pk, EngagementRole.REVIEWER, AssignmentSource.RULE)]
    assert set(get_perms(User.objects.get(pk=lead.user_id), engagement)) == {
        "review_engagement",
        "view_engagement",
    }


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"role": EngagementRole.PLANNER}, "job_title", "This field is required."),
        (
            {"job_title": "TITLE", "role": "owner"},
            "role",
            "Select a valid choice. owner is not one of the available choices.",
        ),
        (
            {"job_title": "FOREIGN", "role": EngagementRole.PLANNER},
            "job_title",
            "Select a valid choice. That choice is not one of the available choices.",
        ),
        (
            {"job_title": "RULED", "role": EngagementRole.REVIEWER},
            "role",
            "This rule exists already.",
        ),
    ],
)
def test_role_rules_create_with_bad_input_explains_and_changes_nothing(
    client_as: ClientAs,
    hr_admin: Membership,
    other_org: Organization,
    data: dict[str, Any],
    field: str,
    message: str,
) -> None:
    org = hr_admin.organization
    existing = RoleRuleFactory(organization=org, role=EngagementRole.REVIEWER)
    values = {
        "TITLE": JobTitleFactory(organization=org).pk,
        "FOREIGN": JobTitleFactory(organization=other_org).pk,
        "RULED": existing.job_title_id,
    }
    data = {k: values.get(v, v) for k, v in data.items()}

    response = client_as(hr_admin).post(_url("role_rules", org), data)

    assert response.status_code == 400
    assert _field_error(response.content.decode(), f"id_{field}") == message
    assert _rules(org) == [(existing.job_title_id, EngagementRole.REVIEWER)]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
@pytest.mark.parametrize("method", ["get", "post"])
def test_role_rules_page_is_refused_to_managers_and_employees(
    client_as: ClientAs,
    make_member: MakeMember,
    org: Organization,
    role: str,
    method: str,
) -> None:
    member = make_member(org, role)
    title = JobTitleFactory(organization=org)

    response = getattr(client_as(member), method)(
        _url("role_rules", org), {"job_title": title.pk, "role": EngagementRole.PLANNER}
    )

    assert response.status_code == 403
    assert _rules(org) == []


def test_role_rules_page_query_count_is_flat(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    client = client_as(hr_admin)
    url = _url("role_rules", org)
    client.get(url)
    counts = []

    for total in (1, 3, 30):
        with tenant_context(org):
            missing = total - RoleRule.objects.count()
        RoleRuleFactory.create_batch(missing, organization=org)
        counts.append(_queries(client, url))

    assert counts == [counts[0]] * 3
    assert counts[0] <= MAX_QUERIES


# --- role rules: deleting ------------------------------------------------------------------------


def test_role_rule_delete_removes_the_rule_and_keeps_the_roles_it_gave(
    client_as: ClientAs, hr_admin: Membership, employee_member: Membership
) -> None:
    org = hr_admin.organization
    rule = RoleRuleFactory(organization=org)
    engagement = EngagementFactory(organization=org)
    with tenant_context(org):
        RoleAssignment.objects.create(
            organization=org,
            engagement=engagement,
            employee=Employee.objects.get(user=employee_member.user),
            role=EngagementRole.REVIEWER,
            source=AssignmentSource.RULE,
        )

    response = client_as(hr_admin).post(_url("role_rule_delete", org, rule.pk))

    assert (response.status_code, response.url) == (302, _url("role_rules", org))
    assert _rules(org) == []
    with tenant_context(org):
        assert RoleAssignment.objects.count() == 1


def test_role_rule_delete_of_another_organizations_rule_is_404(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    foreign = RoleRuleFactory(organization=other_org)

    response = client_as(hr_admin).post(
        _url("role_rule_delete", hr_admin.organization, foreign.pk)
    )

    assert response.status_code == 404
    assert len(_rules(other_org)) == 1


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
@pytest.mark.parametrize("whose", ["own", "foreign"])
def test_role_rule_delete_is_refused_to_managers_and_employees(
    client_as: ClientAs,
    make_member: MakeMember,
    org: Organization,
    other_org: Organization,
    role: str,
    whose: str,
) -> None:
    rule = RoleRuleFactory(organization=org if whose == "own" else other_org)
    member = make_member(org, role)

    response = client_as(member).post(_url("role_rule_delete", org, rule.pk))

    assert response.status_code == 403
    assert len(_rules(rule.organization)) == 1


def test_role_rule_delete_answers_get_with_405(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    rule = RoleRuleFactory(organization=hr_admin.organization)

    response = client_as(hr_admin).get(
        _url("role_rule_delete", hr_admin.organization, rule.pk)
    )

    assert response.status_code == 405
    assert len(_rules(hr_admin.organization)) == 1


# --- templates: the list and creating ------------------------------------------------------------


def test_template_list_shows_goal_counts_and_weight_totals(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    template = PlanTemplateFactory(organization=org, name="Delivery lead")
    TemplateGoalFactory(organization=org, template=template, weight=Decimal("60"))
    TemplateGoalFactory(organization=org, template=template, weight=Decimal("30"))
    PlanTemplateFactory(organization=other_org, name="Foreign template")

    response = client_as(hr_admin).get(_url("templates", org))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Delivery lead" in page
    assert "<td>2</td>" in page
    assert '90 <span class="badge text-bg-warning">not 100</span>' in page
    assert "Foreign template" not in page


def test_template_create_opens_the_new_template(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization

    response = client_as(hr_admin).post(
        _url("templates", org),
        {"name": "Delivery lead", "description": "Leads", "goal_weight": "70"},
    )

    with tenant_context(org):
        template = PlanTemplate.objects.get()
    assert (response.status_code, response.url) == (
        302,
        _url("template_detail", org, template.pk),
    )
    assert _templates(org) == [("Delivery lead", "Leads", Decimal("70.00"))]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "goal_weight": "70"}, "name", "This field is required."),
        (
            {"name": "New", "goal_weight": "150"},
            "goal_weight",
            "Ensure this value is less than or equal to 100.",
        ),
        (
            {"name": "New", "goal_weight": "-1"},
            "goal_weight",
            "Ensure this value is greater than or equal to 0.",
        ),
        ({"name": "New", "goal_weight": ""}, "goal_weight", "This field is required."),
        (
            {"name": "existing", "goal_weight": "70"},
            "name",
            "A template with this name exists already.",
        ),
    ],
)
def test_template_create_with_bad_input_explains_and_changes_nothing(
    client_as: ClientAs,
    hr_admin: Membership,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    org = hr_admin.organization
    PlanTemplateFactory(organization=org, name="Existing", goal_weight=Decimal("60"))

    response = client_as(hr_admin).post(_url("templates", org), data)

    assert response.status_code == 400
    assert _field_error(response.content.decode(), f"id_{field}") == message
    assert _templates(org) == [("Existing", "A blueprint", Decimal("60.00"))]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
@pytest.mark.parametrize("method", ["get", "post"])
def test_template_list_is_refused_to_managers_and_employees(
    client_as: ClientAs,
    make_member: MakeMember,
    org: Organization,
    role: str,
    method: str,
) -> None:
    member = make_member(org, role)

    response = getattr(client_as(member), method)(
        _url("templates", org), {"name": "Sneaky", "goal_weight": "50"}
    )

    assert response.status_code == 403
    assert _templates(org) == []


def test_template_list_query_count_is_flat(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    client = client_as(hr_admin)
    url = _url("templates", org)
    client.get(url)
    counts = []

    for total in (1, 3, 30):
        with tenant_context(org):
            missing = total - PlanTemplate.objects.count()
        for template in PlanTemplateFactory.create_batch(missing, organization=org):
            TemplateGoalFactory.create_batch(2, organization=org, template=template)
        counts.append(_queries(client, url))

    assert counts == [counts[0]] * 3
    assert counts[0] <= MAX_QUERIES


# --- a template's page ---------------------------------------------------------------------------


@pytest.fixture
def template(org: Organization) -> PlanTemplate:
    template = PlanTemplateFactory(
        organization=org, name="Delivery lead", goal_weight=Decimal("60")
    )
    TemplateGoalFactory(
        organization=org,
        template=template,
        title="Client satisfaction",
        weight=Decimal("70"),
        key_activities="Kick-off survey\nMonthly check-in",
    )
    TemplateGoalFactory(
        organization=org, template=template, title="Defects", weight=Decimal("30")
    )
    return template


def test_template_detail_lists_goals_weights_and_total(
    client_as: ClientAs, hr_admin: Membership, template: PlanTemplate
) -> None:
    response = client_as(hr_admin).get(
        _url("template_detail", hr_admin.organization, template.pk)
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Client satisfaction" in page
    assert "<li>Monthly check-in</li>" in page
    assert '<td class="text-end">70</td>' in page
    assert '<td class="text-end fw-semibold">100</td>' in page
    assert "not 100" not in page


def test_template_detail_updates_the_template(
    client_as: ClientAs, hr_admin: Membership, template: PlanTemplate
) -> None:
    org = hr_admin.organization
    url = _url("template_detail", org, template.pk)

    response = client_as(hr_admin).post(
        url,
        {
            "action": "update",
            "template-name": "Delivery manager",
            "template-description": "Managers",
            "template-goal_weight": "75",
        },
    )

    assert (response.status_code, response.url) == (302, url)
    assert _templates(org) == [("Delivery manager", "Managers", Decimal("75.00"))]


def test_template_detail_adds_a_goal(
    client_as: ClientAs, hr_admin: Membership, template: PlanTemplate
) -> None:
    org = hr_admin.organization
    url = _url("template_detail", org, template.pk)

    response = client_as(hr_admin).post(
        url,
        {
            "action": "add_goal",
            "goal-title": "Knowledge sharing",
            "goal-direction": "higher",
            "goal-weight": "10",
            "goal-key_activities": "Brown-bag talk",
        },
    )

    assert (response.status_code, response.url) == (302, url)
    assert _template_goals(template) == [
        "Client satisfaction",
        "Defects",
        "Knowledge sharing",
    ]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"goal-title": ""}, "id_goal-title", "This field is required."),
        ({"goal-weight": "0"}, "id_goal-weight", "The weight must be more than 0."),
        ({"goal-weight": "-3"}, "id_goal-weight", "The weight must be more than 0."),
        (
            {"goal-metric": "NPS"},
            "id_goal-target_value",
            "A goal with a metric needs a target value.",
        ),
        (
            {"goal-direction": "sideways"},
            "id_goal-direction",
            "Select a valid choice. sideways is not one of the available choices.",
        ),
    ],
)
def test_template_detail_add_goal_with_bad_input_explains_and_changes_nothing(
    client_as: ClientAs,
    hr_admin: Membership,
    template: PlanTemplate,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    payload = {
        "action": "add_goal",
        "goal-title": "New goal",
        "goal-direction": "higher",
        "goal-weight": "10",
    }
    payload.update(data)

    response = client_as(hr_admin).post(
        _url("template_detail", hr_admin.organization, template.pk), payload
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), field) == message
    assert _template_goals(template) == ["Client satisfaction", "Defects"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"template-name": ""}, "id_template-name", "This field is required."),
        (
            {"template-goal_weight": "101"},
            "id_template-goal_weight",
            "Ensure this value is less than or equal to 100.",
        ),
        (
            {"template-name": "other one"},
            "id_template-name",
            "A template with this name exists already.",
        ),
    ],
)
def test_template_detail_update_with_bad_input_explains_and_changes_nothing(
    client_as: ClientAs,
    hr_admin: Membership,
    template: PlanTemplate,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    org = hr_admin.organization
    PlanTemplateFactory(organization=org, name="Other one", description="")
    before = _templates(org)
    payload = {
        "action": "update",
        "template-name": "Renamed",
        "template-goal_weight": "50",
    }
    payload.update(data)

    response = client_as(hr_admin).post(
        _url("template_detail", org, template.pk), payload
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, field) == message
    assert "<h1>Delivery lead</h1>" in page
    assert _templates(org) == before


def test_template_detail_with_an_unknown_action_changes_nothing(
    client_as: ClientAs, hr_admin: Membership, template: PlanTemplate
) -> None:
    org = hr_admin.organization
    before = _templates(org)

    response = client_as(hr_admin).post(
        _url("template_detail", org, template.pk),
        {"action": "delete", "template-name": "Gone"},
    )

    assert response.status_code == 400
    assert _templates(org) == before
    assert _template_goals(template) == ["Client satisfaction", "Defects"]


def test_template_detail_of_another_organizations_template_is_404(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    foreign = PlanTemplateFactory(organization=other_org, name="Foreign")

    response = client_as(hr_admin).post(
        _url("template_detail", hr_admin.organization, foreign.pk),
        {"action": "update", "template-name": "Taken", "template-goal_weight": "5"},
    )

    assert response.status_code == 404
    assert _templates(other_org) == [("Foreign", "A blueprint", Decimal("60.00"))]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
@pytest.mark.parametrize("method", ["get", "post"])
def test_template_detail_is_refused_to_managers_and_employees(
    client_as: ClientAs,
    make_member: MakeMember,
    org: Organization,
    template: PlanTemplate,
    role: str,
    method: str,
) -> None:
    member = make_member(org, role)
    before = _templates(org)

    response = getattr(client_as(member), method)(
        _url("template_detail", org, template.pk),
        {"action": "update", "template-name": "Mine", "template-goal_weight": "5"},
    )

    assert response.status_code == 403
    assert _templates(org) == before


def test_template_detail_query_count_is_flat(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    template = PlanTemplateFactory(organization=org)
    client = client_as(hr_admin)
    url = _url("template_detail", org, template.pk)
    client.get(url)
    counts = []

    for total in (1, 10):
        with tenant_context(org):
            missing = total - TemplateGoal.objects.filter(template=template).count()
        TemplateGoalFactory.create_batch(
            missing, organization=org, template=template, key_activities="A\nB"
        )
        counts.append(_queries(client, url))

    assert counts == [counts[0]] * 2
    assert counts[0] <= MAX_QUERIES


# --- deleting a template goal --------------------------------------------------------------------


def _goal_id(template: PlanTemplate, title: str) -> int:
    with tenant_context(template.organization):
        return TemplateGoal.objects.get(template=template, title=title).pk


def test_template_goal_delete_removes_it(
    client_as: ClientAs, hr_admin: Membership, template: PlanTemplate
) -> None:
    org = hr_admin.organization

    response = client_as(hr_admin).post(
        _url("template_goal_delete", org, template.pk, _goal_id(template, "Defects"))
    )

    assert (response.status_code, response.url) == (
        302,
        _url("template_detail", org, template.pk),
    )
    assert _template_goals(template) == ["Client satisfaction"]


def test_template_goal_delete_of_a_goal_of_another_template_is_404(
    client_as: ClientAs, hr_admin: Membership, template: PlanTemplate
) -> None:
    org = hr_admin.organization
    other = PlanTemplateFactory(organization=org)
    stray = TemplateGoalFactory(organization=org, template=other, title="Stray")

    response = client_as(hr_admin).post(
        _url("template_goal_delete", org, template.pk, stray.pk)
    )

    assert response.status_code == 404
    assert _template_goals(other) == ["Stray"]


def test_template_goal_delete_of_another_organizations_template_is_404(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    foreign = PlanTemplateFactory(organization=other_org)
    goal = TemplateGoalFactory(organization=other_org, template=foreign, title="Far")

    response = client_as(hr_admin).post(
        _url("template_goal_delete", hr_admin.organization, foreign.pk, goal.pk)
    )

    assert response.status_code == 404
    assert _template_goals(foreign) == ["Far"]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_template_goal_delete_is_refused_to_managers_and_employees(
    client_as: ClientAs,
    make_member: MakeMember,
    org: Organization,
    template: PlanTemplate,
    role: str,
) -> None:
    member = make_member(org, role)

    response = client_as(member).post(
        _url("template_goal_delete", org, template.pk, _goal_id(template, "Defects"))
    )

    assert response.status_code == 403
    assert _template_goals(template) == ["Client satisfaction", "Defects"]


def test_template_goal_delete_answers_get_with_405(
    client_as: ClientAs, hr_admin: Membership, template: PlanTemplate
) -> None:
    response = client_as(hr_admin).get(
        _url(
            "template_goal_delete",
            hr_admin.organization,
            template.pk,
            _goal_id(template, "Defects"),
        )
    )

    assert response.status_code == 405
    assert _template_goals(template) == ["Client satisfaction", "Defects"]
