"""Engagement create and edit: who may use them, what they save, what they refuse
beside the field, and the query budgets of the client and engagement forms."""

from __future__ import annotations

import html

import pytest

from engagements.enums import EngagementStatus
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
)
from tests.engagements.views.helpers import (
    INVALID_CHOICE,
    QUERY_BUDGET,
    edit_data,
    engagement_data,
    field_error,
    page_url,
    query_count,
    stored_engagements,
    stored_fields,
)
from tests.factories import BusinessUnitFactory

pytestmark = pytest.mark.django_db


# --- engagements: create and edit --------------------------------------------------------


@pytest.mark.parametrize("page", ["engagement_create", "engagement_edit"])
@pytest.mark.parametrize("role", ["line_manager", "staffed", "planner", "stranger"])
def test_engagement_forms_are_forbidden_to_other_roles(
    client_as, org, people, engagement, page, role
):
    args = [engagement.pk] if page == "engagement_edit" else []
    before = stored_engagements(org)

    get = client_as(people[role]).get(page_url(page, org, *args))
    post = client_as(people[role]).post(
        page_url(page, org, *args), edit_data(engagement, name="Hijacked", code="X-1")
    )

    assert (get.status_code, post.status_code) == (403, 403)
    assert stored_engagements(org) == before


def test_engagement_edit_of_another_organisation_is_404(
    client_as, hr_admin, org, other_org
):
    foreign = EngagementFactory(organization=other_org)
    before = stored_fields(foreign)

    response = client_as(hr_admin).post(
        page_url("engagement_edit", org, foreign.pk), edit_data(foreign, name="Mine")
    )

    assert response.status_code == 404
    assert stored_fields(foreign) == before


def test_engagement_create_adds_an_engagement(client_as, hr_admin, org):
    client = ClientFactory(organization=org)
    unit = BusinessUnitFactory(organization=org)

    response = client_as(hr_admin).post(
        page_url("engagement_create", org),
        engagement_data(client, business_unit=unit.pk, description="Scope"),
    )

    rows = stored_engagements(org)
    assert response.status_code == 302
    assert response["Location"] == page_url("engagement_detail", org, rows[0]["id"])
    assert [
        (r["client_id"], r["code"], r["business_unit_id"], r["description"])
        for r in rows
    ] == [(client.pk, "NEW-01", unit.pk, "Scope")]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"code": "taken-1"},
            "code",
            "Another engagement already uses this code.",
        ),
        (
            {"start_date": "2025-06-01", "end_date": "2025-05-31"},
            "end_date",
            "The end cannot be before the start.",
        ),
        ({"client": ""}, "client", "This field is required."),
        ({"status": "bogus"}, "status", None),
    ],
)
def test_engagement_create_refuses_bad_input_beside_the_field(
    client_as, hr_admin, org, overrides, field, message
):
    client = ClientFactory(organization=org)
    EngagementFactory(organization=org, client=client, code="TAKEN-1")
    before = stored_engagements(org)

    response = client_as(hr_admin).post(
        page_url("engagement_create", org), engagement_data(client, **overrides)
    )

    error = field_error(response.content.decode(), field)
    assert response.status_code == 400
    assert error == (
        message or "Select a valid choice. bogus is not one of the available choices."
    )
    assert stored_engagements(org) == before


@pytest.mark.parametrize("field", ["client", "business_unit"])
def test_engagement_create_refuses_a_reference_to_another_organisation(
    client_as, hr_admin, org, other_org, field
):
    mine = ClientFactory(organization=org)
    foreign = EngagementFactory(
        organization=other_org,
        business_unit=BusinessUnitFactory(organization=other_org),
    )
    foreign_ids = {
        "client": foreign.client_id,
        "business_unit": foreign.business_unit_id,
    }

    response = client_as(hr_admin).post(
        page_url("engagement_create", org),
        engagement_data(mine, **{field: foreign_ids[field]}),
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), field) == INVALID_CHOICE
    assert stored_engagements(org) == []


def test_engagement_create_accepts_a_code_used_in_another_organisation(
    client_as, hr_admin, org, other_org
):
    EngagementFactory(organization=other_org, code="NEW-01")

    response = client_as(hr_admin).post(
        page_url("engagement_create", org),
        engagement_data(ClientFactory(organization=org)),
    )

    assert response.status_code == 302
    assert [r["code"] for r in stored_engagements(org)] == ["NEW-01"]


def test_engagement_edit_saves_valid_changes(client_as, hr_admin, org, engagement):
    response = client_as(hr_admin).post(
        page_url("engagement_edit", org, engagement.pk),
        edit_data(engagement, name="Renamed", status=EngagementStatus.CLOSED),
    )

    stored = stored_fields(engagement)
    assert response.status_code == 302
    assert response["Location"] == page_url("engagement_detail", org, engagement.pk)
    assert (stored["name"], stored["status"], stored["code"]) == (
        "Renamed",
        EngagementStatus.CLOSED,
        engagement.code,
    )


def test_engagement_edit_refuses_dates_that_leave_plans_outside(
    client_as, hr_admin, org, engagement
):
    before = stored_fields(engagement)

    response = client_as(hr_admin).post(
        page_url("engagement_edit", org, engagement.pk),
        edit_data(
            engagement, name="Renamed", start_date="2026-01-01", end_date="2026-06-30"
        ),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert field_error(page, "end_date") == (
        "Some plans on this engagement fall outside these dates. "
        "Change those plans first."
    )
    assert "Edit Staffed engagement" in html.unescape(page)
    assert stored_fields(engagement) == before


def test_engagement_edit_refuses_another_engagements_code(
    client_as, hr_admin, org, engagement
):
    EngagementFactory(organization=org, code="OTHER-9")
    before = stored_fields(engagement)

    response = client_as(hr_admin).post(
        page_url("engagement_edit", org, engagement.pk),
        edit_data(engagement, code="other-9"),
    )

    assert response.status_code == 400
    assert (
        field_error(response.content.decode(), "code")
        == "Another engagement already uses this code."
    )
    assert stored_fields(engagement) == before


@pytest.mark.parametrize(
    "page", ["client_create", "client_edit", "engagement_create", "engagement_edit"]
)
def test_client_and_engagement_forms_stay_within_the_query_budget(
    client_as, hr_admin, org, engagement, page
):
    args = {
        "client_edit": [engagement.client_id],
        "engagement_edit": [engagement.pk],
    }.get(page, [])
    BusinessUnitFactory.create_batch(3, organization=org)

    count = query_count(client_as(hr_admin), page_url(page, org, *args))

    assert count <= QUERY_BUDGET
