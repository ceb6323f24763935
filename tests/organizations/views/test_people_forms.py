"""Adding, editing and deactivating people: what is saved, what is refused beside
the field, roles, and who may do it."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from organizations.enums import Role
from organizations.models import Employee, Membership
from organizations.tenancy import tenant_context
from tests.factories import BusinessUnitFactory, EmployeeFactory, JobTitleFactory
from tests.organizations.views.helpers import (
    create_url,
    edit_url,
    employee_of,
    field_error,
    form_data,
    marked_invalid,
    new_person_data,
    people_count,
    stored_person,
)

pytestmark = pytest.mark.django_db

INVALID_CHOICE = (
    "Select a valid choice. That choice is not one of the available choices."
)


# --- create --------------------------------------------------------------------------


def test_employee_create_adds_a_person(client_as, hr_admin, org):
    title = JobTitleFactory(organization=org)
    unit = BusinessUnitFactory(organization=org)
    boss = EmployeeFactory(organization=org)

    response = client_as(hr_admin).post(
        create_url(org),
        new_person_data(
            org, job_title=title.pk, business_unit=unit.pk, line_manager=boss.pk
        ),
    )

    with tenant_context(org):
        created = Employee.objects.get(code="NEW1")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "organizations:employee_detail", args=[org.slug, created.pk]
    )
    assert (
        created.job_title_id,
        created.business_unit_id,
        created.line_manager_id,
    ) == (title.pk, unit.pk, boss.pk)


def test_employee_create_refuses_a_duplicate_code(client_as, hr_admin, org):
    EmployeeFactory(organization=org, code="DUP1")
    before = people_count(org)

    response = client_as(hr_admin).post(
        create_url(org), new_person_data(org, code="dup1")
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert field_error(page, "code") == (
        "Another person already has the code dup1. Codes must be unique."
    )
    assert marked_invalid(page, "code") is True
    assert people_count(org) == before


def test_employee_create_accepts_a_code_used_in_another_organization(
    client_as, hr_admin, org, other_org
):
    EmployeeFactory(organization=other_org, code="SHARED")

    response = client_as(hr_admin).post(
        create_url(org), new_person_data(org, code="SHARED")
    )

    with tenant_context(org):
        codes = list(Employee.objects.filter(code="SHARED").values_list("code"))
    assert response.status_code == 302
    assert codes == [("SHARED",)]


@pytest.mark.parametrize("field", ["job_title", "business_unit", "line_manager"])
def test_employee_create_refuses_a_reference_to_another_organization(
    client_as, hr_admin, org, other_org, field
):
    foreign = EmployeeFactory(organization=other_org)
    foreign_ids = {
        "job_title": foreign.job_title_id,
        "business_unit": foreign.business_unit_id,
        "line_manager": foreign.pk,
    }
    before = people_count(org)

    response = client_as(hr_admin).post(
        create_url(org), new_person_data(org, **{field: foreign_ids[field]})
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert field_error(page, field) == INVALID_CHOICE
    assert marked_invalid(page, field) is True
    assert people_count(org) == before


def test_employee_create_refuses_an_inactive_line_manager(client_as, hr_admin, org):
    gone = EmployeeFactory(organization=org, is_active=False)

    response = client_as(hr_admin).post(
        create_url(org), new_person_data(org, line_manager=gone.pk)
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), "line_manager") == INVALID_CHOICE


def test_employee_create_by_a_non_hr_member_is_forbidden(
    client_as, employee_member, org
):
    before = people_count(org)

    response = client_as(employee_member).post(create_url(org), new_person_data(org))

    assert response.status_code == 403
    assert people_count(org) == before


# --- edit ----------------------------------------------------------------------------


def test_employee_edit_saves_valid_changes(client_as, hr_admin, org):
    person = EmployeeFactory(organization=org)
    boss = EmployeeFactory(organization=org)
    title = JobTitleFactory(organization=org)

    response = client_as(hr_admin).post(
        edit_url(org, person),
        form_data(
            person, full_name="Edited Name", line_manager=boss.pk, job_title=title.pk
        ),
    )

    stored = stored_person(org, person)
    assert response.status_code == 302
    assert (stored["full_name"], stored["line_manager_id"], stored["job_title_id"]) == (
        "Edited Name",
        boss.pk,
        title.pk,
    )


def test_employee_edit_keeps_its_own_code(client_as, hr_admin, org):
    person = EmployeeFactory(organization=org, code="KEEP1")

    response = client_as(hr_admin).post(
        edit_url(org, person), form_data(person, full_name="Same Code")
    )

    assert response.status_code == 302
    assert stored_person(org, person)["code"] == "KEEP1"


def test_employee_edit_refuses_another_persons_code(client_as, hr_admin, org):
    EmployeeFactory(organization=org, code="TAKEN")
    person = EmployeeFactory(organization=org)
    before = stored_person(org, person)

    response = client_as(hr_admin).post(
        edit_url(org, person), form_data(person, code="TAKEN", full_name="Changed")
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert field_error(page, "code") == (
        "Another person already has the code TAKEN. Codes must be unique."
    )
    assert marked_invalid(page, "code") is True
    assert stored_person(org, person) == before


def test_employee_edit_refuses_the_person_as_their_own_line_manager(
    client_as, hr_admin, org
):
    person = EmployeeFactory(organization=org)
    before = stored_person(org, person)

    response = client_as(hr_admin).post(
        edit_url(org, person), form_data(person, line_manager=person.pk)
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert field_error(page, "line_manager") == INVALID_CHOICE
    assert marked_invalid(page, "line_manager") is True
    assert stored_person(org, person) == before


@pytest.mark.parametrize("depth", [2, 4])
def test_employee_edit_refuses_a_line_manager_cycle(client_as, hr_admin, org, depth):
    chain = [EmployeeFactory(organization=org, full_name="Chain 0")]
    for index in range(1, depth):
        chain.append(
            EmployeeFactory(
                organization=org, full_name=f"Chain {index}", line_manager=chain[-1]
            )
        )
    top, bottom = chain[0], chain[-1]
    before = stored_person(org, top)

    response = client_as(hr_admin).post(
        edit_url(org, top),
        form_data(top, full_name="Changed", line_manager=bottom.pk),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert field_error(page, "line_manager") == (
        f"Chain {depth - 1} reports to Chain 0, directly or through others; "
        "choosing them would make a loop. Pick someone outside Chain 0's "
        "reporting line."
    )
    assert marked_invalid(page, "line_manager") is True
    assert stored_person(org, top) == before


def test_employee_edit_accepts_a_manager_from_a_sibling_branch(
    client_as, hr_admin, org
):
    top = EmployeeFactory(organization=org)
    left = EmployeeFactory(organization=org, line_manager=top)
    right = EmployeeFactory(organization=org, line_manager=top)

    response = client_as(hr_admin).post(
        edit_url(org, left), form_data(left, line_manager=right.pk)
    )

    assert response.status_code == 302
    assert stored_person(org, left)["line_manager_id"] == right.pk


@pytest.mark.parametrize("field", ["job_title", "business_unit", "line_manager"])
def test_employee_edit_refuses_a_reference_to_another_organization(
    client_as, hr_admin, org, other_org, field
):
    person = EmployeeFactory(organization=org)
    foreign = EmployeeFactory(organization=other_org)
    foreign_ids = {
        "job_title": foreign.job_title_id,
        "business_unit": foreign.business_unit_id,
        "line_manager": foreign.pk,
    }
    before = stored_person(org, person)

    response = client_as(hr_admin).post(
        edit_url(org, person), form_data(person, **{field: foreign_ids[field]})
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert field_error(page, field) == INVALID_CHOICE
    assert marked_invalid(page, field) is True
    assert stored_person(org, person) == before


def test_employee_edit_of_another_organizations_person_is_404(
    client_as, hr_admin, org, other_org
):
    foreign = EmployeeFactory(organization=other_org)
    before = stored_person(other_org, foreign)

    response = client_as(hr_admin).post(
        edit_url(org, foreign), form_data(foreign, full_name="Hijacked")
    )

    assert response.status_code == 404
    assert stored_person(other_org, foreign) == before


def test_employee_edit_changes_the_members_role(
    client_as, hr_admin, employee_member, org
):
    person = employee_of(employee_member)

    response = client_as(hr_admin).post(
        edit_url(org, person), form_data(person, role=Role.MANAGER)
    )

    with tenant_context(org):
        role = Membership.objects.get(pk=employee_member.pk).role
    assert response.status_code == 302
    assert role == Role.MANAGER


def test_employee_edit_shows_the_current_role(client_as, hr_admin, manager, org):
    person = employee_of(manager)

    response = client_as(hr_admin).get(edit_url(org, person))

    assert response.status_code == 200
    assert response.context["form"]["role"].value() == Role.MANAGER


def test_employee_edit_refuses_demoting_the_last_hr_admin(client_as, hr_admin, org):
    me = employee_of(hr_admin)
    before = stored_person(org, me)

    response = client_as(hr_admin).post(
        edit_url(org, me),
        form_data(me, full_name="Demoted Me", role=Role.EMPLOYEE),
    )

    page = response.content.decode()
    with tenant_context(org):
        role = Membership.objects.get(pk=hr_admin.pk).role
    assert response.status_code == 400
    assert field_error(page, "role") == (
        "This is the organisation's last HR admin. Make someone else an HR admin first."
    )
    assert marked_invalid(page, "role") is True
    assert (role, stored_person(org, me)) == (Role.HR_ADMIN, before)


def test_employee_edit_refuses_an_unknown_role(
    client_as, hr_admin, employee_member, org
):
    person = employee_of(employee_member)

    response = client_as(hr_admin).post(
        edit_url(org, person), form_data(person, role="superuser")
    )

    with tenant_context(org):
        role = Membership.objects.get(pk=employee_member.pk).role
    assert response.status_code == 400
    assert marked_invalid(response.content.decode(), "role") is True
    assert role == Role.EMPLOYEE


# --- deactivate ------------------------------------------------------------------------


def _active_url(org: Any, employee: Employee) -> str:
    return reverse("organizations:employee_set_active", args=[org.slug, employee.pk])


def test_employee_set_active_deactivates_the_person_and_membership(
    client_as, hr_admin, employee_member, org
):
    person = employee_of(employee_member)

    response = client_as(hr_admin).post(_active_url(org, person), {"active": "false"})

    with tenant_context(org):
        membership_active = Membership.objects.get(pk=employee_member.pk).is_active
    assert response.status_code == 302
    assert (stored_person(org, person)["is_active"], membership_active) == (
        False,
        False,
    )


def test_employee_set_active_reactivates_the_person(
    client_as, hr_admin, employee_member, org
):
    person = employee_of(employee_member)
    client = client_as(hr_admin)
    client.post(_active_url(org, person), {"active": "false"})

    response = client.post(_active_url(org, person), {"active": "true"})

    with tenant_context(org):
        membership_active = Membership.objects.get(pk=employee_member.pk).is_active
    assert response.status_code == 302
    assert (stored_person(org, person)["is_active"], membership_active) == (True, True)


def test_employee_set_active_by_get_changes_nothing(
    client_as, hr_admin, employee_member, org
):
    person = employee_of(employee_member)

    response = client_as(hr_admin).get(
        _active_url(org, person) + "?active=false", follow=False
    )

    assert response.status_code == 405
    assert stored_person(org, person)["is_active"] is True


def test_employee_set_active_refuses_deactivating_yourself(client_as, hr_admin, org):
    me = employee_of(hr_admin)

    response = client_as(hr_admin).post(
        _active_url(org, me), {"active": "false"}, follow=True
    )

    assert response.status_code == 200
    assert "You cannot deactivate yourself." in response.content.decode()
    assert stored_person(org, me)["is_active"] is True


def test_deactivated_member_loses_access_on_the_next_request(
    client_as, hr_admin, employee_member, org
):
    person = employee_of(employee_member)
    their_client = client_as(employee_member)
    home = reverse("organizations:home", args=[org.slug])
    assert their_client.get(home).status_code == 200

    client_as(hr_admin).post(_active_url(org, person), {"active": "false"})

    assert their_client.get(home).status_code == 404


# --- addresses on the person's page ------------------------------------------------------


def _directory_email(member: Membership, email: str) -> None:
    with tenant_context(member.organization):
        Employee.objects.filter(user=member.user).update(email=email)


def test_employee_detail_shows_both_addresses_to_hr_when_they_differ(
    client_as, hr_admin, make_member, org
):
    person = make_member(org)
    _directory_email(person, "desk@example.test")
    entry = employee_of(person)

    page = client_as(hr_admin).get(
        reverse("organizations:employee_detail", args=[org.slug, entry.pk])
    )

    text = page.content.decode()
    assert page.context["login_email"] == person.user.email
    assert "Directory e-mail" in text
    assert "desk@example.test" in text
    assert "Login e-mail" in text
    assert person.user.email in text


def test_employee_detail_shows_one_address_when_they_match(
    client_as, hr_admin, make_member, org
):
    person = make_member(org)

    page = client_as(hr_admin).get(
        reverse(
            "organizations:employee_detail", args=[org.slug, employee_of(person).pk]
        )
    )

    assert page.context["login_email"] == ""
    assert "Login e-mail" not in page.content.decode()


def test_employee_detail_hides_the_login_address_from_others(
    client_as, manager, make_member, org
):
    person = make_member(org, employee__line_manager=employee_of(manager))
    _directory_email(person, "desk@example.test")

    page = client_as(manager).get(
        reverse(
            "organizations:employee_detail", args=[org.slug, employee_of(person).pk]
        )
    )

    assert page.status_code == 200
    assert page.context["login_email"] == ""
    assert person.user.email not in page.content.decode()
