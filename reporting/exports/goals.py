"""The export dataset of goals: each goal of the plans in the viewer's scope
(``ReportScope.plans()``), with its target, actual and attainment
(``engagements.models.plans.attainment``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext_lazy as _

from engagements.enums import Direction, GoalStatus
from engagements.models import Goal
from engagements.models.plans import attainment
from reporting.exports.base import (
    CHUNK,
    Column,
    ColumnType,
    Dataset,
    Params,
    Row,
    choice_label,
    cycle_of,
    plan_label,
    two_places,
)
from reporting.scope import ReportScope

# --- 3. Goals ------------------------------------------------------------------------------


def _goals(scope: ReportScope, params: Params) -> Any:
    plans = scope.plans().filter(cycle_id=cycle_of(params)).order_by().values("pk")
    return Goal.objects.filter(plan_id__in=plans).order_by()


def _goal_rows(scope: ReportScope, params: Params) -> Iterator[Row]:
    rows = (
        _goals(scope, params)
        .order_by(
            "plan__employee__full_name", "plan__kind", "plan_id", "position", "pk"
        )
        .values_list(
            "plan__employee__full_name",
            "plan__kind",
            "plan__engagement__code",
            "plan__engagement__name",
            "title",
            "metric",
            "unit",
            "direction",
            "target_value",
            "actual_value",
            "weight",
            "status",
            "progress",
            "due_date",
        )
    )
    for (
        employee,
        kind,
        code,
        engagement,
        title,
        metric,
        unit,
        direction,
        target,
        actual,
        weight,
        status,
        progress,
        due_date,
    ) in rows.iterator(chunk_size=CHUNK):
        yield (
            employee,
            plan_label(kind, code, engagement),
            title,
            metric,
            unit,
            choice_label(Direction, direction),
            two_places(target),
            two_places(actual),
            two_places(attainment(target, actual, direction)),
            two_places(weight),
            choice_label(GoalStatus, status),
            progress,
            due_date,
        )


GOALS = Dataset(
    kind="goals",
    label=_("Goals of a cycle"),
    description=_(
        "One row per goal: its target, the actual value reached and the "
        "attainment (actual against target, in percent)."
    ),
    columns=(
        Column("employee", _("Employee")),
        Column("plan", _("Plan")),
        Column("goal", _("Goal")),
        Column("metric", _("Metric")),
        Column("unit", _("Unit")),
        Column("direction", _("Direction")),
        Column("target", _("Target"), ColumnType.DECIMAL),
        Column("actual", _("Actual"), ColumnType.DECIMAL),
        Column("attainment", _("Attainment (%)"), ColumnType.DECIMAL),
        Column("weight", _("Weight"), ColumnType.DECIMAL),
        Column("status", _("Status")),
        Column("progress", _("Progress (%)"), ColumnType.INTEGER),
        Column("due_date", _("Due date"), ColumnType.DATE),
    ),
    rows=_goal_rows,
    count=lambda scope, params: _goals(scope, params).count(),
    available=lambda scope: scope.is_hr or scope.plans().exists(),
)
