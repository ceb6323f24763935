"""The competency library pages: create and edit with a descriptor per point of the
default scale, the read-only page every member sees, archive and delete, search and
the category filter, and the categories page."""

from __future__ import annotations

from decimal import Decimal

import pytest

from competencies.models import Competency, CompetencyCategory, CompetencyDescriptor
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
    CompetencyCategoryFactory,
    CompetencyDescriptorFactory,
    CompetencyFactory,
    CompetencySetItemFactory,
    DefaultScaleFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal


def _competencies(org: Organization) -> list[tuple[str, str, str, bool]]:
    with tenant_context(org):
        return list(
            Competency.objects.order_by("name").values_list(
                "name", "category__name", "description", "is_archived"
            )
        )


def _descriptors(org: Organization) -> list[tuple[str, Decimal, str]]:
    with tenant_context(org):
        return list(
            CompetencyDescriptor.objects.order_by(
                "competency__name", "value"
            ).values_list("competency__name", "value", "text")
        )


def _category(org: Organization, name: str) -> CompetencyCategory:
    with tenant_context(org):
        return CompetencyCategory.objects.get(name=name)


# --- create and edit -------------------------------------------------------------------


def test_competency_create_page_offers_default_categories_and_a_field_per_point(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)

    response = client_as(hr_admin).get(url("competency_create", org))

    page = response.content.decode()
    assert response.status_code == 200
    for name in ("Technical", "Behavioural", "Client-facing", "Leadership"):
        assert f">{name}</option>" in page
    assert "What a 3 (Meets expectations) looks like" in page
    assert 'name="descriptor_5"' in page


def test_competency_create_saves_descriptors(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    client = client_as(hr_admin)
    client.get(url("competency_create", org))  # creates the default categories
    technical = _category(org, "Technical")

    response = client.post(
        url("competency_create", org),
        {
            "name": "Data analysis",
            "category": technical.pk,
            "description": "Evidence for decisions",
            "descriptor_1": "Makes errors",
            "descriptor_3": "Sound conclusions",
        },
    )

    with tenant_context(org):
        made = Competency.objects.get()
    assert (response.status_code, response.url) == (
        302,
        url("competency_detail", org, made.pk),
    )
    assert _competencies(org) == [
        ("Data analysis", "Technical", "Evidence for decisions", False)
    ]
    assert _descriptors(org) == [
        ("Data analysis", D(1), "Makes errors"),
        ("Data analysis", D(3), "Sound conclusions"),
    ]


def test_competency_create_refuses_a_duplicate_name_and_saves_nothing(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    existing = CompetencyFactory(organization=org, name="Data analysis")
    before = _competencies(org)

    response = client_as(hr_admin).post(
        url("competency_create", org),
        {
            "name": "data ANALYSIS",
            "category": existing.category_id,
            "descriptor_1": "x",
        },
    )

    assert response.status_code == 400
    assert (
        field_error(response.content.decode(), "id_name")
        == "A competency with this name exists already (perhaps archived)."
    )
    assert _competencies(org) == before
    assert _descriptors(org) == []


def test_competency_create_refuses_another_organisations_category(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    foreign = CompetencyCategoryFactory(organization=other_org)

    response = client_as(hr_admin).post(
        url("competency_create", org), {"name": "Sneaky", "category": foreign.pk}
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), "id_category") == (
        "Select a valid choice. That choice is not one of the available choices."
    )
    assert _competencies(org) == []


def test_competency_edit_changes_fields_and_descriptors(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency = CompetencyFactory(organization=org, name="Old")
    CompetencyDescriptorFactory(competency=competency, value=D(2), text="two")
    new_category = CompetencyCategoryFactory(organization=org, name="Craft")

    response = client_as(hr_admin).post(
        url("competency_edit", org, competency.pk),
        {
            "name": "New",
            "category": new_category.pk,
            "description": "Changed",
            "descriptor_2": "",
            "descriptor_4": "four",
        },
    )

    assert response.status_code == 302
    assert _competencies(org) == [("New", "Craft", "Changed", False)]
    assert _descriptors(org) == [("New", D(4), "four")]


def test_competency_edit_shows_the_stored_descriptors(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency = CompetencyFactory(organization=org)
    CompetencyDescriptorFactory(competency=competency, value=D(4), text="Four & more")

    page = client_as(hr_admin).get(url("competency_edit", org, competency.pk))

    assert "Four &amp; more</textarea>" in page.content.decode()


# --- the page every member reads -------------------------------------------------------


def test_competency_detail_shows_descriptors_with_scale_labels_to_employees(
    client_as: ClientAs, employee_member: Membership
) -> None:
    org = employee_member.organization
    DefaultScaleFactory(organization=org)
    competency = CompetencyFactory(organization=org, name="Facilitation")
    CompetencyDescriptorFactory(competency=competency, value=D(3), text="Runs it well")

    response = client_as(employee_member).get(
        url("competency_detail", org, competency.pk)
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Meets expectations</dt>" in page
    assert "Runs it well" in page
    assert "Not described yet." in page
    assert "History" not in page
    assert url("competency_edit", org, competency.pk) not in page


def test_competency_detail_for_hr_shows_usage_and_history(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    item = CompetencySetItemFactory(
        competency_set__organization=org, competency__organization=org
    )
    client = client_as(hr_admin)
    client.post(url("competency_archive", org, item.competency.pk))

    page = client.get(
        url("competency_detail", org, item.competency.pk)
    ).content.decode()

    assert item.competency_set.name in page
    assert "<strong>Archived</strong>: No → Yes" in page
    assert url("competency_delete", org, item.competency.pk) not in page


# --- archive and delete ----------------------------------------------------------------


def test_competency_archive_toggles(client_as: ClientAs, hr_admin: Membership) -> None:
    org = hr_admin.organization
    competency = CompetencyFactory(organization=org, name="Old")
    client = client_as(hr_admin)

    first = client.post(url("competency_archive", org, competency.pk))
    archived = _competencies(org)[0][3]
    client.post(url("competency_archive", org, competency.pk))

    assert (first.status_code, first.url) == (
        302,
        url("competency_detail", org, competency.pk),
    )
    assert (archived, _competencies(org)[0][3]) == (True, False)


def test_competency_delete_refuses_one_in_use_and_deletes_an_unused_one(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    item = CompetencySetItemFactory(
        competency_set__organization=org,
        competency__organization=org,
        competency__name="Used",
    )
    unused = CompetencyFactory(organization=org, name="Unused")
    CompetencyDescriptorFactory(competency=unused)
    client = client_as(hr_admin)

    refused = client.post(
        url("competency_delete", org, item.competency.pk), follow=True
    )
    deleted = client.post(url("competency_delete", org, unused.pk))

    assert "archive it instead" in refused.content.decode()
    assert (deleted.status_code, deleted.url) == (302, url("competencies", org))
    assert [row[0] for row in _competencies(org)] == ["Used"]
    assert _descriptors(org) == []


# --- the list: search, category filter, archived, pagination --------------------------


def test_competency_list_searches_filters_and_hides_archived(
    client_as: ClientAs, employee_member: Membership, other_org: Organization
) -> None:
    org = employee_member.organization
    technical = CompetencyCategoryFactory(organization=org, name="Technical")
    leadership = CompetencyCategoryFactory(organization=org, name="Leadership")
    CompetencyFactory(organization=org, name="Data analysis", category=technical)
    CompetencyFactory(
        organization=org,
        name="Solution design",
        category=technical,
        description="Designs systems that can be built",
    )
    CompetencyFactory(organization=org, name="Coaching", category=leadership)
    CompetencyFactory(
        organization=org, name="Old analysis", category=technical, is_archived=True
    )
    CompetencyFactory(organization=other_org, name="Foreign analysis")
    client = client_as(employee_member)

    def names(query: str) -> list[str]:
        page = client.get(url("competencies", org) + query).content.decode()
        return [
            name
            for name in (
                "Data analysis",
                "Solution design",
                "Coaching",
                "Old analysis",
                "Foreign analysis",
            )
            if f">{name}</a>" in page
        ]

    assert names("") == ["Data analysis", "Solution design", "Coaching"]
    assert names("?q=analysis") == ["Data analysis"]
    assert names("?q=BUILT") == ["Solution design"]
    assert names(f"?category={leadership.pk}") == ["Coaching"]
    assert names("?q=analysis&status=all") == ["Data analysis", "Old analysis"]
    assert names("?status=archived") == ["Old analysis"]


def test_competency_list_paginates(
    client_as: ClientAs, employee_member: Membership
) -> None:
    org = employee_member.organization
    category = CompetencyCategoryFactory(organization=org)
    CompetencyFactory.create_batch(30, organization=org, category=category)

    page = client_as(employee_member).get(url("competencies", org) + "?page=2")

    assert page.status_code == 200
    assert "Page 2 of 2" in page.content.decode()


@pytest.mark.parametrize("member", ["hr_admin", "employee_member"])
def test_competency_list_query_count_is_flat(
    client_as: ClientAs, member: str, request: pytest.FixtureRequest
) -> None:
    membership: Membership = request.getfixturevalue(member)
    org = membership.organization
    category = CompetencyCategoryFactory(organization=org)
    client = client_as(membership)
    counts = []
    made = 0
    for total in (1, 3, 30):
        CompetencyFactory.create_batch(total - made, organization=org)
        made = total
        counts.append(
            queries(client, url("competencies", org) + f"?category={category.pk}")
        )
        counts.append(queries(client, url("competencies", org)))

    assert counts[0::2] == [counts[0]] * 3
    assert counts[1::2] == [counts[1]] * 3
    assert max(counts) <= PAGE_BUDGET


def test_competency_detail_query_count_is_flat(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency = CompetencyFactory(organization=org)
    client = client_as(hr_admin)
    counts = []
    for value in (1, 2, 3):
        CompetencyDescriptorFactory(competency=competency, value=D(value))
        client.post(url("competency_archive", org, competency.pk))
        counts.append(queries(client, url("competency_detail", org, competency.pk)))

    assert counts == [counts[0]] * 3
    assert counts[0] <= PAGE_BUDGET


# --- categories ------------------------------------------------------------------------


def test_categories_page_creates_defaults_and_adds_one(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    client = client_as(hr_admin)

    page = client.get(url("categories", org)).content.decode()
    response = client.post(url("categories", org), {"name": "Commercial"})

    assert "<td>Client-facing</td>" in page
    assert response.status_code == 302
    with tenant_context(org):
        names = list(CompetencyCategory.objects.values_list("name", flat=True))
    assert names == [
        "Behavioural",
        "Client-facing",
        "Commercial",
        "Leadership",
        "Technical",
    ]


def test_categories_page_refuses_a_duplicate(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    CompetencyCategoryFactory(organization=org, name="Craft")

    response = client_as(hr_admin).post(url("categories", org), {"name": "CRAFT"})

    assert response.status_code == 400
    assert (
        field_error(response.content.decode(), "id_name")
        == "A category with this name exists already."
    )
    with tenant_context(org):
        assert list(CompetencyCategory.objects.values_list("name", flat=True)) == [
            "Craft"
        ]


def test_categories_query_count_is_flat(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    client = client_as(hr_admin)
    counts = []
    made = 0
    for total in (1, 3, 30):
        for _ in range(total - made):
            CompetencyFactory(organization=org)
        made = total
        counts.append(queries(client, url("categories", org)))

    assert counts == [counts[0]] * 3
    assert counts[0] <= PAGE_BUDGET
