"""The people directory: list, filters, create, edit, roles and deactivation."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.urls import reverse

from organizations.enums import Role
from organizations.models import Employee, Membership
from organizations.tenancy import tenant_context
from tests.factories import BusinessUnitFactory, EmployeeFactory, JobTitleFactory

pytestmark = pytest.mark.django_db

INVALID_CHOICE = (
    "Select a valid choice. That choice is not one of the available choices."
)


# --- helpers -------------------------------------------------------------------------


def _people_url(org: Any) -> str:
    return reverse("organizations:people", args=[org.slug])


def _create_url(org: Any) -> str:
    return reverse("organizations:employee_create", args=[org.slug])


def _edit_url(org: Any, employee: Employee) -> str:
    return reverse("organizations:employee_edit", args=[org.slug, employee.pk])


def _field_error(page: str, name: str) -> str | None:
    """The error text shown under field ``name``, unescaped, or None."""
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def _marked_invalid(page: str, name: str) -> bool:
    """Whether the widget of field ``name`` carries aria-invalid pointing at its error."""
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bname="{name}"[^>]*>', page)
    if match is None:
        return False
    tag = match.group(0)
    return 'aria-invalid="true"' in tag and f"id_{name}-error" in tag


def _stored(org: Any, employee: Employee) -> dict[str, Any]:
    with tenant_context(org):
        return Employee.objects.filter(pk=employee.pk).values().get()


def _count(org: Any) -> int:
    with tenant_context(org):
        return Employee.objects.count()


def _employee_of(membership: Membership) -> Employee:
    with tenant_context(membership.organization):
        return Employee.objects.get(user=membership.user)


def _form_data(employee: Employee, **overrides: Any) -> dict[str, Any]:
    data = {
        "code": employee.code,
        "full_name": employee.full_name,
        "email": employee.email,
        "job_title": employee.job_title_id or "",
        "business_unit": employee.business_unit_id or "",
        "line_manager": employee.line_manager_id or "",
    }
    data.update(overrides)
    return data


def _new_person(org: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "code": "NEW1",
        "full_name": "New Person",
        "email": "new.person@example.test",
        "job_title": "",
        "business_unit": "",
        "line_manager": "",
    }
    data.update(overrides)
    return data


def _names(response: Any) -> list[str]:
    return [employee.full_name for employee, _member in response.context["rows"]]


# --- list, search and filters ------------------------------------------------------------


@pytest.fixture
def directory(org):
    """A small directory: two units, two titles, one manager with two reports."""
    unit_a = BusinessUnitFactory(organization=org, name="Alpha Unit")
    unit_b = BusinessUnitFactory(organization=org, name="Beta Unit")
    title_x = JobTitleFactory(organization=org, name="Xylophonist")
    title_y = JobTitleFactory(organization=org, name="Yodeller")
    boss = EmployeeFactory(
        organization=org,
        full_name="Dir Boss",
        code="D001",
        email="boss@dir.test",
        business_unit=unit_a,
        job_title=title_x,
    )
    first = EmployeeFactory(
        organization=org,
        full_name="Dir First",
        code="D002",
        email="first@dir.test",
        business_unit=unit_a,
        job_title=title_y,
        line_manager=boss,
    )
    second = EmployeeFactory(
        organization=org,
        full_name="Dir Second",
        code="D003",
        email="second@dir.test",
        business_unit=unit_b,
        job_title=title_y,
        line_manager=boss,
        is_active=False,
    )
    return {
        "unit_a": unit_a,
        "unit_b": unit_b,
        "title_x": title_x,
        "title_y": title_y,
        "boss": boss,
        "first": first,
        "second": second,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dir first", ["Dir First"]),
        ("D003", ["Dir Second"]),
        ("boss@dir", ["Dir Boss"]),
        ("  ", None),
    ],
)
def test_people_list_search_matches_name_code_or_email(
    client_as, hr_admin, directory, query, expected
):
    everyone = sorted(
        ["Dir Boss", "Dir First", "Dir Second", hr_admin.user.full_name],
    )

    response = client_as(hr_admin).get(_people_url(hr_admin.organization), {"q": query})

    assert response.status_code == 200
    assert _names(response) == (expected if expected is not None else everyone)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("JOÃO", ["João Silva"]),
        ("joão silva", ["João Silva"]),
        ("100%", ["Cent Percent"]),
        ("%", ["Cent Percent"]),
        ("_", []),
        # The name, code and e-mail address are matched each on its own.
        ("silva s-1", []),
    ],
)
def test_people_list_search_ignores_case_and_takes_wildcards_literally(
    client_as, hr_admin, query, expected
):
    org = hr_admin.organization
    EmployeeFactory(
        organization=org, full_name="João Silva", code="S-1", email="js@x.test"
    )
    EmployeeFactory(
        organization=org, full_name="Cent Percent", code="100%", email="cp@x.test"
    )

    response = client_as(hr_admin).get(_people_url(org), {"q": query})

    assert _names(response) == expected


def test_people_list_search_finds_a_person_by_their_new_name(client_as, hr_admin, org):
    person = EmployeeFactory(organization=org, full_name="Old Name", code="R-1")
    with tenant_context(org):
        person.full_name = "Renamed Person"
        person.save()

    old = client_as(hr_admin).get(_people_url(org), {"q": "old name"})
    new = client_as(hr_admin).get(_people_url(org), {"q": "renamed"})

    assert (_names(old), _names(new)) == ([], ["Renamed Person"])


def test_people_list_filters_by_business_unit(client_as, hr_admin, directory):
    response = client_as(hr_admin).get(
        _people_url(hr_admin.organization),
        {"business_unit": directory["unit_a"].pk},
    )

    assert _names(response) == ["Dir Boss", "Dir First"]


def test_people_list_filters_by_job_title(client_as, hr_admin, directory):
    response = client_as(hr_admin).get(
        _people_url(hr_admin.organization), {"job_title": directory["title_y"].pk}
    )

    assert _names(response) == ["Dir First", "Dir Second"]


def test_people_list_filters_by_line_manager(client_as, hr_admin, directory):
    response = client_as(hr_admin).get(
        _people_url(hr_admin.organization), {"line_manager": directory["boss"].pk}
    )

    assert _names(response) == ["Dir First", "Dir Second"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", ["Dir Boss", "Dir First"]), ("false", ["Dir Second"])],
)
def test_people_list_filters_by_active(client_as, hr_admin, directory, value, expected):
    response = client_as(hr_admin).get(
        _people_url(hr_admin.organization), {"is_active": value, "q": "Dir"}
    )

    assert _names(response) == expected


def test_people_list_filter_by_another_organizations_unit_shows_nobody(
    client_as, hr_admin, other_org, directory
):
    foreign_unit = BusinessUnitFactory(organization=other_org)
    EmployeeFactory(organization=other_org, business_unit=foreign_unit)

    response = client_as(hr_admin).get(
        _people_url(hr_admin.organization), {"business_unit": foreign_unit.pk}
    )

    assert response.status_code == 200
    assert _names(response) == []


def test_people_list_shows_no_one_from_another_organization(
    client_as, hr_admin, other_org
):
    EmployeeFactory(organization=other_org, full_name="Foreign Person")

    response = client_as(hr_admin).get(_people_url(hr_admin.organization))

    assert _names(response) == [hr_admin.user.full_name]


def test_people_list_paginates_and_keeps_the_filters(client_as, hr_admin, org):
    title = JobTitleFactory(organization=org)
    unit = BusinessUnitFactory(organization=org)
    for number in range(27):
        EmployeeFactory(
            organization=org,
            full_name=f"Bulk {number:02d}",
            job_title=title,
            business_unit=unit,
        )
    client = client_as(hr_admin)

    first = client.get(_people_url(org), {"q": "Bulk"})
    second = client.get(_people_url(org), {"q": "Bulk", "page": 2})

    assert (len(_names(first)), _names(second)) == (25, ["Bulk 25", "Bulk 26"])
    assert "Page 1 of 2" in first.content.decode()
    assert "?q=Bulk&amp;page=2" in first.content.decode()


# --- create --------------------------------------------------------------------------


def test_employee_create_adds_a_person(client_as, hr_admin, org):
    title = JobTitleFactory(organization=org)
    unit = BusinessUnitFactory(organization=org)
    boss = EmployeeFactory(organization=org)

    response = client_as(hr_admin).post(
        _create_url(org),
        _new_person(
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
    before = _count(org)

    response = client_as(hr_admin).post(_create_url(org), _new_person(org, code="dup1"))

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, "code") == (
        "Another person already has the code dup1. Codes must be unique."
    )
    assert _marked_invalid(page, "code") is True
    assert _count(org) == before


def test_employee_create_accepts_a_code_used_in_another_organization(
    client_as, hr_admin, org, other_org
):
    EmployeeFactory(organization=other_org, code="SHARED")

    response = client_as(hr_admin).post(
        _create_url(org), _new_person(org, code="SHARED")
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
    before = _count(org)

    response = client_as(hr_admin).post(
        _create_url(org), _new_person(org, **{field: foreign_ids[field]})
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, field) == INVALID_CHOICE
    assert _marked_invalid(page, field) is True
    assert _count(org) == before


def test_employee_create_refuses_an_inactive_line_manager(client_as, hr_admin, org):
    gone = EmployeeFactory(organization=org, is_active=False)

    response = client_as(hr_admin).post(
        _create_url(org), _new_person(org, line_manager=gone.pk)
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), "line_manager") == INVALID_CHOICE


def test_employee_create_by_a_non_hr_member_is_forbidden(
    client_as, employee_member, org
):
    before = _count(org)

    response = client_as(employee_member).post(_create_url(org), _new_person(org))

    assert response.status_code == 403
    assert _count(org) == before


# --- edit ----------------------------------------------------------------------------


def test_employee_edit_saves_valid_changes(client_as, hr_admin, org):
    person = EmployeeFactory(organization=org)
    boss = EmployeeFactory(organization=org)
    title = JobTitleFactory(organization=org)

    response = client_as(hr_admin).post(
        _edit_url(org, person),
        _form_data(
            person, full_name="Edited Name", line_manager=boss.pk, job_title=title.pk
        ),
    )

    stored = _stored(org, person)
    assert response.status_code == 302
    assert (stored["full_name"], stored["line_manager_id"], stored["job_title_id"]) == (
        "Edited Name",
        boss.pk,
        title.pk,
    )


def test_employee_edit_keeps_its_own_code(client_as, hr_admin, org):
    person = EmployeeFactory(organization=org, code="KEEP1")

    response = client_as(hr_admin).post(
        _edit_url(org, person), _form_data(person, full_name="Same Code")
    )

    assert response.status_code == 302
    assert _stored(org, person)["code"] == "KEEP1"


def test_employee_edit_refuses_another_persons_code(client_as, hr_admin, org):
    EmployeeFactory(organization=org, code="TAKEN")
    person = EmployeeFactory(organization=org)
    before = _stored(org, person)

    response = client_as(hr_admin).post(
        _edit_url(org, person), _form_data(person, code="TAKEN", full_name="Changed")
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, "code") == (
        "Another person already has the code TAKEN. Codes must be unique."
    )
    assert _marked_invalid(page, "code") is True
    assert _stored(org, person) == before


def test_employee_edit_refuses_the_person_as_their_own_line_manager(
    client_as, hr_admin, org
):
    person = EmployeeFactory(organization=org)
    before = _stored(org, person)

    response = client_as(hr_admin).post(
        _edit_url(org, person), _form_data(person, line_manager=person.pk)
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, "line_manager") == INVALID_CHOICE
    assert _marked_invalid(page, "line_manager") is True
    assert _stored(org, person) == before


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
    before = _stored(org, top)

    response = client_as(hr_admin).post(
        _edit_url(org, top),
        _form_data(top, full_name="Changed", line_manager=bottom.pk),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, "line_manager") == (
        f"Chain {depth - 1} reports to Chain 0, directly or through others; "
        "choosing them would make a loop. Pick someone outside Chain 0's "
        "reporting line."
    )
    assert _marked_invalid(page, "line_manager") is True
    assert _stored(org, top) == before


def test_employee_edit_accepts_a_manager_from_a_sibling_branch(
    client_as, hr_admin, org
):
    top = EmployeeFactory(organization=org)
    left = EmployeeFactory(organization=org, line_manager=top)
    right = EmployeeFactory(organization=org, line_manager=top)

    response = client_as(hr_admin).post(
        _edit_url(org, left), _form_data(left, line_manager=right.pk)
    )

    assert response.status_code == 302
    assert _stored(org, left)["line_manager_id"] == right.pk


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
    before = _stored(org, person)

    response = client_as(hr_admin).post(
        _edit_url(org, person), _form_data(person, **{field: foreign_ids[field]})
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, field) == INVALID_CHOICE
    assert _marked_invalid(page, field) is True
    assert _stored(org, person) == before


def test_employee_edit_of_another_organizations_person_is_404(
    client_as, hr_admin, org, other_org
):
    foreign = EmployeeFactory(organization=other_org)
    before = _stored(other_org, foreign)

    response = client_as(hr_admin).post(
        _edit_url(org, foreign), _form_data(foreign, full_name="Hijacked")
    )

    assert response.status_code == 404
    assert _stored(other_org, foreign) == before


def test_employee_edit_changes_the_members_role(
    client_as, hr_admin, employee_member, org
):
    person = _employee_of(employee_member)

    response = client_as(hr_admin).post(
        _edit_url(org, person), _form_data(person, role=Role.MANAGER)
    )

    with tenant_context(org):
        role = Membership.objects.get(pk=employee_member.pk).role
    assert response.status_code == 302
    assert role == Role.MANAGER


def test_employee_edit_shows_the_current_role(client_as, hr_admin, manager, org):
    person = _employee_of(manager)

    response = client_as(hr_admin).get(_edit_url(org, person))

    assert response.status_code == 200
    assert response.context["form"]["role"].value() == Role.MANAGER


def test_employee_edit_refuses_demoting_the_last_hr_admin(client_as, hr_admin, org):
    me = _employee_of(hr_admin)
    before = _stored(org, me)

    response = client_as(hr_admin).post(
        _edit_url(org, me),
        _form_data(me, full_name="Demoted Me", role=Role.EMPLOYEE),
    )

    page = response.content.decode()
    with tenant_context(org):
        role = Membership.objects.get(pk=hr_admin.pk).role
    assert response.status_code == 400
    assert _field_error(page, "role") == (
        "This is the organisation's last HR admin. Make someone else an HR admin first."
    )
    assert _marked_invalid(page, "role") is True
    assert (role, _stored(org, me)) == (Role.HR_ADMIN, before)


def test_employee_edit_refuses_an_unknown_role(
    client_as, hr_admin, employee_member, org
):
    person = _employee_of(employee_member)

    response = client_as(hr_admin).post(
        _edit_url(org, person), _form_data(person, role="superuser")
    )

    with tenant_context(org):
        role = Membership.objects.get(pk=employee_member.pk).role
    assert response.status_code == 400
    assert _marked_invalid(response.content.decode(), "role") is True
    assert role == Role.EMPLOYEE


# --- deactivate ------------------------------------------------------------------------


def _active_url(org: Any, employee: Employee) -> str:
    return reverse("organizations:employee_set_active", args=[org.slug, employee.pk])


def test_employee_set_active_deactivates_the_person_and_membership(
    client_as, hr_admin, employee_member, org
):
    person = _employee_of(employee_member)

    response = client_as(hr_admin).post(_active_url(org, person), {"active": "false"})

    with tenant_context(org):
        membership_active = Membership.objects.get(pk=employee_member.pk).is_active
    assert response.status_code == 302
    assert (_stored(org, person)["is_active"], membership_active) == (False, False)


def test_employee_set_active_reactivates_the_person(
    client_as, hr_admin, employee_member, org
):
    person = _employee_of(employee_member)
    client = client_as(hr_admin)
    client.post(_active_url(org, person), {"active": "false"})

    response = client.post(_active_url(org, person), {"active": "true"})

    with tenant_context(org):
        membership_active = Membership.objects.get(pk=employee_member.pk).is_active
    assert response.status_code == 302
    assert (_stored(org, person)["is_active"], membership_active) == (True, True)


def test_employee_set_active_by_get_changes_nothing(
    client_as, hr_admin, employee_member, org
):
    person = _employee_of(employee_member)

    response = client_as(hr_admin).get(
        _active_url(org, person) + "?active=false", follow=False
    )

    assert response.status_code == 405
    assert _stored(org, person)["is_active"] is True


def test_employee_set_active_refuses_deactivating_yourself(client_as, hr_admin, org):
    me = _employee_of(hr_admin)

    response = client_as(hr_admin).post(
        _active_url(org, me), {"active": "false"}, follow=True
    )

    assert response.status_code == 200
    assert "You cannot deactivate yourself." in response.content.decode()
    assert _stored(org, me)["is_active"] is True


def test_deactivated_member_loses_access_on_the_next_request(
    client_as, hr_admin, employee_member, org
):
    person = _employee_of(employee_member)
    their_client = client_as(employee_member)
    home = reverse("organizations:home", args=[org.slug])
    assert their_client.get(home).status_code == 200

    client_as(hr_admin).post(_active_url(org, person), {"active": "false"})

    assert their_client.get(home).status_code == 404
