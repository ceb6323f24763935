"""The pickers of named rows: job titles, business units and competencies. Their
sources on the endpoint (who may use them, what they list, search and pages) and the
forms that use them without JavaScript (a typed name). The people, client and
engagement pickers are test_pickers.py's and test_picker_fields.py's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from competencies.models import CompetencySet, CompetencySetItem
from organizations.enums import Role
from organizations.models import (
    BusinessUnit,
    Employee,
    JobTitle,
    Membership,
    Organization,
)
from organizations.pickers import PAGE_SIZE
from organizations.tenancy import tenant_context
from tests.competency_factories import (
    CompetencyFactory,
    CompetencySetFactory,
    DefaultScaleFactory,
)
from tests.factories import BusinessUnitFactory, JobTitleFactory
from tests.organizations.test_pickers import _error_beside, _pick, _values

pytestmark = pytest.mark.django_db

ClientAs = Callable[[Membership | None], Client]
MakeMember = Callable[..., Membership]


def _ids(org: Organization, model: Any) -> list[int]:
    """Every row of ``model`` in ``org``, in the pickers' order (name, id)."""
    with tenant_context(org):
        return list(model.objects.order_by("name", "pk").values_list("pk", flat=True))


# --- The endpoint ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "factory", "model"),
    [
        ("job_titles", JobTitleFactory, JobTitle),
        ("business_units", BusinessUnitFactory, BusinessUnit),
    ],
)
@pytest.mark.parametrize("role", [Role.HR_ADMIN, Role.EMPLOYEE])
def test_named_source_lists_the_organisations_rows_only(
    client_as: ClientAs,
    org: Organization,
    other_org: Organization,
    make_member: MakeMember,
    source: str,
    factory: Any,
    model: Any,
    role: str,
) -> None:
    member = make_member(org, role)
    factory.create_batch(3, organization=org)
    foreign = factory(organization=other_org)

    response = _pick(client_as(member), org, source)

    assert response.status_code == 200
    assert _values(response) == _ids(org, model)
    assert foreign.pk not in _values(response)


def test_job_titles_source_matches_every_word_of_the_name(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    senior = JobTitleFactory(organization=org, name="Senior Data Engineer")
    JobTitleFactory(organization=org, name="Senior Consultant")
    JobTitleFactory(organization=other_org, name="Senior Data Engineer")

    response = _pick(client_as(hr_admin), org, "job_titles", q="data senior")

    assert response.json() == {
        "results": [{"value": senior.pk, "text": "Senior Data Engineer"}],
        "more": False,
    }


def test_business_units_source_pages_hold_twenty_in_name_order(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    BusinessUnitFactory.create_batch(PAGE_SIZE + 3, organization=org)
    client = client_as(hr_admin)

    pages = [_pick(client, org, "business_units", page=n).json() for n in (1, 2)]

    assert [page["more"] for page in pages] == [True, False]
    listed = [row["value"] for page in pages for row in page["results"]]
    assert listed == _ids(org, BusinessUnit)
    assert len(pages[0]["results"]) == PAGE_SIZE


def test_competencies_source_lists_competencies_in_use_to_hr_admins(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    used = CompetencyFactory(organization=org, name="Coaching")
    CompetencyFactory(organization=org, name="Archived", is_archived=True)
    CompetencyFactory(organization=other_org, name="Coaching abroad")

    response = _pick(client_as(hr_admin), org, "competencies")

    assert _values(response) == [used.pk]


@pytest.mark.parametrize("source", ["competencies", "plan_competencies"])
def test_competency_sources_are_refused_to_an_employee_who_plans_nothing(
    client_as: ClientAs, org: Organization, make_member: MakeMember, source: str
) -> None:
    member = make_member(org, Role.EMPLOYEE)
    CompetencyFactory(organization=org)

    response = _pick(client_as(member), org, source)

    assert response.status_code == 403


def test_plan_competencies_source_lists_competencies_in_use_to_hr_admins(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    used = CompetencyFactory(organization=org)
    CompetencyFactory(organization=org, is_archived=True)
    CompetencyFactory(organization=other_org)

    response = _pick(client_as(hr_admin), org, "plan_competencies")

    assert _values(response) == [used.pk]


# --- Forms without JavaScript: a typed name ---------------------------------------------


def _employee_data(**data: Any) -> dict[str, Any]:
    return {
        "code": "N-1",
        "full_name": "New Person",
        "email": "new.person@example.test",
        "job_title": "",
        "business_unit": "",
        "line_manager": "",
        **data,
    }


def test_employee_form_takes_a_typed_job_title_and_business_unit(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    title = JobTitleFactory(organization=org, name="Data Engineer")
    unit = BusinessUnitFactory(organization=org, name="Consulting")

    response = client_as(hr_admin).post(
        reverse("organizations:employee_create", args=[org.slug]),
        _employee_data(
            **{"job_title-find": "data engineer", "business_unit-find": "CONSULTING"}
        ),
    )

    assert response.status_code == 302
    with tenant_context(org):
        made = Employee.objects.get(code="N-1")
    assert (made.job_title_id, made.business_unit_id) == (title.pk, unit.pk)


def test_employee_form_refuses_another_organisations_job_title_beside_the_field(
    client_as: ClientAs, hr_admin: Membership, other_org: Organization
) -> None:
    org = hr_admin.organization
    JobTitleFactory(organization=other_org, name="Abroad")

    response = client_as(hr_admin).post(
        reverse("organizations:employee_create", args=[org.slug]),
        _employee_data(**{"job_title-find": "Abroad"}),
    )

    assert response.status_code == 400
    assert "No job title you can choose here is named" in _error_beside(
        response.content.decode(), "id_job_title"
    )
    with tenant_context(org):
        assert not Employee.objects.filter(code="N-1").exists()


def test_competency_set_form_takes_typed_job_titles(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    consultant = JobTitleFactory(organization=org, name="Consultant")
    analyst = JobTitleFactory(organization=org, name="Analyst")

    response = client_as(hr_admin).post(
        reverse("competencies:competency_sets", args=[org.slug]),
        {"name": "Juniors", "job_titles-find": "consultant, Analyst"},
    )

    assert response.status_code == 302
    with tenant_context(org):
        made = CompetencySet.objects.get()
        linked = sorted(made.job_title_links.values_list("job_title_id", flat=True))
    assert linked == sorted([consultant.pk, analyst.pk])


def test_set_item_form_takes_a_typed_competency_but_no_archived_one(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    DefaultScaleFactory(organization=org)
    competency_set = CompetencySetFactory(organization=org)
    CompetencyFactory(organization=org, name="Coaching")
    CompetencyFactory(organization=org, name="Typing", is_archived=True)
    address = reverse(
        "competencies:competency_set_item_add", args=[org.slug, competency_set.pk]
    )
    client = client_as(hr_admin)

    archived = client.post(
        address, {"competency-find": "typing", "weight": "1", "expected_level": "3"}
    )
    added = client.post(
        address, {"competency-find": "coaching", "weight": "1", "expected_level": "3"}
    )

    assert (archived.status_code, added.status_code) == (400, 302)
    with tenant_context(org):
        names = list(
            CompetencySetItem.objects.filter(competency_set=competency_set).values_list(
                "competency__name", flat=True
            )
        )
    assert names == ["Coaching"]


def test_business_unit_form_takes_a_typed_parent(
    client_as: ClientAs, hr_admin: Membership
) -> None:
    org = hr_admin.organization
    parent = BusinessUnitFactory(organization=org, name="Consulting")

    response = client_as(hr_admin).post(
        reverse("organizations:business_units", args=[org.slug]),
        {"name": "Data", "parent": "", "parent-find": "consulting"},
    )

    assert response.status_code == 302
    with tenant_context(org):
        assert BusinessUnit.objects.get(name="Data").parent_id == parent.pk
