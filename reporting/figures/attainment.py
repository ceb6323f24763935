"""Goal attainment per person in one cycle: the people with the highest and the
lowest share of their measured goals at or above target (``AT_OR_ABOVE_TARGET``,
the definition the engagement analytics count per engagement), for the cycle report
and any page that lists them.

A goal counts when it has a target and an actual (``MEASURED``); a person counts
when they have such a goal on a plan the caller passes (scoped and narrowed to the
cycle by the caller). People are ranked by their share, highest first, then by
name and id, so that equal shares always list in the same order. One query: the
people are grouped, ranked and cut to the two ends in SQL, so the rows read do not
grow with the organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, QuerySet

from engagements.models import Goal, Plan
from reporting.figures.engagements import AT_OR_ABOVE_TARGET, MEASURED
from reporting.figures.stats import rounded

# People listed at each end.
EXTREMES = 10


@dataclass(frozen=True)
class PersonAttainment:
    employee_id: int
    name: str
    goals: int  # measured goals
    met: int  # of those, at or above target

    @property
    def share(self) -> Decimal | None:
        """Share of the measured goals at or above target, in percent."""
        return rounded(Decimal(self.met * 100) / self.goals) if self.goals else None


@dataclass(frozen=True)
class AttainmentExtremes:
    top: list[PersonAttainment]  # highest share first
    bottom: list[PersonAttainment]  # lowest share first; nobody of ``top``
    people: int  # people with a measured goal in all

    @property
    def is_empty(self) -> bool:
        return not self.people


# The people of ``g`` (one row each: id, name, measured goals, those met) ranked by
# their share, highest first, then by name and id; only the ``limit`` first and
# the ``limit`` last, with each one's rank and how many people there are.
_EXTREMES_SQL = """
    SELECT employee_id, name, goals, met, rank, people FROM (
        SELECT g.*,
               row_number() OVER (
                   ORDER BY CAST(met AS numeric) / goals DESC, name, employee_id
               ) AS rank,
               count(*) OVER () AS people
        FROM ({grouped}) g
    ) ranked
    WHERE rank <= %s OR rank > people - %s
    ORDER BY rank
"""


def attainment_extremes(
    plans: QuerySet[Plan], *, limit: int = EXTREMES
) -> AttainmentExtremes:
    """The ``limit`` people with the highest and the ``limit`` with the lowest goal
    attainment over the measured goals of ``plans`` (the caller's scope and cycle).
    With ``2 × limit`` people or fewer, everyone is listed once: the first
    ``limit`` at the top, the rest at the bottom. One query."""
    grouped_sql, params = (
        Goal.objects.filter(MEASURED, plan__in=plans.order_by().values("pk"))
        .order_by()
        # Named columns (not a column list after the subquery's alias, which SQLite
        # does not read), so the query runs on both databases.
        .values(employee_id=F("plan__employee_id"), name=F("plan__employee__full_name"))
        .annotate(goals=Count("pk"), met=Count("pk", filter=AT_OR_ABOVE_TARGET))
        .values_list("employee_id", "name", "goals", "met")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _EXTREMES_SQL.format(grouped=grouped_sql), [*params, limit, limit]
        )
        rows = cursor.fetchall()
    top: list[PersonAttainment] = []
    bottom: list[PersonAttainment] = []
    for pk, name, goals, met, rank, _people in rows:
        row = PersonAttainment(employee_id=pk, name=name, goals=goals, met=met)
        (top if rank <= limit else bottom).append(row)
    people = rows[0][5] if rows else 0
    return AttainmentExtremes(top=top, bottom=bottom[::-1], people=people)
