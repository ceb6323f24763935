"""Client pages: authorisation, the list with its search, create and edit, and the
list's query count."""

from __future__ import annotations

import pytest

from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
)
from tests.engagements.views.helpers import (
    QUERY_BUDGET,
    field_error,
    grow,
    listed_names,
    page_url,
    query_count,
    stored_clients,
    stored_fields,
)

pytestmark = pytest.mark.django_db


# --- clients: authorisation --------------------------------------------------------------


@pytest.mark.parametrize("page", ["clients", "client_create", "client_edit"])
def test_client_pages_open_for_hr_admins(client_as, hr_admin, org, page):
    client = ClientFactory(organization=org)
    args = [client.pk] if page == "client_edit" else []

    response = client_as(hr_admin).get(page_url(page, org, *args))

    assert response.status_code == 200


@pytest.mark.parametrize("page", ["clients", "client_create", "client_edit"])
@pytest.mark.parametrize("role", ["line_manager", "staffed", "planner"])
def test_client_pages_are_forbidden_to_other_roles(
    client_as, org, people, engagement, page, role
):
    args = [engagement.client_id] if page == "client_edit" else []

    response = client_as(people[role]).get(page_url(page, org, *args))

    assert response.status_code == 403


def test_client_edit_of_another_organisation_is_404(
    client_as, hr_admin, org, other_org
):
    foreign = ClientFactory(organization=other_org)
    before = stored_fields(foreign)

    response = client_as(hr_admin).post(
        page_url("client_edit", org, foreign.pk), {"name": "Taken over"}
    )

    assert response.status_code == 404
    assert stored_fields(foreign) == before


def test_client_edit_refuses_other_roles_before_the_lookup(
    client_as, employee_member, org, other_org
):
    foreign = ClientFactory(organization=other_org)

    codes = [
        client_as(employee_member).get(page_url("client_edit", org, pk)).status_code
        for pk in (foreign.pk, 999_999_999)
    ]

    assert codes == [403, 403]


def test_client_create_by_a_manager_is_forbidden_and_saves_nothing(
    client_as, manager, org
):
    response = client_as(manager).post(page_url("client_create", org), {"name": "Nope"})

    assert response.status_code == 403
    assert stored_clients(org) == []


# --- clients: list, create, edit ---------------------------------------------------------


def test_client_list_searches_name_industry_and_email(client_as, hr_admin, org):
    ClientFactory(organization=org, name="Alpha Bank", industry="Banking")
    ClientFactory(organization=org, name="Beta Retail", industry="Retail")
    ClientFactory(
        organization=org,
        name="Gamma",
        industry="Energy",
        contact_email="ops@gamma.test",
    )
    client = client_as(hr_admin)

    found = [
        listed_names(client.get(page_url("clients", org), {"q": q}), "clients")
        for q in ("alpha", "retail", "gamma.test", "  ")
    ]

    assert found == [
        ["Alpha Bank"],
        ["Beta Retail"],
        ["Gamma"],
        ["Alpha Bank", "Beta Retail", "Gamma"],
    ]


def test_client_list_shows_no_client_of_another_organisation(
    client_as, hr_admin, org, other_org
):
    ClientFactory(organization=org, name="Ours")
    ClientFactory(organization=other_org, name="Theirs")

    response = client_as(hr_admin).get(page_url("clients", org))

    assert listed_names(response, "clients") == ["Ours"]


def test_client_list_paginates_and_keeps_the_search(client_as, hr_admin, org):
    for number in range(27):
        ClientFactory(organization=org, name=f"Bulk {number:02d}")
    client = client_as(hr_admin)

    first = client.get(page_url("clients", org), {"q": "Bulk"})
    second = client.get(page_url("clients", org), {"q": "Bulk", "page": 2})

    assert (len(listed_names(first, "clients")), listed_names(second, "clients")) == (
        25,
        ["Bulk 25", "Bulk 26"],
    )
    assert "?q=Bulk&amp;page=2" in first.content.decode()


def test_client_list_counts_engagements(client_as, hr_admin, org):
    busy = ClientFactory(organization=org, name="Busy")
    ClientFactory(organization=org, name="Idle")
    EngagementFactory.create_batch(2, organization=org, client=busy)

    response = client_as(hr_admin).get(page_url("clients", org))

    assert [(c.name, c.n_engagements) for c in response.context["clients"]] == [
        ("Busy", 2),
        ("Idle", 0),
    ]


def test_client_create_adds_a_client(client_as, hr_admin, org):
    response = client_as(hr_admin).post(
        page_url("client_create", org),
        {"name": "Acme Bank", "industry": "Banking", "contact_email": "a@b.test"},
    )

    assert response.status_code == 302
    assert response["Location"] == page_url("clients", org)
    assert [
        (c["name"], c["industry"], c["contact_email"]) for c in stored_clients(org)
    ] == [("Acme Bank", "Banking", "a@b.test")]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "acme bank"}, "name", "A client with this name exists already."),
        ({"name": ""}, "name", "This field is required."),
        (
            {"name": "Fresh", "contact_email": "not-an-address"},
            "contact_email",
            "Enter a valid email address.",
        ),
    ],
)
def test_client_create_refuses_bad_input_beside_the_field(
    client_as, hr_admin, org, data, field, message
):
    ClientFactory(organization=org, name="Acme Bank")
    before = stored_clients(org)

    response = client_as(hr_admin).post(page_url("client_create", org), data)

    assert response.status_code == 400
    assert field_error(response.content.decode(), field) == message
    assert stored_clients(org) == before


def test_client_create_accepts_a_name_used_in_another_organisation(
    client_as, hr_admin, org, other_org
):
    ClientFactory(organization=other_org, name="Acme Bank")

    response = client_as(hr_admin).post(
        page_url("client_create", org), {"name": "Acme Bank"}
    )

    assert response.status_code == 302
    assert [c["name"] for c in stored_clients(org)] == ["Acme Bank"]


def test_client_edit_saves_changes_and_keeps_its_own_name(client_as, hr_admin, org):
    client = ClientFactory(organization=org, name="Keep")

    response = client_as(hr_admin).post(
        page_url("client_edit", org, client.pk), {"name": "Keep", "industry": "Energy"}
    )

    assert response.status_code == 302
    assert (stored_fields(client)["name"], stored_fields(client)["industry"]) == (
        "Keep",
        "Energy",
    )


def test_client_edit_refuses_another_clients_name(client_as, hr_admin, org):
    ClientFactory(organization=org, name="Taken")
    client = ClientFactory(organization=org, name="Mine")
    before = stored_fields(client)

    response = client_as(hr_admin).post(
        page_url("client_edit", org, client.pk), {"name": "TAKEN", "industry": "X"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert field_error(page, "name") == "A client with this name exists already."
    assert "Edit Mine" in page
    assert stored_fields(client) == before


def test_client_list_query_count_is_flat(client_as, hr_admin, org):
    client = client_as(hr_admin)
    url = page_url("clients", org)
    client.get(url)
    counts = []

    for total in (1, 3, 30):
        grow(
            total,
            len(stored_clients(org)),
            lambda: EngagementFactory(organization=org).client,
        )
        counts.append(query_count(client, url))

    assert counts == [counts[0]] * 3
    assert counts[0] <= QUERY_BUDGET
