"""Competency set pages: create with job titles, edit, add / change / remove items
with weights and expected levels, bad input refused beside the field with nothing
changed, history, and flat query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from competencies.models import CompetencySet, CompetencySetItem, CompetencySetJobTitle
from organizations.models import Membership, Organization
from organizations.tenancy import tenant_context
from tests.competencies.views.helpers import (
    PAGE_BUDGET,
    ClientAs,
    field_error,
    queries,
    url,
)
from tests.competency_factories import (
    CompetencyFactory,
    CompetencySetFactory,
    CompetencySetItemFactory,
    CompetencySetJobTitleFactory,
    DefaultScaleFactory,
)
from tests.factories import JobTitleFactory

pytestmark = pytest.mark.django_db

D = Decimal


def _sets(org: Organization) -> list[tuple[str, str, list[str]]]:
    with tenant_context(org):
        return [
            (
                s.name,
                s.description,
                sorted(
                    CompetencySetJobTitle.objects.filter(competency_set=s).values_list(
                        "job_title__name", flat=True
                    )
                ),
            )
            for s in CompetencySet.objects.order_by("name")
        ]


def _items(competency_set: CompetencySet) -> list[tuple[str, Decimal, Decimal]]:
    with tenant_context(competency_set.organization):
        return list(
            CompetencySetItem.objects.filter(competency_set=competency_set)
            .order_by("competency__name")
            .values_list("competency__name", "weight", "expected_level")
        )


# --- the list and creating -------------------------------------------------------------


def test_competency_sets_create_links_job_titles(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    consultant = JobTitleFactory(organization=org, name="Consultant")
    analyst = JobTitleFactory(organization=org, name="Analyst")

    response = client_as(hr_admin).post(
        url("competency_sets", org),
        {
            "name": "Consultant",
            "description": "Juniors",
            "job_titles": [consultant.pk, analyst.pk],
        },
    )

    with tenant_context(org):
        made = CompetencySet.objects.get()
    assert (response.status_code, response.url) == (
        302,
        url("competency_set_detail", org, made.pk),
    )
    assert _sets(org) == [("Consultant", "Juniors", ["Analyst", "Consultant"])]


def test_competency_sets_create_refuses_another_organisations_job_title(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    mine = JobTitleFactory(organization=org)
    foreign = JobTitleFactory(organization=other_org)

    response = client_as(hr_admin).post(
        url("competency_sets", org),
        {"name": "Sneaky", "job_titles": [mine.pk, foreign.pk]},
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), "id_job_titles") == (
        f"Select a valid choice. {foreign.pk} is not one of the available choices."
    )
    assert _sets(org) == []


def test_competency_sets_list_shows_job_titles(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    link = CompetencySetJobTitleFactory(
        competency_set__organization=org, job_title__name="Analyst"
    )
    CompetencySetFactory(organization=other_org, name="Foreign set")

    page = client_as(hr_admin).get(url("competency_sets", org)).content.decode()

    assert f">{link.competency_set.name}</a>" in page
    assert "Analyst" in page
    assert "Foreign set" not in page


# --- the set page: edit the set --------------------------------------------------------


def test_competency_set_detail_post_updates_name_and_job_titles(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    link = CompetencySetJobTitleFactory(
        competency_set__organization=org,
        competency_set__name="Old",
        job_title__name="Analyst",
    )
    senior = JobTitleFactory(organization=org, name="Senior")
    address = url("competency_set_detail", org, link.competency_set.pk)

    response = client_as(hr_admin).post(
        address, {"name": "New", "description": "Changed", "job_titles": [senior.pk]}
    )

    assert (response.status_code, response.url) == (302, address)
    assert _sets(org) == [("New", "Changed", ["Senior"])]


def test_competency_set_detail_post_refuses_a_foreign_job_title_and_changes_nothing(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    link = CompetencySetJobTitleFactory(
        competency_set__organization=org,
        competency_set__name="Old",
        job_title__name="Analyst",
    )
    foreign = JobTitleFactory(organization=other_org)
    before = _sets(org)

    response = client_as(hr_admin).post(
        url("competency_set_detail", org, link.competency_set.pk),
        {"name": "New", "job_titles": [foreign.pk]},
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), "id_job_titles") is not None
    assert _sets(org) == before


# --- items -----------------------------------------------------------------------------


def test_item_add_update_remove(client_as: ClientAs, hr_admin: Membership) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency_set = CompetencySetFactory(organization=org)
    competency = CompetencyFactory(organization=org, name="Coaching")
    client = client_as(hr_admin)
    detail = url("competency_set_detail", org, competency_set.pk)

    added = client.post(
        url("competency_set_item_add", org, competency_set.pk),
        {"competency": competency.pk, "weight": "2", "expected_level": "3"},
    )
    after_add = _items(competency_set)
    with tenant_context(org):
        item = CompetencySetItem.objects.get()
    updated = client.post(
        url("competency_set_item_update", org, competency_set.pk, item.pk),
        {f"item-{item.pk}-weight": "1.5", f"item-{item.pk}-expected_level": "4"},
    )
    after_update = _items(competency_set)
    page = client.get(detail).content.decode()
    removed = client.post(
        url("competency_set_item_remove", org, competency_set.pk, item.pk)
    )

    assert [r.url for r in (added, updated, removed)] == [detail] * 3
    assert after_add == [("Coaching", D(2), D(3))]
    assert after_update == [("Coaching", D("1.5"), D(4))]
    assert "<strong>Expected level</strong>: 3.0 → 4.0" in page
    assert _items(competency_set) == []


@pytest.mark.parametrize(
    ("data", "auto_id", "message"),
    [
        (
            {"weight": "0", "expected_level": "3"},
            "id_add_weight",
            "The weight must be more than 0.",
        ),
        (
            {"weight": "-2", "expected_level": "3"},
            "id_add_weight",
            "The weight must be more than 0.",
        ),
        (
            {"weight": "1", "expected_level": "7"},
            "id_add_expected_level",
            "Choose a point of the default rating scale.",
        ),
        (
            {"weight": "1", "expected_level": "2.5"},
            "id_add_expected_level",
            "Choose a point of the default rating scale.",
        ),
    ],
)
def test_item_add_refuses_bad_input_beside_the_field_and_adds_nothing(
    client_as: ClientAs,
    hr_admin: Membership,
    data: dict[str, str],
    auto_id: str,
    message: str,
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency_set = CompetencySetFactory(organization=org)
    competency = CompetencyFactory(organization=org)

    response = client_as(hr_admin).post(
        url("competency_set_item_add", org, competency_set.pk),
        {"competency": competency.pk, **data},
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), auto_id) == message
    assert _items(competency_set) == []


@pytest.mark.parametrize("kind", ["archived", "in_set", "foreign"])
def test_item_add_refuses_competencies_not_offered(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization, kind: str
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency_set = CompetencySetFactory(organization=org)
    existing = CompetencySetItemFactory(competency_set=competency_set)
    competency = {
        "archived": lambda: CompetencyFactory(organization=org, is_archived=True),
        "in_set": lambda: existing.competency,
        "foreign": lambda: CompetencyFactory(organization=other_org),
    }[kind]()

    response = client_as(hr_admin).post(
        url("competency_set_item_add", org, competency_set.pk),
        {"competency": competency.pk, "weight": "1", "expected_level": "3"},
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), "id_add_competency") == (
        "Select a valid choice. That choice is not one of the available choices."
    )
    assert _items(competency_set) == [(existing.competency.name, D(1), D(3))]


def test_item_update_refuses_bad_input_and_changes_nothing(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    item = CompetencySetItemFactory(competency_set__organization=org)
    before = _items(item.competency_set)

    response = client_as(hr_admin).post(
        url("competency_set_item_update", org, item.competency_set.pk, item.pk),
        {f"item-{item.pk}-weight": "0", f"item-{item.pk}-expected_level": "9"},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert field_error(page, f"id_item-{item.pk}-weight") == (
        "The weight must be more than 0."
    )
    assert field_error(page, f"id_item-{item.pk}-expected_level") == (
        "Choose a point of the default rating scale."
    )
    assert _items(item.competency_set) == before


def test_item_of_another_set_is_404(client_as: ClientAs, hr_admin: Membership) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency_set = CompetencySetFactory(organization=org)
    other_item = CompetencySetItemFactory(competency_set__organization=org)
    client = client_as(hr_admin)

    update = client.post(
        url("competency_set_item_update", org, competency_set.pk, other_item.pk),
        {
            f"item-{other_item.pk}-weight": "3",
            f"item-{other_item.pk}-expected_level": "3",
        },
    )
    remove = client.post(
        url("competency_set_item_remove", org, competency_set.pk, other_item.pk)
    )

    assert (update.status_code, remove.status_code) == (404, 404)
    assert _items(other_item.competency_set) == [
        (other_item.competency.name, D(1), D(3))
    ]


# --- query counts ----------------------------------------------------------------------


def test_competency_sets_list_query_count_is_flat(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    client = client_as(hr_admin)
    counts = []
    made = 0
    for total in (1, 3, 30):
        for _ in range(total - made):
            link = CompetencySetJobTitleFactory(competency_set__organization=org)
            CompetencySetItemFactory(competency_set=link.competency_set)
        made = total
        counts.append(queries(client, url("competency_sets", org)))

    assert counts == [counts[0]] * 3
    assert counts[0] <= PAGE_BUDGET


def test_competency_set_detail_query_count_is_flat(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency_set = CompetencySetFactory(organization=org)
    CompetencySetJobTitleFactory(competency_set=competency_set)
    client = client_as(hr_admin)
    address = url("competency_set_detail", org, competency_set.pk)
    counts = []
    made = 0
    for total in (1, 10):
        for _ in range(total - made):
            CompetencySetItemFactory(competency_set=competency_set)
            CompetencyFactory(organization=org)  # one more to choose from
        made = total
        counts.append(queries(client, address))

    assert counts[0] == counts[1]
    assert counts[0] <= PAGE_BUDGET
