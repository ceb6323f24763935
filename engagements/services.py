"""Operations that change cycles, engagements, staffing, plans, goals and roles.

Keyword-only, one use case per function, transactional, history recorded by
django-simple-history (the acting user comes from the request, or ``_history_user``).
Domain errors are ``DomainError`` with messages fit for the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from guardian.shortcuts import assign_perm, remove_perm
from simple_history.utils import bulk_create_with_history

from competencies.models import Competency, CompetencySet, RatingScale
from competencies.selectors import default_scale
from engagements import selectors, signals
from engagements.enums import (
    AssignmentSource,
    CycleStatus,
    EngagementRole,
    GoalStatus,
    PlanKind,
    PlanStatus,
)
from engagements.models import (
    ROLE_PERMISSIONS,
    Client,
    Engagement,
    EngagementType,
    Goal,
    GoalCheckIn,
    KeyActivity,
    Plan,
    PlanCompetency,
    PlanTemplate,
    ReviewCycle,
    RoleAssignment,
    RoleRule,
    TemplateCompetency,
    TemplateGoal,
)
from organizations.errors import DomainError
from organizations.models import Employee, Membership, User
from organizations.services import check_version

HUNDRED = Decimal(100)
CENT = Decimal("0.01")

# --- Review cycles -------------------------------------------------------------------

# Allowed moves and what each does, shown beside the button.
TRANSITIONS: dict[str, dict[str, Any]] = {
    CycleStatus.DRAFT: {
        CycleStatus.PLANNING: gettext_lazy(
            "Open planning: every active employee gets a general plan, and planners "
            "can write engagement plans."
        ),
    },
    CycleStatus.PLANNING: {
        CycleStatus.IN_PROGRESS: gettext_lazy(
            "Start the cycle: plans are in force; employees record progress."
        ),
    },
    CycleStatus.IN_PROGRESS: {
        CycleStatus.REVIEW: gettext_lazy(
            "Start the review: every plan is locked so reviewers rate what was agreed."
        ),
    },
    CycleStatus.REVIEW: {
        CycleStatus.CLOSED: gettext_lazy(
            "Close the cycle: nothing can change any more."
        ),
    },
    CycleStatus.CLOSED: {},
}


def create_cycle(*, actor: Membership, **fields: Any) -> ReviewCycle:
    """Create a review cycle in draft; β defaults to the organisation's."""
    with transaction.atomic():
        fields.setdefault("general_weight", actor.organization.general_weight)
        cycle = ReviewCycle(organization=actor.organization, **fields)
        cycle.save()
    return cycle


def update_cycle(
    *, actor: Membership, cycle: ReviewCycle, **fields: Any
) -> ReviewCycle:
    """Change a cycle's name, dates or weights. Dates are fixed once it is under way."""
    with transaction.atomic():
        cycle = ReviewCycle.objects.select_for_update().get(pk=cycle.pk)
        if cycle.status == CycleStatus.CLOSED:
            raise DomainError(_("This cycle is closed; it can no longer change."))
        moving_dates = any(
            name in fields and fields[name] != getattr(cycle, name)
            for name in ("start_date", "end_date")
        )
        if moving_dates and cycle.status not in (
            CycleStatus.DRAFT,
            CycleStatus.PLANNING,
        ):
            raise DomainError(
                _("The dates are fixed once the cycle is in progress."),
                field="start_date",
            )
        if (
            "rating_scale" in fields
            and _scale_id(fields["rating_scale"]) != cycle.rating_scale_id
            and cycle.plans_locked
        ):
            raise DomainError(
                _(
                    "The rating scale is fixed once the cycle is in review: reviewers "
                    "rate on it. Keep the current scale."
                ),
                field="rating_scale",
            )
        weights_before = _cycle_weights(cycle)
        for name, value in fields.items():
            setattr(cycle, name, value)
        cycle.save()
        if _cycle_weights(cycle) != weights_before:
            signals.cycle_weights_changed.send(sender=ReviewCycle, cycle=cycle)
    return cycle


def _cycle_weights(cycle: ReviewCycle) -> tuple[Any, ...]:
    return (cycle.general_weight, cycle.engagement_weighting, cycle.csat_weight)


def _scale_id(scale: RatingScale | None) -> int | None:
    return None if scale is None else scale.pk


def cycle_scale_lock_reason(scale: RatingScale) -> str | None:
    """Why ``scale`` may no longer change because of review cycles: a cycle that
    rates on it (its own scale, or the default when it has none) is in review or
    closed, so ratings on it exist. None otherwise. One query.

    Registered with ``competencies.usage.register_scale_lock`` in ``apps.py``.
    """
    uses = Q(rating_scale_id=scale.pk)
    if scale.is_default:
        uses |= Q(rating_scale__isnull=True)
    cycle = (
        ReviewCycle.objects.filter(uses)
        .filter(status__in=[CycleStatus.REVIEW, CycleStatus.CLOSED])
        .order_by("-start_date", "pk")
        .first()
    )
    if cycle is None:
        return None
    return _(
        "The review cycle %(cycle)s rates on this scale and is %(status)s, so ratings "
        "on it exist; changing the scale would change what they mean. Create a new "
        "scale instead (copy this one to start from its points)."
    ) % {"cycle": cycle.name, "status": cycle.get_status_display().lower()}


def transition_cycle(*, actor: Membership, cycle: ReviewCycle, to: str) -> ReviewCycle:
    """Move a cycle to its next status, with the side effects that move implies.

    draft → planning creates missing general plans; in_progress → review locks every
    plan. Any other move raises DomainError explaining the allowed one.
    """
    with transaction.atomic():
        cycle = ReviewCycle.objects.select_for_update().get(pk=cycle.pk)
        allowed = TRANSITIONS.get(cycle.status, {})
        if to not in allowed:
            nxt = next(iter(allowed), None)
            if nxt is None:
                message = _("This cycle is closed; it cannot move any more.")
            else:
                message = _("A cycle in %(current)s can only move to %(next)s.") % {
                    "current": cycle.get_status_display(),
                    "next": CycleStatus(nxt).label,
                }
            raise DomainError(message)
        if to == CycleStatus.PLANNING:
            create_general_plans(cycle=cycle)
        if to == CycleStatus.REVIEW:
            Plan.objects.filter(cycle=cycle).exclude(status=PlanStatus.LOCKED).update(
                status=PlanStatus.LOCKED
            )
            if cycle.rating_scale_id is None:
                # Pin the scale ratings will use, so changing the organisation's
                # default later cannot change what this cycle's ratings mean.
                cycle.rating_scale = default_scale()
                if cycle.rating_scale is not None:
                    cycle.save(update_fields=["rating_scale"])
        from_status = cycle.status
        cycle.status = to
        cycle.save(update_fields=["status"])
        signals.cycle_status_changed.send(
            sender=ReviewCycle,
            cycle=cycle,
            from_status=from_status,
            to_status=to,
            actor=actor,
        )
    return cycle


def create_general_plans(*, cycle: ReviewCycle) -> int:
    """Give every active employee without one a general plan in ``cycle``, with the
    competencies of their job title's set. A fixed number of queries whatever the
    number of people (up to eight, fewer in batches of 500)."""
    have = set(
        Plan.objects.filter(cycle=cycle, kind=PlanKind.GENERAL).values_list(
            "employee_id", flat=True
        )
    )
    goal_weight = cycle.organization.goal_weight
    titles: dict[int, int | None] = dict(
        Employee.objects.filter(is_active=True)
        .exclude(pk__in=have)
        .values_list("pk", "job_title_id")
    )
    plans = [
        Plan(
            organization_id=cycle.organization_id,
            cycle=cycle,
            employee_id=employee_id,
            kind=PlanKind.GENERAL,
            start_date=cycle.start_date,
            end_date=cycle.end_date,
            goal_weight=goal_weight,
        )
        for employee_id in titles
    ]
    plans = bulk_create_with_history(plans, Plan, batch_size=500)
    if any(plan.pk is None for plan in plans):
        # Databases that return no ids from a bulk insert: read them back.
        plans = list(
            Plan.objects.filter(
                cycle=cycle, kind=PlanKind.GENERAL, employee_id__in=list(titles)
            )
        )
    set_of_title = selectors.general_set_ids(
        {title for title in titles.values() if title is not None}
    )
    _attach_set_competencies(
        [(plan, set_of_title.get(titles[plan.employee_id] or 0)) for plan in plans]
    )
    return len(plans)


def _attach_set_competencies(plans: Sequence[tuple[Plan, int | None]]) -> int:
    """Give each new plan the competencies of its set (weights and expected levels
    copied from the set's items). Three queries whatever the number of plans (none
    without sets). Returns the competencies attached."""
    items = selectors.set_items_by_set({s for _plan, s in plans if s is not None})
    rows = [
        PlanCompetency(
            organization_id=plan.organization_id,
            plan_id=plan.pk,
            competency_id=item.competency_id,
            weight=item.weight,
            expected_level=item.expected_level,
            position=position,
        )
        for plan, set_id in plans
        if set_id is not None
        for position, item in enumerate(items.get(set_id, []))
    ]
    if rows:
        bulk_create_with_history(rows, PlanCompetency, batch_size=500)
    return len(rows)


# --- Clients and engagements -----------------------------------------------------------


def save_client(*, actor: Membership, client: Client) -> Client:
    client.organization = actor.organization
    client.save()
    return client


def save_engagement(*, actor: Membership, engagement: Engagement) -> Engagement:
    """Create or change an engagement. Its dates must still cover its plans."""
    with transaction.atomic():
        engagement.organization = actor.organization
        if engagement.pk:
            outside = Plan.objects.filter(engagement=engagement).filter(
                Q(end_date__lt=engagement.start_date)
                | Q(start_date__gt=engagement.end_date)
            )
            if outside.exists():
                raise DomainError(
                    _(
                        "Some plans on this engagement fall outside these dates. "
                        "Change those plans first."
                    ),
                    field="end_date",
                )
        engagement.save()
    return engagement


# --- Staffing ------------------------------------------------------------------------


@dataclass
class StaffingResult:
    plans: list[Plan] = field(default_factory=list)
    skipped: list[Employee] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def overlap(
    a_start: date, a_end: date, b_start: date, b_end: date
) -> tuple[date, date] | None:
    start, end = max(a_start, b_start), min(a_end, b_end)
    return (start, end) if start <= end else None


def default_plan_dates(
    engagement: Engagement, cycle: ReviewCycle
) -> tuple[date, date] | None:
    """The overlap of the engagement and the cycle, or None if they do not meet."""
    return overlap(
        engagement.start_date, engagement.end_date, cycle.start_date, cycle.end_date
    )


def overallocation_warnings(
    *,
    employees: Sequence[Employee],
    start: date,
    end: date,
    allocation: Decimal,
    exclude_engagement: Engagement | None = None,
) -> list[str]:
    """Warnings for people whose engagement allocations would exceed 100 % on some day
    of [start, end] with ``allocation`` added. One query; never blocks.

    Only plans that run at the same time count: 60 % in January and 60 % in March
    never add up, so the peak of simultaneous allocations is compared with 100 %.
    """
    plans = Plan.objects.filter(
        kind=PlanKind.ENGAGEMENT,
        employee__in=[e.pk for e in employees],
        start_date__lte=end,
        end_date__gte=start,
    )
    if exclude_engagement is not None:
        plans = plans.exclude(engagement=exclude_engagement)
    periods: dict[int, list[tuple[date, date, Decimal]]] = {}
    for employee_id, plan_start, plan_end, share in plans.values_list(
        "employee_id", "start_date", "end_date", "allocation"
    ):
        periods.setdefault(employee_id, []).append(
            (max(plan_start, start), min(plan_end, end), share or Decimal(0))
        )
    warnings = []
    for employee in employees:
        peak, peak_start, peak_end = _peak_allocation(
            periods.get(employee.pk, []), start, end
        )
        total = peak + allocation
        if total > HUNDRED:
            warnings.append(
                _(
                    "%(name)s would be allocated %(total)s %% between %(start)s and "
                    "%(end)s across engagements (more than 100 %%)."
                )
                % {
                    "name": employee.full_name,
                    "total": f"{total.normalize():f}",
                    "start": peak_start.isoformat(),
                    "end": peak_end.isoformat(),
                }
            )
    return warnings


def _peak_allocation(
    periods: Sequence[tuple[date, date, Decimal]], start: date, end: date
) -> tuple[Decimal, date, date]:
    """The highest total of ``periods`` (inside [start, end]) on any one day, and the
    first stretch of days at that total; (0, start, end) without periods."""
    changes: dict[date, Decimal] = {}
    for period_start, period_end, share in periods:
        after = period_end + timedelta(days=1)
        changes[period_start] = changes.get(period_start, Decimal(0)) + share
        changes[after] = changes.get(after, Decimal(0)) - share
    days = sorted(changes)
    current = peak = Decimal(0)
    peak_start, peak_end = start, end
    for index, day in enumerate(days):
        current += changes[day]
        if day > end:
            break
        if current > peak:
            peak, peak_start = current, day
            following = days[index + 1] if index + 1 < len(days) else None
            peak_end = end if following is None else following - timedelta(days=1)
    return peak, peak_start, peak_end


def staff_employees(
    *,
    actor: Membership,
    engagement: Engagement,
    cycle: ReviewCycle,
    employees: Sequence[Employee],
    allocation: Decimal,
    start_date: date | None = None,
    end_date: date | None = None,
    role_title: str = "",
) -> StaffingResult:
    """Staff people on an engagement for a cycle: one engagement plan each.

    Dates default to the overlap of engagement and cycle; the plan must meet the cycle
    and stay inside the engagement. People already staffed are skipped. Role rules for
    their job titles are applied. Over-allocation is reported, not refused.
    """
    if cycle.plans_locked:
        raise DomainError(
            _(
                "The cycle %(cycle)s is in review or closed; staffing can no longer change."
            )
            % {"cycle": cycle.name}
        )
    if not employees:
        raise DomainError(_("Pick at least one person to staff."), field="employees")
    if not 0 < allocation <= HUNDRED:
        raise DomainError(
            _("The allocation is a percentage above 0 and at most 100."),
            field="allocation",
        )
    window = default_plan_dates(engagement, cycle)
    if window is None:
        raise DomainError(
            _("The engagement and the cycle do not overlap; pick another cycle."),
            field="cycle",
        )
    start = start_date or window[0]
    end = end_date or window[1]
    if end < start:
        raise DomainError(_("The end cannot be before the start."), field="end_date")
    if start < engagement.start_date or end > engagement.end_date:
        raise DomainError(
            _("The dates must lie within the engagement (%(start)s to %(end)s).")
            % {"start": engagement.start_date, "end": engagement.end_date},
            field="start_date" if start < engagement.start_date else "end_date",
        )
    if overlap(start, end, cycle.start_date, cycle.end_date) is None:
        raise DomainError(
            _("These dates fall outside the cycle; the plan would not count."),
            field="start_date",
        )
    result = StaffingResult()
    with transaction.atomic():
        already = set(
            Plan.objects.filter(
                cycle=cycle,
                engagement=engagement,
                employee__in=[e.pk for e in employees],
            ).values_list("employee_id", flat=True)
        )
        fresh = [e for e in employees if e.pk not in already]
        result.skipped = [e for e in employees if e.pk in already]
        result.warnings = overallocation_warnings(
            employees=fresh, start=start, end=end, allocation=allocation
        )
        goal_weight = actor.organization.goal_weight
        for employee in fresh:
            plan = Plan(
                organization=actor.organization,
                cycle=cycle,
                employee=employee,
                kind=PlanKind.ENGAGEMENT,
                engagement=engagement,
                start_date=start,
                end_date=end,
                allocation=allocation,
                role_title=role_title,
                goal_weight=goal_weight,
                status=PlanStatus.DRAFT,
            )
            plan.save()
            result.plans.append(plan)
        if result.plans:
            set_id = selectors.engagement_set_id(engagement)
            _attach_set_competencies([(plan, set_id) for plan in result.plans])
        apply_role_rules(engagement=engagement, employees=fresh)
    return result


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


def _raise_first(errors: dict[str, str]) -> None:
    if errors:
        name, message = next(iter(errors.items()))
        raise DomainError(message, field=name)


def add_goal(
    *, actor: Membership, plan: Plan, activities: Iterable[str] = (), **fields: Any
) -> Goal:
    with transaction.atomic():
        plan = (
            Plan.objects.select_for_update(of=("self",))
            .select_related("cycle")
            .get(pk=plan.pk)
        )
        ensure_plan_editable(plan)
        _raise_first(validate_goal(plan, fields))
        position = plan.goals.count()
        goal = Goal(
            organization=actor.organization, plan=plan, position=position, **fields
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
        goal = (
            Goal.objects.select_for_update(of=("self",))
            .select_related("plan__cycle")
            .get(pk=goal.pk)
        )
        ensure_plan_editable(goal.plan)
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
        _raise_first(validate_goal(goal.plan, merged))
        for name, value in fields.items():
            setattr(goal, name, value)
        goal.version += 1
        goal.save()
        # A new weight can break the 100 total of an active plan.
        _bump_plan(goal.plan)
    return goal


def _editable_plan(plan_id: int) -> Plan:
    """The plan, locked for this transaction and freshly read, if it may change;
    else DomainError with the lock explanation. One query."""
    plan = (
        Plan.objects.select_for_update(of=("self",))
        .select_related("cycle")
        .get(pk=plan_id)
    )
    ensure_plan_editable(plan)
    return plan


def delete_goal(*, actor: Membership, goal: Goal) -> None:
    """Delete a goal with its key activities and check-ins. An active plan whose
    weights stop totalling 100 returns to draft."""
    with transaction.atomic():
        plan = _editable_plan(goal.plan_id)
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
        plan = (
            Plan.objects.select_for_update(of=("self",))
            .select_related("cycle")
            .get(pk=plan.pk)
        )
        ensure_plan_editable(plan)
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
        plan = (
            Plan.objects.select_for_update(of=("self",))
            .select_related("cycle")
            .get(pk=plan.pk)
        )
        ensure_plan_editable(plan)
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


def apply_template(
    *, actor: Membership, template: PlanTemplate, plans: Sequence[Plan]
) -> int:
    """Copy a template's goals and key activities onto plans, and its goal weight α.

    Every plan must be editable, else nothing changes. The plans are locked for the
    duration and the objects passed in are updated. Returns goals created.
    """
    with transaction.atomic():
        fresh = list(
            Plan.objects.select_for_update(of=("self",))
            .select_related("cycle")
            .filter(pk__in=[p.pk for p in plans])
            .order_by("pk")
        )
        locked = [
            p for p in fresh if p.status == PlanStatus.LOCKED or p.cycle.plans_locked
        ]
        if locked:
            raise DomainError(
                _("%(n)s of these plans are locked; nothing was applied.")
                % {"n": len(locked)}
            )
        blueprints = list(TemplateGoal.objects.filter(template=template))
        competencies = list(TemplateCompetency.objects.filter(template=template))
        if not blueprints and not competencies:
            raise DomainError(_("This template has no goals yet."))
        _copy_template_competencies(fresh, competencies)
        created = 0
        for plan in fresh:
            offset = plan.goals.count()
            for index, blueprint in enumerate(blueprints):
                goal = Goal.objects.create(
                    organization=actor.organization,
                    plan=plan,
                    title=blueprint.title,
                    description=blueprint.description,
                    metric=blueprint.metric,
                    target_value=blueprint.target_value,
                    unit=blueprint.unit,
                    direction=blueprint.direction,
                    weight=blueprint.weight,
                    position=offset + index,
                )
                created += 1
                activities = [
                    KeyActivity(organization=actor.organization, goal=goal, title=title)
                    for title in blueprint.activity_titles
                ]
                if activities:
                    bulk_create_with_history(activities, KeyActivity)
            plan.template = template
            plan.goal_weight = template.goal_weight
            plan.version += 1
            plan.save(update_fields=["template", "goal_weight", "version"])
        by_pk = {p.pk: p for p in fresh}
        for original in plans:
            if original.pk in by_pk:
                updated = by_pk[original.pk]
                original.template = template
                original.goal_weight = updated.goal_weight
                original.version = updated.version
    return created


def _copy_template_competencies(
    plans: Sequence[Plan], competencies: Sequence[TemplateCompetency]
) -> None:
    """Add a template's competencies to plans, skipping those a plan already has.
    Three queries whatever the number of plans (none without competencies)."""
    if not competencies or not plans:
        return
    have: dict[int, set[int]] = {}
    last: dict[int, int] = {}
    for plan_id, competency_id, position in PlanCompetency.objects.filter(
        plan__in=[p.pk for p in plans]
    ).values_list("plan_id", "competency_id", "position"):
        have.setdefault(plan_id, set()).add(competency_id)
        last[plan_id] = max(last.get(plan_id, -1), position)
    rows = []
    for plan in plans:
        position = last.get(plan.pk, -1)
        for blueprint in competencies:
            if blueprint.competency_id in have.get(plan.pk, set()):
                continue
            position += 1
            rows.append(
                PlanCompetency(
                    organization_id=plan.organization_id,
                    plan_id=plan.pk,
                    competency_id=blueprint.competency_id,
                    weight=blueprint.weight,
                    expected_level=blueprint.expected_level,
                    position=position,
                )
            )
    if rows:
        bulk_create_with_history(rows, PlanCompetency, batch_size=500)


def apply_template_to_engagement(
    *,
    actor: Membership,
    template: PlanTemplate,
    engagement: Engagement,
    cycle: ReviewCycle | None = None,
) -> tuple[int, int]:
    """Apply ``template`` to every plan on ``engagement``: those of ``cycle``, or of
    every cycle not yet in review or closed. All or nothing, as ``apply_template``.

    Returns (plans changed, goals created). Raises DomainError when there is no such
    plan, when one of them is locked, or when the template has no goals.
    """
    plans = Plan.objects.filter(
        engagement=engagement, kind=PlanKind.ENGAGEMENT
    ).select_related("cycle")
    if cycle is not None:
        plans = plans.filter(cycle=cycle)
    else:
        plans = plans.exclude(
            cycle__status__in=[CycleStatus.REVIEW, CycleStatus.CLOSED]
        )
    targets = list(plans)
    if not targets:
        if cycle is not None:
            message = _(
                "Nobody is staffed on this engagement in %(cycle)s. Staff people first "
                "or pick another cycle."
            ) % {"cycle": cycle.name}
        else:
            message = _(
                "Nobody is staffed on this engagement in an open cycle. Staff people "
                "first."
            )
        raise DomainError(message, field="cycle")
    created = apply_template(actor=actor, template=template, plans=targets)
    return len(targets), created


# --- Key activities and check-ins -------------------------------------------------------


def add_key_activity(
    *, actor: Membership, goal: Goal, title: str, due_date: date | None = None
) -> KeyActivity:
    with transaction.atomic():
        plan = _editable_plan(goal.plan_id)
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
        _editable_plan(activity.goal.plan_id)
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
        goal = (
            Goal.objects.select_for_update(of=("self",))
            .select_related("plan__cycle")
            .get(pk=goal.pk)
        )
        ensure_plan_editable(goal.plan)
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


# --- Engagement roles -----------------------------------------------------------------


def _grant(user: User | None, engagement: Engagement, role: str) -> None:
    if user is None:
        return
    assign_perm(f"engagements.{ROLE_PERMISSIONS[role]}", user, engagement)
    assign_perm("engagements.view_engagement", user, engagement)


def _revoke(
    user: User | None, engagement: Engagement, role: str, remaining: set[str]
) -> None:
    if user is None:
        return
    remove_perm(f"engagements.{ROLE_PERMISSIONS[role]}", user, engagement)
    if not remaining:
        remove_perm("engagements.view_engagement", user, engagement)


def assign_role(
    *,
    actor: Membership | None,
    engagement: Engagement,
    employee: Employee,
    role: str,
    source: str = AssignmentSource.MANUAL,
) -> RoleAssignment:
    """Give ``employee`` an engagement role and its object permissions, atomically.

    Assigning a role someone already holds returns the existing assignment.
    """
    if role not in EngagementRole.values:
        raise DomainError(_("Choose one of the listed roles."), field="role")
    with transaction.atomic():
        existing = RoleAssignment.objects.filter(
            engagement=engagement, employee=employee, role=role
        ).first()
        if existing is not None:
            return existing
        if not employee.is_active:
            raise DomainError(
                _("%(name)s is inactive and cannot hold a role.") % {"name": employee},
                field="employee",
            )
        assignment = RoleAssignment.objects.create(
            organization_id=engagement.organization_id,
            engagement=engagement,
            employee=employee,
            role=role,
            source=source,
        )
        _grant(employee.user, engagement, role)
    return assignment


def revoke_role(*, actor: Membership, assignment: RoleAssignment) -> None:
    """Remove an engagement role and the permissions it granted, atomically."""
    with transaction.atomic():
        employee, engagement, role = (
            assignment.employee,
            assignment.engagement,
            assignment.role,
        )
        assignment.delete()
        remaining = set(
            RoleAssignment.objects.filter(
                engagement=engagement, employee=employee
            ).values_list("role", flat=True)
        )
        _revoke(employee.user, engagement, role, remaining)


def apply_role_rules(
    *, engagement: Engagement, employees: Sequence[Employee]
) -> list[RoleAssignment]:
    """Assign the roles that role rules give these staffed people's job titles."""
    title_ids = {e.job_title_id for e in employees if e.job_title_id}
    if not title_ids:
        return []
    rules: dict[int, list[str]] = {}
    for job_title_id, role in RoleRule.objects.filter(
        job_title_id__in=title_ids
    ).values_list("job_title_id", "role"):
        rules.setdefault(job_title_id, []).append(role)
    created = []
    for employee in employees:
        for role in rules.get(employee.job_title_id or 0, []):
            created.append(
                assign_role(
                    actor=None,
                    engagement=engagement,
                    employee=employee,
                    role=role,
                    source=AssignmentSource.RULE,
                )
            )
    return created


def create_role_rule(*, actor: Membership, job_title: Any, role: str) -> RoleRule:
    """Add a role rule and apply it to people already staffed on open engagements."""
    with transaction.atomic():
        if RoleRule.objects.filter(job_title=job_title, role=role).exists():
            raise DomainError(_("This rule exists already."), field="role")
        rule = RoleRule.objects.create(
            organization=actor.organization, job_title=job_title, role=role
        )
        staffed = (
            Plan.objects.filter(
                kind=PlanKind.ENGAGEMENT,
                employee__job_title=job_title,
                employee__is_active=True,
            )
            .exclude(cycle__status=CycleStatus.CLOSED)
            .select_related("engagement", "employee__user")
        )
        seen: set[tuple[int, int]] = set()
        for plan in staffed:
            key = (plan.engagement_id or 0, plan.employee_id)
            if key in seen or plan.engagement is None:
                continue
            seen.add(key)
            assign_role(
                actor=actor,
                engagement=plan.engagement,
                employee=plan.employee,
                role=role,
                source=AssignmentSource.RULE,
            )
    return rule


def delete_role_rule(*, actor: Membership, rule: RoleRule) -> None:
    """Remove a rule. Roles it already gave stay until revoked by hand."""
    rule.delete()


def sync_permissions_for(employee: Employee) -> None:
    """Grant a newly linked login the permissions of the roles its person holds."""
    if employee.user is None:
        return
    for assignment in RoleAssignment.objects.filter(employee=employee).select_related(
        "engagement"
    ):
        _grant(employee.user, assignment.engagement, assignment.role)


# --- Plan templates -------------------------------------------------------------------


def _template_name_taken(name: str, template: PlanTemplate | None = None) -> bool:
    clash = PlanTemplate.objects.filter(name__iexact=name)
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    return clash.exists()


def create_template(
    *, actor: Membership, name: str, goal_weight: Decimal, description: str = ""
) -> PlanTemplate:
    """Create a plan template; its name is unique in the organisation."""
    name = name.strip()
    with transaction.atomic():
        if _template_name_taken(name):
            raise DomainError(
                _("A template with this name exists already."), field="name"
            )
        template = PlanTemplate(
            organization=actor.organization,
            name=name,
            description=description,
            goal_weight=goal_weight,
        )
        template.save()
    return template


def update_template(
    *,
    actor: Membership,
    template: PlanTemplate,
    name: str,
    goal_weight: Decimal,
    description: str = "",
) -> PlanTemplate:
    """Rename or describe a template, or change its α. Plans it was already applied
    to keep what they received."""
    name = name.strip()
    with transaction.atomic():
        template = PlanTemplate.objects.select_for_update().get(pk=template.pk)
        if _template_name_taken(name, template):
            raise DomainError(
                _("A template with this name exists already."), field="name"
            )
        template.name = name
        template.description = description
        template.goal_weight = goal_weight
        template.save()
    return template


def validate_template_goal(data: dict[str, Any]) -> dict[str, str]:
    """Field errors for a template goal; empty when valid."""
    errors: dict[str, str] = {}
    weight = data.get("weight")
    if weight is None or weight <= 0:
        errors["weight"] = _("The weight must be more than 0.")
    if data.get("metric") and data.get("target_value") is None:
        errors["target_value"] = _("A goal with a metric needs a target value.")
    return errors


TEMPLATE_GOAL_FIELDS = (
    "title",
    "description",
    "metric",
    "target_value",
    "unit",
    "direction",
    "weight",
    "key_activities",
)


def add_template_goal(
    *, actor: Membership, template: PlanTemplate, **fields: Any
) -> TemplateGoal:
    """Add a goal blueprint at the end of a template.

    ``fields`` are among TEMPLATE_GOAL_FIELDS. Raises DomainError for a weight not
    above 0 or a metric without a target.
    """
    unknown = set(fields) - set(TEMPLATE_GOAL_FIELDS)
    if unknown:
        raise TypeError(f"Unknown template goal fields: {sorted(unknown)}")
    _raise_first(validate_template_goal(fields))
    with transaction.atomic():
        template = PlanTemplate.objects.select_for_update().get(pk=template.pk)
        last = TemplateGoal.objects.filter(template=template).aggregate(
            last=Max("position")
        )["last"]
        goal = TemplateGoal(
            organization=actor.organization,
            template=template,
            position=0 if last is None else last + 1,
            **fields,
        )
        goal.save()
    return goal


def delete_template_goal(*, actor: Membership, goal: TemplateGoal) -> None:
    """Remove a goal blueprint. Goals already copied onto plans stay."""
    with transaction.atomic():
        goal.delete()


# --- Competencies on plans -------------------------------------------------------------


def _check_expected_level(plan: Plan, level: Decimal | None) -> None:
    """Refuse an expected level that is not a point of the plan's cycle's scale.
    One query."""
    scale = selectors.scale_for_cycle(plan.cycle)
    if scale is None:
        raise DomainError(
            _(
                "The organisation has no rating scale yet, so no level can be "
                "expected. Ask HR to create one first."
            ),
            field="expected_level",
        )
    if level is None or level not in scale.points():
        raise DomainError(
            _("Pick a point of the scale %(scale)s (%(points)s).")
            % {
                "scale": scale.name,
                "points": ", ".join(f"{p.normalize():f}" for p in scale.points()),
            },
            field="expected_level",
        )


def _check_competency_weight(weight: Decimal | None) -> None:
    if weight is None or weight <= 0:
        raise DomainError(_("The weight must be more than 0."), field="weight")


def add_plan_competency(
    *,
    actor: Membership,
    plan: Plan,
    competency: Competency,
    expected_level: Decimal,
    weight: Decimal = Decimal(1),
) -> PlanCompetency:
    """Add a competency at the end of a plan with its weight (> 0) and expected level
    (a point of the cycle's scale). Refused on a locked plan (with the lock
    explanation), for archived competencies and ones the plan has already."""
    with transaction.atomic():
        plan = _editable_plan(plan.pk)
        if competency.organization_id != actor.organization_id:
            raise DomainError(
                _("Choose one of the listed competencies."), field="competency"
            )
        if competency.is_archived:
            raise DomainError(
                _(
                    "%(name)s is archived, so it cannot be added to plans. Choose "
                    "another competency, or ask HR to restore it."
                )
                % {"name": competency.name},
                field="competency",
            )
        if PlanCompetency.objects.filter(plan=plan, competency=competency).exists():
            raise DomainError(
                _(
                    "%(name)s is on this plan already; change its weight or level "
                    "instead."
                )
                % {"name": competency.name},
                field="competency",
            )
        _check_competency_weight(weight)
        _check_expected_level(plan, expected_level)
        last = PlanCompetency.objects.filter(plan=plan).aggregate(last=Max("position"))[
            "last"
        ]
        item = PlanCompetency(
            organization=actor.organization,
            plan=plan,
            competency=competency,
            weight=weight,
            expected_level=expected_level,
            position=0 if last is None else last + 1,
        )
        item.save()
    return item


def update_plan_competency(
    *,
    actor: Membership,
    plan_competency: PlanCompetency,
    weight: Decimal,
    expected_level: Decimal,
) -> PlanCompetency:
    """Re-weight a plan competency or change its expected level (a point of the
    cycle's scale). Refused on a locked plan with the lock explanation."""
    with transaction.atomic():
        plan = _editable_plan(plan_competency.plan_id)
        item = PlanCompetency.objects.select_for_update().get(pk=plan_competency.pk)
        _check_competency_weight(weight)
        _check_expected_level(plan, expected_level)
        if (item.weight, item.expected_level) != (weight, expected_level):
            item.weight = weight
            item.expected_level = expected_level
            item.save(update_fields=["weight", "expected_level"])
    return item


def remove_plan_competency(
    *, actor: Membership, plan_competency: PlanCompetency
) -> None:
    """Take a competency off a plan. Refused on a locked plan with the lock
    explanation."""
    with transaction.atomic():
        _editable_plan(plan_competency.plan_id)
        plan_competency.delete()


def _check_default_level(level: Decimal | None) -> None:
    """Refuse an expected level that is not a point of the default scale (plan
    templates belong to no cycle). One query."""
    scale = RatingScale.objects.filter(is_default=True).first()
    if scale is None:
        raise DomainError(
            _(
                "The organisation has no default rating scale yet, so no level can "
                "be expected. Ask HR to create one first."
            ),
            field="expected_level",
        )
    if level is None or level not in scale.points():
        raise DomainError(
            _("Pick a point of the scale %(scale)s (%(points)s).")
            % {
                "scale": scale.name,
                "points": ", ".join(f"{p.normalize():f}" for p in scale.points()),
            },
            field="expected_level",
        )


def add_template_competency(
    *,
    actor: Membership,
    template: PlanTemplate,
    competency: Competency,
    expected_level: Decimal,
    weight: Decimal = Decimal(1),
) -> TemplateCompetency:
    """Add a competency to a plan template with its weight (> 0) and expected level
    (a point of the default scale). Archived competencies and ones the template has
    already are refused. Plans the template was applied to are not touched."""
    with transaction.atomic():
        template = PlanTemplate.objects.select_for_update().get(pk=template.pk)
        if competency.organization_id != actor.organization_id:
            raise DomainError(
                _("Choose one of the listed competencies."), field="competency"
            )
        if competency.is_archived:
            raise DomainError(
                _(
                    "%(name)s is archived, so it cannot be added. Choose another "
                    "competency, or ask HR to restore it."
                )
                % {"name": competency.name},
                field="competency",
            )
        if TemplateCompetency.objects.filter(
            template=template, competency=competency
        ).exists():
            raise DomainError(
                _("%(name)s is in this template already.") % {"name": competency.name},
                field="competency",
            )
        _check_competency_weight(weight)
        _check_default_level(expected_level)
        item = TemplateCompetency(
            organization=actor.organization,
            template=template,
            competency=competency,
            weight=weight,
            expected_level=expected_level,
        )
        item.save()
    return item


def remove_template_competency(*, actor: Membership, item: TemplateCompetency) -> None:
    """Take a competency out of a template. Plans that received it keep it."""
    with transaction.atomic():
        item.delete()


# --- Engagement types -------------------------------------------------------------------


def _type_name_taken(name: str, engagement_type: EngagementType | None) -> bool:
    clash = EngagementType.objects.filter(name__iexact=name)
    if engagement_type is not None:
        clash = clash.exclude(pk=engagement_type.pk)
    return clash.exists()


def save_engagement_type(
    *,
    actor: Membership,
    name: str,
    competency_set: CompetencySet | None,
    engagement_type: EngagementType | None = None,
) -> EngagementType:
    """Create an engagement type, or rename it or change its competency set (given
    ``engagement_type``). Names are unique in the organisation. Plans already
    created keep the competencies they received."""
    name = name.strip()
    with transaction.atomic():
        if not name:
            raise DomainError(_("Give the engagement type a name."), field="name")
        if _type_name_taken(name, engagement_type):
            raise DomainError(
                _("An engagement type with this name exists already."), field="name"
            )
        if (
            competency_set is not None
            and competency_set.organization_id != actor.organization_id
        ):
            raise DomainError(
                _("Choose one of the listed competency sets."), field="competency_set"
            )
        if engagement_type is None:
            engagement_type = EngagementType(organization=actor.organization)
        else:
            engagement_type = EngagementType.objects.select_for_update().get(
                pk=engagement_type.pk
            )
        engagement_type.name = name
        engagement_type.competency_set = competency_set
        engagement_type.save()
    return engagement_type


# --- Demo and maintenance -------------------------------------------------------------------


def attach_missing_competencies(*, cycle: ReviewCycle) -> int:
    """Give the plans of ``cycle`` that have no competencies those of their set
    (job title for general plans, engagement or type for engagement plans). For
    plans created before their sets existed; plans that have competencies are left
    alone. A fixed number of queries. Returns the competencies attached."""
    if cycle.plans_locked:
        return 0
    plans = list(
        Plan.objects.filter(cycle=cycle, competencies__isnull=True)
        .exclude(status=PlanStatus.LOCKED)
        .select_related("employee", "engagement__engagement_type")
    )
    titles = {p.employee.job_title_id for p in plans if p.employee.job_title_id}
    set_of_title = selectors.general_set_ids(titles)
    pairs: list[tuple[Plan, int | None]] = []
    for plan in plans:
        if plan.engagement is not None:
            engagement = plan.engagement
            set_id = engagement.competency_set_id or (
                engagement.engagement_type.competency_set_id
                if engagement.engagement_type
                else None
            )
        else:
            set_id = set_of_title.get(plan.employee.job_title_id or 0)
        pairs.append((plan, set_id))
    return _attach_set_competencies(pairs)
