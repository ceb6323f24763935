"""Storing recomputed scores on PostgreSQL in a fixed number of statements: every
rating read once, by the database; every stored row written only when a figure
changed.

After the lock (``appraisals.scores``, which reads the cycles' columns in the same
query and sets ``JIT_OFF``), a recompute of any number of appraisals (``store``) runs:

1. only when a cycle has no scale of its own or a client-satisfaction weight:
   the organisation's default scale, the clients' ratings (``score_inputs``);
2. ``INPUTS_SQL``: the plans of those appraisals, their evaluations, and, read once
   from every rating, per evaluation Σ weight × rating and Σ weight over its rated
   goals and over its rated competencies (``numeric`` is exact: these are the sums
   ``scoring.weighted_mean`` makes) and, for a review that counts, its ratings as
   the snapshot lists them, in JSON. The rules then run in Python per appraisal on
   those sums (``scoring.mean_of_sums``, ``scoring.combine_plans``), never per
   rating;
3. ``WRITE_SQL``: one statement updating the evaluations' three figures and the
   appraisals' four figures and snapshot: ``scoring.snapshot``'s, with the rating
   lists of step 2 put in as the JSON text the database wrote (``LIST_MARKER``).

A whole cycle (from ``PARTS_FROM`` appraisals on) goes in ``PARTS`` parts, steps 2
and 3 once per part, their statements run by a thread of their own while Python
computes the next part: the database and Python work at the same time instead of in
turn, all in the caller's transaction (see ``PARTS``).

Rows go to the database as one JSON document per table (``jsonb_to_recordset``),
bound by the server: megabytes of text that neither the driver quotes nor the
server's parser scans. Ids go as the text of an array, whose values the planner sees
(Django has the driver prepare no statement, so each is planned with its values):
it plans for one row or ten thousand. Both updates skip the rows whose stored
values equal the new ones (``IS DISTINCT FROM``): a recompute that changes nothing
writes nothing and leaves no dead row behind, and an appraisal's ``computed_at`` is
the time its figures last changed.

Callers hold the appraisals' row locks. Other databases (the embedded SQLite demo)
store through the reference path of ``appraisals.scores``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from itertools import pairwise
from typing import Any, NamedTuple, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import CharField, Func, Value

from appraisals import scoring
from appraisals.score_inputs import (
    APPROVED,
    Context,
    Cycles,
    EvaluationRow,
    Loaded,
    LockedAppraisal,
    PlanRow,
    assemble,
    client_ratings,
    cycles_from,
)
from appraisals.scoring import PlanScore
from organizations.database_thread import DatabaseThread
from organizations.tenancy import current_organization_id

T = TypeVar("T")

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

# Per evaluation of ``evaluations`` (a CTE) and plan, over the evaluation's ratings
# in ``ratings`` of that plan's items in ``items`` (``item`` the rating's column
# naming its item): the sums of rules 1 and 2 (N/A has no value) and the ratings as
# scoring.snapshot lists them, as JSON text: in the items' order (position, then
# id), {"weight":"50.00","rating":"4.0"}, the rating null when N/A or not rated.
# ``numeric::text`` writes a number as Python's ``str(Decimal)`` does (same digits,
# same scale), and never a character that JSON would escape, so the text is put
# together by concatenation: cheaper than building JSON values one by one.
#
# INPUTS_SQL keeps the group of each evaluation's own plan: a rating of an item of
# another plan lands in another group and is ignored. Grouping by plan, rather than
# joining each rating to its evaluation to compare the plans, keeps the ratings away
# from the evaluations until they are summed: with the evaluations' count
# underestimated (a small organisation beside a large one), PostgreSQL compared every
# rating with every evaluation. The ratings are looked up by the evaluations' ids as
# an array, so that the planner fetches those through the index whatever their
# number instead of reading the index from its start for a part of a cycle
# (``PARTS``); their items come from ``_ITEMS``, read once by plan.
_RATED = """
    SELECT r.evaluation_id, item.plan_id,
           SUM(item.weight * r.value) AS total,
           SUM(item.weight) FILTER (WHERE r.value IS NOT NULL) AS weight,
           '[' || string_agg(
               '{{"weight":"' || item.weight::text || '","rating":'
               || CASE WHEN r.not_applicable OR r.value IS NULL THEN 'null'
                       ELSE '"' || r.value::text || '"' END
               || '}}',
               ',' ORDER BY item.position, item.id
           ) || ']' AS items
    FROM {ratings} AS r
    JOIN {items} AS item ON item.id = r.{item}
    WHERE r.evaluation_id = ANY(ARRAY(SELECT id FROM evaluations))
    GROUP BY r.evaluation_id, item.plan_id
"""

# The items (goals or competencies) of the plans of ``evaluations``, in a CTE of
# their own (``MATERIALIZED``: read once). A rating of any other item is ignored
# anyway.
_ITEMS = """
    SELECT id, plan_id, weight, position FROM {table}
    WHERE plan_id = ANY(ARRAY(SELECT plan_id FROM evaluations))
"""

# The evaluations of the appraisals ``ids``; ``listed``: a review whose status is in
# ``listed``, whose ratings the snapshot lists.
_EVALUATIONS = """
    SELECT e.id, e.plan_id, e.kind, e.status,
           e.kind = 'review' AND e.status = ANY(%(listed)s::text[]) AS listed
    FROM appraisals_evaluation AS e
    WHERE e.appraisal_id = ANY(%(ids)s::bigint[])
"""

# Per plan of the employees ``employees`` in the cycles ``cycles`` (the caller keeps
# the (cycle, employee) pairs it wants): the plan, then per evaluation of the
# appraisals ``ids`` on that plan (none: nulls) its kind and status, and ``_RATED``'s
# sums of its goals and of its competencies on its own plan, and their lists for the
# reviews with a status in ``listed``.
#
# The plans find their evaluations in the table, not in the CTE: PostgreSQL
# underestimates row counts whenever the organisation is a small part of the tables
# (it takes row-level security's condition and the ids for independent), and it
# rescanned the CTE, believed to hold a handful of rows, once per plan; the table it
# reads through an index whatever it believes. The sums come from aggregates, which
# it hashes.
INPUTS_SQL = f"""
WITH evaluations AS ({_EVALUATIONS}),
goal_items AS MATERIALIZED ({_ITEMS.format(table="engagements_goal")}),
competency_items AS MATERIALIZED ({_ITEMS.format(table="engagements_plancompetency")}),
goals AS ({
    _RATED.format(ratings="appraisals_goalrating", items="goal_items", item="goal_id")
}),
competencies AS ({
    _RATED.format(
        ratings="appraisals_competencyrating",
        items="competency_items",
        item="plan_competency_id",
    )
})
SELECT p.id, p.cycle_id, p.employee_id, p.kind, p.engagement_id, engagement.name,
       p.start_date, p.end_date, p.allocation, p.goal_weight, p.custom_weight,
       e.id, e.kind, e.status,
       goals.total, goals.weight, competencies.total, competencies.weight,
       CASE WHEN e.listed THEN goals.items END,
       CASE WHEN e.listed THEN competencies.items END
FROM engagements_plan AS p
LEFT JOIN engagements_engagement AS engagement ON engagement.id = p.engagement_id
LEFT JOIN ({_EVALUATIONS}) AS e ON e.plan_id = p.id
LEFT JOIN goals ON goals.evaluation_id = e.id AND goals.plan_id = e.plan_id
LEFT JOIN competencies
    ON competencies.evaluation_id = e.id AND competencies.plan_id = e.plan_id
WHERE p.cycle_id = ANY(%(cycles)s::bigint[])
  AND p.employee_id = ANY(%(employees)s::bigint[])
"""  # noqa: S608 - constants only

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


class Summed(NamedTuple):
    """What one read gives: the inputs and scores, and the counted plans' lists."""

    loaded: Loaded
    lists: Lists


# From PARTS_FROM appraisals on (a whole cycle), storing goes in PARTS consecutive
# parts, and a thread of its own (organizations.database_thread) runs the statements
# while Python computes: it reads every part's inputs, one part after the other,
# and writes each part as soon as Python has computed it. The database and Python
# then work at the same time instead of in turn (alone, Python took 1.7 s and the
# database 2.9 s of a 10,000-employee cycle's 5.0 s; in parts the cycle takes about
# the database's time), every part in statements of its own but all in the caller's
# transaction, so a failure anywhere leaves nothing stored. A fixed number of parts
# keeps the number of queries fixed; below 12 the database waited for the first
# part's Python more than it gained (docs/benchmarks.md).
PARTS = 12
PARTS_FROM = 800


def store(appraisals: Sequence[LockedAppraisal], now: datetime) -> None:
    """Recompute and store the scores of ``appraisals`` (locked by the caller) and
    of their evaluations, counting approved evaluations, with ``computed_at`` =
    ``now`` on the appraisals written.

    Queries: 2 (the inputs, the write) below ``PARTS_FROM`` appraisals, from there
    ``2 × PARTS``; one more for an organisation's default scale and one more for
    client ratings when needed. Fixed either way, whatever the number of appraisals.
    """
    if not appraisals:
        return
    cycles = cycles_from(
        {a.cycle_id: (a.cycle_id, *a.cycle) for a in appraisals}.values()
    )
    csat = client_ratings(appraisals, cycles)
    # This thread's connection itself: the ``connection`` proxy would give the
    # database thread a connection of its own, outside this transaction.
    database = connections[DEFAULT_DB_ALIAS]
    if len(appraisals) < PARTS_FROM:
        rows = _read(database, appraisals)
        _write(database, _to_store(_summed(appraisals, cycles, csat, rows), now))
        return
    parts = _split(appraisals, PARTS)
    with DatabaseThread(database) as thread:
        reads = [thread.submit(partial(_read, database, part)) for part in parts]
        for part, read in zip(parts, reads, strict=True):
            values = _to_store(_summed(part, cycles, csat, read.result()), now)
            thread.submit(partial(_write, database, values))


def _split(items: Sequence[T], count: int) -> list[Sequence[T]]:
    """``items`` in ``count`` consecutive parts of (nearly) equal size."""
    size, extra = divmod(len(items), count)
    bounds = [index * size + min(index, extra) for index in range(count + 1)]
    return [items[start:end] for start, end in pairwise(bounds)]


def _read(
    database: BaseDatabaseWrapper, appraisals: Sequence[LockedAppraisal]
) -> list[tuple[Any, ...]]:
    """``INPUTS_SQL``'s rows for ``appraisals``. One query."""
    with database.cursor() as cursor:
        cursor.execute(
            INPUTS_SQL,
            {
                "ids": _array(a.pk for a in appraisals),
                "cycles": _array({a.cycle_id for a in appraisals}),
                "employees": _array({a.employee_id for a in appraisals}),
                "listed": list(map(str, APPROVED)),
            },
        )
        return cursor.fetchall()


def _summed(
    appraisals: Sequence[LockedAppraisal],
    cycles: Cycles,
    csat: dict[tuple[int, int, int], Decimal],
    rows: Iterable[tuple[Any, ...]],
) -> Summed:
    """Inputs and scores of ``appraisals`` from ``INPUTS_SQL``'s ``rows`` (the
    database's sums), and the rating lists of their counted plans (the inputs list
    none). No query."""
    wanted = {(a.cycle_id, a.employee_id) for a in appraisals}
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
    context = Context(cycles, plans, csat)
    loaded = assemble(appraisals, context, evaluations, scores, provisional=False)
    return Summed(loaded, lists)


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


def _to_store(summed: Summed, now: datetime) -> dict[str, Any]:
    """``WRITE_SQL``'s parameters: each evaluation's three rounded figures, each
    appraisal's four rounded figures and snapshot, ``now`` for ``computed_at``. No
    query."""
    loaded, lists = summed
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

    return {
        "evaluations": _json(evaluations),
        "evaluation_ids": _array(loaded.evaluations),
        "appraisals": LIST_MARKER.sub(listed, _json(appraisals)),
        "appraisal_ids": _array(loaded.results),
        "organization": current_organization_id(),
        "now": now,
    }


def _write(database: BaseDatabaseWrapper, values: dict[str, Any]) -> None:
    """Run ``WRITE_SQL`` with ``values``, bound by the server. One query."""
    with _binding_cursor(database) as cursor:
        cursor.execute(WRITE_SQL, values)


def _binding_cursor(database: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor of ``database`` whose parameters travel apart from the statement
    (server-side binding; Django's cursors put them into the statement's text). The
    rows to store, megabytes of JSON for a whole cycle, then reach the server as
    they are, instead of quoted into the statement for its parser to scan again.
    Wrapped, and logged, as Django's own cursors are."""
    database.ensure_connection()
    cursor = psycopg.Cursor(database.connection)
    if database.queries_logged:
        return CursorDebugWrapper(cursor, database)
    return CursorWrapper(cursor, database)


def _array(ids: Iterable[int]) -> str:
    """Ids as the text of a PostgreSQL array, ``{1,2,3}``, cast to ``bigint[]`` in
    the statement."""
    return "{" + ",".join(str(pk) for pk in ids) + "}"


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
