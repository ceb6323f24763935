"""Rating scale rules: the shape of a scale, a label for every point, one default per
organisation, the lock registry and copying a locked scale."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from competencies.models import RatingLevel, RatingScale
from competencies.selectors import default_scale, scale_levels
from competencies.services import scales as services
from competencies.usage import (
    register_scale_lock,
    scale_lock_reason,
    unregister_scale_lock,
)
from organizations.errors import DomainError
from organizations.models import Membership, Organization
from organizations.tenancy import tenant_context
from tests.competency_factories import DefaultScaleFactory, RatingScaleFactory

pytestmark = pytest.mark.django_db

D = Decimal


def _levels(*values: str) -> list[services.LevelInput]:
    return [
        services.LevelInput(value=D(v), label=f"Label {v}", description=f"About {v}")
        for v in values
    ]


def _scales(org: Organization) -> list[tuple[str, Decimal, Decimal, Decimal, bool]]:
    with tenant_context(org):
        return list(
            RatingScale.objects.order_by("name").values_list(
                "name", "min_value", "max_value", "step", "is_default"
            )
        )


def _labels(scale: RatingScale) -> list[tuple[Decimal, str]]:
    with tenant_context(scale.organization):
        return list(
            RatingLevel.objects.filter(scale=scale)
            .order_by("value")
            .values_list("value", "label")
        )


# --- shape rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "field", "fragment"),
    [
        ((D(5), D(1), D(1)), "max_value", "must be above the lowest point (5)"),
        ((D(3), D(3), D(1)), "max_value", "must be above the lowest point"),
        ((D(1), D(5), D("0.25")), "step", "whole points (1) or half points (0.5)"),
        ((D(1), D(5), D(2)), "step", "whole points (1) or half points (0.5)"),
        ((D(1), D("4.5"), D(1)), "max_value", "try 4 or 5"),
        ((D(1), D("5.2"), D("0.5")), "max_value", "whole number of steps"),
        ((D(0), D(21), D(1)), "max_value", "at most 21 points; this one would have 22"),
        ((D(1), D(12), D("0.5")), "max_value", "this one would have 23"),
        ((D(-1), D(3), D(1)), "min_value", "cannot be below 0"),
    ],
)
def test_scale_shape_errors_refuse_each_bad_shape(
    shape: tuple[Decimal, Decimal, Decimal], field: str, fragment: str
) -> None:
    errors = services.scale_shape_errors(*shape)

    assert list(errors) == [field]
    assert fragment in errors[field]


@pytest.mark.parametrize(
    ("shape", "points"),
    [
        ((D(1), D(5), D(1)), ["1", "2", "3", "4", "5"]),
        ((D(1), D(3), D("0.5")), ["1", "1.5", "2", "2.5", "3"]),
        ((D(0), D(20), D(1)), [str(n) for n in range(21)]),
        (
            (D(1), D(11), D("0.5")),
            [services.format_point(D(1) + D("0.5") * n) for n in range(21)],
        ),
    ],
)
def test_scale_shape_errors_accept_good_shapes(
    shape: tuple[Decimal, Decimal, Decimal], points: list[str]
) -> None:
    errors = services.scale_shape_errors(*shape)

    assert errors == {}
    assert [services.format_point(p) for p in services.scale_points(*shape)] == points


def test_create_scale_refuses_a_bad_shape_and_saves_nothing(
    hr_admin: Membership,
) -> None:
    org = hr_admin.organization

    with tenant_context(org), pytest.raises(DomainError) as caught:
        services.create_scale(
            actor=hr_admin,
            name="Upside down",
            min_value=D(5),
            max_value=D(1),
            step=D(1),
            levels=_levels("1", "2", "3", "4", "5"),
        )

    assert caught.value.field == "max_value"
    assert _scales(org) == []


def test_create_scale_refuses_a_point_without_a_label_and_saves_nothing(
    hr_admin: Membership,
) -> None:
    org = hr_admin.organization
    levels = [*_levels("1", "2", "3"), services.LevelInput(value=D(4), label="  ")]

    with tenant_context(org), pytest.raises(DomainError) as caught:
        services.create_scale(
            actor=hr_admin,
            name="Four",
            min_value=D(1),
            max_value=D(4),
            step=D(1),
            levels=levels,
        )

    assert caught.value.field == "label_4"
    assert "Give point 4 a label" in caught.value.message
    assert _scales(org) == []


def test_create_scale_labels_every_point_and_the_first_becomes_default(
    hr_admin: Membership,
) -> None:
    org = hr_admin.organization

    with tenant_context(org):
        first = services.create_scale(
            actor=hr_admin,
            name="Halves",
            min_value=D(1),
            max_value=D(2),
            step=D("0.5"),
            levels=_levels("1", "1.5", "2"),
        )
        second = services.create_scale(
            actor=hr_admin,
            name="Three",
            min_value=D(1),
            max_value=D(3),
            step=D(1),
            levels=_levels("1", "2", "3"),
        )

    assert _scales(org) == [
        ("Halves", D(1), D(2), D("0.5"), True),
        ("Three", D(1), D(3), D(1), False),
    ]
    assert _labels(first) == [
        (D(1), "Label 1"),
        (D("1.5"), "Label 1.5"),
        (D(2), "Label 2"),
    ]
    assert len(_labels(second)) == 3


def test_create_scale_refuses_a_name_taken_in_any_case(hr_admin: Membership) -> None:
    org = hr_admin.organization
    RatingScaleFactory(organization=org, name="Standard")

    with tenant_context(org), pytest.raises(DomainError) as caught:
        services.create_scale(
            actor=hr_admin,
            name="STANDARD",
            min_value=D(1),
            max_value=D(3),
            step=D(1),
            levels=_levels("1", "2", "3"),
        )

    assert caught.value.field == "name"
    assert [row[0] for row in _scales(org)] == ["Standard"]


def test_update_scale_changes_the_range_and_relabels_the_points(
    hr_admin: Membership,
) -> None:
    org = hr_admin.organization
    scale = RatingScaleFactory(organization=org, name="Old")

    with tenant_context(org):
        services.update_scale(
            actor=hr_admin,
            scale=scale,
            name="New",
            min_value=D(1),
            max_value=D(3),
            step=D(1),
            levels=_levels("1", "2", "3"),
        )

    assert _scales(org) == [("New", D(1), D(3), D(1), False)]
    assert _labels(scale) == [(D(1), "Label 1"), (D(2), "Label 2"), (D(3), "Label 3")]


# --- one default per organisation ------------------------------------------------------


def test_set_default_scale_moves_the_default(
    hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    old = DefaultScaleFactory(organization=org)
    new = RatingScaleFactory(organization=org, name="Other")
    foreign = DefaultScaleFactory(organization=other_org)

    with tenant_context(org):
        services.set_default_scale(actor=hr_admin, scale=new)
        now = default_scale()

    assert now == new
    assert [(n, d) for n, *_, d in _scales(org)] == [
        ("Other", True),
        (old.name, False),
    ]
    assert _scales(other_org)[0][-1] is True
    assert foreign.is_default


# --- the lock registry -----------------------------------------------------------------


@pytest.fixture
def lock_names() -> Iterator[set[str]]:
    """Register a lock check that locks scales whose names are in the set."""
    locked: set[str] = set()

    def check(scale: RatingScale) -> str | None:
        return (
            "A test cycle using this scale is in review."
            if scale.name in locked
            else None
        )

    register_scale_lock(check)
    yield locked
    unregister_scale_lock(check)


def test_scale_lock_reason_asks_the_registered_checks(
    hr_admin: Membership, lock_names: set[str]
) -> None:
    org = hr_admin.organization
    locked = RatingScaleFactory(organization=org, name="Locked")
    free = RatingScaleFactory(organization=org, name="Free")
    lock_names.add("Locked")

    with tenant_context(org):
        reasons = (scale_lock_reason(locked), scale_lock_reason(free))

    assert reasons == ("A test cycle using this scale is in review.", None)


def test_update_scale_refuses_a_locked_scale_and_changes_nothing(
    hr_admin: Membership, lock_names: set[str]
) -> None:
    org = hr_admin.organization
    scale = RatingScaleFactory(organization=org, name="Locked")
    before = _labels(scale)
    lock_names.add("Locked")

    with tenant_context(org), pytest.raises(DomainError) as caught:
        services.update_scale(
            actor=hr_admin,
            scale=scale,
            name="Renamed",
            min_value=D(1),
            max_value=D(3),
            step=D(1),
            levels=_levels("1", "2", "3"),
        )

    assert caught.value.message == (
        "A test cycle using this scale is in review. Create a new scale from this "
        "one instead."
    )
    assert _scales(org) == [("Locked", D(1), D(5), D(1), False)]
    assert _labels(scale) == before


def test_copy_scale_copies_levels_under_a_new_name_and_is_editable(
    hr_admin: Membership, lock_names: set[str]
) -> None:
    org = hr_admin.organization
    scale = DefaultScaleFactory(organization=org, name="Locked")
    lock_names.add("Locked")

    with tenant_context(org):
        copy = services.copy_scale(actor=hr_admin, scale=scale)
        again = services.copy_scale(actor=hr_admin, scale=scale)
        reason = scale_lock_reason(copy)
        services.update_scale(
            actor=hr_admin,
            scale=copy,
            name="Locked (copy)",
            min_value=D(1),
            max_value=D(5),
            step=D(1),
            levels=[
                services.LevelInput(value=level.value, label=level.label.upper())
                for level in scale_levels(copy)
            ],
        )

    assert (copy.name, again.name) == ("Locked (copy)", "Locked (copy 2)")
    assert reason is None
    assert {n: d for n, *_, d in _scales(org)} == {
        "Locked": True,
        "Locked (copy)": False,
        "Locked (copy 2)": False,
    }
    assert [label for _, label in _labels(copy)] == [
        "BELOW EXPECTATIONS",
        "PARTLY MEETS",
        "MEETS EXPECTATIONS",
        "EXCEEDS",
        "OUTSTANDING",
    ]
    assert _labels(scale)[0][1] == "Below expectations"
