"""Rating scale pages: create and edit with a label for every point, each validation
rule refusing with a message beside the field and nothing saved, the default, the
lock rule through the registry and "create a new scale from this one"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from competencies.models import RatingLevel, RatingScale
from competencies.usage import register_scale_lock, unregister_scale_lock
from organizations.models import Membership, Organization
from organizations.tenancy import tenant_context
from tests.competencies.views.helpers import (
    PAGE_BUDGET,
    ClientAs,
    field_error,
    queries,
    url,
)
from tests.competency_factories import DefaultScaleFactory, RatingScaleFactory

pytestmark = pytest.mark.django_db

D = Decimal
LOCK_REASON = "A test cycle using this scale is in review."


def _scales(org: Organization) -> list[tuple[str, Decimal, Decimal, Decimal, bool]]:
    with tenant_context(org):
        return list(
            RatingScale.objects.order_by("name").values_list(
                "name", "min_value", "max_value", "step", "is_default"
            )
        )


def _levels(org: Organization) -> list[tuple[str, Decimal, str, str]]:
    with tenant_context(org):
        return list(
            RatingLevel.objects.order_by("scale__name", "value").values_list(
                "scale__name", "value", "label", "description"
            )
        )


def _post(
    name: str = "Five point",
    min_value: str = "1",
    max_value: str = "5",
    step: str = "1",
    labels: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    data = {
        "name": name,
        "min_value": min_value,
        "max_value": max_value,
        "step": step,
        **extra,
    }
    if labels is None:
        labels = {str(n): f"Label {n}" for n in range(1, 6)}
    for key, label in labels.items():
        data[f"label_{key}"] = label
        data[f"description_{key}"] = f"About {key}"
    return data


@pytest.fixture
def locked_names() -> Iterator[set[str]]:
    """A registered lock check: scales with these names are locked."""
    names: set[str] = set()

    def check(scale: RatingScale) -> str | None:
        return LOCK_REASON if scale.name in names else None

    register_scale_lock(check)
    yield names
    unregister_scale_lock(check)


# --- create ----------------------------------------------------------------------------


def test_scale_create_saves_every_label_and_becomes_default(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization

    response = client_as(hr_admin).post(url("scale_create", org), _post())

    assert (response.status_code, response.url) == (302, url("scales", org))
    assert _scales(org) == [("Five point", D(1), D(5), D(1), True)]
    assert _levels(org) == [
        ("Five point", D(n), f"Label {n}", f"About {n}") for n in range(1, 6)
    ]


def test_scale_create_with_half_points(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    labels = {"1": "Low", "1_5": "Low+", "2": "Mid", "2_5": "Mid+", "3": "High"}

    response = client_as(hr_admin).post(
        url("scale_create", org),
        _post(name="Halves", max_value="3", step="0.5", labels=labels),
    )

    assert response.status_code == 302
    assert [(v, label) for _, v, label, _ in _levels(org)] == [
        (D(1), "Low"),
        (D("1.5"), "Low+"),
        (D(2), "Mid"),
        (D("2.5"), "Mid+"),
        (D(3), "High"),
    ]


@pytest.mark.parametrize(
    ("data", "auto_id", "message"),
    [
        (
            _post(min_value="5", max_value="1"),
            "id_max_value",
            "The highest point must be above the lowest point (5).",
        ),
        (
            _post(step="0.25"),
            "id_step",
            "Choose whole points (1) or half points (0.5).",
        ),
        (
            _post(max_value="4.5"),
            "id_max_value",
            "With steps of 1 the highest point must be a whole number of steps above "
            "the lowest; try 4 or 5.",
        ),
        (
            _post(min_value="0", max_value="30"),
            "id_max_value",
            "A scale can have at most 21 points; this one would have 31. Narrow the "
            "range or use whole points.",
        ),
        (
            _post(labels={"1": "a", "2": "b", "3": "", "4": "d", "5": "e"}),
            "id_label_3",
            "Give point 3 a label, for example “Meets expectations”.",
        ),
        (
            _post(max_value="6"),
            "id_label_6",
            "Give point 6 a label, for example “Meets expectations”.",
        ),
        (_post(name=""), "id_name", "This field is required."),
    ],
)
def test_scale_create_refuses_bad_input_beside_the_field_and_saves_nothing(
    client_as: ClientAs,
    hr_admin: Membership,
    data: dict[str, Any],
    auto_id: str,
    message: str,
) -> None:
    org = hr_admin.organization

    response = client_as(hr_admin).post(url("scale_create", org), data)

    assert response.status_code == 400
    assert field_error(response.content.decode(), auto_id) == message
    assert _scales(org) == []
    assert _levels(org) == []


def test_scale_create_refuses_a_name_taken(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    RatingScaleFactory(organization=org, name="Five point")
    before = _levels(org)

    response = client_as(hr_admin).post(
        url("scale_create", org), _post(name="FIVE POINT")
    )

    assert response.status_code == 400
    assert (
        field_error(response.content.decode(), "id_name")
        == "Another scale already has this name; choose a different one."
    )
    assert [row[0] for row in _scales(org)] == ["Five point"]
    assert _levels(org) == before


def test_scale_create_update_the_points_shows_a_row_per_new_point_and_saves_nothing(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization

    response = client_as(hr_admin).post(
        url("scale_create", org),
        {
            "name": "Halves",
            "min_value": "1",
            "max_value": "2",
            "step": "0.5",
            "label_1": "Kept",
            "action": "preview",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="label_1" value="Kept"' in page
    assert 'name="label_1_5"' in page
    assert 'name="label_2"' in page
    assert 'name="label_3"' not in page
    assert field_error(page, "id_label_1_5") is None
    assert _scales(org) == []


# --- edit, default, lock and copy ------------------------------------------------------


def test_scale_edit_relabels_and_narrows_the_range(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    scale = RatingScaleFactory(organization=org, name="Old")

    response = client_as(hr_admin).post(
        url("scale_edit", org, scale.pk),
        _post(name="New", max_value="3", labels={"1": "x", "2": "y", "3": "z"}),
    )

    assert response.status_code == 302
    assert _scales(org) == [("New", D(1), D(3), D(1), False)]
    assert [(v, label) for _, v, label, _ in _levels(org)] == [
        (D(1), "x"),
        (D(2), "y"),
        (D(3), "z"),
    ]


def test_scale_edit_refuses_bad_input_and_changes_nothing(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    scale = RatingScaleFactory(organization=org, name="Old")
    before = (_scales(org), _levels(org))

    response = client_as(hr_admin).post(
        url("scale_edit", org, scale.pk), _post(name="New", step="2")
    )

    assert response.status_code == 400
    assert (
        field_error(response.content.decode(), "id_step")
        == "Choose whole points (1) or half points (0.5)."
    )
    assert (_scales(org), _levels(org)) == before


def test_scale_edit_page_shows_history(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    scale = RatingScaleFactory(organization=org, name="Old")
    client = client_as(hr_admin)
    client.post(url("scale_edit", org, scale.pk), _post(name="Renamed"))

    page = client.get(url("scale_edit", org, scale.pk)).content.decode()

    assert "Renamed" in page
    assert "<strong>Name</strong>: Old → Renamed" in page


def test_scale_set_default_moves_the_default(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    old = DefaultScaleFactory(organization=org, name="Old")
    new = RatingScaleFactory(organization=org, name="New")

    response = client_as(hr_admin).post(url("scale_set_default", org, new.pk))

    assert (response.status_code, response.url) == (302, url("scales", org))
    assert [(row[0], row[-1]) for row in _scales(org)] == [
        ("New", True),
        ("Old", False),
    ]
    assert old.pk != new.pk


def test_scale_edit_of_a_locked_scale_explains_why_and_offers_a_copy(
    client_as: ClientAs, hr_admin: Membership, locked_names: set[str]
) -> None:
    org = hr_admin.organization
    scale = DefaultScaleFactory(organization=org, name="Locked")
    locked_names.add("Locked")

    response = client_as(hr_admin).get(url("scale_edit", org, scale.pk))

    page = response.content.decode()
    assert response.status_code == 200
    assert LOCK_REASON in page
    assert url("scale_copy", org, scale.pk) in page
    assert "Create a new scale from this one" in page
    assert re.search(
        r'<input type="text" name="name" value="Locked"[^>]* disabled', page
    )


def test_scale_edit_post_on_a_locked_scale_is_refused_and_changes_nothing(
    client_as: ClientAs, hr_admin: Membership, locked_names: set[str]
) -> None:
    org = hr_admin.organization
    scale = DefaultScaleFactory(organization=org, name="Locked")
    locked_names.add("Locked")
    before = (_scales(org), _levels(org))

    response = client_as(hr_admin).post(
        url("scale_edit", org, scale.pk),
        _post(name="Sneaky", labels={str(n): "changed" for n in range(1, 6)}),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was saved." in page
    assert LOCK_REASON in page
    assert (_scales(org), _levels(org)) == before


def test_scale_copy_creates_an_editable_copy_with_the_levels(
    client_as: ClientAs, hr_admin: Membership, locked_names: set[str]
) -> None:
    org = hr_admin.organization
    scale = DefaultScaleFactory(organization=org, name="Locked")
    locked_names.add("Locked")

    response = client_as(hr_admin).post(url("scale_copy", org, scale.pk))

    with tenant_context(org):
        copy = RatingScale.objects.get(name="Locked (copy)")
    assert (response.status_code, response.url) == (
        302,
        url("scale_edit", org, copy.pk),
    )
    assert not copy.is_default
    levels = _levels(org)
    assert [row[1:] for row in levels if row[0] == "Locked (copy)"] == [
        row[1:] for row in levels if row[0] == "Locked"
    ]
    edit = client_as(hr_admin).get(url("scale_edit", org, copy.pk)).content.decode()
    assert LOCK_REASON not in edit


# --- query counts ----------------------------------------------------------------------


@pytest.mark.parametrize("page", ["scales", "scale_edit"])
def test_scale_pages_query_counts_do_not_grow(
    client_as: ClientAs, hr_admin: Membership, page: str
) -> None:
    org = hr_admin.organization
    client = client_as(hr_admin)
    counts = []
    for total in (1, 3, 30):
        while len(_scales(org)) < total:
            RatingScaleFactory(organization=org)
        first = _scales(org)[0][0]
        with tenant_context(org):
            pk = RatingScale.objects.get(name=first).pk
        address = url(page, org, pk) if page == "scale_edit" else url(page, org)
        counts.append(queries(client, address))

    assert counts[0] == counts[1] == counts[2]
    assert counts[0] <= PAGE_BUDGET
