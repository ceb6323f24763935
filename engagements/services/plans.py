"""Plans and what they hold: editing a plan, its goals (weights, activation,
normalising), key activities and check-ins. Every change to a locked plan is refused
with the lock explanation (``plan_lock_reason``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from engagements import signals
from engagements.enums import CycleStatus, Direction, GoalStatus, PlanKind, PlanStatus
from engagements.models import Goal, GoalCheckIn, KeyActivity, Plan
from organizations.errors import DomainError
from organizations.history import check_version
from organizations.models import Membership

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def plan_lock_reason(plan: Plan) -> str | None:
    """Why ``plan`` can no longer change, or None while it can. No query if the
    plan's cycle is loaded."""
    if plan.cycle.status == CycleStatus.CLOSED:
        return _(
            "This plan is locked because the cycle %(cycle)s is closed. Nothing in it "
            "can change any more."
        ) % {"cycle": plan.cycle.name}
    if plan.status == PlanStatus.LOCKED or plan.cycle.plans_locked:
        return _(
            "This plan is locked because the cycle %(cycle)s is in review. Plans "
            "cannot change once reviewers rate them."
        ) % {"cycle": plan.cycle.name}
    return None


def ensure_plan_editable(plan: Plan) -> None:
    """Raise DomainError with the lock explanation when ``plan`` cannot change."""
    reason = plan_lock_reason(plan)
    if reason is not None:
        raise DomainError(reason)


def lock_editable_plan(plan_id: int) -> Plan:
    """The plan, locked for this transaction and freshly read, if it may change;
    else DomainError with the lock explanation. One query."""
    plan = (
        Plan.objects.select_for_update(of=("self",))
        .select_related("cycle")
        .get(pk=plan_id)
    )
    ensure_plan_editable(plan)
    return plan


def lock_editable_goal(goal_id: int) -> Goal:
    """The goal with its plan and cycle, the goal locked for this transaction and
    freshly read, if its plan may change; else DomainError with the lock
    explanation. One query."""
    goal = (
        Goal.objects.select_for_update(of=("self",))
        .select_related("plan__cycle")
        .get(pk=goal_id)
    )
    ensure_plan_editable(goal.plan)
    return goal


def update_plan(*, actor: Membership, plan: Plan, version: int, **fields: Any) -> Plan:
    """Change a plan's dates, allocation, role, responsibilities, weights or overrides.

    Optimistic locking: ``version`` must match, else DomainError names who changed it.
    """
    with transaction.atomic():
        plan = (
            Plan.objects.select_for_update(of=("self",))
            .select_related("cycle", "engagement")
            .get(pk=plan.pk)
        )
        ensure_plan_editable(plan)
        check_version(plan, version)
        for name, value in fields.items():
            setattr(plan, name, value)
        for role_field in ("reviewer", "approver"):
            person = getattr(plan, role_field)
            if person is not None and person.pk == plan.employee_id:
                raise DomainError(
                    _(
                        "Nobody can review or approve their own plan: an independent "
                        "view keeps the evaluation fair. Choose someone else."
                    ),
                    field=role_field,
                )
        if plan.end_date < plan.start_date:
            raise DomainError(
                _("The end cannot be before the start."), field="end_date"
            )
        engagement = plan.engagement
        if engagement is not None and (
            plan.start_date < engagement.start_date
            or plan.end_date > engagement.end_date
        ):
            raise DomainError(
                _("The dates must lie within the engagement (%(start)s to %(end)s).")
                % {"start": engagement.start_date, "end": engagement.end_date},
                field="start_date",
            )
        outside = plan.goals.filter(
            Q(planned_start__lt=plan.start_date) | Q(due_date__gt=plan.end_date)
        )
        if outside.exists():
            raise DomainError(
                _(
                    "Some goals have dates outside these plan dates. Change those goals first."
                ),
                field="end_date",
            )
        plan.version += 1
        plan.save()
        signals.plan_weights_changed.send(sender=Plan, plan=plan)
    return plan


def remove_from_engagement(*, actor: Membership, plan: Plan) -> None:
    """Unstaff: delete an engagement plan that has no recorded progress yet."""
    with transaction.atomic():
        ensure_plan_editable(plan)
        if plan.kind != PlanKind.ENGAGEMENT:
            raise DomainError(_("General plans cannot be removed."))
        if GoalCheckIn.objects.filter(goal__plan=plan).exists():
            raise DomainError(
                _("Progress was already recorded on this plan; it cannot be removed.")
            )
        plan.delete()


# --- Goals --------------------------------------------------------------------------


def validate_goal(plan: Plan, data: dict[str, Any]) -> dict[str, str]:
    """Field errors for a goal on ``plan``; empty when valid."""
    errors: dict[str, str] = {}
    weight = data.get("weight")
    if weight is not None and weight <= 0:
        errors["weight"] = _("The weight must be more than 0.")
    if data.get("metric") and data.get("target_value") is None:
        errors["target_value"] = _("A goal with a metric needs a target value.")
    start, due = data.get("planned_start"), data.get("due_date")
    for name, value in (("planned_start", start), ("due_date", due)):
        if value is not None and not (plan.start_date <= value <= plan.end_date):
            errors[name] = _("Pick a date inside the plan (%(start)s to %(end)s).") % {
                "start": plan.start_date,
                "end": plan.end_date,
            }
    if start and due and due < start and "due_date" not in errors:
        errors["due_date"] = _("The due date cannot be before the planned start.")
    return errors


def raise_first_error(errors: dict[str, str]) -> None:
    if errors:
        name, message = next(iter(errors.items()))
        raise DomainError(message, field=name)


def add_goal(
    *,
    actor: Membership,
    plan: Plan,
    title: str,
    weight: Decimal,
    description: str = "",
    metric: str = "",
    target_value: Decimal | None = None,
    unit: str = "",
    direction: str = Direction.HIGHER,
    planned_start: date | None = None,
    due_date: date | None = None,
    responsibilities: str = "",
    activities: Iterable[str] = (),
) -> Goal:
    """Add a goal at the end of a plan, with key activities titled ``activities``.

    Raises DomainError beside the field for what ``validate_goal`` refuses, and with
    the lock explanation on a locked plan. An active plan whose weights stop
    totalling 100 returns to draft.
    """
    with transaction.atomic():
        plan = lock_editable_plan(plan.pk)
        raise_first_error(
            validate_goal(
                plan,
                {
                    "weight": weight,
                    "metric": metric,
                    "target_value": target_value,
                    "planned_start": planned_start,
                    "due_date": due_date,
                },
            )
        )
        position = plan.goals.count()
        goal = Goal(
            organization=actor.organization,
            plan=plan,
            position=position,
            title=title,
            description=description,
            metric=metric,
            target_value=target_value,
            unit=unit,
            direction=direction,
            weight=weight,
            planned_start=planned_start,
            due_date=due_date,
            responsibilities=responsibilities,
        )
        goal.save()
        for title in activities:
            KeyActivity.objects.create(
                organization=actor.organization, goal=goal, title=title
            )
        _bump_plan(plan)
    return goal


def update_goal(*, actor: Membership, goal: Goal, version: int, **fields: Any) -> Goal:
    with transaction.atomic():
        goal = lock_editable_goal(goal.pk)
        check_version(goal, version)
        merged = {
            name: fields.get(name, getattr(goal, name))
            for name in (
                "weight",
                "metric",
                "target_value",
                "planned_start",
                "due_date",
            )
        }
        raise_first_error(validate_goal(goal.plan, merged))
        for name, value in fields.items():
            setattr(goal, name, value)
        goal.version += 1
        goal.save()
        # A new weight can break the 100 total of an active plan.
        _bump_plan(goal.plan)
    return goal


def delete_goal(*, actor: Membership, goal: Goal) -> None:
    """Delete a goal with its key activities and check-ins. An active plan whose
    weights stop totalling 100 returns to draft."""
    with transaction.atomic():
        plan = lock_editable_plan(goal.plan_id)
        goal.delete()
        _bump_plan(plan)


def _bump_plan(plan: Plan) -> None:
    """Goal changes change the plan: a plan that was active returns to draft only if
    its weights stop totalling 100."""
    if plan.status == PlanStatus.ACTIVE and goal_weight_total(plan) != HUNDRED:
        plan.status = PlanStatus.DRAFT
        plan.save(update_fields=["status"])


def goal_weight_total(plan: Plan) -> Decimal:
    return plan.goals.aggregate(total=Sum("weight"))["total"] or Decimal(0)


def activate_plan(*, actor: Membership, plan: Plan) -> Plan:
    """Make a plan active. Its goal weights must total exactly 100."""
    with transaction.atomic():
        plan = lock_editable_plan(plan.pk)
        total = goal_weight_total(plan)
        if not plan.goals.exists():
            raise DomainError(_("Add at least one goal before activating the plan."))
        if total != HUNDRED:
            raise DomainError(
                _(
                    "Goal weights total %(total)s; they must total 100 before the plan "
                    "can be activated. Adjust them, or use 'Normalise to 100'."
                )
                % {"total": f"{total.normalize():f}"}
            )
        plan.status = PlanStatus.ACTIVE
        plan.version += 1
        plan.save(update_fields=["status", "version"])
    return plan


def normalise_goal_weights(*, actor: Membership, plan: Plan) -> Plan:
    """Scale goal weights proportionally so they total exactly 100 (2 decimals).

    The rounding remainder goes to the heaviest goal.
    """
    with transaction.atomic():
        plan = lock_editable_plan(plan.pk)
        goals = list(plan.goals.order_by("-weight", "pk"))
        if not goals:
            raise DomainError(_("There are no goals to normalise."))
        total = sum((g.weight for g in goals), Decimal(0))
        scaled = [
            (g.weight * HUNDRED / total).quantize(CENT, ROUND_HALF_UP) for g in goals
        ]
        scaled[0] += HUNDRED - sum(scaled, Decimal(0))
        if min(scaled) <= 0:
            raise DomainError(
                _(
                    "Some goals weigh so little next to the others that they would "
                    "weigh 0 after normalising. Raise their weight first."
                )
            )
        for goal, weight in zip(goals, scaled, strict=True):
            if goal.weight != weight:
                goal.weight = weight
                goal.version += 1
                goal.save(update_fields=["weight", "version"])
    return plan


# --- Key activities and check-ins -------------------------------------------------------


def add_key_activity(
    *, actor: Membership, goal: Goal, title: str, due_date: date | None = None
) -> KeyActivity:
    with transaction.atomic():
        plan = lock_editable_plan(goal.plan_id)
        if due_date is not None and not (plan.start_date <= due_date <= plan.end_date):
            raise DomainError(
                _("Pick a date inside the plan (%(start)s to %(end)s).")
                % {"start": plan.start_date, "end": plan.end_date},
                field="due_date",
            )
        return KeyActivity.objects.create(
            organization=actor.organization, goal=goal, title=title, due_date=due_date
        )


def set_key_activity_done(
    *, actor: Membership, activity: KeyActivity, done: bool
) -> KeyActivity:
    with transaction.atomic():
        lock_editable_plan(activity.goal.plan_id)
        activity.done = done
        activity.save(update_fields=["done"])
    return activity


def record_checkin(
    *,
    actor: Membership,
    goal: Goal,
    progress: int,
    status: str,
    actual_value: Decimal | None = None,
    note: str = "",
) -> GoalCheckIn:
    """Record progress on a goal; the goal takes the latest progress, actual and status."""
    with transaction.atomic():
        goal = lock_editable_goal(goal.pk)
        if not 0 <= progress <= 100:
            raise DomainError(
                _("Progress is a percentage from 0 to 100."), field="progress"
            )
        checkin = GoalCheckIn.objects.create(
            organization=actor.organization,
            goal=goal,
            author=actor.user,
            progress=progress,
            actual_value=actual_value,
            status=status,
            note=note,
        )
        goal.progress = progress
        goal.status = status
        if actual_value is not None:
            goal.actual_value = actual_value
        if status == GoalStatus.ACHIEVED and progress < 100:
            goal.progress = 100
        goal.version += 1
        goal.save(update_fields=["progress", "status", "actual_value", "version"])
    return checkin
