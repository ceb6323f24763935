"""Review cycles: create, change and move through their statuses, with the side
effects each move implies (general plans on opening, locked plans on review)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from competencies.models import RatingScale
from competencies.selectors import default_scale
from engagements import signals
from engagements.enums import CycleStatus, PlanKind, PlanStatus, Weighting
from engagements.models import Plan, ReviewCycle
from engagements.selectors.competencies import general_set_ids
from engagements.services.competencies import attach_set_competencies
from organizations.errors import DomainError
from organizations.models import Employee, Membership

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


def create_cycle(
    *,
    actor: Membership,
    name: str,
    start_date: date,
    end_date: date,
    general_weight: Decimal | None = None,
    engagement_weighting: str = Weighting.EFFORT,
    csat_weight: Decimal = Decimal(0),
    allow_early_evaluation: bool = False,
    rating_scale: RatingScale | None = None,
) -> ReviewCycle:
    """Create a review cycle in draft; β (``general_weight``) defaults to the
    organisation's."""
    with transaction.atomic():
        cycle = ReviewCycle(
            organization=actor.organization,
            name=name,
            start_date=start_date,
            end_date=end_date,
            general_weight=actor.organization.general_weight
            if general_weight is None
            else general_weight,
            engagement_weighting=engagement_weighting,
            csat_weight=csat_weight,
            allow_early_evaluation=allow_early_evaluation,
            rating_scale=rating_scale,
        )
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
    set_of_title = general_set_ids(
        {title for title in titles.values() if title is not None}
    )
    attach_set_competencies(
        [(plan, set_of_title.get(titles[plan.employee_id] or 0)) for plan in plans]
    )
    return len(plans)
