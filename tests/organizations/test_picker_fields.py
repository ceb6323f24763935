"""Searchable pickers in forms: the widgets (only the chosen options are rendered,
as Django's template would draw them) and the fields (an id, a typed key or another
organisation's id). The endpoint and the pages are test_pickers.py's."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import django_filters
import pytest
from django.forms.renderers import get_default_renderer
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from engagements.enums import EngagementRole
from engagements.forms import StaffingForm
from engagements.models import Engagement, RoleAssignment
from organizations.enums import Role
from organizations.models import Membership, Organization
from organizations.pickers import PickerFilter
from organizations.pickers.sources import PickerSource
from organizations.tenancy import tenant_context
from tests.engagement_factories import PlanFactory
from tests.organizations.test_pickers import _error_beside, _people

pytestmark = pytest.mark.django_db

ClientAs = Callable[[Membership | None], Client]
MakeMember = Callable[..., Membership]

# --- Widgets: only the chosen options -------------------------------------------------------


def test_staffing_widget_renders_no_option_per_employee(org: Organization) -> None:
    people = _people(org, 200)
    with tenant_context(org):
        empty = str(StaffingForm()["employees"])
        chosen = str(StaffingForm({"employees": [people[7].pk]})["employees"])

    assert empty.count("<option") == 0
    assert len(empty) < 2000
    assert 'data-picker-url="/o/acme-test/pick/people/"' in empty
    assert re.findall(r"<option[^>]*>[^<]*</option>", chosen) == [
        f'<option value="{people[7].pk}" selected>'
        f"{people[7].full_name} ({people[7].code})</option>"
    ]


@pytest.mark.parametrize("chosen", [[], [7], [3, 7]])
def test_widget_select_reads_exactly_as_djangos_template(
    org: Organization, chosen: list[int]
) -> None:
    people = _people(org, 10)
    with tenant_context(org):
        bound = StaffingForm({"employees": [people[i].pk for i in chosen]})["employees"]
        widget = bound.field.widget
        context = widget.get_context(bound.html_name, bound.value(), {"class": "x"})
        rendered = widget.render(bound.html_name, bound.value(), {"class": "x"})
        django = get_default_renderer().render(widget.template_name, context)

    assert rendered.startswith(django)
    assert rendered[len(django) :].startswith('<div class="picker-find')


def test_widget_keeps_a_typed_key_in_its_text_box(org: Organization) -> None:
    with tenant_context(org):
        form = StaffingForm({"employees-find": "E-1, nobody@example.test"})

        rendered = str(form["employees"])

    assert 'name="employees-find"' in rendered
    assert 'value="E-1, nobody@example.test"' in rendered


def test_widget_outside_an_organisation_scope_refuses_to_render(
    org: Organization,
) -> None:
    with tenant_context(org):
        form = StaffingForm()
    with scope(organization=None), pytest.raises(Exception, match="organisation"):
        str(form["employees"])


# --- Fields: an id, a typed key, another organisation's id -----------------------------------


def _roles(engagement: Engagement) -> list[tuple[int, str]]:
    with tenant_context(engagement.organization):
        return list(
            RoleAssignment.objects.filter(engagement=engagement).values_list(
                "employee_id", "role"
            )
        )


def _assign_role(client: Client, engagement: Engagement, **data: Any) -> Any:
    url = reverse(
        "engagements:engagement_role_assign",
        args=[engagement.organization.slug, engagement.pk],
    )
    return client.post(url, {"role": EngagementRole.REVIEWER, **data})


def test_role_picker_accepts_a_chosen_id(
    client_as: ClientAs, hr_admin: Membership, engagement: Engagement
) -> None:
    person = _people(engagement.organization, 1)[0]

    response = _assign_role(client_as(hr_admin), engagement, employee=person.pk)

    assert response.status_code == 302
    assert _roles(engagement) == [(person.pk, EngagementRole.REVIEWER)]


@pytest.mark.parametrize("key", ["code", "email"])
def test_role_picker_accepts_a_typed_code_or_email_without_javascript(
    client_as: ClientAs, hr_admin: Membership, engagement: Engagement, key: str
) -> None:
    person = _people(engagement.organization, 1)[0]

    response = _assign_role(
        client_as(hr_admin),
        engagement,
        employee="",
        **{"employee-find": f"  {getattr(person, key).upper()} "},
    )

    assert response.status_code == 302
    assert _roles(engagement) == [(person.pk, EngagementRole.REVIEWER)]


def test_role_picker_refuses_another_organisations_person_beside_the_field(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    other_org: Organization,
) -> None:
    stranger = _people(other_org, 1)[0]

    response = _assign_role(client_as(hr_admin), engagement, employee=stranger.pk)

    assert response.status_code == 400
    assert "Select a valid choice" in _error_beside(
        response.content.decode(), "id_role_employee"
    )
    assert _roles(engagement) == []


def test_role_picker_refuses_an_unknown_typed_key_beside_the_field(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    other_org: Organization,
) -> None:
    stranger = _people(other_org, 1)[0]

    response = _assign_role(
        client_as(hr_admin), engagement, **{"employee-find": stranger.code}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert f"has the code or e-mail address “{stranger.code}”" in _error_beside(
        page, "id_role_employee"
    )
    assert f'value="{stranger.code}"' in page  # kept in the box, to correct
    assert _roles(engagement) == []


def test_role_picker_refuses_a_typed_email_shared_by_two_people(
    client_as: ClientAs, hr_admin: Membership, engagement: Engagement
) -> None:
    org = engagement.organization
    _people(org, 2, email="shared@example.test")

    response = _assign_role(
        client_as(hr_admin), engagement, **{"employee-find": "shared@example.test"}
    )

    assert response.status_code == 400
    assert "more than one choice" in _error_beside(
        response.content.decode(), "id_role_employee"
    )
    assert _roles(engagement) == []


def test_staffing_picker_takes_several_typed_codes_and_chosen_ids(
    client_as: ClientAs, hr_admin: Membership, engagement: Engagement
) -> None:
    org = engagement.organization
    cycle = PlanFactory(organization=org, engagement=engagement).cycle
    first, second, third = _people(org, 3)
    url = reverse("engagements:engagement_staff", args=[org.slug, engagement.pk])

    response = client_as(hr_admin).post(
        url,
        {
            "cycle": cycle.pk,
            "employees": [first.pk],
            "employees-find": f"{second.code}; {third.email},",
            "allocation": "20",
        },
    )

    assert response.status_code == 302
    with tenant_context(org):
        staffed = set(
            engagement.plans.filter(cycle=cycle).values_list("employee_id", flat=True)
        )
    assert {first.pk, second.pk, third.pk} <= staffed


def test_staffing_picker_refuses_a_foreign_id_and_staffs_nobody(
    client_as: ClientAs,
    hr_admin: Membership,
    engagement: Engagement,
    other_org: Organization,
) -> None:
    org = engagement.organization
    cycle = PlanFactory(organization=org, engagement=engagement).cycle
    mine = _people(org, 1)[0]
    stranger = _people(other_org, 1)[0]
    url = reverse("engagements:engagement_staff", args=[org.slug, engagement.pk])
    with tenant_context(org):
        before = engagement.plans.count()

    response = client_as(hr_admin).post(
        url,
        {
            "cycle": cycle.pk,
            "employees": [mine.pk, stranger.pk],
            "allocation": "20",
        },
    )

    assert response.status_code == 400
    assert f"{stranger.pk} is not one of the available choices" in _error_beside(
        response.content.decode(), "id_employees"
    )
    with tenant_context(org):
        assert engagement.plans.count() == before


# --- Filter bars: choices built only when needed ----------------------------------------


def _client_filter(membership: Membership, data: dict[str, str] | None) -> Any:
    class ClientFilter(django_filters.FilterSet):
        client = PickerFilter(source="clients", field_name="client")

        class Meta:
            model = Engagement
            fields = ["client"]

    return ClientFilter(
        data,
        queryset=Engagement.objects.all(),
        request=SimpleNamespace(membership=membership),
    )


def test_an_empty_filter_bar_picker_builds_no_choices(
    org: Organization, make_member: MakeMember, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    original = PickerSource.queryset_for

    def counting(self: PickerSource, membership: Membership) -> Any:
        built.append(self.name)
        return original(self, membership)

    monkeypatch.setattr(PickerSource, "queryset_for", counting)
    member = make_member(org, Role.HR_ADMIN)
    engagement = PlanFactory(organization=org).engagement
    with tenant_context(org):
        empty = _client_filter(member, {})
        empty_page = str(empty.form["client"])
        untouched = list(built)
        chosen = _client_filter(member, {"client": str(engagement.client_id)})
        assert chosen.is_valid(), chosen.errors
        chosen_page = str(chosen.form["client"])

    assert untouched == []  # rendered without building the member's clients
    assert 'name="client"' in empty_page
    assert built == ["clients"]  # built once, for the chosen one
    assert engagement.client.name in chosen_page
