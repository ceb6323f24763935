"""Plan and goal services: the weight-total rule, normalising, goal validation,
optimistic locking, check-ins, key activities, overdue detection and the plan lock."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from engagements.enums import CycleStatus, GoalStatus, PlanKind, PlanStatus
from engagements.models import Goal, GoalCheckIn, KeyActivity, Plan
from engagements.selectors.pages import plan_summaries
from engagements.services.cycles import transition_cycle
from engagements.services.plans import (
    activate_plan,
    add_goal,
    add_key_activity,
    delete_goal,
    goal_weight_total,
    normalise_goal_weights,
    plan_lock_reason,
    record_checkin,
    remove_from_engagement,
    set_key_activity_done,
    update_goal,
    update_plan,
    validate_goal,
)
from engagements.services.templates import apply_template
from organizations.errors import DomainError, EditConflict
from organizations.models import Membership
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    GoalCheckInFactory,
    GoalFactory,
    KeyActivityFactory,
    PlanFactory,
    PlanTemplateFactory,
    ReviewCycleFactory,
    TemplateGoalFactory,
)

pytestmark = pytest.mark.django_db

PLAN_START = date(2025, 1, 1)
PLAN_END = date(2025, 12, 31)
CONFLICT = re.compile(
    r"^Changed by .+ at \d\d:\d\d — review their changes and resubmit\.$"
)
REVIEW_LOCK = (
    "This plan is locked because the cycle Lock Cycle is in review. Plans cannot "
    "change once reviewers rate them."
)


@pytest.fixture
def plan(org) -> Plan:
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.IN_PROGRESS)
    return PlanFactory(organization=org, cycle=cycle)


def _goals(plan: Plan, *weights: str) -> list[Goal]:
    return [GoalFactory(plan=plan, weight=Decimal(w)) for w in weights]


def _run(actor: Membership, call: Callable[..., Any], **kwargs: Any) -> Any:
    with tenant_context(actor.organization):
        return call(actor=actor, **kwargs)


def _refusal(actor: Membership, call: Callable[..., Any], **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        _run(actor, call, **kwargs)
    return caught.value


def _plan_row(plan: Plan) -> dict[str, Any]:
    with tenant_context(plan.organization):
        return Plan.objects.filter(pk=plan.pk).values().get()


def _goal_rows(plan: Plan) -> list[dict[str, Any]]:
    with tenant_context(plan.organization):
        return list(Goal.objects.filter(plan=plan).order_by("pk").values())


def _weights(plan: Plan) -> list[Decimal]:
    return [row["weight"] for row in _goal_rows(plan)]


def _goal_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Ship the data platform",
        "description": "",
        "metric": "Releases",
        "target_value": Decimal("4"),
        "unit": "releases",
        "direction": "higher",
        "weight": Decimal("50"),
        "planned_start": date(2025, 2, 1),
        "due_date": date(2025, 6, 30),
        "responsibilities": "",
    }
    data.update(overrides)
    return data


# --- the weight-total rule -------------------------------------------------------------------


def test_activate_plan_refuses_weights_that_do_not_total_100(hr_admin, plan):
    _goals(plan, "40", "50")

    error = _refusal(hr_admin, activate_plan, plan=plan)

    assert error.message == (
        "Goal weights total 90; they must total 100 before the plan can be activated. "
        "Adjust them, or use 'Normalise to 100'."
    )
    assert _plan_row(plan)["status"] == PlanStatus.DRAFT


def test_activate_plan_refuses_weights_above_100(hr_admin, plan):
    _goals(plan, "60", "50.5")

    error = _refusal(hr_admin, activate_plan, plan=plan)

    assert error.message.startswith("Goal weights total 110.5;")
    assert _plan_row(plan)["status"] == PlanStatus.DRAFT


def test_activate_plan_refuses_a_plan_without_goals(hr_admin, plan):
    error = _refusal(hr_admin, activate_plan, plan=plan)

    assert error.message == "Add at least one goal before activating the plan."
    assert _plan_row(plan)["status"] == PlanStatus.DRAFT


def test_activate_plan_accepts_weights_totalling_exactly_100(hr_admin, plan):
    _goals(plan, "33.33", "33.33", "33.34")

    _run(hr_admin, activate_plan, plan=plan)

    row = _plan_row(plan)
    assert (row["status"], row["version"]) == (PlanStatus.ACTIVE, 2)


def test_goal_weight_total_sums_the_plan_goals(plan):
    _goals(plan, "12.5", "30", "7.25")

    with tenant_context(plan.organization):
        total = goal_weight_total(plan)

    assert total == Decimal("49.75")


def test_normalise_goal_weights_scales_them_to_exactly_100(hr_admin, plan):
    _goals(plan, "30", "20", "10")

    _run(hr_admin, normalise_goal_weights, plan=plan)

    assert _weights(plan) == [Decimal("50.00"), Decimal("33.33"), Decimal("16.67")]
    assert sum(_weights(plan)) == Decimal("100.00")


def test_normalise_goal_weights_gives_the_rounding_remainder_to_the_heaviest_goal(
    hr_admin, plan
):
    _goals(plan, "20", "40", "20", "20", "20")

    _run(hr_admin, normalise_goal_weights, plan=plan)

    # 40/120 = 33.333… and 20/120 = 16.666…: rounded they total 100.01, so the
    # heaviest goal gives back the extra cent.
    assert _weights(plan) == [
        Decimal("16.67"),
        Decimal("33.32"),
        Decimal("16.67"),
        Decimal("16.67"),
        Decimal("16.67"),
    ]
    assert sum(_weights(plan)) == Decimal("100.00")


def test_normalise_goal_weights_with_equal_weights_totals_100(hr_admin, plan):
    _goals(plan, "1", "1", "1")

    _run(hr_admin, normalise_goal_weights, plan=plan)

    assert _weights(plan) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]


def test_normalised_plan_can_be_activated(hr_admin, plan):
    _goals(plan, "3", "3", "1")
    _run(hr_admin, normalise_goal_weights, plan=plan)

    _run(hr_admin, activate_plan, plan=plan)

    assert _plan_row(plan)["status"] == PlanStatus.ACTIVE


def test_normalise_goal_weights_bumps_the_version_of_changed_goals_only(hr_admin, plan):
    _goals(plan, "33.33", "33.33", "33.33")

    _run(hr_admin, normalise_goal_weights, plan=plan)

    assert [(r["weight"], r["version"]) for r in _goal_rows(plan)] == [
        (Decimal("33.34"), 2),
        (Decimal("33.33"), 1),
        (Decimal("33.33"), 1),
    ]


def test_normalise_goal_weights_leaves_weights_that_total_100_alone(hr_admin, plan):
    _goals(plan, "60", "40")

    _run(hr_admin, normalise_goal_weights, plan=plan)

    assert [(r["weight"], r["version"]) for r in _goal_rows(plan)] == [
        (Decimal("60.00"), 1),
        (Decimal("40.00"), 1),
    ]


def test_normalise_goal_weights_refuses_a_plan_without_goals(hr_admin, plan):
    error = _refusal(hr_admin, normalise_goal_weights, plan=plan)

    assert error.message == "There are no goals to normalise."


def test_normalise_goal_weights_refuses_to_round_a_goal_down_to_zero(hr_admin, plan):
    _goals(plan, "9999.99", "0.01")

    error = _refusal(hr_admin, normalise_goal_weights, plan=plan)

    assert error.message == (
        "Some goals weigh so little next to the others that they would weigh 0 "
        "after normalising. Raise their weight first."
    )
    assert _weights(plan) == [Decimal("9999.99"), Decimal("0.01")]


def test_adding_a_goal_to_an_active_plan_returns_it_to_draft(hr_admin, plan):
    _goals(plan, "100")
    _run(hr_admin, activate_plan, plan=plan)

    _run(hr_admin, add_goal, plan=plan, **_goal_data(weight=Decimal("10")))

    assert _plan_row(plan)["status"] == PlanStatus.DRAFT


def test_reweighting_a_goal_of_an_active_plan_returns_it_to_draft(hr_admin, plan):
    first, _second = _goals(plan, "50", "50")
    _run(hr_admin, activate_plan, plan=plan)

    _run(
        hr_admin,
        update_goal,
        goal=first,
        version=1,
        weight=Decimal("40"),
    )

    assert _plan_row(plan)["status"] == PlanStatus.DRAFT


def test_editing_a_goal_without_changing_weights_keeps_the_plan_active(hr_admin, plan):
    first, _second = _goals(plan, "50", "50")
    _run(hr_admin, activate_plan, plan=plan)

    _run(hr_admin, update_goal, goal=first, version=1, title="Renamed")

    assert _plan_row(plan)["status"] == PlanStatus.ACTIVE


def test_deleting_a_goal_of_an_active_plan_returns_it_to_draft(hr_admin, plan):
    first, _second = _goals(plan, "50", "50")
    _run(hr_admin, activate_plan, plan=plan)

    _run(hr_admin, delete_goal, goal=first)

    assert _plan_row(plan)["status"] == PlanStatus.DRAFT


# --- goal validation -------------------------------------------------------------------------


def test_add_goal_creates_the_goal_with_its_key_activities(hr_admin, plan):
    goal = _run(
        hr_admin,
        add_goal,
        plan=plan,
        activities=["Draft the roadmap", "Run the pilot"],
        **_goal_data(),
    )

    with tenant_context(plan.organization):
        titles = list(
            KeyActivity.objects.filter(goal=goal)
            .order_by("pk")
            .values_list("title", flat=True)
        )
    assert [row["title"] for row in _goal_rows(plan)] == ["Ship the data platform"]
    assert titles == ["Draft the roadmap", "Run the pilot"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"due_date": date(2026, 1, 15)},
            "due_date",
            "Pick a date inside the plan (2025-01-01 to 2025-12-31).",
        ),
        (
            {"planned_start": date(2024, 12, 31)},
            "planned_start",
            "Pick a date inside the plan (2025-01-01 to 2025-12-31).",
        ),
        (
            {"planned_start": date(2025, 6, 1), "due_date": date(2025, 5, 31)},
            "due_date",
            "The due date cannot be before the planned start.",
        ),
        ({"weight": Decimal("0")}, "weight", "The weight must be more than 0."),
        ({"weight": Decimal("-5")}, "weight", "The weight must be more than 0."),
        (
            {"metric": "Client NPS", "target_value": None},
            "target_value",
            "A goal with a metric needs a target value.",
        ),
    ],
)
def test_add_goal_refuses_invalid_input_beside_its_field(
    hr_admin, plan, overrides, field, message
):
    error = _refusal(hr_admin, add_goal, plan=plan, **_goal_data(**overrides))

    assert (error.field, error.message) == (field, message)
    assert _goal_rows(plan) == []


def test_add_goal_accepts_dates_on_the_plan_boundaries(hr_admin, plan):
    _run(
        hr_admin,
        add_goal,
        plan=plan,
        **_goal_data(planned_start=PLAN_START, due_date=PLAN_END),
    )

    assert [(r["planned_start"], r["due_date"]) for r in _goal_rows(plan)] == [
        (PLAN_START, PLAN_END)
    ]


def test_add_goal_accepts_a_goal_without_metric_or_target(hr_admin, plan):
    _run(
        hr_admin,
        add_goal,
        plan=plan,
        **_goal_data(metric="", target_value=None),
    )

    assert [(r["metric"], r["target_value"]) for r in _goal_rows(plan)] == [("", None)]


def test_validate_goal_reports_every_field_error(plan):
    errors = validate_goal(
        plan,
        {
            "weight": Decimal("0"),
            "metric": "NPS",
            "target_value": None,
            "planned_start": date(2030, 1, 1),
        },
    )

    assert sorted(errors) == ["planned_start", "target_value", "weight"]


def test_update_goal_validates_the_merged_goal(hr_admin, plan):
    (goal,) = _goals(plan, "50")
    with tenant_context(plan.organization):
        Goal.objects.filter(pk=goal.pk).update(planned_start=date(2025, 6, 1))

    error = _refusal(
        hr_admin,
        update_goal,
        goal=goal,
        version=1,
        due_date=date(2025, 3, 1),
    )

    assert (error.field, error.message) == (
        "due_date",
        "The due date cannot be before the planned start.",
    )
    assert _goal_rows(plan)[0]["due_date"] is None


# --- optimistic locking ----------------------------------------------------------------------


def test_update_plan_with_the_current_version_saves_and_bumps_it(hr_admin, plan):
    _run(
        hr_admin,
        update_plan,
        plan=plan,
        version=1,
        role_title="Data architect",
    )

    row = _plan_row(plan)
    assert (row["role_title"], row["version"]) == ("Data architect", 2)


def test_update_plan_with_a_stale_version_is_refused_and_changes_nothing(
    hr_admin, plan
):
    _run(hr_admin, update_plan, plan=plan, version=1, role_title="First")

    error = _refusal(hr_admin, update_plan, plan=plan, version=1, role_title="Second")

    assert isinstance(error, EditConflict)
    assert CONFLICT.match(error.message)
    assert error.current_version == 2
    row = _plan_row(plan)
    assert (row["role_title"], row["version"]) == ("First", 2)


def test_update_goal_with_a_stale_version_is_refused_and_changes_nothing(
    hr_admin, plan
):
    (goal,) = _goals(plan, "50")
    _run(hr_admin, update_goal, goal=goal, version=1, title="First")

    error = _refusal(hr_admin, update_goal, goal=goal, version=1, title="Late")

    assert isinstance(error, EditConflict)
    assert CONFLICT.match(error.message)
    assert error.current_version == 2
    assert [(r["title"], r["version"]) for r in _goal_rows(plan)] == [("First", 2)]


def test_update_plan_refuses_an_end_before_the_start(hr_admin, plan):
    error = _refusal(
        hr_admin,
        update_plan,
        plan=plan,
        version=1,
        end_date=date(2024, 12, 1),
    )

    assert (error.field, error.message) == (
        "end_date",
        "The end cannot be before the start.",
    )
    assert _plan_row(plan)["end_date"] == PLAN_END


def test_update_plan_refuses_dates_that_leave_goals_outside(hr_admin, plan):
    GoalFactory(plan=plan, due_date=date(2025, 11, 30))

    error = _refusal(
        hr_admin,
        update_plan,
        plan=plan,
        version=1,
        end_date=date(2025, 10, 31),
    )

    assert error.field == "end_date"
    assert _plan_row(plan)["end_date"] == PLAN_END


# --- check-ins and key activities ------------------------------------------------------------


def test_record_checkin_updates_the_goal(hr_admin, plan):
    (goal,) = _goals(plan, "100")

    checkin = _run(
        hr_admin,
        record_checkin,
        goal=goal,
        progress=40,
        status=GoalStatus.AT_RISK,
        actual_value=Decimal("3"),
        note="Slower than planned",
    )

    row = _goal_rows(plan)[0]
    assert (row["progress"], row["status"], row["actual_value"], row["version"]) == (
        40,
        GoalStatus.AT_RISK,
        Decimal("3.00"),
        2,
    )
    assert (checkin.author_id, checkin.note) == (
        hr_admin.user_id,
        "Slower than planned",
    )


def test_record_checkin_without_an_actual_keeps_the_last_one(hr_admin, plan):
    goal = GoalFactory(plan=plan, actual_value=Decimal("7"))

    _run(
        hr_admin,
        record_checkin,
        goal=goal,
        progress=60,
        status=GoalStatus.ON_TRACK,
    )

    assert _goal_rows(plan)[0]["actual_value"] == Decimal("7.00")


def test_record_checkin_achieved_completes_the_progress(hr_admin, plan):
    (goal,) = _goals(plan, "100")

    _run(
        hr_admin,
        record_checkin,
        goal=goal,
        progress=80,
        status=GoalStatus.ACHIEVED,
    )

    row = _goal_rows(plan)[0]
    assert (row["progress"], row["status"]) == (100, GoalStatus.ACHIEVED)


def test_record_checkin_refuses_progress_above_100(hr_admin, plan):
    (goal,) = _goals(plan, "100")

    error = _refusal(
        hr_admin,
        record_checkin,
        goal=goal,
        progress=120,
        status=GoalStatus.ON_TRACK,
    )

    assert (error.field, error.message) == (
        "progress",
        "Progress is a percentage from 0 to 100.",
    )
    with tenant_context(plan.organization):
        assert GoalCheckIn.objects.count() == 0


def test_add_key_activity_refuses_a_due_date_outside_the_plan(hr_admin, plan):
    (goal,) = _goals(plan, "100")

    error = _refusal(
        hr_admin,
        add_key_activity,
        goal=goal,
        title="Kick-off",
        due_date=date(2026, 2, 1),
    )

    assert error.field == "due_date"
    with tenant_context(plan.organization):
        assert KeyActivity.objects.count() == 0


def test_set_key_activity_done_marks_and_unmarks_it(hr_admin, plan):
    activity = KeyActivityFactory(goal=GoalFactory(plan=plan))

    _run(hr_admin, set_key_activity_done, activity=activity, done=True)
    with tenant_context(plan.organization):
        first = KeyActivity.objects.get(pk=activity.pk).done
    _run(hr_admin, set_key_activity_done, activity=activity, done=False)

    with tenant_context(plan.organization):
        assert (first, KeyActivity.objects.get(pk=activity.pk).done) == (True, False)


# --- overdue detection ------------------------------------------------------------------------


TODAY = date(2025, 6, 15)


@pytest.mark.parametrize(
    ("due", "status", "overdue"),
    [
        (TODAY - timedelta(days=1), GoalStatus.ON_TRACK, True),
        (TODAY - timedelta(days=30), GoalStatus.NOT_STARTED, True),
        (TODAY - timedelta(days=1), GoalStatus.BEHIND, True),
        (TODAY - timedelta(days=1), GoalStatus.AT_RISK, True),
        (TODAY - timedelta(days=1), GoalStatus.ACHIEVED, False),
        (TODAY - timedelta(days=1), GoalStatus.MISSED, False),
        (TODAY, GoalStatus.ON_TRACK, False),
        (TODAY + timedelta(days=1), GoalStatus.NOT_STARTED, False),
        (None, GoalStatus.NOT_STARTED, False),
    ],
)
def test_goal_is_overdue_only_past_its_due_date_without_an_outcome(
    due, status, overdue
):
    goal = Goal(due_date=due, status=status)

    assert goal.is_overdue(today=TODAY) is overdue


def test_goal_is_overdue_defaults_to_today_in_the_active_time_zone():
    yesterday = timezone.localdate() - timedelta(days=1)

    assert Goal(due_date=yesterday, status=GoalStatus.ON_TRACK).is_overdue() is True


def test_plan_summaries_count_overdue_goals_like_the_goal_does(plan):
    GoalFactory(plan=plan, due_date=date(2025, 6, 1), status=GoalStatus.ON_TRACK)
    GoalFactory(plan=plan, due_date=date(2025, 6, 1), status=GoalStatus.ACHIEVED)
    GoalFactory(plan=plan, due_date=date(2025, 6, 1), status=GoalStatus.MISSED)
    GoalFactory(plan=plan, due_date=TODAY, status=GoalStatus.BEHIND)

    with tenant_context(plan.organization):
        (summary,) = plan_summaries(Plan.objects.filter(pk=plan.pk), today=TODAY)
        by_goal = sum(g.is_overdue(today=TODAY) for g in Goal.objects.filter(plan=plan))

    assert (summary.overdue, by_goal) == (1, 1)


def test_plan_summaries_weight_progress_by_goal_weight(plan):
    GoalFactory(plan=plan, weight=Decimal("75"), progress=100)
    GoalFactory(plan=plan, weight=Decimal("25"), progress=20)

    with tenant_context(plan.organization):
        (summary,) = plan_summaries(Plan.objects.filter(pk=plan.pk))

    assert (summary.goals, summary.weight_total, summary.progress) == (
        2,
        Decimal("100.00"),
        80,
    )


# --- the plan lock ----------------------------------------------------------------------------


@pytest.fixture
def locked(org, hr_admin) -> dict[str, Any]:
    """A plan with a goal, an open key activity and a check-in, locked by the review."""
    cycle = ReviewCycleFactory(
        organization=org, name="Lock Cycle", status=CycleStatus.IN_PROGRESS
    )
    plan = PlanFactory(organization=org, cycle=cycle)
    goal = GoalFactory(plan=plan, weight=Decimal("100"))
    activity = KeyActivityFactory(goal=goal)
    GoalCheckInFactory(goal=goal)
    _run(hr_admin, transition_cycle, cycle=cycle, to=CycleStatus.REVIEW)
    with tenant_context(org):
        return {
            "plan": Plan.objects.select_related("cycle").get(pk=plan.pk),
            "goal": Goal.objects.select_related("plan__cycle").get(pk=goal.pk),
            "activity": KeyActivity.objects.select_related("goal__plan__cycle").get(
                pk=activity.pk
            ),
        }


def _snapshot(org: Any) -> dict[str, list[dict[str, Any]]]:
    with tenant_context(org):
        return {
            "plans": list(Plan.objects.order_by("pk").values()),
            "goals": list(Goal.objects.order_by("pk").values()),
            "activities": list(KeyActivity.objects.order_by("pk").values()),
            "checkins": list(GoalCheckIn.objects.order_by("pk").values()),
        }


def test_entering_review_locks_the_plan(locked):
    assert _plan_row(locked["plan"])["status"] == PlanStatus.LOCKED


def test_plan_lock_reason_is_none_while_the_plan_can_change(plan):
    assert plan_lock_reason(plan) is None


def test_plan_lock_reason_explains_the_review(locked):
    assert plan_lock_reason(locked["plan"]) == REVIEW_LOCK


def test_plan_lock_reason_explains_a_closed_cycle(hr_admin, locked):
    cycle = locked["plan"].cycle
    _run(hr_admin, transition_cycle, cycle=cycle, to=CycleStatus.CLOSED)
    with tenant_context(cycle.organization):
        plan = Plan.objects.select_related("cycle").get(pk=locked["plan"].pk)

    assert plan_lock_reason(plan) == (
        "This plan is locked because the cycle Lock Cycle is closed. Nothing in it "
        "can change any more."
    )


WRITES: list[tuple[str, Callable[..., Any], Callable[[dict[str, Any]], dict]]] = [
    (
        "update_plan",
        update_plan,
        lambda o: {"plan": o["plan"], "version": 1, "role_title": "Changed"},
    ),
    (
        "add_goal",
        add_goal,
        lambda o: {"plan": o["plan"], **_goal_data()},
    ),
    (
        "update_goal",
        update_goal,
        lambda o: {"goal": o["goal"], "version": 1, "title": "Changed"},
    ),
    ("delete_goal", delete_goal, lambda o: {"goal": o["goal"]}),
    (
        "add_key_activity",
        add_key_activity,
        lambda o: {"goal": o["goal"], "title": "Late activity"},
    ),
    (
        "set_key_activity_done",
        set_key_activity_done,
        lambda o: {"activity": o["activity"], "done": True},
    ),
    (
        "record_checkin",
        record_checkin,
        lambda o: {"goal": o["goal"], "progress": 90, "status": GoalStatus.ON_TRACK},
    ),
    ("activate_plan", activate_plan, lambda o: {"plan": o["plan"]}),
    (
        "normalise_goal_weights",
        normalise_goal_weights,
        lambda o: {"plan": o["plan"]},
    ),
    (
        "remove_from_engagement",
        remove_from_engagement,
        lambda o: {"plan": o["plan"]},
    ),
]


@pytest.mark.parametrize(("name", "call", "kwargs"), WRITES, ids=[w[0] for w in WRITES])
def test_every_write_to_a_locked_plan_is_refused_and_changes_nothing(
    org, hr_admin, locked, name, call, kwargs
):
    before = _snapshot(org)

    error = _refusal(hr_admin, call, **kwargs(locked))

    assert error.message == REVIEW_LOCK
    assert _snapshot(org) == before


def test_apply_template_to_a_locked_plan_is_refused(hr_admin, locked):
    template = PlanTemplateFactory(organization=hr_admin.organization)
    TemplateGoalFactory(template=template)

    error = _refusal(
        hr_admin, apply_template, template=template, plans=[locked["plan"]]
    )

    assert error.message == "1 of these plans are locked; nothing was applied."


def test_general_plan_in_a_review_cycle_is_locked_too(org, hr_admin):
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.REVIEW)
    plan = PlanFactory(
        organization=org,
        cycle=cycle,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
    )

    error = _refusal(hr_admin, add_goal, plan=plan, **_goal_data())

    assert error.message.startswith("This plan is locked because the cycle")
