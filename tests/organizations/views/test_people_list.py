"""The people directory's list: search, filters, other organisations, pagination."""

from __future__ import annotations

import pytest

from organizations.tenancy import tenant_context
from tests.factories import BusinessUnitFactory, EmployeeFactory, JobTitleFactory
from tests.organizations.views.helpers import (
    listed_names,
    people_url,
)

pytestmark = pytest.mark.django_db


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

    response = client_as(hr_admin).get(people_url(hr_admin.organization), {"q": query})

    assert response.status_code == 200
    assert listed_names(response) == (expected if expected is not None else everyone)


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

    response = client_as(hr_admin).get(people_url(org), {"q": query})

    assert listed_names(response) == expected


def test_people_list_search_finds_a_person_by_their_new_name(client_as, hr_admin, org):
    person = EmployeeFactory(organization=org, full_name="Old Name", code="R-1")
    with tenant_context(org):
        person.full_name = "Renamed Person"
        person.save()

    old = client_as(hr_admin).get(people_url(org), {"q": "old name"})
    new = client_as(hr_admin).get(people_url(org), {"q": "renamed"})

    assert (listed_names(old), listed_names(new)) == ([], ["Renamed Person"])


def test_people_list_filters_by_business_unit(client_as, hr_admin, directory):
    response = client_as(hr_admin).get(
        people_url(hr_admin.organization),
        {"business_unit": directory["unit_a"].pk},
    )

    assert listed_names(response) == ["Dir Boss", "Dir First"]


def test_people_list_filters_by_job_title(client_as, hr_admin, directory):
    response = client_as(hr_admin).get(
        people_url(hr_admin.organization), {"job_title": directory["title_y"].pk}
    )

    assert listed_names(response) == ["Dir First", "Dir Second"]


def test_people_list_filters_by_line_manager(client_as, hr_admin, directory):
    response = client_as(hr_admin).get(
        people_url(hr_admin.organization), {"line_manager": directory["boss"].pk}
    )

    assert listed_names(response) == ["Dir First", "Dir Second"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", ["Dir Boss", "Dir First"]), ("false", ["Dir Second"])],
)
def test_people_list_filters_by_active(client_as, hr_admin, directory, value, expected):
    response = client_as(hr_admin).get(
        people_url(hr_admin.organization), {"is_active": value, "q": "Dir"}
    )

    assert listed_names(response) == expected


def test_people_list_filter_by_another_organizations_unit_shows_nobody(
    client_as, hr_admin, other_org, directory
):
    foreign_unit = BusinessUnitFactory(organization=other_org)
    EmployeeFactory(organization=other_org, business_unit=foreign_unit)

    response = client_as(hr_admin).get(
        people_url(hr_admin.organization), {"business_unit": foreign_unit.pk}
    )

    assert response.status_code == 200
    assert listed_names(response) == []


def test_people_list_shows_no_one_from_another_organization(
    client_as, hr_admin, other_org
):
    EmployeeFactory(organization=other_org, full_name="Foreign Person")

    response = client_as(hr_admin).get(people_url(hr_admin.organization))

    assert listed_names(response) == [hr_admin.user.full_name]


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

    first = client.get(people_url(org), {"q": "Bulk"})
    second = client.get(people_url(org), {"q": "Bulk", "page": 2})

    assert (len(listed_names(first)), listed_names(second)) == (
        25,
        ["Bulk 25", "Bulk 26"],
    )
    assert "Page 1 of 2" in first.content.decode()
    assert "?q=Bulk&amp;page=2" in first.content.decode()
