"""Storing recomputed scores on PostgreSQL in a fixed number of statements: every
rating read once, by the database; every stored row written only when a figure
changed.

After the lock (``appraisals.scores``, which reads the cycles' columns in the same
query and sets ``JIT_OFF``), a recompute of any number of appraisals (``store``) runs:

1. ``INPUTS_SQL``: the plans of those appraisals, their evaluations, and, read once
   from every rating, per evaluation Σ weight × rating and Σ weight over its rated
   goals and over its rated competencies (``numeric`` is exact: these are the sums
   ``scoring.weighted_mean`` makes) and, for a review that counts, its ratings as
   the snapshot lists them, in JSON. The rules then run in Python per appraisal on
   those sums (``scoring.mean_of_sums``, ``scoring.combine_plans``), never per
   rating;
2. only when a cycle has no scale of its own or a client-satisfaction weight:
   the organisation's default scale, the clients' ratings (``score_inputs``);
3. ``WRITE_SQL``: one statement updating the evaluations' three figures and the
   appraisals' four figures and snapshot: ``scoring.snapshot``'s, with the rating
   lists of step 1 put in as the JSON text the database wrote (``LIST_MARKER``).

Rows go to the database as one JSON document per table (``jsonb_to_recordset``),
which the driver escapes in C; a list parameter it would quote value by value in
Python. Ids go as the text of an array: a constant the planner sees, so it plans for
one row or ten thousand. Both updates skip the rows whose stored values equal the new
ones (``IS DISTINCT FROM``): a recompute that changes nothing writes nothing and
leaves no dead row behind, and an appraisal's ``computed_at`` is the time its
figures last changed.

Callers hold the appraisals' row locks. Other databases (the embedded SQLite demo)
store through the reference path of ``appraisals.scores``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import CharField, Func, Value

from appraisals import scoring
from appraisals.score_inputs import (
    APPROVED,
    EvaluationRow,
    Loaded,
    LockedAppraisal,
    PlanRow,
    assemble,
    cycles_from,
    with_client_ratings,
)
from appraisals.scoring import PlanScore
from organizations.tenancy import current_organization_id

# Just-in-time compilation is for long analytic queries. The planner guesses the
# rows of a JSON document (100, be there 1 or 10,000), and compiling took seconds for
# statements that then ran in less; a recompute's transaction goes without, set by
# an annotation of the lock query rather than by a round trip of its own.
JIT_OFF = Func(
    Value("jit"),
    Value("off"),
    Value(True),
    function="set_config",
    output_field=CharField(),
)

# Per plan of the employees ``employees`` in the cycles ``cycles`` (the caller keeps
# the (cycle, employee) pairs it wants): the plan, then per evaluation of the
# appraisals ``ids`` on that plan (none: nulls) its kind and status, the sums of
# rules 1 and 2 over its rated items on its own plan (a rating of an item of another
# plan is ignored; N/A has no value) and, for a review with a status in ``listed``,
# its ratings of its plan's items as scoring.snapshot lists them: in the items' order
# (position, then id), {"weight": "50.00", "rating": "4.0"}, the rating null when
# N/A or not rated. ``numeric::text`` writes a number as Python's ``str(Decimal)``
# does (same digits, same scale).
#
# "On its own plan" filters the aggregates, not the join: as a join condition the
# planner would take it for selective, expect a handful of rows where there are
# hundreds of thousands, and choose nested loops that take minutes.
INPUTS_SQL = """
WITH evaluations AS (
    SELECT e.id, e.plan_id, e.kind, e.status,
           e.kind = 'review' AND e.status = ANY(%(listed)s::text[]) AS listed
    FROM appraisals_evaluation AS e
    WHERE e.appraisal_id = ANY(%(ids)s::bigint[])
),
goals AS (
    SELECT e.id AS evaluation_id,
           SUM(item.weight * r.value) FILTER (WHERE item.plan_id = e.plan_id) AS total,
           SUM(item.weight) FILTER (
               WHERE item.plan_id = e.plan_id AND r.value IS NOT NULL
           ) AS weight,
           json_agg(json_build_object(
               'weight', item.weight::text,
               'rating', CASE WHEN r.not_applicable THEN NULL ELSE r.value::text END
           ) ORDER BY item.position, item.id)
               FILTER (WHERE item.plan_id = e.plan_id AND e.listed)::text AS items
    FROM evaluations AS e
    JOIN appraisals_goalrating AS r ON r.evaluation_id = e.id
    JOIN engagements_goal AS item ON item.id = r.goal_id
    GROUP BY e.id
),
competencies AS (
    SELECT e.id AS evaluation_id,
           SUM(item.weight * r.value) FILTER (WHERE item.plan_id = e.plan_id) AS total,
           SUM(item.weight) FILTER (
               WHERE item.plan_id = e.plan_id AND r.value IS NOT NULL
           ) AS weight,
           json_agg(json_build_object(
               'weight', item.weight::text,
               'rating', CASE WHEN r.not_applicable THEN NULL ELSE r.value::text END
           ) ORDER BY item.position, item.id)
               FILTER (WHERE item.plan_id = e.plan_id AND e.listed)::text AS items
    FROM evaluations AS e
    JOIN appraisals_competencyrating AS r ON r.evaluation_id = e.id
    JOIN engagements_plancompetency AS item ON item.id = r.plan_competency_id
    GROUP BY e.id
)
SELECT p.id, p.cycle_id, p.employee_id, p.kind, p.engagement_id, engagement.name,
       p.start_date, p.end_date, p.allocation, p.goal_weight, p.custom_weight,
       e.id, e.kind, e.status,
       goals.total, goals.weight, competencies.total, competencies.weight,
       goals.items, competencies.items
FROM engagements_plan AS p
LEFT JOIN engagements_engagement AS engagement ON engagement.id = p.engagement_id
LEFT JOIN evaluations AS e ON e.plan_id = p.id
LEFT JOIN goals ON goals.evaluation_id = e.id
LEFT JOIN competencies ON competencies.evaluation_id = e.id
WHERE p.cycle_id = ANY(%(cycles)s::bigint[])
  AND p.employee_id = ANY(%(employees)s::bigint[])
"""

WRITE_SQL = """
WITH evaluations AS (
    UPDATE appraisals_evaluation AS e
    SET goal_score = new.goal_score,
        competency_score = new.competency_score,
        score = new.score
    FROM jsonb_to_recordset(%(evaluations)s::jsonb) AS new(
        id bigint, goal_score numeric, competency_score numeric, score numeric
    )
    WHERE e.id = new.id AND e.id = ANY(%(evaluation_ids)s::bigint[])
      AND e.organization_id = %(organization)s
      AND (e.goal_score, e.competency_score, e.score)
          IS DISTINCT FROM (new.goal_score, new.competency_score, new.score)
)
UPDATE appraisals_appraisal AS a
SET general_score = new.general_score,
    engagement_score = new.engagement_score,
    final_score = new.final_score,
    percent = new.percent,
    snapshot = new.snapshot,
    computed_at = %(now)s
FROM jsonb_to_recordset(%(appraisals)s::jsonb) AS new(
    id bigint, general_score numeric, engagement_score numeric,
    final_score numeric, percent numeric, snapshot jsonb
)
WHERE a.id = new.id AND a.id = ANY(%(appraisal_ids)s::bigint[])
  AND a.organization_id = %(organization)s
  AND (a.general_score, a.engagement_score, a.final_score, a.percent, a.snapshot)
      IS DISTINCT FROM (new.general_score, new.engagement_score, new.final_score,
                        new.percent, new.snapshot)
"""

# A counted plan's rating lists go into its snapshot as the JSON text the database
# wrote, never decoded: the snapshot holds a marker in their place until it is
# serialised, then the marker's JSON is swapped for the text. No snapshot can hold a
# marker of its own: markers start with a NUL character, which PostgreSQL text (the
# labels) cannot contain.
LIST_MARKER = re.compile(r'"\\u0000(goals|competencies):(\d+)"')

# Per plan id of a counted plan: its goals' and its competencies' lists as JSON
# text, None for none.
Lists = dict[int, tuple[str | None, str | None]]


def store(appraisals: Sequence[LockedAppraisal], now: datetime) -> None:
    """Recompute and store the scores of ``appraisals`` (locked by the caller) and
    of their evaluations, counting approved evaluations. Queries: 2, one more for an
    organisation's default scale and one more for client ratings when needed,
    whatever the number of appraisals.
    """
    if not appraisals:
        return
    loaded, lists = load_summed(appraisals)
    write(loaded, lists, now)


def load_summed(appraisals: Sequence[LockedAppraisal]) -> tuple[Loaded, Lists]:
    """Inputs and scores of ``appraisals`` counting approved evaluations, from the
    sums the database adds up, and the rating lists of their counted plans (the
    inputs list none). Queries: 1, one more for an organisation's default scale and
    one more for client ratings when needed.
    """
    cycles = cycles_from(
        {a.cycle_id: (a.cycle_id, *a.cycle) for a in appraisals}.values()
    )
    wanted = {(a.cycle_id, a.employee_id) for a in appraisals}
    with connection.cursor() as cursor:
        cursor.execute(
            INPUTS_SQL,
            {
                "ids": _array(a.pk for a in appraisals),
                "cycles": _array(cycles),
                "employees": _array({a.employee_id for a in appraisals}),
                "listed": list(map(str, APPROVED)),
            },
        )
        rows = cursor.fetchall()
    plans: dict[int, PlanRow] = {}
    evaluations: list[EvaluationRow] = []
    scores: dict[int, PlanScore] = {}
    lists: Lists = {}
    for row in rows:
        plan = plans.get(row[0])
        if plan is None:
            plan = PlanRow(*row[:11])
            if (plan.cycle_id, plan.employee_id) not in wanted:
                continue
            plans[plan.id] = plan
        pk, kind, status, *sums, goals, competencies = row[11:]
        if pk is None:
            continue
        evaluations.append(EvaluationRow(pk, plan.id, kind, status))
        scores[pk] = _plan_score(plan.goal_weight, *sums)
        if goals is not None or competencies is not None:
            lists[plan.id] = (goals, competencies)
    context = with_client_ratings(appraisals, cycles, plans)
    return assemble(appraisals, context, evaluations, scores, provisional=False), lists


def _plan_score(
    goal_weight: Decimal,
    goal_total: Decimal | None,
    goal_weights: Decimal | None,
    competency_total: Decimal | None,
    competency_weights: Decimal | None,
) -> PlanScore:
    return scoring.plan_score(
        scoring.mean_of_sums(goal_total, goal_weights),
        scoring.mean_of_sums(competency_total, competency_weights),
        goal_weight,
    )


def write(loaded: Loaded, lists: Lists, now: datetime) -> None:
    """Store each evaluation's three rounded figures and each appraisal's four
    rounded figures and snapshot where they changed, with ``computed_at`` = ``now``
    on the appraisals written. One query."""
    evaluations = [
        {
            "id": pk,
            "goal_score": _text(scoring.round2(score.goal)),
            "competency_score": _text(scoring.round2(score.competency)),
            "score": _text(scoring.round2(score.score)),
        }
        for pk, score in loaded.evaluations.items()
    ]
    appraisals: list[dict[str, Any]] = []
    for pk, (params, inputs, result) in loaded.results.items():
        row: dict[str, Any] = {
            name: _text(value) for name, value in result.rounded().items()
        }
        row["id"] = pk
        row["snapshot"] = snapshot = scoring.snapshot(params, inputs, result)
        for plan, entry in zip(inputs, snapshot["plans"], strict=True):
            if plan.counted and plan.plan_id in lists:
                entry["goals"] = f"\0goals:{plan.plan_id}"
                entry["competencies"] = f"\0competencies:{plan.plan_id}"
        appraisals.append(row)

    def listed(marker: re.Match[str]) -> str:
        goals, competencies = lists[int(marker[2])]
        return (goals if marker[1] == "goals" else competencies) or "[]"

    with connection.cursor() as cursor:
        cursor.execute(
            WRITE_SQL,
            {
                "evaluations": _json(evaluations),
                "evaluation_ids": _array(loaded.evaluations),
                "appraisals": LIST_MARKER.sub(listed, _json(appraisals)),
                "appraisal_ids": _array(loaded.results),
                "organization": current_organization_id(),
                "now": now,
            },
        )


def _array(ids: Iterable[int]) -> str:
    """Ids as the text of a PostgreSQL array, ``{1,2,3}``, cast to ``bigint[]`` in
    the statement."""
    return "{" + ",".join(str(pk) for pk in ids) + "}"


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
