"""Goal pages and in-page actions: add, view, edit and delete goals, key activities
and check-ins, with and without HTMX; who may do what, bad input, optimistic locking,
the review lock and query budgets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engagements.enums import GoalStatus, PlanStatus
from engagements.models import Goal, GoalCheckIn, KeyActivity, Plan
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    GoalCheckInFactory,
    GoalFactory,
    KeyActivityFactory,
)
from tests.engagements.views.test_plans import (
    CONFLICT,
    LOCKED,
    QUERY_BUDGET,
    World,
    build_world,
    field_error,
    flashed,
    goal_rows,
    lock_cycle,
    lookups,
    page_text,
    plan_edit_data,
    plan_row,
    url,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


@pytest.fixture
def goal(world) -> Goal:
    return GoalFactory(
        plan=world.plan,
        title="Cut incidents",
        metric="Incidents",
        target_value=Decimal("5"),
        unit="incidents",
        direction="lower",
        weight=Decimal("60"),
    )


@pytest.fixture
def activity(goal) -> KeyActivity:
    return KeyActivityFactory(goal=goal, title="Write the runbook")


def _goal_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "title": "Raise adoption",
        "description": "",
        "metric": "Teams onboarded",
        "target_value": "10",
        "unit": "teams",
        "direction": "higher",
        "weight": "40",
        "planned_start": "2025-02-01",
        "due_date": "2025-06-30",
        "responsibilities": "",
    }
    data.update(overrides)
    return data


def _edit_data(goal: Goal, **overrides: Any) -> dict[str, Any]:
    data = _goal_data(
        title=goal.title,
        metric=goal.metric,
        target_value=str(goal.target_value or ""),
        unit=goal.unit,
        direction=goal.direction,
        weight=str(goal.weight),
        planned_start="",
        due_date="",
        version=goal.version,
    )
    data.update(overrides)
    return data


def _checkin_data(goal: Goal, **overrides: Any) -> dict[str, Any]:
    data = {"progress": "60", "actual_value": "4", "status": "on_track", "note": ""}
    data.update(overrides)
    return {f"checkin-{goal.pk}-{name}": value for name, value in data.items()}


def _activity_data(goal: Goal, **overrides: Any) -> dict[str, Any]:
    data = {"title": "Train the team", "due_date": ""}
    data.update(overrides)
    return {f"activity-{goal.pk}-{name}": value for name, value in data.items()}


def _goal_row(goal: Goal) -> dict[str, Any]:
    with tenant_context(goal.organization):
        return Goal.objects.filter(pk=goal.pk).values().get()


def _activities(goal: Goal) -> list[tuple[str, bool]]:
    with tenant_context(goal.organization):
        return list(
            KeyActivity.objects.filter(goal=goal)
            .order_by("pk")
            .values_list("title", "done")
        )


def _checkins(goal: Goal) -> list[dict[str, Any]]:
    with tenant_context(goal.organization):
        return list(GoalCheckIn.objects.filter(goal=goal).order_by("pk").values())


def _snapshot(world: World) -> dict[str, Any]:
    with tenant_context(world.org):
        return {
            "plans": list(Plan.objects.order_by("pk").values()),
            "goals": list(Goal.objects.order_by("pk").values()),
            "activities": list(KeyActivity.objects.order_by("pk").values()),
            "checkins": list(GoalCheckIn.objects.order_by("pk").values()),
        }


def _is_partial(response: Any) -> bool:
    return "<html" not in response.content.decode()


# --- goal_create -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("hr", 200),
        ("planner", 200),
        ("owner", 403),
        ("manager", 403),
        ("other_planner", 404),
        ("stranger", 404),
        ("outsider", 404),
    ],
)
def test_goal_create_page_answers_by_role(world, client_as, who, status):
    response = client_as(world.member(who)).get(
        url("goal_create", world.org, world.plan.pk)
    )

    assert response.status_code == status


def test_goal_create_on_another_organisations_plan_is_404(world, client_as):
    response = client_as(world.hr).post(
        url("goal_create", world.org, world.foreign.pk), _goal_data()
    )

    assert response.status_code == 404
    assert goal_rows(world.foreign) == []


def test_goal_create_without_htmx_saves_and_returns_to_the_plan(world, client_as):
    response = client_as(world.planner).post(
        url("goal_create", world.org, world.plan.pk), _goal_data()
    )

    (row,) = goal_rows(world.plan)
    assert (response.status_code, response["Location"]) == (
        302,
        url("plan_detail", world.org, world.plan.pk) + f"#goal-{row['id']}",
    )
    assert (row["title"], row["target_value"], row["weight"]) == (
        "Raise adoption",
        Decimal("10.00"),
        Decimal("40.00"),
    )
    assert flashed(response) == [("success", "The goal “Raise adoption” was added.")]


def test_goal_create_with_htmx_returns_the_goal_list_with_the_new_total(
    world, client_as, goal
):
    response = client_as(world.planner).post(
        url("goal_create", world.org, world.plan.pk), _goal_data(), **HTMX
    )

    text = page_text(response)
    assert response.status_code == 200
    assert _is_partial(response)
    assert (response["HX-Retarget"], response["HX-Reswap"]) == (
        "#plan-goals",
        "outerHTML",
    )
    assert 'id="plan-goals"' in text
    assert "Cut incidents" in text
    assert "Raise adoption" in text
    assert "Weights total 100 of 100" in text
    assert "The goal “Raise adoption” was added." in text
    assert [row["title"] for row in goal_rows(world.plan)] == [
        "Cut incidents",
        "Raise adoption",
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"due_date": "2026-02-01"},
            "due_date",
            "Pick a date inside the plan (2025-01-01 to 2025-12-31).",
        ),
        (
            {"planned_start": "2024-12-01"},
            "planned_start",
            "Pick a date inside the plan (2025-01-01 to 2025-12-31).",
        ),
        (
            {"planned_start": "2025-05-01", "due_date": "2025-04-01"},
            "due_date",
            "The due date cannot be before the planned start.",
        ),
        ({"weight": "0"}, "weight", "The weight must be more than 0."),
        ({"weight": "-3"}, "weight", "The weight must be more than 0."),
        ({"weight": ""}, "weight", "This field is required."),
        (
            {"target_value": ""},
            "target_value",
            "A goal with a metric needs a target value.",
        ),
        ({"title": ""}, "title", "This field is required."),
        ({"due_date": "31/31/2025"}, "due_date", "Enter a valid date."),
    ],
)
def test_goal_create_with_bad_input_shows_the_error_beside_the_field(
    world, client_as, overrides, field, message
):
    response = client_as(world.planner).post(
        url("goal_create", world.org, world.plan.pk), _goal_data(**overrides)
    )

    assert response.status_code == 400
    assert field_error(page_text(response), field) == message
    assert goal_rows(world.plan) == []


def test_goal_create_with_htmx_and_bad_input_returns_the_form_with_errors(
    world, client_as
):
    response = client_as(world.planner).post(
        url("goal_create", world.org, world.plan.pk),
        _goal_data(weight="0"),
        **HTMX,
    )

    text = page_text(response)
    # 200 so that htmx swaps the form with its errors in place.
    assert response.status_code == 200
    assert _is_partial(response)
    assert "HX-Retarget" not in response
    assert text.lstrip().startswith('<form id="goal-form"')
    assert field_error(text, "weight") == "The weight must be more than 0."
    assert 'value="Raise adoption"' in text
    assert goal_rows(world.plan) == []


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_goal_create_on_a_locked_plan_is_refused_and_changes_nothing(
    world, client_as, headers
):
    lock_cycle(world)

    response = client_as(world.planner).post(
        url("goal_create", world.org, world.plan.pk), _goal_data(), **headers
    )

    assert response.status_code == (200 if headers else 400)
    assert LOCKED in page_text(response)
    assert goal_rows(world.plan) == []


def test_goal_create_by_the_employee_is_403_and_changes_nothing(world, client_as):
    response = client_as(world.owner).post(
        url("goal_create", world.org, world.plan.pk), _goal_data(), **HTMX
    )

    assert response.status_code == 403
    assert goal_rows(world.plan) == []


def test_line_manager_adds_a_goal_to_the_general_plan(world, client_as):
    response = client_as(world.manager).post(
        url("goal_create", world.org, world.general.pk), _goal_data()
    )

    assert response.status_code == 302
    assert [row["title"] for row in goal_rows(world.general)] == ["Raise adoption"]


# --- goal_detail -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("hr", 200),
        ("planner", 200),
        ("owner", 200),
        ("manager", 200),
        ("other_planner", 404),
        ("stranger", 404),
        ("outsider", 404),
    ],
)
def test_goal_detail_answers_by_role(world, client_as, goal, who, status):
    response = client_as(world.member(who)).get(url("goal_detail", world.org, goal.pk))

    assert response.status_code == status


def test_goal_detail_of_another_organisation_is_404(world, client_as):
    foreign = GoalFactory(plan=world.foreign)

    response = client_as(world.hr).get(url("goal_detail", world.org, foreign.pk))

    assert response.status_code == 404


def test_goal_detail_shows_progress_checkins_activities_and_history(
    world, client_as, goal, activity
):
    GoalCheckInFactory(
        goal=goal, progress=30, note="First pass", author=world.owner.user
    )

    response = client_as(world.owner).get(url("goal_detail", world.org, goal.pk))

    text = page_text(response)
    assert "Write the runbook" in text
    assert "First pass" in text
    assert "Olga Owner" in text
    subjects = {entry["subject"] for entry in response.context["timeline"]}
    assert subjects == {
        "Goal “Cut incidents”",
        "Key activity “Write the runbook”",
        "Check-in on “Cut incidents”",
    }


@pytest.mark.parametrize("who", ["hr", "planner", "owner"])
def test_goal_detail_queries_stay_flat_and_within_budget(world, client_as, goal, who):
    KeyActivityFactory(goal=goal)
    GoalCheckInFactory(goal=goal)
    client = client_as(world.member(who))
    client.get(url("goal_detail", world.org, goal.pk))  # warm caches
    _one, one_sql = lookups(client, url("goal_detail", world.org, goal.pk))
    KeyActivityFactory.create_batch(9, goal=goal)
    GoalCheckInFactory.create_batch(9, goal=goal, author=world.owner.user)

    response, many_sql = lookups(client, url("goal_detail", world.org, goal.pk))

    assert len(response.context["goal"].checkins.all()) == 10
    assert len(many_sql) == len(one_sql)
    assert len(many_sql) <= QUERY_BUDGET


# --- goal_edit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("hr", 200),
        ("planner", 200),
        ("owner", 403),
        ("manager", 403),
        ("other_planner", 404),
        ("stranger", 404),
    ],
)
def test_goal_edit_page_answers_by_role(world, client_as, goal, who, status):
    response = client_as(world.member(who)).get(url("goal_edit", world.org, goal.pk))

    assert response.status_code == status


def test_goal_edit_saves_and_returns_to_the_plan(world, client_as, goal):
    response = client_as(world.planner).post(
        url("goal_edit", world.org, goal.pk),
        _edit_data(goal, title="Halve incidents", target_value="3"),
    )

    row = _goal_row(goal)
    assert (response.status_code, response["Location"]) == (
        302,
        url("plan_detail", world.org, world.plan.pk) + f"#goal-{goal.pk}",
    )
    assert (row["title"], row["target_value"], row["version"]) == (
        "Halve incidents",
        Decimal("3.00"),
        2,
    )


def test_goal_edit_with_bad_input_shows_the_error_and_changes_nothing(
    world, client_as, goal
):
    before = _goal_row(goal)

    response = client_as(world.planner).post(
        url("goal_edit", world.org, goal.pk),
        _edit_data(goal, title="Changed", due_date="2030-01-01"),
    )

    assert response.status_code == 400
    assert field_error(page_text(response), "due_date") == (
        "Pick a date inside the plan (2025-01-01 to 2025-12-31)."
    )
    assert _goal_row(goal) == before


def test_goal_edit_with_a_stale_version_names_who_changed_it(world, client_as, goal):
    stale = _edit_data(goal, title="Mine")
    client_as(world.hr).post(
        url("goal_edit", world.org, goal.pk), _edit_data(goal, title="Theirs")
    )

    response = client_as(world.planner).post(
        url("goal_edit", world.org, goal.pk), stale
    )

    match = CONFLICT.search(page_text(response))
    assert response.status_code == 400
    assert match is not None
    assert match.group("who") == "Hana HR"
    row = _goal_row(goal)
    assert (row["title"], row["version"]) == ("Theirs", 2)


def test_goal_edit_after_a_conflict_resubmits_against_the_latest_version(
    world, client_as, goal
):
    stale = _edit_data(goal, title="Mine")
    client_as(world.hr).post(
        url("goal_edit", world.org, goal.pk), _edit_data(goal, title="Theirs")
    )
    planner = client_as(world.planner)
    conflict = planner.post(url("goal_edit", world.org, goal.pk), stale)

    response = planner.post(
        url("goal_edit", world.org, goal.pk),
        dict(stale, version=conflict.context["form"]["version"].value()),
    )

    assert (conflict.status_code, response.status_code) == (400, 302)
    assert _goal_row(goal)["title"] == "Mine"


def test_goal_edit_on_a_locked_plan_is_refused_and_changes_nothing(
    world, client_as, goal
):
    lock_cycle(world)
    before = _goal_row(goal)

    response = client_as(world.planner).post(
        url("goal_edit", world.org, goal.pk), _edit_data(goal, title="Too late")
    )

    assert response.status_code == 400
    assert LOCKED in page_text(response)
    assert _goal_row(goal) == before


def test_goal_edit_by_the_employee_is_403_and_changes_nothing(world, client_as, goal):
    response = client_as(world.owner).post(
        url("goal_edit", world.org, goal.pk), _edit_data(goal, weight="100")
    )

    assert response.status_code == 403
    assert _goal_row(goal)["weight"] == Decimal("60.00")


# --- goal_delete -----------------------------------------------------------------------------


def test_goal_delete_without_htmx_returns_to_the_plan(world, client_as, goal, activity):
    response = client_as(world.planner).post(url("goal_delete", world.org, goal.pk))

    assert (response.status_code, response["Location"]) == (
        302,
        url("plan_detail", world.org, world.plan.pk) + "#plan-goals",
    )
    assert goal_rows(world.plan) == []
    assert flashed(response) == [("success", "The goal “Cut incidents” was deleted.")]


def test_goal_delete_with_htmx_returns_the_goal_list_with_the_new_total(
    world, client_as, goal
):
    GoalFactory(plan=world.plan, title="Keep me", weight=Decimal("40"))

    response = client_as(world.planner).post(
        url("goal_delete", world.org, goal.pk), **HTMX
    )

    text = page_text(response)
    assert (response.status_code, response["HX-Retarget"]) == (200, "#plan-goals")
    assert "Keep me" in text
    assert "Cut incidents</a>" not in text
    assert "Weights total 40 of 100" in text


def test_goal_delete_of_an_active_plan_returns_it_to_draft(world, client_as, goal):
    GoalFactory(plan=world.plan, weight=Decimal("40"))
    client = client_as(world.planner)
    client.post(url("plan_activate", world.org, world.plan.pk))

    client.post(url("goal_delete", world.org, goal.pk))

    assert plan_row(world.plan)["status"] == PlanStatus.DRAFT


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 403), ("manager", 403), ("other_planner", 404), ("stranger", 404)],
)
def test_goal_delete_is_refused_to_non_editors(world, client_as, goal, who, status):
    response = client_as(world.member(who)).post(url("goal_delete", world.org, goal.pk))

    assert response.status_code == status
    assert len(goal_rows(world.plan)) == 1


def test_goal_delete_refuses_get(world, client_as, goal):
    response = client_as(world.planner).get(url("goal_delete", world.org, goal.pk))

    assert response.status_code == 405


def test_goal_delete_on_a_locked_plan_is_refused_and_changes_nothing(
    world, client_as, goal
):
    lock_cycle(world)

    response = client_as(world.planner).post(url("goal_delete", world.org, goal.pk))

    assert flashed(response) == [("error", LOCKED)]
    assert len(goal_rows(world.plan)) == 1


# --- activity_create -------------------------------------------------------------------------


def test_activity_create_with_htmx_returns_the_checklist(
    world, client_as, goal, activity
):
    response = client_as(world.planner).post(
        url("activity_create", world.org, goal.pk),
        _activity_data(goal, due_date="2025-05-01"),
        **HTMX,
    )

    text = page_text(response)
    assert response.status_code == 200
    assert text.lstrip().startswith(f'<div id="activities-{goal.pk}"')
    assert "Write the runbook" in text
    assert "Train the team" in text
    assert _activities(goal) == [
        ("Write the runbook", False),
        ("Train the team", False),
    ]


def test_activity_create_without_htmx_returns_to_the_page_it_came_from(
    world, client_as, goal
):
    plan_page = url("plan_detail", world.org, world.plan.pk)

    response = client_as(world.planner).post(
        url("activity_create", world.org, goal.pk),
        {**_activity_data(goal), "next": plan_page},
    )

    assert (response.status_code, response["Location"]) == (302, plan_page)
    assert _activities(goal) == [("Train the team", False)]


@pytest.mark.parametrize(
    "next_page", ["https://evil.example/phish", "//evil.example/", "/o/other-test/"]
)
def test_activity_create_ignores_a_next_page_outside_the_organisation(
    world, client_as, goal, next_page
):
    response = client_as(world.planner).post(
        url("activity_create", world.org, goal.pk),
        {**_activity_data(goal), "next": next_page},
    )

    assert response["Location"] == url("goal_detail", world.org, goal.pk)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        (
            {"due_date": "2026-03-01"},
            "due_date",
            "Pick a date inside the plan (2025-01-01 to 2025-12-31).",
        ),
    ],
)
def test_activity_create_with_bad_input_shows_the_error_and_saves_nothing(
    world, client_as, goal, overrides, field, message
):
    client = client_as(world.planner)
    data = _activity_data(goal, **overrides)

    page = client.post(url("activity_create", world.org, goal.pk), data)
    partial = client.post(url("activity_create", world.org, goal.pk), data, **HTMX)

    assert (page.status_code, partial.status_code) == (400, 200)
    for response in (page, partial):
        assert (
            field_error(page_text(response), f"activity-{goal.pk}-{field}") == message
        )
    assert _activities(goal) == []


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 403), ("manager", 403), ("other_planner", 404), ("stranger", 404)],
)
def test_activity_create_is_refused_to_non_editors(world, client_as, goal, who, status):
    response = client_as(world.member(who)).post(
        url("activity_create", world.org, goal.pk), _activity_data(goal), **HTMX
    )

    assert response.status_code == status
    assert _activities(goal) == []


def test_activity_create_refuses_get(world, client_as, goal):
    response = client_as(world.planner).get(url("activity_create", world.org, goal.pk))

    assert response.status_code == 405


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_activity_create_on_a_locked_plan_is_refused_and_saves_nothing(
    world, client_as, goal, headers
):
    lock_cycle(world)

    response = client_as(world.planner).post(
        url("activity_create", world.org, goal.pk), _activity_data(goal), **headers
    )

    assert response.status_code == (200 if headers else 400)
    assert LOCKED in page_text(response)
    assert _activities(goal) == []


# --- activity_toggle -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "planner", "hr"])
def test_activity_toggle_with_htmx_returns_the_ticked_item(
    world, client_as, activity, who
):
    response = client_as(world.member(who)).post(
        url("activity_toggle", world.org, activity.pk), {"done": "true"}, **HTMX
    )

    text = page_text(response)
    assert response.status_code == 200
    assert text.lstrip().startswith(f'<li id="activity-{activity.pk}"')
    assert "Mark “Write the runbook” as not done" in text
    assert _activities(activity.goal) == [("Write the runbook", True)]


def test_activity_toggle_sets_the_posted_state_so_a_repeat_changes_nothing(
    world, client_as, activity
):
    client = client_as(world.owner)

    client.post(url("activity_toggle", world.org, activity.pk), {"done": "true"})
    client.post(url("activity_toggle", world.org, activity.pk), {"done": "true"})

    assert _activities(activity.goal) == [("Write the runbook", True)]


def test_activity_toggle_without_a_state_flips_it(world, client_as, activity):
    client = client_as(world.owner)

    client.post(url("activity_toggle", world.org, activity.pk))
    first = _activities(activity.goal)
    client.post(url("activity_toggle", world.org, activity.pk))

    assert (first, _activities(activity.goal)) == (
        [("Write the runbook", True)],
        [("Write the runbook", False)],
    )


def test_activity_toggle_without_htmx_returns_to_the_page_it_came_from(
    world, client_as, activity
):
    plan_page = url("plan_detail", world.org, world.plan.pk)

    response = client_as(world.owner).post(
        url("activity_toggle", world.org, activity.pk),
        {"done": "true", "next": plan_page},
    )

    assert (response.status_code, response["Location"]) == (302, plan_page)
    assert flashed(response) == [("success", "“Write the runbook” is done.")]


@pytest.mark.parametrize(
    ("who", "status"),
    [("manager", 403), ("other_planner", 404), ("stranger", 404), ("outsider", 404)],
)
def test_activity_toggle_is_refused_to_everyone_else(
    world, client_as, activity, who, status
):
    response = client_as(world.member(who)).post(
        url("activity_toggle", world.org, activity.pk), {"done": "true"}
    )

    assert response.status_code == status
    assert _activities(activity.goal) == [("Write the runbook", False)]


def test_activity_toggle_of_another_organisation_is_404(world, client_as):
    foreign = KeyActivityFactory(goal=GoalFactory(plan=world.foreign))

    response = client_as(world.hr).post(
        url("activity_toggle", world.org, foreign.pk), {"done": "true"}
    )

    assert response.status_code == 404


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_activity_toggle_on_a_locked_plan_is_refused_and_changes_nothing(
    world, client_as, activity, headers
):
    lock_cycle(world)

    response = client_as(world.owner).post(
        url("activity_toggle", world.org, activity.pk), {"done": "true"}, **headers
    )

    if headers:
        assert LOCKED in page_text(response)
    else:
        assert flashed(response) == [("error", LOCKED)]
    assert _activities(activity.goal) == [("Write the runbook", False)]


# --- checkin_create --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),
        ("planner", 200),
        ("hr", 200),
        ("manager", 403),
        ("other_planner", 404),
        ("stranger", 404),
        ("outsider", 404),
    ],
)
def test_checkin_create_page_answers_by_role(world, client_as, goal, who, status):
    response = client_as(world.member(who)).get(
        url("checkin_create", world.org, goal.pk)
    )

    assert response.status_code == status


def test_checkin_create_of_another_organisation_is_404(world, client_as):
    foreign = GoalFactory(plan=world.foreign)

    response = client_as(world.hr).post(
        url("checkin_create", world.org, foreign.pk), _checkin_data(foreign)
    )

    assert response.status_code == 404


def test_checkin_create_with_htmx_get_returns_the_form(world, client_as, goal):
    response = client_as(world.owner).get(
        url("checkin_create", world.org, goal.pk), **HTMX
    )

    assert response.status_code == 200
    assert page_text(response).lstrip().startswith(f'<form id="checkin-form-{goal.pk}"')


def test_checkin_create_by_the_employee_updates_the_goal_and_shows_attainment(
    world, client_as, goal
):
    response = client_as(world.owner).post(
        url("checkin_create", world.org, goal.pk),
        _checkin_data(goal, actual_value="4", progress="70", note="Two fixed"),
        **HTMX,
    )

    text = page_text(response)
    row = _goal_row(goal)
    assert (response.status_code, response["HX-Retarget"]) == (200, f"#goal-{goal.pk}")
    assert text.lstrip().startswith(f'<article class="card mb-3" id="goal-{goal.pk}"')
    assert "125 %" in text  # lower is better: target 5, actual 4
    assert "70 %" in text
    assert "Two fixed" in text
    assert "Olga Owner" in text
    assert (row["progress"], row["actual_value"], row["status"]) == (
        70,
        Decimal("4.00"),
        GoalStatus.ON_TRACK,
    )
    assert [c["author_id"] for c in _checkins(goal)] == [world.owner.user_id]


def test_checkin_create_without_htmx_returns_to_the_plan_and_says_what_was_recorded(
    world, client_as, goal
):
    response = client_as(world.owner).post(
        url("checkin_create", world.org, goal.pk), _checkin_data(goal)
    )

    assert (response.status_code, response["Location"]) == (
        302,
        url("plan_detail", world.org, world.plan.pk) + f"#goal-{goal.pk}",
    )
    assert flashed(response) == [
        (
            "success",
            "Progress on “Cut incidents” recorded: 60 %, On track, actual 4 incidents.",
        )
    ]
    assert len(_checkins(goal)) == 1


def test_checkin_create_without_an_actual_value_says_progress_and_status(
    world, client_as, goal
):
    response = client_as(world.owner).post(
        url("checkin_create", world.org, goal.pk),
        _checkin_data(goal, actual_value="", progress="30", status="at_risk"),
    )

    assert flashed(response) == [
        ("success", "Progress on “Cut incidents” recorded: 30 %, At risk.")
    ]


def test_checkin_create_page_posts_without_htmx(world, client_as, goal):
    page = client_as(world.owner).get(url("checkin_create", world.org, goal.pk))

    text = page_text(page)
    assert f'<form id="checkin-form-{goal.pk}"' in text
    assert (
        "hx-post"
        not in text.split(f'<form id="checkin-form-{goal.pk}"')[1].split(">")[0]
    )


def test_checkin_create_confirmation_shows_on_the_page_it_returns_to(
    world, client_as, goal
):
    plan_page = url("plan_detail", world.org, world.plan.pk)

    response = client_as(world.owner).post(
        url("checkin_create", world.org, goal.pk),
        {**_checkin_data(goal, progress="70"), "next": plan_page},
        follow=True,
    )

    assert response.redirect_chain == [(plan_page, 302)]
    assert "Progress on “Cut incidents” recorded: 70 %" in page_text(response)


def test_checkin_create_page_remembers_where_it_was_opened_from(world, client_as, goal):
    plan_page = url("plan_detail", world.org, world.plan.pk)
    client = client_as(world.owner)

    page = client.get(url("checkin_create", world.org, goal.pk), {"next": plan_page})
    response = client.post(
        url("checkin_create", world.org, goal.pk),
        {**_checkin_data(goal), "next": plan_page},
    )

    assert f'name="next" value="{plan_page}"' in page_text(page)
    assert response["Location"] == plan_page


def test_planner_records_a_checkin(world, client_as, goal):
    response = client_as(world.planner).post(
        url("checkin_create", world.org, goal.pk),
        _checkin_data(goal, status="achieved", progress="90"),
    )

    assert response.status_code == 302
    assert (_goal_row(goal)["status"], _goal_row(goal)["progress"]) == (
        GoalStatus.ACHIEVED,
        100,
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"progress": "150"},
            "progress",
            "Ensure this value is less than or equal to 100.",
        ),
        ({"progress": ""}, "progress", "This field is required."),
        (
            {"status": "not_started"},
            "status",
            "Select a valid choice. not_started is not one of the available choices.",
        ),
        ({"actual_value": "lots"}, "actual_value", "Enter a number."),
    ],
)
def test_checkin_create_with_bad_input_shows_the_error_and_saves_nothing(
    world, client_as, goal, overrides, field, message
):
    client = client_as(world.owner)
    before = _goal_row(goal)
    data = _checkin_data(goal, **overrides)

    page = client.post(url("checkin_create", world.org, goal.pk), data)
    partial = client.post(url("checkin_create", world.org, goal.pk), data, **HTMX)

    assert (page.status_code, partial.status_code) == (400, 200)
    for response in (page, partial):
        assert field_error(page_text(response), f"checkin-{goal.pk}-{field}") == message
    assert "HX-Retarget" not in partial
    assert _checkins(goal) == []
    assert _goal_row(goal) == before


def test_checkin_create_by_the_line_manager_is_403_and_saves_nothing(
    world, client_as, goal
):
    response = client_as(world.manager).post(
        url("checkin_create", world.org, goal.pk), _checkin_data(goal), **HTMX
    )

    assert response.status_code == 403
    assert _checkins(goal) == []


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_checkin_create_on_a_locked_plan_is_refused_and_saves_nothing(
    world, client_as, goal, headers
):
    lock_cycle(world)
    before = _goal_row(goal)

    response = client_as(world.owner).post(
        url("checkin_create", world.org, goal.pk), _checkin_data(goal), **headers
    )

    assert response.status_code == (200 if headers else 400)
    assert LOCKED in page_text(response)
    assert _checkins(goal) == []
    assert _goal_row(goal) == before


def test_every_write_to_a_locked_plan_through_the_pages_changes_nothing(
    world, client_as, goal, activity
):
    lock_cycle(world)
    before = _snapshot(world)
    planner, owner = client_as(world.planner), client_as(world.owner)

    planner.post(
        url("plan_edit", world.org, world.plan.pk),
        plan_edit_data(world.plan, role_title="Too late"),
    )
    planner.post(url("plan_activate", world.org, world.plan.pk))
    planner.post(url("plan_normalise", world.org, world.plan.pk))
    planner.post(url("goal_create", world.org, world.plan.pk), _goal_data())
    planner.post(url("goal_edit", world.org, goal.pk), _edit_data(goal, title="X"))
    planner.post(url("goal_delete", world.org, goal.pk))
    planner.post(url("activity_create", world.org, goal.pk), _activity_data(goal))
    owner.post(url("activity_toggle", world.org, activity.pk), {"done": "true"})
    owner.post(url("checkin_create", world.org, goal.pk), _checkin_data(goal))

    assert _snapshot(world) == before


# --- the journey in one plan ----------------------------------------------------------------


def test_planner_builds_a_plan_to_100_and_the_employee_checks_in(world, client_as):
    planner, owner = client_as(world.planner), client_as(world.owner)
    planner.post(
        url("goal_create", world.org, world.plan.pk),
        _goal_data(title="Adoption", weight="30"),
        **HTMX,
    )
    planner.post(
        url("goal_create", world.org, world.plan.pk),
        _goal_data(title="Quality", metric="", target_value="", weight="30"),
        **HTMX,
    )
    planner.post(url("plan_normalise", world.org, world.plan.pk))
    planner.post(url("plan_activate", world.org, world.plan.pk))
    adoption = goal_rows(world.plan)[0]

    response = owner.post(
        url("checkin_create", world.org, adoption["id"]),
        {
            f"checkin-{adoption['id']}-progress": "100",
            f"checkin-{adoption['id']}-actual_value": "12",
            f"checkin-{adoption['id']}-status": "achieved",
            f"checkin-{adoption['id']}-note": "",
        },
        **HTMX,
    )

    assert plan_row(world.plan)["status"] == PlanStatus.ACTIVE
    assert [row["weight"] for row in goal_rows(world.plan)] == [
        Decimal("50.00"),
        Decimal("50.00"),
    ]
    assert "120 %" in page_text(response)
    assert "(above target)" in page_text(response)


def test_goal_create_full_page_shows_the_plan_dates(world, client_as):
    response = client_as(world.planner).get(
        url("goal_create", world.org, world.plan.pk)
    )

    assert "plan runs 1 Jan 2025 – 31 Dec 2025" in page_text(response)


def test_goal_detail_links_back_to_its_plan(world, client_as, goal):
    response = client_as(world.owner).get(url("goal_detail", world.org, goal.pk))

    assert url("plan_detail", world.org, world.plan.pk) in page_text(response)


def test_goal_card_shows_overdue_until_an_outcome_is_recorded(world, client_as):
    overdue = GoalFactory(plan=world.plan, title="Late one", due_date=date(2025, 2, 1))
    client = client_as(world.owner)
    before = client.get(url("goal_detail", world.org, overdue.pk))

    client.post(
        url("checkin_create", world.org, overdue.pk),
        _checkin_data(overdue, status="missed", progress="40", actual_value=""),
    )
    after = client.get(url("goal_detail", world.org, overdue.pk))

    card = f'id="goal-{overdue.pk}"'
    assert card in page_text(before)
    assert "Overdue" in page_text(before)
    assert "Overdue" not in page_text(after)


def test_goal_card_labels_attainment_and_progress_and_warns_on_a_contradiction(
    world, client_as
):
    missed = GoalFactory(
        plan=world.plan,
        title="Grow revenue",
        target_value=Decimal("10"),
        actual_value=Decimal("12"),
        direction="higher",
        status="missed",
        progress=55,
    )

    page = page_text(
        client_as(world.owner).get(url("goal_detail", world.org, missed.pk))
    )

    assert (
        'Attainment <span class="fw-normal text-body-secondary">(actual against target)</span>'
        in page
    )
    assert (
        f'<span class="small" id="goal-{missed.pk}-progress-label">Progress (self-reported)</span>'
        in page
    )
    assert (
        f'aria-labelledby="goal-{missed.pk}-progress-label goal-{missed.pk}-title"'
        in page
    )
    assert "Marked missed, but the actual reaches 120 % of the target." in page


def test_goal_card_shows_no_contradiction_when_status_fits(world, client_as, goal):
    page = page_text(client_as(world.owner).get(url("goal_detail", world.org, goal.pk)))

    assert 'data-testid="status-contradiction"' not in page


def test_goal_history_reads_as_labels_without_the_version_counter(
    world, client_as, goal, activity
):
    owner = client_as(world.owner)
    owner.post(url("activity_toggle", world.org, activity.pk), {"done": "true"})
    owner.post(
        url("checkin_create", world.org, goal.pk),
        _checkin_data(goal, status="achieved", progress="100", actual_value="4"),
    )

    response = owner.get(url("goal_detail", world.org, goal.pk))

    changes = {
        (entry["subject"], change["field"], change["old"], change["new"])
        for entry in response.context["timeline"]
        for change in entry["changes"]
    }
    assert changes == {
        ("Key activity “Write the runbook”", "done", "No", "Yes"),
        ("Goal “Cut incidents”", "actual", None, Decimal("4.00")),
        ("Goal “Cut incidents”", "progress (%)", 0, 100),
        ("Goal “Cut incidents”", "status", "Not started", "Achieved"),
    }
    text = page_text(response)
    assert "<strong>Done</strong>: No → Yes" in text
    assert "<strong>Progress (%)</strong>: 0 → 100" in text
