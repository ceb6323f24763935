"""Organisation settings, business units and job titles."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from organizations.models import BusinessUnit, JobTitle, Organization
from organizations.tenancy import tenant_context
from tests.factories import BusinessUnitFactory, JobTitleFactory

pytestmark = pytest.mark.django_db

INVALID_CHOICE = (
    "Select a valid choice. That choice is not one of the available choices."
)


def _field_error(page: str, name: str) -> str | None:
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def _marked_invalid(page: str, name: str) -> bool:
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bname="{name}"[^>]*>', page)
    if match is None:
        return False
    tag = match.group(0)
    return 'aria-invalid="true"' in tag and f"id_{name}-error" in tag


def _url(name: str, org: Any, *args: Any) -> str:
    return reverse(f"organizations:{name}", args=[org.slug, *args])


# --- organisation settings ----------------------------------------------------------


def _settings_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Renamed Org",
        "timezone": "Europe/Berlin",
        "language": "en-gb",
        "general_weight": "30",
        "goal_weight": "65.5",
        "report_retention_days": "30",
    }
    data.update(overrides)
    return data


def _org_state(org: Organization) -> tuple[Any, ...]:
    stored = Organization.objects.get(pk=org.pk)
    return (stored.name, stored.timezone, stored.general_weight, stored.goal_weight)


def test_organization_settings_saves_name_timezone_and_weights(
    client_as, hr_admin, org
):
    response = client_as(hr_admin).post(_url("settings", org), _settings_data())

    assert response.status_code == 302
    assert response["Location"] == _url("settings", org)
    assert _org_state(org) == (
        "Renamed Org",
        "Europe/Berlin",
        Decimal("30"),
        Decimal("65.5"),
    )


@pytest.mark.parametrize("value", ["0", "100"])
def test_organization_settings_accepts_weights_at_the_bounds(
    client_as, hr_admin, org, value
):
    response = client_as(hr_admin).post(
        _url("settings", org), _settings_data(general_weight=value, goal_weight=value)
    )

    assert response.status_code == 302
    assert _org_state(org)[2:] == (Decimal(value), Decimal(value))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("general_weight", "150", "Ensure this value is less than or equal to 100."),
        ("goal_weight", "150", "Ensure this value is less than or equal to 100."),
        ("goal_weight", "-1", "Ensure this value is greater than or equal to 0."),
        (
            "timezone",
            "Mars/Olympus",
            "Select a valid choice. Mars/Olympus is not one of the available choices.",
        ),
    ],
)
def test_organization_settings_refuses_out_of_range_values(
    client_as, hr_admin, org, field, value, message
):
    before = _org_state(org)

    response = client_as(hr_admin).post(
        _url("settings", org), _settings_data(**{field: value})
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, field) == message
    assert _marked_invalid(page, field) is True
    assert "Nothing was saved." in page
    assert _org_state(org) == before


@pytest.mark.parametrize("days", ["1", "90", "3650"])
def test_organization_settings_saves_the_report_retention(
    client_as, hr_admin, org, days
):
    response = client_as(hr_admin).post(
        _url("settings", org), _settings_data(report_retention_days=days)
    )

    assert response.status_code == 302
    assert Organization.objects.get(pk=org.pk).report_retention_days == int(days)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "Ensure this value is greater than or equal to 1."),
        ("3651", "Ensure this value is less than or equal to 3650."),
        ("", "This field is required."),
    ],
)
def test_organization_settings_refuses_a_report_retention_out_of_range(
    client_as, hr_admin, org, value, message
):
    response = client_as(hr_admin).post(
        _url("settings", org), _settings_data(report_retention_days=value)
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, "report_retention_days") == message
    assert Organization.objects.get(pk=org.pk).report_retention_days == 30


def test_organization_settings_page_shows_stored_values_after_an_error(
    client_as, hr_admin, org
):
    response = client_as(hr_admin).post(
        _url("settings", org), _settings_data(name="Not Saved", general_weight="150")
    )

    assert response.status_code == 400
    assert response.context["organization"].name == "Acme Test"


def test_organization_settings_is_forbidden_to_non_hr_members(client_as, manager, org):
    before = _org_state(org)

    response = client_as(manager).post(_url("settings", org), _settings_data())

    assert response.status_code == 403
    assert _org_state(org) == before


# --- business units ------------------------------------------------------------------


def _unit_names(org: Organization) -> list[str]:
    with tenant_context(org):
        return list(
            BusinessUnit.objects.order_by("name").values_list("name", flat=True)
        )


def _unit_parent(org: Organization, unit: BusinessUnit) -> int | None:
    with tenant_context(org):
        return BusinessUnit.objects.get(pk=unit.pk).parent_id


def test_business_unit_list_adds_a_unit_with_a_parent(client_as, hr_admin, org):
    parent = BusinessUnitFactory(organization=org, name="Head Office")

    response = client_as(hr_admin).post(
        _url("business_units", org), {"name": " Finance ", "parent": parent.pk}
    )

    with tenant_context(org):
        added = BusinessUnit.objects.get(name="Finance")
    assert response.status_code == 302
    assert (added.parent_id, added.organization_id) == (parent.pk, org.pk)


def test_business_unit_list_refuses_a_duplicate_name(client_as, hr_admin, org):
    BusinessUnitFactory(organization=org, name="Finance")
    before = _unit_names(org)

    response = client_as(hr_admin).post(
        _url("business_units", org), {"name": "finance", "parent": ""}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert (
        _field_error(page, "name") == "A business unit with this name exists already."
    )
    assert _marked_invalid(page, "name") is True
    assert _unit_names(org) == before


def test_business_unit_list_accepts_a_name_used_in_another_organization(
    client_as, hr_admin, org, other_org
):
    BusinessUnitFactory(organization=other_org, name="Finance")

    response = client_as(hr_admin).post(
        _url("business_units", org), {"name": "Finance", "parent": ""}
    )

    assert response.status_code == 302
    assert "Finance" in _unit_names(org)


def test_business_unit_list_refuses_a_parent_from_another_organization(
    client_as, hr_admin, org, other_org
):
    foreign = BusinessUnitFactory(organization=other_org)
    before = _unit_names(org)

    response = client_as(hr_admin).post(
        _url("business_units", org), {"name": "Smuggled", "parent": foreign.pk}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, "parent") == INVALID_CHOICE
    assert _marked_invalid(page, "parent") is True
    assert _unit_names(org) == before


@pytest.fixture
def unit_tree(org):
    """root > child > grandchild, and an unrelated unit."""
    root = BusinessUnitFactory(organization=org, name="Root")
    child = BusinessUnitFactory(organization=org, name="Child", parent=root)
    grandchild = BusinessUnitFactory(organization=org, name="Grandchild", parent=child)
    other = BusinessUnitFactory(organization=org, name="Elsewhere")
    return root, child, grandchild, other


@pytest.mark.parametrize("new_parent", ["root", "child", "grandchild"])
def test_business_unit_edit_refuses_itself_or_a_descendant_as_parent(
    client_as, hr_admin, org, unit_tree, new_parent
):
    root, child, grandchild, _other = unit_tree
    choice = {"root": root, "child": child, "grandchild": grandchild}[new_parent]

    response = client_as(hr_admin).post(
        _url("business_unit_edit", org, root.pk),
        {"name": "Root", "parent": choice.pk},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, "parent") == INVALID_CHOICE
    assert _marked_invalid(page, "parent") is True
    assert _unit_parent(org, root) is None


def test_business_unit_edit_accepts_an_unrelated_parent(
    client_as, hr_admin, org, unit_tree
):
    root, _child, _grandchild, other = unit_tree

    response = client_as(hr_admin).post(
        _url("business_unit_edit", org, root.pk),
        {"name": "Root", "parent": other.pk},
    )

    assert response.status_code == 302
    assert response["Location"] == _url("business_units", org)
    assert _unit_parent(org, root) == other.pk


def test_business_unit_edit_accepts_moving_a_unit_up_its_own_line(
    client_as, hr_admin, org, unit_tree
):
    root, _child, grandchild, _other = unit_tree

    response = client_as(hr_admin).post(
        _url("business_unit_edit", org, grandchild.pk),
        {"name": "Grandchild", "parent": root.pk},
    )

    assert response.status_code == 302
    assert _unit_parent(org, grandchild) == root.pk


def test_business_unit_edit_refuses_another_units_name(
    client_as, hr_admin, org, unit_tree
):
    root, child, _grandchild, _other = unit_tree
    before = _unit_names(org)

    response = client_as(hr_admin).post(
        _url("business_unit_edit", org, child.pk),
        {"name": "ELSEWHERE", "parent": root.pk},
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), "name") == (
        "A business unit with this name exists already."
    )
    assert _unit_names(org) == before


def test_business_unit_edit_of_another_organizations_unit_is_404(
    client_as, hr_admin, org, other_org
):
    foreign = BusinessUnitFactory(organization=other_org, name="Theirs")

    response = client_as(hr_admin).post(
        _url("business_unit_edit", org, foreign.pk), {"name": "Mine now", "parent": ""}
    )

    assert response.status_code == 404
    assert _unit_names(other_org) == ["Theirs"]


# --- job titles ----------------------------------------------------------------------


def _title_names(org: Organization) -> list[str]:
    with tenant_context(org):
        return list(JobTitle.objects.order_by("name").values_list("name", flat=True))


def test_job_title_list_adds_a_title(client_as, hr_admin, org):
    before = _title_names(org)

    response = client_as(hr_admin).post(_url("job_titles", org), {"name": "Actuary"})

    assert response.status_code == 302
    assert _title_names(org) == sorted([*before, "Actuary"])


def test_job_title_list_refuses_a_duplicate_name(client_as, hr_admin, org):
    JobTitleFactory(organization=org, name="Actuary")
    before = _title_names(org)

    response = client_as(hr_admin).post(_url("job_titles", org), {"name": " actuary "})

    page = response.content.decode()
    assert response.status_code == 400
    assert _field_error(page, "name") == "A job title with this name exists already."
    assert _marked_invalid(page, "name") is True
    assert _title_names(org) == before


def test_job_title_list_accepts_a_name_used_in_another_organization(
    client_as, hr_admin, org, other_org
):
    JobTitleFactory(organization=other_org, name="Actuary")

    response = client_as(hr_admin).post(_url("job_titles", org), {"name": "Actuary"})

    assert response.status_code == 302
    assert "Actuary" in _title_names(org)


def test_job_title_edit_keeps_its_own_name_and_refuses_anothers(
    client_as, hr_admin, org
):
    actuary = JobTitleFactory(organization=org, name="Actuary")
    JobTitleFactory(organization=org, name="Broker")
    client = client_as(hr_admin)

    kept = client.post(_url("job_title_edit", org, actuary.pk), {"name": "actuary"})
    clash = client.post(_url("job_title_edit", org, actuary.pk), {"name": "Broker"})

    assert kept.status_code == 302
    assert clash.status_code == 400
    assert _field_error(clash.content.decode(), "name") == (
        "A job title with this name exists already."
    )
    with tenant_context(org):
        assert JobTitle.objects.get(pk=actuary.pk).name == "actuary"


def test_job_title_list_is_forbidden_to_non_hr_members(client_as, employee_member, org):
    before = _title_names(org)

    response = client_as(employee_member).post(
        _url("job_titles", org), {"name": "Self Promoted"}
    )

    assert response.status_code == 403
    assert _title_names(org) == before
