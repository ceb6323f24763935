"""Review cycle pages: list, create, edit, detail and transitions (HR admins only)."""

from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements.enums import CycleStatus, EngagementRole, PlanKind, PlanStatus
from engagements.models import Plan, ReviewCycle
from engagements.services.cycles import TRANSITIONS
from engagements.services.roles import assign_role
from organizations.models import Employee, Membership
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    EngagementFactory,
    GoalFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 15


# --- helpers -------------------------------------------------------------------------


def _url(name: str, org: Any, *args: Any) -> str:
    return reverse(f"engagements:{name}", args=[org.slug, *args])


def _field_error(page: str, name: str) -> str | None:
    """The error text shown under field ``name``, unescaped, or None."""
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def _cycles(org: Any) -> list[dict[str, Any]]:
    with tenant_context(org):
        return list(ReviewCycle.objects.order_by("pk").values())


def _stored(cycle: ReviewCycle) -> dict[str, Any]:
    with tenant_context(cycle.organization):
        return ReviewCycle.objects.filter(pk=cycle.pk).values().get()


def _new_cycle(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "FY 2025",
        "start_date": "2025-01-01",
        "end_date": "2025-12-31",
        "general_weight": "30",
        "engagement_weighting": "effort",
    }
    data.update(overrides)
    return data


def _edit_data(cycle: ReviewCycle, **overrides: Any) -> dict[str, Any]:
    data = {
        "name": cycle.name,
        "start_date": cycle.start_date.isoformat(),
        "end_date": cycle.end_date.isoformat(),
        "general_weight": str(cycle.general_weight),
        "engagement_weighting": cycle.engagement_weighting,
    }
    data.update(overrides)
    return data


def _messages(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def _query_count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _planner(org: Any, make_member: Any) -> Membership:
    """An employee who is planner on an engagement: still not an HR admin."""
    member = make_member(org)
    engagement = EngagementFactory(organization=org)
    with tenant_context(org):
        assign_role(
            actor=None,
            engagement=engagement,
            employee=Employee.objects.get(user=member.user),
            role=EngagementRole.PLANNER,
        )
    return member


# --- authorisation -----------------------------------------------------------------------

PAGES = ["cycles", "cycle_create", "cycle_detail", "cycle_edit"]


@pytest.mark.parametrize("page", PAGES)
def test_cycle_pages_open_for_hr_admins(client_as, hr_admin, org, page):
    cycle = ReviewCycleFactory(organization=org)
    args = [cycle.pk] if page in ("cycle_detail", "cycle_edit") else []

    response = client_as(hr_admin).get(_url(page, org, *args))

    assert response.status_code == 200


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["manager", "employee", "planner"])
def test_cycle_pages_are_forbidden_to_other_roles(
    client_as, org, make_member, manager, employee_member, page, role
):
    member = {
        "manager": manager,
        "employee": employee_member,
        "planner": _planner(org, make_member) if role == "planner" else None,
    }[role]
    cycle = ReviewCycleFactory(organization=org)
    args = [cycle.pk] if page in ("cycle_detail", "cycle_edit") else []

    response = client_as(member).get(_url(page, org, *args))

    assert response.status_code == 403


@pytest.mark.parametrize("page", ["cycle_detail", "cycle_edit"])
def test_cycle_pages_of_another_organisation_are_404(
    client_as, hr_admin, org, other_org, page
):
    foreign = ReviewCycleFactory(organization=other_org)

    response = client_as(hr_admin).get(_url(page, org, foreign.pk))

    assert response.status_code == 404


@pytest.mark.parametrize("page", ["cycle_detail", "cycle_edit"])
def test_cycle_pages_refuse_other_roles_before_the_lookup(
    client_as, employee_member, org, other_org, page
):
    foreign = ReviewCycleFactory(organization=other_org)

    responses = [
        client_as(employee_member).get(_url(page, org, pk)).status_code
        for pk in (foreign.pk, 999_999_999)
    ]

    assert responses == [403, 403]


def test_cycle_edit_post_by_a_manager_is_forbidden_and_changes_nothing(
    client_as, manager, org
):
    cycle = ReviewCycleFactory(organization=org)
    before = _stored(cycle)

    response = client_as(manager).post(
        _url("cycle_edit", org, cycle.pk), _edit_data(cycle, name="Hijacked")
    )

    assert response.status_code == 403
    assert _stored(cycle) == before


def test_cycle_create_post_by_an_employee_is_forbidden(client_as, employee_member, org):
    response = client_as(employee_member).post(_url("cycle_create", org), _new_cycle())

    assert response.status_code == 403
    assert _cycles(org) == []


@pytest.mark.parametrize("role", ["manager", "employee"])
def test_cycle_transition_by_other_roles_is_forbidden_and_changes_nothing(
    client_as, manager, employee_member, org, role
):
    member = manager if role == "manager" else employee_member
    cycle = ReviewCycleFactory(organization=org)

    response = client_as(member).post(
        _url("cycle_transition", org, cycle.pk), {"to": CycleStatus.PLANNING}
    )

    assert response.status_code == 403
    assert _stored(cycle)["status"] == CycleStatus.DRAFT


def test_cycle_transition_of_another_organisations_cycle_is_404(
    client_as, hr_admin, org, other_org
):
    foreign = ReviewCycleFactory(organization=other_org)

    response = client_as(hr_admin).post(
        _url("cycle_transition", org, foreign.pk), {"to": CycleStatus.PLANNING}
    )

    assert response.status_code == 404
    assert _stored(foreign)["status"] == CycleStatus.DRAFT


def test_cycle_transition_refuses_get(client_as, hr_admin, org):
    cycle = ReviewCycleFactory(organization=org)

    response = client_as(hr_admin).get(_url("cycle_transition", org, cycle.pk))

    assert response.status_code == 405


def test_cycle_list_shows_no_cycle_of_another_organisation(
    client_as, hr_admin, org, other_org
):
    mine = ReviewCycleFactory(organization=org, name="Mine")
    ReviewCycleFactory(organization=other_org, name="Theirs")

    response = client_as(hr_admin).get(_url("cycles", org))

    assert [c.pk for c in response.context["cycles"]] == [mine.pk]


# --- create ------------------------------------------------------------------------------


def test_cycle_create_makes_a_draft_cycle(client_as, hr_admin, org):
    response = client_as(hr_admin).post(_url("cycle_create", org), _new_cycle())

    cycles = _cycles(org)
    assert response.status_code == 302
    assert response["Location"] == _url("cycle_detail", org, cycles[0]["id"])
    assert [
        (c["name"], c["status"], c["general_weight"], c["engagement_weighting"])
        for c in cycles
    ] == [("FY 2025", CycleStatus.DRAFT, Decimal("30.00"), "effort")]


def test_cycle_create_defaults_beta_to_the_organisations(client_as, hr_admin, org):
    org.general_weight = Decimal("45")
    org.save()

    response = client_as(hr_admin).post(
        _url("cycle_create", org), _new_cycle(general_weight="")
    )

    assert response.status_code == 302
    assert [c["general_weight"] for c in _cycles(org)] == [Decimal("45.00")]


def test_cycle_create_form_offers_the_organisations_beta(client_as, hr_admin, org):
    org.general_weight = Decimal("45")
    org.save()

    response = client_as(hr_admin).get(_url("cycle_create", org))

    page = html.unescape(response.content.decode())
    assert response.context["form"].initial["general_weight"] == Decimal("45")
    assert "Leave empty for the organisation's default (45 %)." in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"start_date": "2025-06-01", "end_date": "2025-05-31"},
            "end_date",
            "The end cannot be before the start.",
        ),
        (
            {"general_weight": "150"},
            "general_weight",
            "Ensure this value is less than or equal to 100.",
        ),
        (
            {"general_weight": "-5"},
            "general_weight",
            "Ensure this value is greater than or equal to 0.",
        ),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_cycle_create_refuses_bad_input_beside_the_field(
    client_as, hr_admin, org, overrides, field, message
):
    response = client_as(hr_admin).post(
        _url("cycle_create", org), _new_cycle(**overrides)
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), field) == message
    assert _cycles(org) == []


def test_cycle_create_refuses_a_duplicate_name(client_as, hr_admin, org):
    ReviewCycleFactory(organization=org, name="FY 2025")
    before = _cycles(org)

    response = client_as(hr_admin).post(
        _url("cycle_create", org), _new_cycle(name="fy 2025")
    )

    assert response.status_code == 400
    assert (
        _field_error(response.content.decode(), "name")
        == "Another cycle already has this name."
    )
    assert _cycles(org) == before


def test_cycle_create_accepts_a_name_used_in_another_organisation(
    client_as, hr_admin, org, other_org
):
    ReviewCycleFactory(organization=other_org, name="FY 2025")

    response = client_as(hr_admin).post(_url("cycle_create", org), _new_cycle())

    assert response.status_code == 302
    assert [c["name"] for c in _cycles(org)] == ["FY 2025"]


# --- edit --------------------------------------------------------------------------------


def test_cycle_edit_saves_valid_changes(client_as, hr_admin, org):
    cycle = ReviewCycleFactory(organization=org)

    response = client_as(hr_admin).post(
        _url("cycle_edit", org, cycle.pk),
        _edit_data(
            cycle,
            name="Renamed",
            end_date="2025-11-30",
            general_weight="25",
            engagement_weighting="equal",
        ),
    )

    stored = _stored(cycle)
    assert response.status_code == 302
    assert (
        stored["name"],
        stored["end_date"],
        stored["general_weight"],
        stored["engagement_weighting"],
    ) == ("Renamed", date(2025, 11, 30), Decimal("25.00"), "equal")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"end_date": "2024-12-31"},
            "end_date",
            "The end cannot be before the start.",
        ),
        (
            {"general_weight": "150"},
            "general_weight",
            "Ensure this value is less than or equal to 100.",
        ),
        ({"name": "Taken"}, "name", "Another cycle already has this name."),
    ],
)
def test_cycle_edit_refuses_bad_input_and_changes_nothing(
    client_as, hr_admin, org, overrides, field, message
):
    ReviewCycleFactory(organization=org, name="Taken")
    cycle = ReviewCycleFactory(organization=org, name="Mine")
    before = _stored(cycle)

    response = client_as(hr_admin).post(
        _url("cycle_edit", org, cycle.pk), _edit_data(cycle, **overrides)
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), field) == message
    assert _stored(cycle) == before


def test_cycle_edit_keeps_its_own_name(client_as, hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, name="Keep")

    response = client_as(hr_admin).post(
        _url("cycle_edit", org, cycle.pk), _edit_data(cycle, general_weight="20")
    )

    assert response.status_code == 302
    assert _stored(cycle)["name"] == "Keep"


def test_cycle_edit_keeps_the_dates_once_in_progress(client_as, hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)

    response = client_as(hr_admin).post(
        _url("cycle_edit", org, cycle.pk),
        _edit_data(
            cycle, start_date="2025-03-01", end_date="2025-04-01", name="Renamed"
        ),
    )

    stored = _stored(cycle)
    assert response.status_code == 302
    assert (stored["name"], stored["start_date"], stored["end_date"]) == (
        "Renamed",
        date(2025, 1, 1),
        date(2025, 12, 31),
    )


def test_cycle_edit_explains_why_the_dates_are_fixed(client_as, hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)

    response = client_as(hr_admin).get(_url("cycle_edit", org, cycle.pk))

    form = response.context["form"]
    assert (form.fields["start_date"].disabled, form.fields["end_date"].help_text) == (
        True,
        "Fixed: the dates cannot move once the cycle is in progress.",
    )


def test_cycle_edit_of_a_closed_cycle_is_refused_and_changes_nothing(
    client_as, hr_admin, org
):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.CLOSED)
    before = _stored(cycle)

    response = client_as(hr_admin).post(
        _url("cycle_edit", org, cycle.pk), _edit_data(cycle, name="Renamed")
    )

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "This cycle is closed; it can no longer change."
    ]
    assert _stored(cycle) == before


# --- detail ------------------------------------------------------------------------------


def test_cycle_detail_shows_the_next_move_with_its_explanation(
    client_as, hr_admin, org
):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.PLANNING)

    response = client_as(hr_admin).get(_url("cycle_detail", org, cycle.pk))

    page = html.unescape(response.content.decode())
    assert [(m["to"], m["label"]) for m in response.context["moves"]] == [
        (CycleStatus.IN_PROGRESS, "In progress")
    ]
    assert "Move to In progress" in page
    assert str(TRANSITIONS[CycleStatus.PLANNING][CycleStatus.IN_PROGRESS]) in (page)
    assert [s["state"] for s in response.context["steps"]] == [
        "done",
        "current",
        "upcoming",
        "upcoming",
        "upcoming",
    ]


def test_cycle_detail_of_a_closed_cycle_offers_no_move(client_as, hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.CLOSED)

    response = client_as(hr_admin).get(_url("cycle_detail", org, cycle.pk))

    assert response.context["moves"] == []
    assert "This cycle is closed; it cannot move any more." in (
        html.unescape(response.content.decode())
    )


def test_cycle_detail_explains_the_weights(client_as, hr_admin, org):
    cycle = ReviewCycleFactory(
        organization=org, general_weight=Decimal("40"), engagement_weighting="equal"
    )

    response = client_as(hr_admin).get(_url("cycle_detail", org, cycle.pk))

    page = html.unescape(response.content.decode())
    assert (
        "The general plan counts for 40 % of each person's final score; their "
        "engagement plans share the remaining 60 %." in page
    )
    assert (
        "Every engagement counts the same, whatever the allocation or duration." in page
    )


def test_cycle_detail_counts_plans_by_kind_and_status(client_as, hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    PlanFactory.create_batch(2, organization=org, cycle=cycle)
    PlanFactory(organization=org, cycle=cycle, status=PlanStatus.ACTIVE)
    PlanFactory(
        organization=org,
        cycle=cycle,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        status=PlanStatus.ACTIVE,
    )
    PlanFactory(organization=org)  # another cycle

    response = client_as(hr_admin).get(_url("cycle_detail", org, cycle.pk))

    assert [
        (row.kind, row.counts, row.total) for row in response.context["plan_counts"]
    ] == [
        (PlanKind.GENERAL, [0, 1, 0], 1),
        (PlanKind.ENGAGEMENT, [2, 1, 0], 3),
    ]


def test_cycle_detail_shows_the_history(client_as, hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, name="Before")
    client = client_as(hr_admin)
    client.post(_url("cycle_edit", org, cycle.pk), _edit_data(cycle, name="After"))

    response = client.get(_url("cycle_detail", org, cycle.pk))

    latest = response.context["timeline"][0]
    assert (latest["who"], latest["changes"]) == (
        hr_admin.user,
        [{"field": "name", "old": "Before", "new": "After"}],
    )


# --- transitions -------------------------------------------------------------------------


def test_cycle_transition_opens_planning_with_general_plans(client_as, hr_admin, org):
    EmployeeFactory.create_batch(2, organization=org)
    cycle = ReviewCycleFactory(organization=org, name="FY")

    response = client_as(hr_admin).post(
        _url("cycle_transition", org, cycle.pk), {"to": CycleStatus.PLANNING}
    )

    with tenant_context(org):
        general_plans = Plan.objects.filter(cycle=cycle, kind=PlanKind.GENERAL).count()
    assert response.status_code == 302
    assert response["Location"] == _url("cycle_detail", org, cycle.pk)
    assert _stored(cycle)["status"] == CycleStatus.PLANNING
    assert general_plans == 3  # the HR admin and the two employees
    assert _messages(response) == [("success", "The cycle FY moved to: Planning.")]


@pytest.mark.parametrize(
    ("status", "to", "message"),
    [
        (
            CycleStatus.DRAFT,
            CycleStatus.REVIEW,
            "A cycle in Draft can only move to Planning.",
        ),
        (
            CycleStatus.CLOSED,
            CycleStatus.DRAFT,
            "This cycle is closed; it cannot move any more.",
        ),
        (CycleStatus.DRAFT, "", "A cycle in Draft can only move to Planning."),
    ],
)
def test_cycle_transition_refused_shows_why_and_changes_nothing(
    client_as, hr_admin, org, status, to, message
):
    cycle = ReviewCycleFactory(organization=org, status=status)
    before = _stored(cycle)

    response = client_as(hr_admin).post(
        _url("cycle_transition", org, cycle.pk), {"to": to}
    )

    with tenant_context(org):
        plans = Plan.objects.filter(cycle=cycle).count()
    assert response.status_code == 302
    assert _messages(response) == [("error", message)]
    assert _stored(cycle) == before
    assert plans == 0


def test_cycle_transition_over_htmx_returns_the_status_card(client_as, hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    PlanFactory(organization=org, cycle=cycle, status=PlanStatus.ACTIVE)

    response = client_as(hr_admin).post(
        _url("cycle_transition", org, cycle.pk),
        {"to": CycleStatus.REVIEW},
        headers={"HX-Request": "true"},
    )

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert response.templates[0].name == ("engagements/partials/cycle_status.html")
    assert "<html" not in page
    assert f"The cycle {cycle.name} moved to: Review." in page
    assert "Move to Closed" in page
    assert [(row.kind, row.counts) for row in response.context["plan_counts"]] == [
        (PlanKind.GENERAL, [0, 0, 0]),
        (PlanKind.ENGAGEMENT, [0, 0, 1]),
    ]


def test_cycle_transition_refused_over_htmx_shows_the_reason_in_place(
    client_as, hr_admin, org
):
    cycle = ReviewCycleFactory(organization=org)

    response = client_as(hr_admin).post(
        _url("cycle_transition", org, cycle.pk),
        {"to": CycleStatus.CLOSED},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "A cycle in Draft can only move to Planning." in html.unescape(
        response.content.decode()
    )
    assert _stored(cycle)["status"] == CycleStatus.DRAFT


# --- general plans without goals before review ---------------------------------------------


def _general_plan(org: Any, cycle: ReviewCycle, name: str) -> Plan:
    return PlanFactory(
        organization=org,
        cycle=cycle,
        employee=EmployeeFactory(organization=org, full_name=name),
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        status=PlanStatus.ACTIVE,
    )


def test_cycle_transition_to_review_warns_of_general_plans_without_goals(
    client_as, hr_admin, org
):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    empty = _general_plan(org, cycle, "Zoe Empty")
    GoalFactory(plan=_general_plan(org, cycle, "Gus Goals"))

    response = client_as(hr_admin).post(
        _url("cycle_transition", org, cycle.pk), {"to": CycleStatus.REVIEW}
    )

    page = html.unescape(response.content.decode())
    with tenant_context(org):
        statuses = set(
            Plan.objects.filter(cycle=cycle).values_list("status", flat=True)
        )
    assert response.status_code == 200
    assert "1 general plan has no goals" in page
    assert [p.pk for p in response.context["empty_plans"]] == [empty.pk]
    assert "Zoe Empty" in page
    assert "Gus Goals" not in page
    assert _url("plan_detail", org, empty.pk) in page
    assert 'name="confirm" value="1"' in page
    assert _stored(cycle)["status"] == CycleStatus.IN_PROGRESS
    assert statuses == {PlanStatus.ACTIVE}


def test_cycle_transition_to_review_warning_over_htmx_replaces_the_status_card(
    client_as, hr_admin, org
):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    _general_plan(org, cycle, "Zoe Empty")

    response = client_as(hr_admin).post(
        _url("cycle_transition", org, cycle.pk),
        {"to": CycleStatus.REVIEW},
        headers={"HX-Request": "true"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="cycle-status"' in page
    assert _stored(cycle)["status"] == CycleStatus.IN_PROGRESS


def test_cycle_transition_to_review_confirmed_moves_the_cycle(client_as, hr_admin, org):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    empty = _general_plan(org, cycle, "Zoe Empty")

    response = client_as(hr_admin).post(
        _url("cycle_transition", org, cycle.pk),
        {"to": CycleStatus.REVIEW, "confirm": "1"},
    )

    with tenant_context(org):
        empty.refresh_from_db()
    assert response.status_code == 302
    assert _stored(cycle)["status"] == CycleStatus.REVIEW
    assert empty.status == PlanStatus.LOCKED


def test_cycle_transition_to_review_without_empty_plans_moves_at_once(
    client_as, hr_admin, org
):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    GoalFactory(plan=_general_plan(org, cycle, "Gus Goals"))
    PlanFactory(organization=org, cycle=cycle, status=PlanStatus.ACTIVE)  # engagement

    response = client_as(hr_admin).post(
        _url("cycle_transition", org, cycle.pk), {"to": CycleStatus.REVIEW}
    )

    assert response.status_code == 302
    assert _stored(cycle)["status"] == CycleStatus.REVIEW


def test_cycle_transition_to_review_warning_caps_the_list_with_a_count(
    client_as, hr_admin, org
):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    for n in range(52):
        _general_plan(org, cycle, f"Person {n:02d}")

    response = client_as(hr_admin).post(
        _url("cycle_transition", org, cycle.pk), {"to": CycleStatus.REVIEW}
    )

    page = html.unescape(response.content.decode())
    assert len(response.context["empty_plans"]) == 50
    assert "52 general plans have no goals" in page
    assert "and 2 more plans without goals" in page


def test_cycle_review_warning_query_count_is_flat(client_as, hr_admin, org):
    client = client_as(hr_admin)
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    url = _url("cycle_transition", org, cycle.pk)
    _general_plan(org, cycle, "Warm Up")
    client.post(url, {"to": CycleStatus.REVIEW})
    counts = []

    for total in (2, 5, 60):
        with tenant_context(org):
            have = Plan.objects.filter(cycle=cycle).count()
        for n in range(total - have):
            _general_plan(org, cycle, f"Person {total}-{n}")
        with CaptureQueriesContext(connection) as queries:
            response = client.post(url, {"to": CycleStatus.REVIEW})
        assert response.status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert counts[2] <= counts[0] + 1  # past the cap: one more query, the count
    assert counts[2] <= QUERY_BUDGET


# --- query counts --------------------------------------------------------------------------


def test_cycle_list_query_count_is_flat(client_as, hr_admin, org):
    client = client_as(hr_admin)
    url = _url("cycles", org)
    ReviewCycleFactory(organization=org)
    client.get(url)  # warm per-process caches (content types, session)
    counts = []

    for total in (1, 3, 30):
        with tenant_context(org):
            have = ReviewCycle.objects.count()
        for _ in range(total - have):
            PlanFactory(organization=org, cycle=ReviewCycleFactory(organization=org))
        counts.append(_query_count(client, url))

    assert counts == [counts[0]] * 3
    assert counts[0] <= QUERY_BUDGET


def test_cycle_detail_query_count_is_flat(client_as, hr_admin, org):
    client = client_as(hr_admin)
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.PLANNING)
    url = _url("cycle_detail", org, cycle.pk)
    client.get(url)
    counts = []

    for plans in (1, 3, 30):
        with tenant_context(org):
            have = Plan.objects.filter(cycle=cycle).count()
        PlanFactory.create_batch(plans - have, organization=org, cycle=cycle)
        counts.append(_query_count(client, url))

    assert counts == [counts[0]] * 3
    assert counts[0] <= QUERY_BUDGET


@pytest.mark.parametrize("page", ["cycle_create", "cycle_edit"])
def test_cycle_forms_stay_within_the_query_budget(client_as, hr_admin, org, page):
    cycle = ReviewCycleFactory(organization=org)
    client = client_as(hr_admin)
    args = [cycle.pk] if page == "cycle_edit" else []

    count = _query_count(client, _url(page, org, *args))

    assert count <= QUERY_BUDGET
