"""The competency library and competency sets: services and the selectors other apps
use."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from competencies import selectors
from competencies.models import (
    Competency,
    CompetencyCategory,
    CompetencyDescriptor,
    CompetencySet,
    CompetencySetItem,
    CompetencySetJobTitle,
)
from competencies.services import library, sets
from organizations.errors import DomainError
from organizations.models import Membership, Organization
from organizations.tenancy import tenant_context
from tests.competency_factories import (
    CompetencyCategoryFactory,
    CompetencyDescriptorFactory,
    CompetencyFactory,
    CompetencySetFactory,
    CompetencySetItemFactory,
    CompetencySetJobTitleFactory,
    DefaultScaleFactory,
)
from tests.factories import JobTitleFactory

pytestmark = pytest.mark.django_db

D = Decimal


def _descriptors(competency: Competency) -> dict[Decimal, str]:
    with tenant_context(competency.organization):
        return dict(
            CompetencyDescriptor.objects.filter(competency=competency).values_list(
                "value", "text"
            )
        )


def _items(competency_set: CompetencySet) -> list[tuple[str, Decimal, Decimal]]:
    with tenant_context(competency_set.organization):
        return list(
            CompetencySetItem.objects.filter(competency_set=competency_set)
            .order_by("competency__name")
            .values_list("competency__name", "weight", "expected_level")
        )


# --- categories ------------------------------------------------------------------------


def test_ensure_default_categories_creates_the_four_once(org: Organization) -> None:
    with tenant_context(org):
        library.ensure_default_categories(org)
        library.ensure_default_categories(org)
        names = list(CompetencyCategory.objects.values_list("name", flat=True))

    assert names == ["Behavioural", "Client-facing", "Leadership", "Technical"]


def test_ensure_default_categories_leaves_an_organisation_with_categories_alone(
    org: Organization,
) -> None:
    CompetencyCategoryFactory(organization=org, name="Craft")

    with tenant_context(org):
        library.ensure_default_categories(org)
        names = list(CompetencyCategory.objects.values_list("name", flat=True))

    assert names == ["Craft"]


def test_create_category_refuses_a_name_taken(hr_admin: Membership) -> None:
    org = hr_admin.organization
    CompetencyCategoryFactory(organization=org, name="Craft")

    with tenant_context(org), pytest.raises(DomainError) as caught:
        library.create_category(actor=hr_admin, name=" craft ")

    assert caught.value.field == "name"


# --- competencies ----------------------------------------------------------------------


def test_create_competency_with_descriptors_for_the_default_scale(
    hr_admin: Membership,
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    category = CompetencyCategoryFactory(organization=org)

    with tenant_context(org):
        competency = library.create_competency(
            actor=hr_admin,
            name=" Facilitation ",
            category=category,
            description="Runs workshops",
            descriptors={D(1): "Reads slides", D(3): "Runs a workshop", D(5): ""},
        )

    assert competency.name == "Facilitation"
    assert _descriptors(competency) == {D(1): "Reads slides", D(3): "Runs a workshop"}


def test_create_competency_refuses_a_point_off_the_default_scale(
    hr_admin: Membership,
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    category = CompetencyCategoryFactory(organization=org)

    with tenant_context(org), pytest.raises(DomainError) as caught:
        library.create_competency(
            actor=hr_admin,
            name="Facilitation",
            category=category,
            descriptors={D(7): "Off the scale"},
        )

    assert "not on the default rating scale" in caught.value.message
    with tenant_context(org):
        assert not Competency.objects.exists()


def test_create_competency_refuses_another_organisations_category(
    hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    foreign = CompetencyCategoryFactory(organization=other_org)

    with tenant_context(org), pytest.raises(DomainError) as caught:
        library.create_competency(actor=hr_admin, name="Sneaky", category=foreign)

    assert caught.value.field == "category"
    with tenant_context(org):
        assert not Competency.objects.exists()


def test_update_competency_rewrites_clears_and_keeps_descriptors(
    hr_admin: Membership,
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency = CompetencyFactory(organization=org)
    CompetencyDescriptorFactory(competency=competency, value=D(2), text="two")
    CompetencyDescriptorFactory(competency=competency, value=D(3), text="three")

    with tenant_context(org):
        library.update_competency(
            actor=hr_admin,
            competency=competency,
            name="Renamed",
            category=competency.category,
            descriptors={D(2): "", D(3): "THREE", D(4): "four"},
        )

    assert _descriptors(competency) == {D(3): "THREE", D(4): "four"}


def test_delete_competency_refuses_one_in_a_set_and_archive_works(
    hr_admin: Membership,
) -> None:
    org = hr_admin.organization
    item = CompetencySetItemFactory(
        competency_set=CompetencySetFactory(organization=org)
    )
    unused = CompetencyFactory(organization=org)

    with tenant_context(org):
        with pytest.raises(DomainError) as caught:
            library.delete_competency(actor=hr_admin, competency=item.competency)
        library.set_competency_archived(
            actor=hr_admin, competency=item.competency, archived=True
        )
        library.delete_competency(actor=hr_admin, competency=unused)
        rows = list(Competency.objects.values_list("name", "is_archived"))

    assert "archive it instead" in caught.value.message
    assert rows == [(item.competency.name, True)]


# --- competency sets -------------------------------------------------------------------


def test_create_set_links_job_titles(hr_admin: Membership) -> None:
    org = hr_admin.organization
    consultant = JobTitleFactory(organization=org, name="Consultant")
    analyst = JobTitleFactory(organization=org, name="Analyst")

    with tenant_context(org):
        made = sets.create_competency_set(
            actor=hr_admin, name="Consultant", job_titles=[consultant, analyst]
        )
        sets.update_competency_set(
            actor=hr_admin, competency_set=made, name="Consultant", job_titles=[analyst]
        )
        links = list(
            CompetencySetJobTitle.objects.values_list("job_title__name", flat=True)
        )

    assert links == ["Analyst"]


def test_create_set_refuses_another_organisations_job_title(
    hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    foreign = JobTitleFactory(organization=other_org)

    with tenant_context(org), pytest.raises(DomainError) as caught:
        sets.create_competency_set(actor=hr_admin, name="X", job_titles=[foreign])

    assert caught.value.field == "job_titles"
    with tenant_context(org):
        assert not CompetencySet.objects.exists()


@pytest.mark.parametrize(
    ("weight", "expected", "field"),
    [
        (D(0), D(3), "weight"),
        (D(-1), D(3), "weight"),
        (D(1), D(6), "expected_level"),
        (D(1), D("2.5"), "expected_level"),
    ],
)
def test_add_set_item_refuses_bad_weight_or_level(
    hr_admin: Membership, weight: Decimal, expected: Decimal, field: str
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency_set = CompetencySetFactory(organization=org)
    competency = CompetencyFactory(organization=org)

    with tenant_context(org), pytest.raises(DomainError) as caught:
        sets.add_set_item(
            actor=hr_admin,
            competency_set=competency_set,
            competency=competency,
            weight=weight,
            expected_level=expected,
        )

    assert caught.value.field == field
    assert _items(competency_set) == []


def test_add_set_item_refuses_archived_and_duplicate_competencies(
    hr_admin: Membership,
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency_set = CompetencySetFactory(organization=org)
    archived = CompetencyFactory(organization=org, is_archived=True)
    item = CompetencySetItemFactory(competency_set=competency_set)

    for competency in (archived, item.competency):
        with tenant_context(org), pytest.raises(DomainError) as caught:
            sets.add_set_item(
                actor=hr_admin,
                competency_set=competency_set,
                competency=competency,
                weight=D(1),
                expected_level=D(3),
            )
        assert caught.value.field == "competency"

    assert _items(competency_set) == [(item.competency.name, D(1), D(3))]


def test_set_items_add_update_remove(hr_admin: Membership) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency_set = CompetencySetFactory(organization=org)
    first = CompetencyFactory(organization=org, name="A first")
    second = CompetencyFactory(organization=org, name="B second")

    with tenant_context(org):
        item = sets.add_set_item(
            actor=hr_admin,
            competency_set=competency_set,
            competency=first,
            weight=D(2),
            expected_level=D(3),
        )
        sets.add_set_item(
            actor=hr_admin,
            competency_set=competency_set,
            competency=second,
            weight=D("1.5"),
            expected_level=D(4),
        )
        sets.update_set_item(
            actor=hr_admin, item=item, weight=D(3), expected_level=D(5)
        )
        sets.remove_set_item(
            actor=hr_admin,
            item=CompetencySetItem.objects.get(competency=second),
        )
        history = selectors.competency_set_history(competency_set)

    assert _items(competency_set) == [("A first", D(3), D(5))]
    assert [entry["kind"] for entry in history] == [
        "Deleted",
        "Changed",
        "Created 2 competencies of a set",  # two in a row by one person: one line
        "Created",  # the set itself
    ]


# --- selectors for the apps above ------------------------------------------------------


def test_set_for_job_title_is_the_first_set_by_name(org: Organization) -> None:
    title = JobTitleFactory(organization=org)
    other_title = JobTitleFactory(organization=org)
    CompetencySetJobTitleFactory(
        competency_set=CompetencySetFactory(organization=org, name="Zulu"),
        job_title=title,
    )
    alpha = CompetencySetFactory(organization=org, name="Alpha")
    CompetencySetJobTitleFactory(competency_set=alpha, job_title=title)

    with tenant_context(org):
        found = selectors.set_for_job_title(title.pk)
        none = selectors.set_for_job_title(other_title.pk)
        no_title = selectors.set_for_job_title(None)

    assert (found, none, no_title) == (alpha, None, None)


def test_set_items_loads_competencies_in_one_query(org: Organization) -> None:
    competency_set = CompetencySetFactory(organization=org)
    for name in ("Beta", "Alpha", "Gamma"):
        CompetencySetItemFactory(
            competency_set=competency_set,
            competency=CompetencyFactory(organization=org, name=name),
        )

    with tenant_context(org), CaptureQueriesContext(connection) as queries:
        items = selectors.set_items(competency_set)
        names = [(i.competency.name, i.competency.category.name) for i in items]
        count = len(queries.captured_queries)

    assert [n for n, _ in names] == ["Alpha", "Beta", "Gamma"]
    assert count == 1


def test_descriptors_for_groups_by_competency_in_one_query(org: Organization) -> None:
    first, second, bare = CompetencyFactory.create_batch(3, organization=org)
    for value in (D(3), D(1)):
        CompetencyDescriptorFactory(competency=first, value=value)
    CompetencyDescriptorFactory(competency=second, value=D(2))

    with tenant_context(org), CaptureQueriesContext(connection) as queries:
        found = selectors.descriptors_for([first.pk, second.pk, bare.pk])
        count = len(queries.captured_queries)

    assert {k: [d.value for d in v] for k, v in found.items()} == {
        first.pk: [D(1), D(3)],
        second.pk: [D(2)],
    }
    assert count == 1


def test_default_scale_and_levels(org: Organization, other_org: Organization) -> None:
    DefaultScaleFactory(organization=other_org)
    scale = DefaultScaleFactory(organization=org)

    with tenant_context(org):
        found, levels = selectors.default_scale_with_levels()
        plain = selectors.default_scale()
        labels = [level.label for level in selectors.scale_levels(scale)]

    assert (found, plain) == (scale, scale)
    assert [level.value for level in levels] == [D(1), D(2), D(3), D(4), D(5)]
    assert labels[2] == "Meets expectations"
