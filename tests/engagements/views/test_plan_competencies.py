"""The competencies of a plan on its pages: who sees them and who may add, re-weight
and remove them, bad input, the review lock, HTMX answers and query budgets."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engagements.enums import CycleStatus
from engagements.models import PlanCompetency, TemplateCompetency
from engagements.services.cycles import transition_cycle
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.competency_factories import (
    CompetencyDescriptorFactory,
    CompetencyFactory,
    DefaultScaleFactory,
)
from tests.engagement_factories import PlanTemplateFactory
from tests.engagements.test_plan_competencies import (
    PlanCompetencyFactory,
    TemplateCompetencyFactory,
)
from tests.engagements.views.test_plans import (
    LOCKED,
    QUERY_BUDGET,
    World,
    build_world,
    field_error,
    flashed,
    lookups,
    page_text,
    url,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(org, other_org, make_member) -> World:
    built = build_world(org, other_org, make_member)
    DefaultScaleFactory(organization=org)
    DefaultScaleFactory(organization=other_org)
    return built


def table(org: Organization) -> list[dict[str, Any]]:
    with tenant_context(org):
        return list(PlanCompetency.objects.order_by("pk").values())


def add_data(skill: Any, **overrides: Any) -> dict[str, Any]:
    data = {"competency": skill.pk, "expected_level": "4", "weight": "2"}
    data.update(overrides)
    return data


def update_data(item: PlanCompetency, **overrides: Any) -> dict[str, Any]:
    prefix = f"pc{item.pk}"
    data = {f"{prefix}-expected_level": "5", f"{prefix}-weight": "3"}
    data.update({f"{prefix}-{k}": v for k, v in overrides.items()})
    return data


# --- the section: who sees it and what it shows ------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "editor"),
    [
        ("hr", 200, True),
        ("planner", 200, True),
        ("owner", 200, False),
        ("manager", 200, False),
        ("other_planner", 404, None),
        ("stranger", 404, None),
        ("outsider", 404, None),
    ],
)
def test_plan_competencies_answer_by_role(world, client_as, who, status, editor):
    PlanCompetencyFactory(organization=world.org, plan=world.plan)

    response = client_as(world.member(who)).get(
        url("plan_competencies", world.org, world.plan.pk)
    )

    assert response.status_code == status
    if status == 200:
        section = response.context["section"]
        assert (section["add_form"] is not None, section["editable"]) == (
            editor,
            editor,
        )


def test_plan_competencies_of_another_organisation_are_404(world, client_as):
    response = client_as(world.hr).get(
        url("plan_competencies", world.org, world.foreign.pk)
    )

    assert response.status_code == 404


def test_line_manager_edits_the_competencies_of_a_general_plan(world, client_as):
    response = client_as(world.manager).get(
        url("plan_competencies", world.org, world.general.pk)
    )

    assert response.context["section"]["editable"] is True


def test_the_employee_sees_each_competency_with_its_level_and_descriptors(
    world, client_as
):
    item = PlanCompetencyFactory(
        organization=world.org,
        plan=world.plan,
        competency__name="Stakeholder management",
        competency__category__name="Client-facing",
        weight=Decimal("2.5"),
        expected_level=Decimal(4),
    )
    CompetencyDescriptorFactory(
        organization=world.org,
        competency=item.competency,
        value=Decimal(4),
        text="Anticipates what the client needs next",
    )

    response = client_as(world.owner).get(
        url("plan_competencies", world.org, world.plan.pk)
    )

    text = page_text(response)
    for expected in (
        "Stakeholder management",
        "Client-facing",
        "weight 2.5",
        "4 · Exceeds",
        "Anticipates what the client needs next",
        "1 · Below expectations",
        "Not described yet.",
    ):
        assert expected in text
    assert "Add a competency" not in text
    assert "Remove the competency" not in text


def test_the_plan_page_offers_the_competencies(world, client_as):
    response = client_as(world.owner).get(url("plan_detail", world.org, world.plan.pk))

    text = page_text(response)
    target = url("plan_competencies", world.org, world.plan.pk)
    assert f'hx-get="{target}"' in text
    assert "Show the competencies expected on this plan" in text


def test_htmx_gets_the_section_alone_and_caches_keep_the_two_apart(world, client_as):
    response = client_as(world.owner).get(
        url("plan_competencies", world.org, world.plan.pk), **HTMX
    )

    text = response.content.decode()
    assert text.lstrip().startswith('<section id="plan-competencies"')
    assert "<html" not in text
    assert "HX-Request" in response["Vary"]


# --- add, re-weight, remove: who may ---------------------------------------------------------


EDIT_STATUSES = [
    ("hr", 302),
    ("planner", 302),
    ("owner", 403),
    ("manager", 403),
    ("other_planner", 404),
    ("stranger", 404),
    ("outsider", 404),
]


@pytest.mark.parametrize(("who", "status"), EDIT_STATUSES)
def test_adding_a_competency_answers_by_role(world, client_as, who, status):
    skill = CompetencyFactory(organization=world.org)

    response = client_as(world.member(who)).post(
        url("plan_competency_add", world.org, world.plan.pk), add_data(skill)
    )

    assert response.status_code == status
    assert len(table(world.org)) == (1 if status == 302 else 0)


@pytest.mark.parametrize(("who", "status"), EDIT_STATUSES)
def test_reweighting_a_competency_answers_by_role(world, client_as, who, status):
    item = PlanCompetencyFactory(organization=world.org, plan=world.plan)

    response = client_as(world.member(who)).post(
        url("plan_competency_update", world.org, item.pk), update_data(item)
    )

    assert response.status_code == status
    [row] = table(world.org)
    expected = (Decimal(3), Decimal(5)) if status == 302 else (Decimal(1), Decimal(3))
    assert (row["weight"], row["expected_level"]) == expected


@pytest.mark.parametrize(("who", "status"), EDIT_STATUSES)
def test_removing_a_competency_answers_by_role(world, client_as, who, status):
    item = PlanCompetencyFactory(organization=world.org, plan=world.plan)

    response = client_as(world.member(who)).post(
        url("plan_competency_remove", world.org, item.pk)
    )

    assert response.status_code == status
    assert len(table(world.org)) == (0 if status == 302 else 1)


@pytest.mark.parametrize(
    ("who", "status"), [("manager", 302), ("owner", 403), ("planner", 404)]
)
def test_general_plan_competencies_are_edited_by_the_line_manager(
    world, client_as, who, status
):
    skill = CompetencyFactory(organization=world.org)

    response = client_as(world.member(who)).post(
        url("plan_competency_add", world.org, world.general.pk), add_data(skill)
    )

    assert response.status_code == status


@pytest.mark.parametrize("name", ["plan_competency_update", "plan_competency_remove"])
def test_plan_competencies_of_another_organisation_cannot_be_changed(
    world, client_as, name
):
    foreign = PlanCompetencyFactory(organization=world.other_org, plan=world.foreign)
    before = table(world.other_org)

    response = client_as(world.hr).post(
        url(name, world.org, foreign.pk), update_data(foreign)
    )

    assert response.status_code == 404
    assert table(world.other_org) == before


def test_adding_to_a_plan_of_another_organisation_is_404(world, client_as):
    skill = CompetencyFactory(organization=world.org)

    response = client_as(world.hr).post(
        url("plan_competency_add", world.org, world.foreign.pk), add_data(skill)
    )

    assert response.status_code == 404
    assert table(world.other_org) == []


@pytest.mark.parametrize(
    "name", ["plan_competency_add", "plan_competency_update", "plan_competency_remove"]
)
def test_plan_competency_actions_refuse_get(world, client_as, name):
    item = PlanCompetencyFactory(organization=world.org, plan=world.plan)
    target = world.plan.pk if name == "plan_competency_add" else item.pk

    response = client_as(world.hr).get(url(name, world.org, target))

    assert response.status_code == 405


# --- add, re-weight, remove: what happens ---------------------------------------------------------


def test_adding_a_competency_redirects_to_the_plan_with_a_message(world, client_as):
    skill = CompetencyFactory(organization=world.org, name="Facilitation")

    response = client_as(world.planner).post(
        url("plan_competency_add", world.org, world.plan.pk), add_data(skill)
    )

    assert response["Location"] == (
        url("plan_detail", world.org, world.plan.pk) + "#plan-competencies"
    )
    assert flashed(response) == [("success", "Facilitation was added to the plan.")]
    [row] = table(world.org)
    assert (row["competency_id"], row["weight"], row["expected_level"]) == (
        skill.pk,
        Decimal(2),
        Decimal(4),
    )


def test_adding_with_htmx_answers_with_the_new_section(world, client_as):
    skill = CompetencyFactory(organization=world.org, name="Facilitation")

    response = client_as(world.planner).post(
        url("plan_competency_add", world.org, world.plan.pk), add_data(skill), **HTMX
    )

    text = page_text(response)
    assert response.status_code == 200
    assert text.lstrip().startswith('<section id="plan-competencies"')
    assert "Facilitation was added to the plan." in text
    assert "4 · Exceeds" in text


def test_the_changes_show_in_the_plan_history(world, client_as):
    skill = CompetencyFactory(organization=world.org, name="Facilitation")
    client = client_as(world.planner)
    client.post(url("plan_competency_add", world.org, world.plan.pk), add_data(skill))

    response = client.get(url("plan_history", world.org, world.plan.pk))

    subjects = [entry["subject"] for entry in response.context["timeline"]]
    assert "Competency “Facilitation”" in subjects


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("weight", "0", "The weight must be more than 0."),
        ("weight", "lots", "Enter a number."),
        ("expected_level", "7", "Pick a point of the scale (1, 2, 3, 4, 5)."),
        ("expected_level", "3.5", "Pick a point of the scale (1, 2, 3, 4, 5)."),
    ],
)
def test_bad_input_when_adding_is_refused_beside_the_field(
    world, client_as, field, value, message
):
    skill = CompetencyFactory(organization=world.org)

    response = client_as(world.planner).post(
        url("plan_competency_add", world.org, world.plan.pk),
        add_data(skill, **{field: value}),
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), f"pc_{field}") == message
    assert "Nothing was saved." in page_text(response)
    assert table(world.org) == []


@pytest.mark.parametrize("kind", ["archived", "on the plan", "foreign"])
def test_competencies_that_cannot_be_added_are_refused(world, client_as, kind):
    if kind == "archived":
        skill = CompetencyFactory(organization=world.org, is_archived=True)
    elif kind == "foreign":
        skill = CompetencyFactory(organization=world.other_org)
    else:
        skill = PlanCompetencyFactory(
            organization=world.org, plan=world.plan
        ).competency
    before = table(world.org)

    response = client_as(world.planner).post(
        url("plan_competency_add", world.org, world.plan.pk), add_data(skill)
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), "pc_competency") == (
        "Choose one of the listed competencies. Archived ones, and those on the plan "
        "already, cannot be added."
    )
    assert table(world.org) == before


def test_the_add_form_lists_only_competencies_that_can_be_added(world, client_as):
    PlanCompetencyFactory(organization=world.org, plan=world.plan)
    CompetencyFactory(organization=world.org, is_archived=True)
    free = CompetencyFactory(organization=world.org)
    CompetencyFactory(organization=world.other_org)

    response = client_as(world.planner).get(
        url("plan_competencies", world.org, world.plan.pk)
    )

    field = response.context["section"]["add_form"].fields["competency"]
    with tenant_context(world.org):
        assert list(field.queryset) == [free]


def test_bad_input_with_htmx_comes_back_as_the_section_with_the_error(world, client_as):
    skill = CompetencyFactory(organization=world.org)

    response = client_as(world.planner).post(
        url("plan_competency_add", world.org, world.plan.pk),
        add_data(skill, weight="0"),
        **HTMX,
    )

    assert response.status_code == 200
    assert field_error(response.content.decode(), "pc_weight") == (
        "The weight must be more than 0."
    )
    assert table(world.org) == []


def test_bad_input_when_reweighting_is_refused_beside_the_field(world, client_as):
    item = PlanCompetencyFactory(organization=world.org, plan=world.plan)
    before = table(world.org)

    response = client_as(world.planner).post(
        url("plan_competency_update", world.org, item.pk),
        update_data(item, weight="-2", expected_level="9"),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert field_error(page, f"pc{item.pk}-weight") == "The weight must be more than 0."
    assert field_error(page, f"pc{item.pk}-expected_level") == (
        "Pick a point of the scale (1, 2, 3, 4, 5)."
    )
    assert table(world.org) == before


def _lock(world: World) -> None:
    with tenant_context(world.org):
        transition_cycle(actor=world.hr, cycle=world.cycle, to=CycleStatus.REVIEW)


@pytest.mark.parametrize(
    "name", ["plan_competency_add", "plan_competency_update", "plan_competency_remove"]
)
def test_competencies_of_a_locked_plan_cannot_change(world, client_as, name):
    item = PlanCompetencyFactory(organization=world.org, plan=world.plan)
    skill = CompetencyFactory(organization=world.org)
    _lock(world)
    before = table(world.org)
    if name == "plan_competency_add":
        target, data = world.plan.pk, add_data(skill)
    else:
        target, data = item.pk, update_data(item)

    response = client_as(world.hr).post(url(name, world.org, target), data)

    assert response.status_code == 400
    assert LOCKED in page_text(response)
    assert table(world.org) == before


def test_a_locked_plan_shows_its_competencies_without_edit_forms(world, client_as):
    PlanCompetencyFactory(organization=world.org, plan=world.plan)
    _lock(world)

    response = client_as(world.hr).get(
        url("plan_competencies", world.org, world.plan.pk)
    )

    assert response.context["section"]["add_form"] is None
    assert "Remove the competency" not in page_text(response)


def test_removing_with_htmx_answers_with_the_section(world, client_as):
    item = PlanCompetencyFactory(
        organization=world.org, plan=world.plan, competency__name="Old habit"
    )

    response = client_as(world.planner).post(
        url("plan_competency_remove", world.org, item.pk), **HTMX
    )

    text = page_text(response)
    assert response.status_code == 200
    assert "Old habit was taken off the plan." in text
    assert table(world.org) == []


# --- query budgets ------------------------------------------------------------------------------


def _competencies(world: World, count: int) -> None:
    for _ in range(count):
        item = PlanCompetencyFactory(organization=world.org, plan=world.plan)
        for value in (1, 3, 5):
            CompetencyDescriptorFactory(
                organization=world.org, competency=item.competency, value=value
            )


@pytest.mark.parametrize("who", ["hr", "planner", "owner", "manager"])
@pytest.mark.parametrize("name", ["plan_detail", "plan_competencies"])
def test_queries_stay_flat_as_competencies_grow(world, client_as, who, name):
    _competencies(world, 1)
    client = client_as(world.member(who))
    target = url(name, world.org, world.plan.pk)
    client.get(target)  # warm caches
    one, one_sql = lookups(client, target)
    _competencies(world, 7)

    eight, eight_sql = lookups(client, target)

    assert (one.status_code, eight.status_code) == (200, 200)
    assert len(eight_sql) == len(one_sql)
    assert len(eight_sql) <= QUERY_BUDGET
    if name == "plan_competencies":
        assert len(eight.context["section"]["rows"]) == 8


# --- competencies of plan templates (HR admins) -------------------------------------------


def template_rows(org: Organization) -> list[dict[str, Any]]:
    with tenant_context(org):
        return list(TemplateCompetency.objects.order_by("pk").values())


@pytest.mark.parametrize(
    ("who", "status"),
    [("hr", 302), ("manager", 403), ("planner", 403), ("owner", 403)],
)
def test_template_competencies_are_added_by_hr_admins(world, client_as, who, status):
    template = PlanTemplateFactory(organization=world.org)
    skill = CompetencyFactory(organization=world.org)

    response = client_as(world.member(who)).post(
        url("template_competency_add", world.org, template.pk), add_data(skill)
    )

    assert response.status_code == status
    assert len(template_rows(world.org)) == (1 if status == 302 else 0)


def test_template_competencies_of_another_organisation_are_404(world, client_as):
    foreign = TemplateCompetencyFactory(organization=world.other_org)
    skill = CompetencyFactory(organization=world.org)
    client = client_as(world.hr)

    added = client.post(
        url("template_competency_add", world.org, foreign.template_id),
        add_data(skill),
    )
    removed = client.post(
        url("template_competency_remove", world.org, foreign.template_id, foreign.pk)
    )

    assert (added.status_code, removed.status_code) == (404, 404)
    assert len(template_rows(world.other_org)) == 1


def test_a_template_competency_is_removed_only_through_its_template(world, client_as):
    item = TemplateCompetencyFactory(organization=world.org)
    other_template = PlanTemplateFactory(organization=world.org)

    wrong = client_as(world.hr).post(
        url("template_competency_remove", world.org, other_template.pk, item.pk)
    )
    right = client_as(world.hr).post(
        url("template_competency_remove", world.org, item.template_id, item.pk)
    )

    assert (wrong.status_code, right.status_code) == (404, 302)
    assert template_rows(world.org) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("expected_level", "6", "Pick a point of the scale (1, 2, 3, 4, 5)."),
        ("weight", "0", "The weight must be more than 0."),
        (
            "competency",
            "archived",
            "Choose one of the listed competencies. Archived ones, and those on the "
            "plan already, cannot be added.",
        ),
    ],
)
def test_bad_template_competencies_are_refused_beside_the_field(
    world, client_as, field, value, message
):
    template = PlanTemplateFactory(organization=world.org)
    skill = CompetencyFactory(organization=world.org)
    if value == "archived":
        value = CompetencyFactory(organization=world.org, is_archived=True).pk

    response = client_as(world.hr).post(
        url("template_competency_add", world.org, template.pk),
        add_data(skill, **{field: value}),
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), f"tc_{field}") == message
    assert template_rows(world.org) == []


def test_the_template_page_lists_its_competencies(world, client_as):
    item = TemplateCompetencyFactory(
        organization=world.org, competency__name="Coaching"
    )
    client = client_as(world.hr)
    target = url("template_detail", world.org, item.template_id)
    client.get(target)  # warm caches

    response, sql = lookups(client, target)

    assert "Coaching" in page_text(response)
    assert len(sql) <= QUERY_BUDGET
