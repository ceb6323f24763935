"""Staffing an engagement, its roles and applying a template to it, in the browser:
who may, what bad input says, and that refused or invalid requests change nothing."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils.formats import date_format
from guardian.shortcuts import get_perms

from engagements.enums import CycleStatus, EngagementRole, PlanStatus
from engagements.models import (
    Engagement,
    Goal,
    Plan,
    PlanTemplate,
    ReviewCycle,
    RoleAssignment,
)
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization, User
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    EngagementFactory,
    PlanFactory,
    PlanTemplateFactory,
    ReviewCycleFactory,
    TemplateGoalFactory,
)
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

ClientAs = Callable[[Membership | None], Client]
MakeMember = Callable[..., Membership]


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def engagement(org: Organization) -> Engagement:
    return EngagementFactory(
        organization=org, start_date=date(2025, 3, 1), end_date=date(2025, 6, 30)
    )


@pytest.fixture
def cycle(org: Organization) -> ReviewCycle:
    return ReviewCycleFactory(
        organization=org,
        start_date=date(2025, 1, 1),
        end_date=date(2025, 12, 31),
        status=CycleStatus.PLANNING,
    )


@pytest.fixture
def foreign_engagement(other_org: Organization) -> Engagement:
    return EngagementFactory(organization=other_org)


def _url(name: str, engagement: Engagement, *extra: int) -> str:
    return reverse(
        f"engagements:{name}",
        args=[engagement.organization.slug, engagement.pk, *extra],
    )


def _detail_url(engagement: Engagement) -> str:
    return _url("engagement_detail", engagement)


def _field_error(page: str, auto_id: str) -> str | None:
    """The error shown under the field whose id is ``auto_id``, unescaped, or None."""
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="{auto_id}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def _non_field_errors(page: str) -> list[str]:
    match = re.search(
        r'<div class="alert alert-danger" role="alert"[^>]*>(.*?)</div>', page, re.S
    )
    if match is None:
        return []
    return [html.unescape(p) for p in re.findall(r"<p[^>]*>(.*?)</p>", match.group(1))]


def _flashes(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def _employee(member: Membership) -> Employee:
    with tenant_context(member.organization):
        return Employee.objects.get(user=member.user)


def _plans(engagement: Engagement) -> list[int]:
    with tenant_context(engagement.organization):
        return sorted(
            Plan.objects.filter(engagement=engagement).values_list(
                "employee_id", flat=True
            )
        )


def _roles(engagement: Engagement) -> list[tuple[int, str]]:
    with tenant_context(engagement.organization):
        return sorted(
            RoleAssignment.objects.filter(engagement=engagement).values_list(
                "employee_id", "role"
            )
        )


def _assign(engagement: Engagement, member_or_employee: Any, role: str) -> Any:
    employee = (
        _employee(member_or_employee)
        if isinstance(member_or_employee, Membership)
        else member_or_employee
    )
    with tenant_context(engagement.organization):
        return assign_role(
            actor=None, engagement=engagement, employee=employee, role=role
        )


def _perms(user_id: int, engagement: Engagement) -> set[str]:
    return set(get_perms(User.objects.get(pk=user_id), engagement))


@pytest.fixture
def planner(
    org: Organization, make_member: MakeMember, engagement: Engagement
) -> Membership:
    member = make_member(org, Role.EMPLOYEE)
    _assign(engagement, member, EngagementRole.PLANNER)
    return member


# --- the staffing page -----------------------------------------------------------------------


def test_staff_page_shows_the_default_dates_of_each_open_cycle(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
) -> None:
    org = hr_admin.organization
    later = ReviewCycleFactory(
        organization=org, start_date=date(2026, 1, 1), end_date=date(2026, 12, 31)
    )
    closed = ReviewCycleFactory(organization=org, status=CycleStatus.CLOSED)

    response = client_as(hr_admin).get(_url("engagement_staff", engagement))

    page = response.content.decode()
    window = (
        f"{date_format(date(2025, 3, 1), 'DATE_FORMAT')} to "
        f"{date_format(date(2025, 6, 30), 'DATE_FORMAT')}"
    )
    assert response.status_code == 200
    assert f"<li>{cycle.name}: {window}</li>" in page
    assert f"<li>{later.name}: does not overlap this engagement</li>" in page
    assert closed.name not in page


def test_staff_page_escapes_cycle_names_in_the_help(
    client_as: ClientAs, hr_admin: Membership, engagement: Engagement
) -> None:
    ReviewCycleFactory(organization=hr_admin.organization, name="<b>Bold</b> cycle")

    response = client_as(hr_admin).get(_url("engagement_staff", engagement))

    page = response.content.decode()
    assert "<b>Bold</b>" not in page
    assert "&lt;b&gt;Bold&lt;/b&gt; cycle" in page


def test_staff_post_creates_plans_and_says_how_many(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
) -> None:
    first = EmployeeFactory(organization=hr_admin.organization)
    second = EmployeeFactory(organization=hr_admin.organization)

    response = client_as(hr_admin).post(
        _url("engagement_staff", engagement),
        {
            "cycle": cycle.pk,
            "employees": [first.pk, second.pk],
            "allocation": "50",
            "role_title": "Analyst",
        },
    )

    assert (response.status_code, response.url) == (302, _detail_url(engagement))
    assert _plans(engagement) == sorted([first.pk, second.pk])
    assert _flashes(response) == [
        (
            "success",
            "2 people were staffed; their engagement plans are ready to write.",
        )
    ]


def test_staff_post_names_skipped_people_and_warns_about_overallocation(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
) -> None:
    org = hr_admin.organization
    staffed = EmployeeFactory(organization=org, full_name="Sam Staffed")
    busy = EmployeeFactory(organization=org, full_name="Bea Busy")
    PlanFactory(organization=org, engagement=engagement, cycle=cycle, employee=staffed)
    PlanFactory(
        organization=org,
        employee=busy,
        start_date=date(2025, 1, 1),
        end_date=date(2025, 12, 31),
        allocation=Decimal("90"),
    )

    response = client_as(hr_admin).post(
        _url("engagement_staff", engagement),
        {"cycle": cycle.pk, "employees": [staffed.pk, busy.pk], "allocation": "20"},
    )

    assert response.status_code == 302
    assert _flashes(response) == [
        (
            "success",
            "1 person was staffed; their engagement plan is ready to write. Already "
            "staffed in this cycle, so left as they were: Sam Staffed.",
        ),
        (
            "warning",
            "Bea Busy would be allocated 110 % between 2025-03-01 and 2025-06-30 "
            "across engagements (more than 100 %).",
        ),
    ]
    assert _plans(engagement) == sorted([staffed.pk, busy.pk])


def test_staff_post_with_everyone_already_staffed_says_so(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
) -> None:
    org = hr_admin.organization
    staffed = EmployeeFactory(organization=org, full_name="Sam Staffed")
    PlanFactory(organization=org, engagement=engagement, cycle=cycle, employee=staffed)

    response = client_as(hr_admin).post(
        _url("engagement_staff", engagement),
        {"cycle": cycle.pk, "employees": [staffed.pk], "allocation": "20"},
    )

    assert _flashes(response) == [
        (
            "info",
            "Nobody new was staffed. Already staffed in this cycle, so left as they "
            "were: Sam Staffed.",
        )
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"employees": []}, "employees", "This field is required."),
        (
            {"allocation": "0"},
            "allocation",
            "Ensure this value is greater than or equal to 1.",
        ),
        (
            {"allocation": "150"},
            "allocation",
            "Ensure this value is less than or equal to 100.",
        ),
        (
            {"start_date": "2025-05-01", "end_date": "2025-04-01"},
            "end_date",
            "The end cannot be before the start.",
        ),
        (
            {"start_date": "2025-02-01"},
            "start_date",
            "The dates must lie within the engagement (2025-03-01 to 2025-06-30).",
        ),
        (
            {"end_date": "2025-07-31"},
            "end_date",
            "The dates must lie within the engagement (2025-03-01 to 2025-06-30).",
        ),
        ({"cycle": ""}, "cycle", "This field is required."),
    ],
)
def test_staff_post_with_bad_input_explains_and_changes_nothing(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    overrides: dict[str, Any],
    field: str,
    message: str,
) -> None:
    person = EmployeeFactory(organization=hr_admin.organization)
    data = {"cycle": cycle.pk, "employees": [person.pk], "allocation": "50"}
    data.update(overrides)

    response = client_as(hr_admin).post(_url("engagement_staff", engagement), data)

    assert response.status_code == 400
    assert _field_error(response.content.decode(), f"id_{field}") == message
    assert _plans(engagement) == []


def test_staff_post_with_a_person_of_another_organization_changes_nothing(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    other_org: Organization,
) -> None:
    mine = EmployeeFactory(organization=hr_admin.organization)
    foreign = EmployeeFactory(organization=other_org)

    response = client_as(hr_admin).post(
        _url("engagement_staff", engagement),
        {"cycle": cycle.pk, "employees": [mine.pk, foreign.pk], "allocation": "50"},
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), "id_employees") == (
        f"Select a valid choice. {foreign.pk} is not one of the available choices."
    )
    assert _plans(engagement) == []


def test_staff_post_for_a_cycle_in_review_changes_nothing(
    client_as: ClientAs, hr_admin: Membership, engagement: Engagement
) -> None:
    review = ReviewCycleFactory(
        organization=hr_admin.organization, status=CycleStatus.REVIEW
    )
    person = EmployeeFactory(organization=hr_admin.organization)

    response = client_as(hr_admin).post(
        _url("engagement_staff", engagement),
        {"cycle": review.pk, "employees": [person.pk], "allocation": "50"},
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), "id_cycle") == (
        "Select a valid choice. That choice is not one of the available choices."
    )
    assert _plans(engagement) == []


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_page_is_refused_to_managers_and_employees(
    client_as: ClientAs,
    make_member: MakeMember,
    org: Organization,
    engagement: Engagement,
    cycle: ReviewCycle,
    role: str,
    method: str,
) -> None:
    member = make_member(org, role)
    person = EmployeeFactory(organization=org)

    response = getattr(client_as(member), method)(
        _url("engagement_staff", engagement),
        {"cycle": cycle.pk, "employees": [person.pk], "allocation": "50"},
    )

    assert response.status_code == 403
    assert _plans(engagement) == []


def test_staff_page_is_refused_to_a_planner_of_the_engagement(
    client_as: ClientAs, planner: Membership, engagement: Engagement
) -> None:
    response = client_as(planner).get(_url("engagement_staff", engagement))

    assert response.status_code == 403


@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_page_of_another_organizations_engagement_is_404(
    client_as: ClientAs,
    hr_admin: Membership,
    foreign_engagement: Engagement,
    method: str,
) -> None:
    url = reverse(
        "engagements:engagement_staff",
        args=[hr_admin.organization.slug, foreign_engagement.pk],
    )

    response = getattr(client_as(hr_admin), method)(url, {"allocation": "50"})

    assert response.status_code == 404
    assert _plans(foreign_engagement) == []


# --- assigning and revoking roles --------------------------------------------------------------


def test_role_assign_gives_the_role_and_its_permissions(
    client_as: ClientAs,
    hr_admin: Membership,
    employee_member: Membership,
    engagement: Engagement,
) -> None:
    person = _employee(employee_member)

    response = client_as(hr_admin).post(
        _url("engagement_role_assign", engagement),
        {"employee": person.pk, "role": EngagementRole.REVIEWER},
    )

    assert (response.status_code, response.url) == (302, _detail_url(engagement))
    assert _roles(engagement) == [(person.pk, EngagementRole.REVIEWER)]
    assert _perms(employee_member.user_id, engagement) == {
        "review_engagement",
        "view_engagement",
    }
    assert _flashes(response) == [
        ("success", f"{person.full_name} is reviewer on this engagement.")
    ]


def test_role_assign_through_htmx_returns_the_actions_block(
    client_as: ClientAs,
    hr_admin: Membership,
    employee_member: Membership,
    engagement: Engagement,
) -> None:
    person = _employee(employee_member)

    response = client_as(hr_admin).post(
        _url("engagement_role_assign", engagement),
        {"employee": person.pk, "role": EngagementRole.PLANNER},
        HTTP_HX_REQUEST="true",
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="engagement-actions"')
    assert f"{person.full_name} is planner on this engagement." in page
    assert _url("engagement_role_revoke", engagement, _role_id(engagement)) in page
    assert _roles(engagement) == [(person.pk, EngagementRole.PLANNER)]


def _role_id(engagement: Engagement) -> int:
    with tenant_context(engagement.organization):
        return RoleAssignment.objects.get(engagement=engagement).pk


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"role": EngagementRole.PLANNER}, "employee", "This field is required."),
        (
            {"employee": "PERSON", "role": "owner"},
            "role",
            "Select a valid choice. owner is not one of the available choices.",
        ),
        ({"employee": "PERSON"}, "role", "This field is required."),
    ],
)
def test_role_assign_with_bad_input_explains_and_changes_nothing(
    client_as: ClientAs,
    hr_admin: Membership,
    employee_member: Membership,
    engagement: Engagement,
    data: dict[str, Any],
    field: str,
    message: str,
) -> None:
    person = _employee(employee_member)
    data = {k: (person.pk if v == "PERSON" else v) for k, v in data.items()}

    response = client_as(hr_admin).post(
        _url("engagement_role_assign", engagement), data
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, f"id_role_{field}") == message
    assert "Nobody reviews or approves their own plan." in page
    assert _roles(engagement) == []


@pytest.mark.parametrize("whose", ["other_org", "inactive"])
def test_role_assign_refuses_people_not_on_the_list(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    other_org: Organization,
    whose: str,
) -> None:
    person = (
        EmployeeFactory(organization=other_org)
        if whose == "other_org"
        else EmployeeFactory(organization=hr_admin.organization, is_active=False)
    )

    response = client_as(hr_admin).post(
        _url("engagement_role_assign", engagement),
        {"employee": person.pk, "role": EngagementRole.PLANNER},
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), "id_role_employee") == (
        "Select a valid choice. That choice is not one of the available choices."
    )
    assert _roles(engagement) == []


def test_role_assign_with_bad_input_through_htmx_shows_the_error_in_place(
    client_as: ClientAs, hr_admin: Membership, engagement: Engagement
) -> None:
    response = client_as(hr_admin).post(
        _url("engagement_role_assign", engagement),
        {"role": EngagementRole.PLANNER},
        HTTP_HX_REQUEST="true",
    )

    page = response.content.decode()
    assert page.lstrip().startswith('<div id="engagement-actions"')
    assert _field_error(page, "id_role_employee") == "This field is required."
    assert _roles(engagement) == []


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_role_assign_is_refused_to_managers_and_employees(
    client_as: ClientAs,
    make_member: MakeMember,
    org: Organization,
    engagement: Engagement,
    role: str,
) -> None:
    member = make_member(org, role)

    response = client_as(member).post(
        _url("engagement_role_assign", engagement),
        {"employee": _employee(member).pk, "role": EngagementRole.PLANNER},
    )

    assert response.status_code == 403
    assert _roles(engagement) == []


def test_role_assign_is_refused_to_a_planner_of_the_engagement(
    client_as: ClientAs, planner: Membership, engagement: Engagement
) -> None:
    response = client_as(planner).post(
        _url("engagement_role_assign", engagement),
        {"employee": _employee(planner).pk, "role": EngagementRole.APPROVER},
    )

    assert response.status_code == 403
    assert _roles(engagement) == [(_employee(planner).pk, EngagementRole.PLANNER)]


def test_role_assign_on_another_organizations_engagement_is_404(
    client_as: ClientAs,
    hr_admin: Membership,
    foreign_engagement: Engagement,
) -> None:
    url = reverse(
        "engagements:engagement_role_assign",
        args=[hr_admin.organization.slug, foreign_engagement.pk],
    )

    response = client_as(hr_admin).post(
        url, {"employee": _employee(hr_admin).pk, "role": EngagementRole.PLANNER}
    )

    assert response.status_code == 404
    assert _roles(foreign_engagement) == []


def test_role_assign_answers_get_with_405(
    client_as: ClientAs, hr_admin: Membership, engagement: Engagement
) -> None:
    response = client_as(hr_admin).get(_url("engagement_role_assign", engagement))

    assert response.status_code == 405


def test_role_revoke_removes_the_role_and_its_permissions(
    client_as: ClientAs,
    hr_admin: Membership,
    employee_member: Membership,
    engagement: Engagement,
) -> None:
    assignment = _assign(engagement, employee_member, EngagementRole.REVIEWER)

    response = client_as(hr_admin).post(
        _url("engagement_role_revoke", engagement, assignment.pk)
    )

    assert (response.status_code, response.url) == (302, _detail_url(engagement))
    assert _roles(engagement) == []
    assert _perms(employee_member.user_id, engagement) == set()


def test_role_revoke_through_htmx_returns_the_actions_block(
    client_as: ClientAs,
    hr_admin: Membership,
    employee_member: Membership,
    engagement: Engagement,
) -> None:
    assignment = _assign(engagement, employee_member, EngagementRole.REVIEWER)

    response = client_as(hr_admin).post(
        _url("engagement_role_revoke", engagement, assignment.pk),
        HTTP_HX_REQUEST="true",
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="engagement-actions"')
    assert "Nobody holds a role here yet." in page
    assert _roles(engagement) == []


def test_role_revoke_of_an_assignment_on_another_engagement_is_404(
    client_as: ClientAs,
    hr_admin: Membership,
    employee_member: Membership,
    engagement: Engagement,
) -> None:
    elsewhere = EngagementFactory(organization=hr_admin.organization)
    assignment = _assign(elsewhere, employee_member, EngagementRole.REVIEWER)

    response = client_as(hr_admin).post(
        _url("engagement_role_revoke", engagement, assignment.pk)
    )

    assert response.status_code == 404
    assert _roles(elsewhere) == [
        (_employee(employee_member).pk, EngagementRole.REVIEWER)
    ]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_role_revoke_is_refused_to_managers_and_employees(
    client_as: ClientAs,
    make_member: MakeMember,
    org: Organization,
    employee_member: Membership,
    engagement: Engagement,
    role: str,
) -> None:
    assignment = _assign(engagement, employee_member, EngagementRole.REVIEWER)
    member = make_member(org, role)

    response = client_as(member).post(
        _url("engagement_role_revoke", engagement, assignment.pk)
    )

    assert response.status_code == 403
    assert len(_roles(engagement)) == 1


def test_role_revoke_on_another_organizations_engagement_is_404(
    client_as: ClientAs,
    hr_admin: Membership,
    foreign_engagement: Engagement,
    other_org: Organization,
) -> None:
    assignment = _assign(
        foreign_engagement,
        EmployeeFactory(organization=other_org),
        EngagementRole.PLANNER,
    )
    url = reverse(
        "engagements:engagement_role_revoke",
        args=[hr_admin.organization.slug, foreign_engagement.pk, assignment.pk],
    )

    response = client_as(hr_admin).post(url)

    assert response.status_code == 404
    assert len(_roles(foreign_engagement)) == 1


# --- applying a template to the engagement ---------------------------------------------------


@pytest.fixture
def template(org: Organization) -> PlanTemplate:
    template = PlanTemplateFactory(organization=org, name="Delivery")
    TemplateGoalFactory(organization=org, template=template, weight=Decimal("60"))
    TemplateGoalFactory(organization=org, template=template, weight=Decimal("40"))
    return template


def _goal_count(engagement: Engagement) -> int:
    with tenant_context(engagement.organization):
        return Goal.objects.filter(plan__engagement=engagement).count()


def test_apply_template_copies_goals_onto_every_plan(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    template: PlanTemplate,
) -> None:
    for _ in range(2):
        PlanFactory(
            organization=hr_admin.organization, engagement=engagement, cycle=cycle
        )

    response = client_as(hr_admin).post(
        _url("engagement_apply_template", engagement), {"template": template.pk}
    )

    assert (response.status_code, response.url) == (302, _detail_url(engagement))
    assert _goal_count(engagement) == 4
    assert _flashes(response) == [
        ("success", "Delivery was applied to 2 plans (4 goals added).")
    ]


def test_apply_template_is_allowed_to_a_planner_of_the_engagement(
    client_as: ClientAs,
    planner: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    template: PlanTemplate,
) -> None:
    PlanFactory(organization=planner.organization, engagement=engagement, cycle=cycle)

    response = client_as(planner).post(
        _url("engagement_apply_template", engagement),
        {"template": template.pk, "cycle": cycle.pk},
    )

    assert response.status_code == 302
    assert _goal_count(engagement) == 2


def test_apply_template_is_refused_to_a_staffed_employee_who_is_not_a_planner(
    client_as: ClientAs,
    employee_member: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    template: PlanTemplate,
) -> None:
    PlanFactory(
        organization=employee_member.organization,
        engagement=engagement,
        cycle=cycle,
        employee=_employee(employee_member),
    )

    response = client_as(employee_member).post(
        _url("engagement_apply_template", engagement), {"template": template.pk}
    )

    assert response.status_code == 403
    assert _goal_count(engagement) == 0


def test_apply_template_is_refused_to_a_reviewer_of_the_engagement(
    client_as: ClientAs,
    employee_member: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    template: PlanTemplate,
) -> None:
    _assign(engagement, employee_member, EngagementRole.REVIEWER)
    PlanFactory(
        organization=employee_member.organization, engagement=engagement, cycle=cycle
    )

    response = client_as(employee_member).post(
        _url("engagement_apply_template", engagement), {"template": template.pk}
    )

    assert response.status_code == 403
    assert _goal_count(engagement) == 0


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_apply_template_on_an_engagement_out_of_sight_is_404(
    client_as: ClientAs,
    make_member: MakeMember,
    org: Organization,
    engagement: Engagement,
    cycle: ReviewCycle,
    template: PlanTemplate,
    role: str,
) -> None:
    member = make_member(org, role)
    PlanFactory(organization=org, engagement=engagement, cycle=cycle)

    response = client_as(member).post(
        _url("engagement_apply_template", engagement), {"template": template.pk}
    )

    assert response.status_code == 404
    assert _goal_count(engagement) == 0


def test_apply_template_to_another_organizations_engagement_is_404(
    client_as: ClientAs,
    hr_admin: Membership,
    foreign_engagement: Engagement,
    template: PlanTemplate,
) -> None:
    url = reverse(
        "engagements:engagement_apply_template",
        args=[hr_admin.organization.slug, foreign_engagement.pk],
    )

    response = client_as(hr_admin).post(url, {"template": template.pk})

    assert response.status_code == 404


def test_apply_template_answers_get_with_405(
    client_as: ClientAs, hr_admin: Membership, engagement: Engagement
) -> None:
    response = client_as(hr_admin).get(_url("engagement_apply_template", engagement))

    assert response.status_code == 405


@pytest.mark.parametrize("template_value", ["", "FOREIGN", "999999"])
def test_apply_template_without_a_valid_template_explains_and_changes_nothing(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    other_org: Organization,
    template_value: str,
) -> None:
    PlanFactory(organization=hr_admin.organization, engagement=engagement, cycle=cycle)
    if template_value == "FOREIGN":
        foreign = PlanTemplateFactory(organization=other_org)
        TemplateGoalFactory(organization=other_org, template=foreign)
        template_value = str(foreign.pk)

    response = client_as(hr_admin).post(
        _url("engagement_apply_template", engagement), {"template": template_value}
    )

    expected = (
        "This field is required."
        if template_value == ""
        else "Select a valid choice. That choice is not one of the available choices."
    )
    assert response.status_code == 400
    assert _field_error(response.content.decode(), "id_apply_template") == expected
    assert _goal_count(engagement) == 0


def test_apply_template_is_all_or_nothing_when_the_cycle_is_locked(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    template: PlanTemplate,
) -> None:
    org = hr_admin.organization
    review = ReviewCycleFactory(organization=org, status=CycleStatus.REVIEW)
    PlanFactory(organization=org, engagement=engagement, cycle=review)
    PlanFactory(
        organization=org,
        engagement=engagement,
        cycle=review,
        status=PlanStatus.LOCKED,
    )

    response = client_as(hr_admin).post(
        _url("engagement_apply_template", engagement),
        {"template": template.pk, "cycle": review.pk},
    )

    assert response.status_code == 400
    assert _non_field_errors(response.content.decode()) == [
        "2 of these plans are locked; nothing was applied."
    ]
    assert _goal_count(engagement) == 0


def test_apply_template_without_staffed_plans_says_to_staff_first(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    template: PlanTemplate,
) -> None:
    response = client_as(hr_admin).post(
        _url("engagement_apply_template", engagement), {"template": template.pk}
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), "id_apply_cycle") == (
        "Nobody is staffed on this engagement in an open cycle. Staff people first."
    )


# --- the actions block on the engagement page ----------------------------------------------


def test_engagement_page_shows_hr_admins_every_action(
    client_as: ClientAs,
    hr_admin: Membership,
    employee_member: Membership,
    engagement: Engagement,
) -> None:
    assignment = _assign(engagement, employee_member, EngagementRole.REVIEWER)

    page = client_as(hr_admin).get(_detail_url(engagement)).content.decode()

    assert _url("engagement_staff", engagement) in page
    assert _url("engagement_apply_template", engagement) in page
    assert _url("engagement_role_assign", engagement) in page
    assert _url("engagement_role_revoke", engagement, assignment.pk) in page
    assert "Nobody reviews or approves their own plan." in page


def test_engagement_page_shows_a_planner_only_the_template_action(
    client_as: ClientAs, planner: Membership, engagement: Engagement
) -> None:
    page = client_as(planner).get(_detail_url(engagement)).content.decode()

    assert _url("engagement_apply_template", engagement) in page
    assert _url("engagement_staff", engagement) not in page
    assert _url("engagement_role_assign", engagement) not in page


def test_engagement_page_shows_a_reviewer_no_actions(
    client_as: ClientAs, employee_member: Membership, engagement: Engagement
) -> None:
    _assign(engagement, employee_member, EngagementRole.REVIEWER)

    page = client_as(employee_member).get(_detail_url(engagement)).content.decode()

    assert _url("engagement_apply_template", engagement) not in page
    assert _url("engagement_staff", engagement) not in page
    assert _url("engagement_role_assign", engagement) not in page
