"""Change timelines (django-simple-history) of cycles, engagements, plans and goals,
each entry labelled with what it is about."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from engagements.models import (
    Engagement,
    Goal,
    GoalCheckIn,
    KeyActivity,
    Plan,
    PlanCompetency,
    ReviewCycle,
    RoleAssignment,
)
from engagements.selectors.access import PlanIds
from organizations.history import timeline


def cycle_history(cycle: ReviewCycle) -> list[dict[str, object]]:
    """The cycle's change timeline, newest first. One query (a cycle names nothing)."""
    return timeline(cycle.history.select_related("history_user"))


def engagement_history(
    engagement: Engagement, plan_ids: PlanIds | None = None
) -> list[dict[str, object]]:
    """Changes to the engagement, its role assignments and its plans, newest first,
    each labelled with what it is about.

    ``plan_ids`` (ids, or a queryset of them such as ``visible_plan_ids``) narrows
    the plan entries to those plans; None means every plan ever on the engagement.
    Three queries, plus one per kind of referenced object whose value changed
    (client, business unit, person, template...).
    """
    own = engagement.history.select_related("history_user")
    roles = RoleAssignment.history.filter(engagement_id=engagement.pk).select_related(
        "history_user", "employee"
    )
    plans = Plan.history.filter(engagement_id=engagement.pk).select_related(
        "history_user", "employee", "cycle"
    )
    if plan_ids is not None:
        plans = plans.filter(id__in=plan_ids)

    def label(record: Any) -> str:
        model = record.instance_type
        if model is Engagement:
            return _("Engagement")
        if model is RoleAssignment:
            return _("Role: %(person)s as %(role)s") % {
                "person": record.employee or _("(removed)"),
                "role": record.get_role_display(),
            }
        return _("Plan: %(person)s in %(cycle)s") % {
            "person": record.employee or _("(removed)"),
            "cycle": record.cycle or _("(removed)"),
        }

    return timeline([*own, *roles, *plans], label=label)


def _history_label(goal_titles: dict[int, str]) -> Callable[[Any], str]:
    def label(record: Any) -> str:
        model = record.instance_type
        if model is Plan:
            return _("Plan")
        if model is PlanCompetency:
            return _("Competency “%(name)s”") % {
                "name": record.competency or _("(removed)")
            }
        if model is Goal:
            return _("Goal “%(title)s”") % {"title": record.title}
        if model is KeyActivity:
            return _("Key activity “%(title)s”") % {"title": record.title}
        return _("Check-in on “%(goal)s”") % {
            "goal": goal_titles.get(record.goal_id, _("a removed goal"))
        }

    return label


def _goal_family_history(goal_history: list[Any]) -> list[Any]:
    """History rows of the key activities and check-ins of the goals in
    ``goal_history`` (including removed ones). Two queries."""
    goal_ids = {record.id for record in goal_history}
    activities = KeyActivity.history.filter(goal_id__in=goal_ids).select_related(
        "history_user"
    )
    checkins = GoalCheckIn.history.filter(goal_id__in=goal_ids).select_related(
        "history_user"
    )
    return [*activities, *checkins]


def plan_history(plan: Plan) -> list[dict[str, object]]:
    """The change timeline of a plan, its competencies, goals, key activities and
    check-ins, newest first, each entry labelled with what it is about. Five queries,
    plus one per kind of reference whose value changed (to name it)."""
    plan_rows = list(Plan.history.filter(id=plan.pk).select_related("history_user"))
    competency_rows = list(
        PlanCompetency.history.filter(plan_id=plan.pk).select_related(
            "history_user", "competency"
        )
    )
    goal_rows = list(
        Goal.history.filter(plan_id=plan.pk).select_related("history_user")
    )
    titles = {record.id: record.title for record in sorted(goal_rows, key=_when)}
    records = [
        *plan_rows,
        *competency_rows,
        *goal_rows,
        *_goal_family_history(goal_rows),
    ]
    return timeline(records, label=_history_label(titles))


def goal_history(goal: Goal) -> list[dict[str, object]]:
    """The change timeline of one goal, its key activities and check-ins, newest
    first. Three queries, plus one per kind of reference whose value changed."""
    goal_rows = list(Goal.history.filter(id=goal.pk).select_related("history_user"))
    titles = {goal.pk: goal.title}
    records = [*goal_rows, *_goal_family_history(goal_rows or [goal])]
    return timeline(records, label=_history_label(titles))


def _when(record: Any) -> tuple[Any, int]:
    return (record.history_date, record.history_id)
