"""Engagement roles: assigning and revoking grant and remove guardian permissions,
role rules, permissions for a newly linked login, and segregation of duties."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import IntegrityError
from guardian.shortcuts import get_perms

from engagements.enums import (
    AssignmentSource,
    CycleStatus,
    EngagementRole,
)
from engagements.models import Engagement, Plan, RoleAssignment, RoleRule
from engagements.services.plans import update_plan
from engagements.services.roles import (
    assign_role,
    create_role_rule,
    delete_role_rule,
    revoke_role,
)
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization, User
from organizations.services import accept_invitation
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    EngagementFactory,
    PlanFactory,
    ReviewCycleFactory,
    RoleRuleFactory,
)
from tests.factories import (
    EmployeeFactory,
    InvitationFactory,
    JobTitleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

REVIEWER_PERMS = {"review_engagement", "view_engagement"}


@pytest.fixture
def engagement(org: Organization) -> Engagement:
    return EngagementFactory(organization=org)


def _employee(member: Membership) -> Employee:
    with tenant_context(member.organization):
        return Employee.objects.get(user=member.user)


def _perms(user_id: int, engagement: Engagement) -> set[str]:
    # A fresh user object from the database: no permission cache survives.
    return set(get_perms(User.objects.get(pk=user_id), engagement))


def _assign(
    actor: Membership, engagement: Engagement, employee: Employee, role: str
) -> RoleAssignment:
    with tenant_context(actor.organization):
        return assign_role(
            actor=actor, engagement=engagement, employee=employee, role=role
        )


def _revoke(actor: Membership, assignment: RoleAssignment) -> None:
    with tenant_context(actor.organization):
        revoke_role(actor=actor, assignment=assignment)


def _assignments(engagement: Engagement) -> list[tuple[int, str, str]]:
    with tenant_context(engagement.organization):
        return list(
            RoleAssignment.objects.filter(engagement=engagement)
            .order_by("employee_id", "role")
            .values_list("employee_id", "role", "source")
        )


# --- assign_role -----------------------------------------------------------------------


def test_assign_role_grants_the_role_permission_and_view(
    hr_admin: Membership, employee_member: Membership, engagement: Engagement
) -> None:
    person = _employee(employee_member)
    assert _perms(employee_member.user_id, engagement) == set()

    _assign(hr_admin, engagement, person, EngagementRole.REVIEWER)

    assert _perms(employee_member.user_id, engagement) == REVIEWER_PERMS
    assert _assignments(engagement) == [
        (person.pk, EngagementRole.REVIEWER, AssignmentSource.MANUAL)
    ]


@pytest.mark.parametrize(
    ("role", "perm"),
    [
        (EngagementRole.PLANNER, "plan_engagement"),
        (EngagementRole.REVIEWER, "review_engagement"),
        (EngagementRole.APPROVER, "approve_engagement"),
        (EngagementRole.CONTRIBUTOR, "contribute_engagement"),
    ],
)
def test_assign_role_grants_the_permission_of_each_role(
    hr_admin: Membership,
    employee_member: Membership,
    engagement: Engagement,
    role: str,
    perm: str,
) -> None:
    _assign(hr_admin, engagement, _employee(employee_member), role)

    assert _perms(employee_member.user_id, engagement) == {perm, "view_engagement"}


def test_assign_role_grants_nothing_on_other_engagements(
    hr_admin: Membership, employee_member: Membership, engagement: Engagement
) -> None:
    elsewhere = EngagementFactory(organization=hr_admin.organization)

    _assign(hr_admin, engagement, _employee(employee_member), EngagementRole.PLANNER)

    assert _perms(employee_member.user_id, elsewhere) == set()


def test_assign_role_twice_keeps_one_assignment(
    hr_admin: Membership, employee_member: Membership, engagement: Engagement
) -> None:
    person = _employee(employee_member)
    first = _assign(hr_admin, engagement, person, EngagementRole.PLANNER)

    second = _assign(hr_admin, engagement, person, EngagementRole.PLANNER)

    assert second.pk == first.pk
    assert len(_assignments(engagement)) == 1


def test_assign_role_refuses_an_inactive_person(
    hr_admin: Membership, engagement: Engagement
) -> None:
    person = EmployeeFactory(organization=hr_admin.organization, is_active=False)

    with pytest.raises(DomainError) as caught:
        _assign(hr_admin, engagement, person, EngagementRole.PLANNER)

    assert caught.value.field == "employee"
    assert _assignments(engagement) == []


def test_assign_role_refuses_an_unknown_role(
    hr_admin: Membership, employee_member: Membership, engagement: Engagement
) -> None:
    with pytest.raises(DomainError) as caught:
        _assign(hr_admin, engagement, _employee(employee_member), "owner")

    assert caught.value.field == "role"
    assert _assignments(engagement) == []


def test_assign_role_to_a_person_without_login_records_the_role(
    hr_admin: Membership, engagement: Engagement
) -> None:
    person = EmployeeFactory(organization=hr_admin.organization)

    _assign(hr_admin, engagement, person, EngagementRole.APPROVER)

    assert _assignments(engagement) == [
        (person.pk, EngagementRole.APPROVER, AssignmentSource.MANUAL)
    ]


def test_assign_role_lets_a_staffed_person_review_the_engagement(
    hr_admin: Membership, employee_member: Membership, engagement: Engagement
) -> None:
    person = _employee(employee_member)
    PlanFactory(
        organization=hr_admin.organization, engagement=engagement, employee=person
    )

    _assign(hr_admin, engagement, person, EngagementRole.REVIEWER)

    assert _perms(employee_member.user_id, engagement) == REVIEWER_PERMS


def test_assign_and_revoke_role_are_recorded_in_history(
    hr_admin: Membership, employee_member: Membership, engagement: Engagement
) -> None:
    assignment = _assign(
        hr_admin, engagement, _employee(employee_member), EngagementRole.PLANNER
    )
    assignment_id = assignment.pk

    _revoke(hr_admin, assignment)

    with tenant_context(hr_admin.organization):
        kinds = list(
            RoleAssignment.history.filter(id=assignment_id)
            .order_by("history_date")
            .values_list("history_type", "role")
        )
    assert kinds == [("+", EngagementRole.PLANNER), ("-", EngagementRole.PLANNER)]


# --- revoke_role -----------------------------------------------------------------------


def test_revoke_role_removes_its_permissions(
    hr_admin: Membership, employee_member: Membership, engagement: Engagement
) -> None:
    assignment = _assign(
        hr_admin, engagement, _employee(employee_member), EngagementRole.REVIEWER
    )
    assert _perms(employee_member.user_id, engagement) == REVIEWER_PERMS

    _revoke(hr_admin, assignment)

    assert _perms(employee_member.user_id, engagement) == set()
    assert _assignments(engagement) == []


def test_revoke_one_of_two_roles_keeps_view_engagement(
    hr_admin: Membership, employee_member: Membership, engagement: Engagement
) -> None:
    person = _employee(employee_member)
    _assign(hr_admin, engagement, person, EngagementRole.PLANNER)
    reviewer = _assign(hr_admin, engagement, person, EngagementRole.REVIEWER)

    _revoke(hr_admin, reviewer)

    assert _perms(employee_member.user_id, engagement) == {
        "plan_engagement",
        "view_engagement",
    }


def test_revoke_role_leaves_other_people_alone(
    hr_admin: Membership,
    employee_member: Membership,
    make_member: Any,
    engagement: Engagement,
) -> None:
    colleague = make_member(hr_admin.organization, Role.EMPLOYEE)
    mine = _assign(
        hr_admin, engagement, _employee(employee_member), EngagementRole.PLANNER
    )
    _assign(hr_admin, engagement, _employee(colleague), EngagementRole.PLANNER)

    _revoke(hr_admin, mine)

    assert _perms(colleague.user_id, engagement) == {
        "plan_engagement",
        "view_engagement",
    }


# --- role rules --------------------------------------------------------------------------


def _create_rule(actor: Membership, job_title: Any, role: str) -> RoleRule:
    with tenant_context(actor.organization):
        return create_role_rule(actor=actor, job_title=job_title, role=role)


def test_create_role_rule_applies_to_people_already_staffed(
    hr_admin: Membership, make_member: Any
) -> None:
    org = hr_admin.organization
    title = JobTitleFactory(organization=org, name="Engagement Manager")
    open_cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    closed_cycle = ReviewCycleFactory(organization=org, status=CycleStatus.CLOSED)
    lead = make_member(org, employee__job_title=title)
    first, second, past = (EngagementFactory(organization=org) for _ in range(3))
    PlanFactory(
        organization=org, cycle=open_cycle, engagement=first, employee=_employee(lead)
    )
    PlanFactory(
        organization=org, cycle=open_cycle, engagement=second, employee=_employee(lead)
    )
    PlanFactory(
        organization=org, cycle=closed_cycle, engagement=past, employee=_employee(lead)
    )
    analyst = EmployeeFactory(organization=org)
    PlanFactory(organization=org, cycle=open_cycle, engagement=first, employee=analyst)

    _create_rule(hr_admin, title, EngagementRole.REVIEWER)

    rule_role = (_employee(lead).pk, EngagementRole.REVIEWER, AssignmentSource.RULE)
    assert _assignments(first) == [rule_role]
    assert _assignments(second) == [rule_role]
    assert _assignments(past) == []
    assert _perms(lead.user_id, first) == REVIEWER_PERMS
    assert _perms(lead.user_id, second) == REVIEWER_PERMS
    assert _perms(lead.user_id, past) == set()


def test_create_role_rule_keeps_a_role_already_held_by_hand(
    hr_admin: Membership, make_member: Any, engagement: Engagement
) -> None:
    org = hr_admin.organization
    title = JobTitleFactory(organization=org)
    lead = make_member(org, employee__job_title=title)
    PlanFactory(organization=org, engagement=engagement, employee=_employee(lead))
    _assign(hr_admin, engagement, _employee(lead), EngagementRole.REVIEWER)

    _create_rule(hr_admin, title, EngagementRole.REVIEWER)

    assert _assignments(engagement) == [
        (_employee(lead).pk, EngagementRole.REVIEWER, AssignmentSource.MANUAL)
    ]


def test_create_role_rule_refuses_a_duplicate(hr_admin: Membership) -> None:
    org = hr_admin.organization
    title = JobTitleFactory(organization=org)
    RoleRuleFactory(organization=org, job_title=title, role=EngagementRole.PLANNER)

    with pytest.raises(DomainError) as caught:
        _create_rule(hr_admin, title, EngagementRole.PLANNER)

    assert (caught.value.field, caught.value.message) == (
        "role",
        "This rule exists already.",
    )
    with tenant_context(org):
        assert RoleRule.objects.count() == 1


def test_delete_role_rule_keeps_the_roles_it_gave(
    hr_admin: Membership, make_member: Any, engagement: Engagement
) -> None:
    org = hr_admin.organization
    title = JobTitleFactory(organization=org)
    lead = make_member(org, employee__job_title=title)
    PlanFactory(organization=org, engagement=engagement, employee=_employee(lead))
    rule = _create_rule(hr_admin, title, EngagementRole.PLANNER)

    with tenant_context(org):
        delete_role_rule(actor=hr_admin, rule=rule)

    with tenant_context(org):
        assert RoleRule.objects.count() == 0
    assert _perms(lead.user_id, engagement) == {"plan_engagement", "view_engagement"}


# --- a login linked later ------------------------------------------------------------------


def test_accepting_an_invitation_grants_the_roles_already_held(
    hr_admin: Membership, engagement: Engagement
) -> None:
    org = hr_admin.organization
    person = EmployeeFactory(organization=org, email="late.joiner@example.test")
    _assign(hr_admin, engagement, person, EngagementRole.PLANNER)
    invitation = InvitationFactory(
        organization=org, email=person.email, employee=person, role=Role.EMPLOYEE
    )

    membership = accept_invitation(
        organization=org,
        invitation_id=invitation.pk,
        full_name="Late Joiner",
        password="a-long-enough-password",
    )

    assert _perms(membership.user_id, engagement) == {
        "plan_engagement",
        "view_engagement",
    }


def test_an_existing_account_accepting_an_invitation_gets_the_roles(
    hr_admin: Membership, engagement: Engagement
) -> None:
    org = hr_admin.organization
    user = UserFactory(email="returning@example.test")
    person = EmployeeFactory(organization=org, email=user.email)
    _assign(hr_admin, engagement, person, EngagementRole.REVIEWER)
    invitation = InvitationFactory(organization=org, email=user.email, employee=person)

    accept_invitation(organization=org, invitation_id=invitation.pk, user=user)

    assert _perms(user.pk, engagement) == REVIEWER_PERMS


# --- segregation of duties --------------------------------------------------------------------


def _plan_of(member: Membership, engagement: Engagement) -> Plan:
    return PlanFactory(
        organization=member.organization,
        engagement=engagement,
        employee=_employee(member),
        start_date=date(2025, 1, 1),
        end_date=date(2025, 12, 31),
    )


@pytest.mark.parametrize("field", ["reviewer", "approver"])
def test_update_plan_refuses_the_employee_as_their_own_reviewer_or_approver(
    hr_admin: Membership,
    employee_member: Membership,
    engagement: Engagement,
    field: str,
) -> None:
    plan = _plan_of(employee_member, engagement)

    with tenant_context(hr_admin.organization), pytest.raises(DomainError) as caught:
        update_plan(
            actor=hr_admin,
            plan=plan,
            version=plan.version,
            **{field: _employee(employee_member)},
        )

    assert caught.value.field == field
    assert caught.value.message == (
        "Nobody can review or approve their own plan: an independent view keeps the "
        "evaluation fair. Choose someone else."
    )
    with tenant_context(hr_admin.organization):
        stored = Plan.objects.values_list("reviewer_id", "approver_id").get(pk=plan.pk)
    assert stored == (None, None)


@pytest.mark.parametrize("field", ["reviewer", "approver"])
def test_update_plan_accepts_someone_else_as_reviewer_or_approver(
    hr_admin: Membership,
    employee_member: Membership,
    engagement: Engagement,
    field: str,
) -> None:
    plan = _plan_of(employee_member, engagement)
    other = _employee(hr_admin)

    with tenant_context(hr_admin.organization):
        update_plan(actor=hr_admin, plan=plan, version=plan.version, **{field: other})

    with tenant_context(hr_admin.organization):
        stored = Plan.objects.values_list(f"{field}_id", flat=True).get(pk=plan.pk)
    assert stored == other.pk


@pytest.mark.parametrize("field", ["reviewer_id", "approver_id"])
def test_the_database_refuses_a_plan_reviewed_or_approved_by_its_employee(
    employee_member: Membership, engagement: Engagement, field: str
) -> None:
    plan = _plan_of(employee_member, engagement)

    with (
        pytest.raises(IntegrityError),
        tenant_context(employee_member.organization),
    ):
        Plan.objects.filter(pk=plan.pk).update(**{field: plan.employee_id})
