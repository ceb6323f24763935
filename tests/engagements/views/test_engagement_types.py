"""Engagement types (HR admins): list, create, edit, authorisation, bad input and query
counts; and the competency fields of the engagement and cycle forms."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from engagements.enums import CycleStatus, EngagementStatus
from engagements.models import Engagement, EngagementType, ReviewCycle
from organizations.enums import Role
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.competency_factories import CompetencySetFactory, RatingScaleFactory
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
    ReviewCycleFactory,
)
from tests.engagements.test_plan_competencies import EngagementTypeFactory
from tests.engagements.views.test_plans import field_error, flashed, lookups

pytestmark = pytest.mark.django_db


def url(name: str, org: Organization, *args: Any) -> str:
    return reverse(f"engagements:{name}", args=[org.slug, *args])


def types(org: Organization) -> list[dict[str, Any]]:
    with tenant_context(org):
        return list(EngagementType.objects.order_by("pk").values())


# --- authorisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.HR_ADMIN, 200), (Role.MANAGER, 403), (Role.EMPLOYEE, 403)],
)
def test_engagement_types_are_for_hr_admins(org, make_member, client_as, role, status):
    kind = EngagementTypeFactory(organization=org)
    client = client_as(make_member(org, role))

    answers = [
        client.get(url("engagement_types", org)).status_code,
        client.get(url("engagement_type_edit", org, kind.pk)).status_code,
        client.post(url("engagement_types", org), {"name": "Sneaky"}).status_code,
        client.post(
            url("engagement_type_edit", org, kind.pk), {"name": "Renamed"}
        ).status_code,
    ]

    assert answers[:2] == [status, status]
    assert answers[2:] == ([302, 302] if status == 200 else [403, 403])
    if status == 403:
        assert [row["name"] for row in types(org)] == [kind.name]


def test_other_roles_get_403_for_another_organisation_type_too(
    org, other_org, make_member, client_as
):
    foreign = EngagementTypeFactory(organization=other_org)

    response = client_as(make_member(org, Role.MANAGER)).get(
        url("engagement_type_edit", org, foreign.pk)
    )

    assert response.status_code == 403


def test_an_engagement_type_of_another_organisation_is_404(
    org, other_org, hr_admin, client_as
):
    foreign = EngagementTypeFactory(organization=other_org, name="Theirs")

    get = client_as(hr_admin).get(url("engagement_type_edit", org, foreign.pk))
    post = client_as(hr_admin).post(
        url("engagement_type_edit", org, foreign.pk), {"name": "Mine now"}
    )

    assert (get.status_code, post.status_code) == (404, 404)
    assert [row["name"] for row in types(other_org)] == ["Theirs"]


def test_engagement_types_of_another_organisation_are_404_for_its_outsiders(
    org, other_org, make_member, client_as
):
    outsider = make_member(other_org, Role.HR_ADMIN)

    response = client_as(outsider).get(url("engagement_types", org))

    assert response.status_code == 404


# --- create, list, edit -----------------------------------------------------------------------


def test_hr_creates_an_engagement_type_with_a_set(org, hr_admin, client_as):
    chosen = CompetencySetFactory(organization=org, name="Client delivery")

    response = client_as(hr_admin).post(
        url("engagement_types", org),
        {"name": "  Client delivery ", "competency_set": chosen.pk},
    )

    assert response["Location"] == url("engagement_types", org)
    assert flashed(response) == [
        ("success", "Engagement type Client delivery created.")
    ]
    [row] = types(org)
    assert (row["name"], row["competency_set_id"]) == ("Client delivery", chosen.pk)


def test_the_list_shows_each_type_with_its_set_and_engagements(
    org, hr_admin, client_as
):
    kind = EngagementTypeFactory(
        organization=org,
        name="Client delivery",
        competency_set=CompetencySetFactory(organization=org, name="Delivery set"),
    )
    EngagementFactory.create_batch(2, organization=org, engagement_type=kind)
    EngagementTypeFactory(organization=org, name="Internal")

    response = client_as(hr_admin).get(url("engagement_types", org))

    listed = [
        (t.name, t.competency_set.name if t.competency_set else None, t.n_engagements)
        for t in response.context["engagement_types"]
    ]
    assert listed == [("Client delivery", "Delivery set", 2), ("Internal", None, 0)]


def test_hr_edits_an_engagement_type(org, hr_admin, client_as):
    kind = EngagementTypeFactory(organization=org, name="Old")
    chosen = CompetencySetFactory(organization=org)

    response = client_as(hr_admin).post(
        url("engagement_type_edit", org, kind.pk),
        {"name": "New", "competency_set": chosen.pk},
    )

    assert response.status_code == 302
    [row] = types(org)
    assert (row["name"], row["competency_set_id"]) == ("New", chosen.pk)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        (
            {"name": "client DELIVERY"},
            "name",
            "An engagement type with this name exists already.",
        ),
    ],
)
def test_bad_input_is_refused_beside_the_field(
    org, hr_admin, client_as, data, field, message
):
    EngagementTypeFactory(organization=org, name="Client delivery")
    before = types(org)

    response = client_as(hr_admin).post(url("engagement_types", org), data)

    assert response.status_code == 400
    assert field_error(response.content.decode(), field) == message
    assert types(org) == before


def test_a_set_of_another_organisation_cannot_be_chosen(
    org, other_org, hr_admin, client_as
):
    kind = EngagementTypeFactory(organization=org, name="Mine")
    foreign = CompetencySetFactory(organization=other_org)
    before = types(org)

    created = client_as(hr_admin).post(
        url("engagement_types", org), {"name": "New", "competency_set": foreign.pk}
    )
    edited = client_as(hr_admin).post(
        url("engagement_type_edit", org, kind.pk),
        {"name": "Mine", "competency_set": foreign.pk},
    )

    assert (created.status_code, edited.status_code) == (400, 400)
    assert field_error(edited.content.decode(), "competency_set") == (
        "Select a valid choice. That choice is not one of the available choices."
    )
    assert types(org) == before


def test_a_refused_edit_shows_the_stored_name_in_the_heading(org, hr_admin, client_as):
    kind = EngagementTypeFactory(organization=org, name="Stored")
    EngagementTypeFactory(organization=org, name="Taken")

    response = client_as(hr_admin).post(
        url("engagement_type_edit", org, kind.pk), {"name": "Taken"}
    )

    assert response.status_code == 400
    assert "Edit Stored" in response.content.decode()


@pytest.mark.parametrize("count", [1, 3, 30])
def test_the_list_costs_the_same_queries_whatever_its_length(
    org, hr_admin, client_as, count
):
    for number in range(count):
        EngagementTypeFactory(
            organization=org,
            competency_set=CompetencySetFactory(organization=org),
            name=f"Type {number:03d}",
        )
    client = client_as(hr_admin)
    client.get(url("engagement_types", org))  # warm caches

    response, sql = lookups(client, url("engagement_types", org))

    assert response.status_code == 200
    # Session, user, membership (which also counts the user's organisations, so a
    # member of one needs no switcher query), the bell's unread notifications, count,
    # page, set choices.
    assert len(sql) == 7


# --- the engagement and cycle forms ------------------------------------------------------------


def _engagement_data(org: Organization, **overrides: Any) -> dict[str, Any]:
    data = {
        "client": ClientFactory(organization=org).pk,
        "code": "NEW-01",
        "name": "New engagement",
        "description": "",
        "business_unit": "",
        "start_date": "2025-01-01",
        "end_date": "2025-06-30",
        "status": EngagementStatus.PLANNED,
        "engagement_type": "",
        "competency_set": "",
    }
    data.update(overrides)
    return data


def test_an_engagement_gets_a_type_and_its_own_set(org, hr_admin, client_as):
    kind = EngagementTypeFactory(organization=org)
    own = CompetencySetFactory(organization=org)

    response = client_as(hr_admin).post(
        url("engagement_create", org),
        _engagement_data(org, engagement_type=kind.pk, competency_set=own.pk),
    )

    assert response.status_code == 302
    with tenant_context(org):
        saved = Engagement.objects.get(code="NEW-01")
    assert (saved.engagement_type_id, saved.competency_set_id) == (kind.pk, own.pk)


@pytest.mark.parametrize("field", ["engagement_type", "competency_set"])
def test_an_engagement_cannot_use_another_organisation_type_or_set(
    org, other_org, hr_admin, client_as, field
):
    foreign = (
        EngagementTypeFactory(organization=other_org)
        if field == "engagement_type"
        else CompetencySetFactory(organization=other_org)
    )

    response = client_as(hr_admin).post(
        url("engagement_create", org), _engagement_data(org, **{field: foreign.pk})
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), field) is not None
    with tenant_context(org):
        assert not Engagement.objects.filter(code="NEW-01").exists()


def _cycle_data(cycle: ReviewCycle, **overrides: Any) -> dict[str, Any]:
    data = {
        "name": cycle.name,
        "start_date": cycle.start_date.isoformat(),
        "end_date": cycle.end_date.isoformat(),
        "general_weight": str(cycle.general_weight),
        "engagement_weighting": cycle.engagement_weighting,
        "rating_scale": "",
    }
    data.update(overrides)
    return data


def test_hr_picks_the_scale_of_a_cycle(org, hr_admin, client_as):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.PLANNING)
    scale = RatingScaleFactory(organization=org)

    response = client_as(hr_admin).post(
        url("cycle_edit", org, cycle.pk), _cycle_data(cycle, rating_scale=scale.pk)
    )

    assert response.status_code == 302
    with tenant_context(org):
        assert ReviewCycle.objects.get(pk=cycle.pk).rating_scale_id == scale.pk


def test_a_cycle_cannot_use_another_organisation_scale(
    org, other_org, hr_admin, client_as
):
    cycle = ReviewCycleFactory(organization=org)
    foreign = RatingScaleFactory(organization=other_org)

    response = client_as(hr_admin).post(
        url("cycle_edit", org, cycle.pk), _cycle_data(cycle, rating_scale=foreign.pk)
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), "rating_scale") is not None


def test_the_scale_of_a_cycle_in_review_stays_as_it_was(org, hr_admin, client_as):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.REVIEW)
    other = RatingScaleFactory(organization=org)

    page = client_as(hr_admin).get(url("cycle_edit", org, cycle.pk))
    client_as(hr_admin).post(
        url("cycle_edit", org, cycle.pk), _cycle_data(cycle, rating_scale=other.pk)
    )

    assert page.context["form"].fields["rating_scale"].disabled is True
    assert "Fixed: reviewers rate on this scale" in page.content.decode()
    with tenant_context(org):
        assert ReviewCycle.objects.get(pk=cycle.pk).rating_scale_id is None


def test_a_new_cycle_without_a_scale_uses_the_default(org, hr_admin, client_as):
    response = client_as(hr_admin).post(
        url("cycle_create", org),
        {
            "name": "2026 H1",
            "start_date": "2026-01-01",
            "end_date": "2026-06-30",
            "general_weight": "",
            "engagement_weighting": "effort",
            "rating_scale": "",
        },
    )

    assert response.status_code == 302
    with tenant_context(org):
        assert ReviewCycle.objects.get(name="2026 H1").rating_scale_id is None
