"""The evaluation queue: what a member must write, what they may approve now and, for
HR, the reviews nobody can write yet. Counted over indexed columns and listed a page
at a time, never by loading or judging the organisation's evaluations.

Who may approve is decided in SQL here and in Python by ``permissions.Authority`` for
one evaluation (its page and the approval service). ``approvable_ids`` is the same
rule written over columns; ``tests/appraisals/test_queue_rule.py`` holds the two
together on every combination of approvers, line managers, dual approval and earlier
approvals. Change both or neither.

The rule, for the member's directory entry ``me`` and a submitted review in an open
appraisal of employee E with reviewer R, line manager M and M's line manager M2:

* ``me`` is neither E nor R.
* The approvers are the plan's approver when active and neither E nor R; else, on an
  engagement plan, the engagement's active approvers other than E and R; else, on a
  general plan, M2 when active and neither E nor R. Nobody: HR admins approve.
* Under dual approval M fills the line-manager capacity when active and neither E nor
  R. When M is the only approver, M's one approval fills both capacities.
* ``me`` may approve when a capacity they fill is not approved yet in the current
  submission, and never in both capacities (unless M is the only approver).

"Nobody: HR admins approve" is kept by the database rather than decided per request:
``models.ApprovalFallback`` holds the submitted reviews in open appraisals that nobody
qualifies to approve and whose approver capacity is still open, maintained by the
triggers of migration ``0004_queue`` (whose function is that part of the rule in SQL).
So an HR admin's "To approve" is those rows, minus the ones about them, written by them
or approved by them as line manager, plus the reviews naming them judged by the rule:
index reads, whatever the number of submitted reviews.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import overload

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from appraisals import permissions
from appraisals.enums import AppraisalStatus, EvaluationKind
from appraisals.models import Evaluation
from appraisals.tallies import refresh_without_triggers
from organizations.models import Membership
from organizations.tenancy import is_postgresql

# How many of the approvable reviews' ids the queue's count brings along: a page of
# the queue (and the home page's few).
FIRST = 25
# A directory entry id no row has: stands for "nobody" where SQL would compare NULL.
NOBODY = 0
NOTHING = Q(pk__in=[])
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class Tab(StrEnum):
    """The queue page's tabs (``unassigned`` is HR's)."""

    WRITE = "write"
    APPROVE = "approve"
    UNASSIGNED = "unassigned"


ORDERING: dict[Tab, tuple[str, ...]] = {
    Tab.WRITE: ("due_date", "employee__full_name", "pk"),
    Tab.APPROVE: ("submitted_at", "pk"),  # as ``approvable_ids`` returns them
    Tab.UNASSIGNED: ("employee__full_name", "pk"),
}


class ApprovableRows(Sequence[Evaluation]):
    """The reviews a member may approve now, oldest submission first, fetched a slice
    at a time (what a paginator asks of a list): one query per slice, none for the
    length (the queue counted them). A slice within the first ``FIRST`` reviews
    loads them by the ids the queue's count brought along; a later one runs the rule
    for that slice (``LIMIT`` and ``OFFSET``)."""

    def __init__(
        self,
        organization_id: int,
        user_id: int,
        *,
        is_hr: bool,
        total: int,
        first: list[int],
    ) -> None:
        self.organization_id = organization_id
        self.user_id = user_id
        self.is_hr = is_hr
        self.total = total
        self.first = first

    def __len__(self) -> int:
        return self.total

    @overload
    def __getitem__(self, index: int) -> Evaluation: ...

    @overload
    def __getitem__(self, index: slice) -> list[Evaluation]: ...

    def __getitem__(self, index: int | slice) -> Evaluation | list[Evaluation]:
        if isinstance(index, int):
            return self[index : index + 1 or None][0]
        start, stop, step = index.indices(self.total)
        if step != 1:
            raise ValueError("ApprovableRows slices take no step.")
        if stop <= start:
            return []
        if stop <= len(self.first):
            wanted = self.first[start:stop]
            found = {e.pk: e for e in queue_rows(Q(pk__in=wanted)).order_by()}
            return [found[pk] for pk in wanted if pk in found]
        sql, params = _approvable_page(
            self.organization_id,
            self.user_id,
            is_hr=self.is_hr,
            offset=start,
            limit=stop - start,
        )
        # This module's statement; the member's values are parameters.
        rows = queue_rows(Q(pk__in=RawSQL(sql, params)))  # noqa: S611
        return list(rows.order_by(*ORDERING[Tab.APPROVE]))


@dataclass(frozen=True)
class Queue:
    """How many evaluations each tab holds, and where its rows come from."""

    to_write: int
    to_approve: int
    unassigned: int  # 0 for anyone but HR admins
    filters: dict[Tab, Q]  # the write and unassigned tabs
    approvable: ApprovableRows  # the approve tab, oldest submission first

    def count(self, tab: Tab) -> int:
        return {
            Tab.WRITE: self.to_write,
            Tab.APPROVE: self.to_approve,
            Tab.UNASSIGNED: self.unassigned,
        }[tab]

    def rows(self, tab: Tab) -> QuerySet[Evaluation] | ApprovableRows:
        """The tab's evaluations in the order shown, with only what a row shows.
        Slicing runs one query."""
        if tab == Tab.APPROVE:
            return self.approvable
        return queue_rows(self.filters[tab]).order_by(*ORDERING[tab])


def queue_rows(condition: Q) -> QuerySet[Evaluation]:
    """Evaluations in open appraisals matching ``condition``, loading only the
    columns a queue row shows (employee, plan label, cycle, kind, status, due date).
    Builds a queryset only."""
    return (
        Evaluation.objects.filter(appraisal__status=AppraisalStatus.OPEN)
        .filter(condition)
        .select_related("employee", "plan__engagement", "plan__cycle")
        .only(
            "kind",
            "status",
            "due_date",
            "submitted_at",
            "employee__full_name",
            "plan__kind",
            "plan__engagement__name",
            "plan__cycle__name",
        )
    )


def evaluation_queue(membership: Membership) -> Queue:
    """The member's queue: the count of each tab and where its rows come from.

    One query whatever the number of evaluations, counting each tab from indexes:
    the reviews the member may approve (see the module docstring; the ids of the
    first ``FIRST`` come along, so the first page of that tab needs no second run of
    the rule), their reviews and self-assessments to write (``evaluation_to_write``)
    and, for HR admins, the reviews without a reviewer
    (``evaluation_without_reviewer``); each counted evaluation costs a lookup of its
    appraisal at most.
    """
    refresh_without_triggers()  # SQLite: no triggers keep ApprovalFallback
    is_hr = membership.is_hr_admin
    organization_id, user_id = membership.organization_id, membership.user_id
    sql, names = _statement(COUNTS if is_postgresql() else PORTABLE_COUNTS, is_hr=is_hr)
    values = {"organization": organization_id, "user": user_id, "first": FIRST}
    with connection.cursor() as cursor:
        cursor.execute(sql, [values[name] for name in names])
        to_approve, first, to_write, unassigned = cursor.fetchone()
    return Queue(
        to_write=to_write,
        to_approve=to_approve,
        unassigned=unassigned,
        filters={
            Tab.WRITE: to_write_filter(membership),
            Tab.UNASSIGNED: without_reviewer() if is_hr else NOTHING,
        },
        approvable=ApprovableRows(
            organization_id, user_id, is_hr=is_hr, total=to_approve, first=first or []
        ),
    )


def to_write_filter(membership: Membership) -> Q:
    """Reviews and self-assessments the member writes that are still to write (draft
    or returned). ``TO_WRITE`` counts the same."""
    return Q(reviewer__user_id=membership.user_id, status__in=permissions.WRITABLE)


def without_reviewer() -> Q:
    """Reviews nobody can write yet (HR assigns a reviewer). ``UNASSIGNED`` counts
    the same."""
    return Q(kind=EvaluationKind.REVIEW, reviewer__isnull=True)


# --- Who may approve now, in SQL -------------------------------------------------------
#
# Statements with the rule's parts named, so they read like the module docstring, and
# built once per process (Django compiling the same rule as an expression tree took
# longer than running it). ``ev`` is a submitted review, ``p`` its plan and
# ``%(me)s`` the member's directory entry. Each part is an EXISTS over index lookups,
# evaluated only when the parts before it leave the answer open.

# The caller's directory entry (NULL without one: then every comparison with it is
# unknown and nothing qualifies) and the organisation's dual-approval setting, read by
# the statement itself rather than by queries of their own.
CALLER = (
    "caller AS (SELECT"
    " (SELECT e.id FROM organizations_employee e"
    " WHERE e.organization_id = %(organization)s AND e.user_id = %(user)s) AS id,"
    " COALESCE((SELECT s.dual_approval FROM appraisals_appraisalsettings s"
    " WHERE s.organization_id = %(organization)s), FALSE) AS dual)"
)
ME = "(SELECT caller.id FROM caller)"

_NOT_EV_PEOPLE = (
    "{x} <> ev.employee_id AND {x} <> COALESCE(ev.reviewer_id, " + str(NOBODY) + ")"
)
_PERSON = "SELECT 1 FROM organizations_employee {p} WHERE {p}.id = {column}"
_MANAGER = (
    "SELECT 1 FROM organizations_employee emp"
    " JOIN organizations_employee lm ON lm.id = emp.line_manager_id"
)
_ABOVE = _MANAGER + " JOIN organizations_employee lm2 ON lm2.id = lm.line_manager_id"


def _qualifies(source: str, person: str, extra: str = "") -> str:
    """Someone found by ``source`` is active and neither employee nor reviewer."""
    people = _NOT_EV_PEOPLE.format(x=f"{person}.id")
    return f"EXISTS ({source} AND {person}.is_active AND {people}{extra})"


OWN_OK = _qualifies(_PERSON.format(p="own", column="p.approver_id"), "own")
BY_ENGAGEMENT = f"(NOT {OWN_OK} AND p.kind = 'engagement')"
_ABOVE_OF_EV = _ABOVE + " WHERE emp.id = ev.employee_id"
ME_BY_LINE = (
    f"(NOT {OWN_OK} AND p.kind = 'general'"
    f" AND {_qualifies(_ABOVE_OF_EV, 'lm2', ' AND lm2.id = %(me)s')})"
)
ME_MANAGER = _qualifies(
    _MANAGER + " WHERE emp.id = ev.employee_id", "lm", " AND lm.id = %(me)s"
)


def _engagement_approvers(extra: str = "") -> str:
    """The engagement's active approvers other than the employee and reviewer."""
    people = _NOT_EV_PEOPLE.format(x="ra.employee_id")
    # Built from this module's constants only; the member's values are parameters.
    return (
        "EXISTS (SELECT 1 FROM engagements_roleassignment ra"  # noqa: S608
        " JOIN organizations_employee x ON x.id = ra.employee_id"
        " WHERE ra.engagement_id = p.engagement_id AND ra.role = 'approver'"
        f" AND x.is_active AND {people}{extra})"
    )


def _approved(capacity: str, extra: str = "") -> str:
    """Approved in ``capacity`` in the current submission."""
    # Built from this module's constants only; the member's values are parameters.
    return (
        "EXISTS (SELECT 1 FROM appraisals_evaluationapproval a"  # noqa: S608
        " WHERE a.evaluation_id = ev.id AND a.submission = ev.submission"
        f" AND a.decision = 'approved' AND a.capacity = '{capacity}'{extra})"
    )


ME_NAMED = (
    f"((p.approver_id = %(me)s AND {OWN_OK})"
    f" OR ({BY_ENGAGEMENT} AND {_engagement_approvers(' AND ra.employee_id = %(me)s')})"
    f" OR {ME_BY_LINE})"
)
# Nobody qualifies as approver and the approver capacity is open: the triggers'
# table (see the module docstring).
HR_FALLBACK = (
    "EXISTS (SELECT 1 FROM appraisals_approvalfallback f WHERE f.evaluation_id = ev.id)"
)
APPROVER_DONE = _approved(permissions.APPROVER)
MANAGER_DONE = _approved(permissions.LINE_MANAGER)
MANAGER_DONE_BY_ME = _approved(permissions.LINE_MANAGER, " AND a.approver_id = %(me)s")
# The line manager (``me``: only ever read together with ME_MANAGER) is the
# approvers' one and only member: one approval fills both capacities.
MANAGER_ALONE = (
    f"((p.approver_id = %(me)s AND {OWN_OK})"
    f" OR ({BY_ENGAGEMENT} AND {_engagement_approvers(' AND ra.employee_id = %(me)s')}"
    f" AND NOT {_engagement_approvers(' AND ra.employee_id <> %(me)s')})"
    f" OR {ME_BY_LINE})"
)
# The submitted reviews whose authority may name ``me`` at all: about someone ``me``
# manages (directly or one level down), of a plan ``me`` approves, or on an
# engagement ``me`` approves. Each part starts from an index lookup on ``me``, so the
# database sees a handful of rows, not the organisation's, before the rule's parts.
# A common table expression of the statements below (after ``caller``).
NAMED_IDS = f"""named AS (
SELECT e1.id FROM organizations_employee r1
JOIN appraisals_evaluation e1 ON e1.employee_id = r1.id
WHERE r1.line_manager_id = {ME} AND e1.kind = 'review' AND e1.status = 'submitted'
UNION
SELECT e2.id FROM organizations_employee m2
JOIN organizations_employee r2 ON r2.line_manager_id = m2.id
JOIN appraisals_evaluation e2 ON e2.employee_id = r2.id
WHERE m2.line_manager_id = {ME} AND e2.kind = 'review' AND e2.status = 'submitted'
UNION
SELECT e3.id FROM engagements_plan p3
JOIN appraisals_evaluation e3 ON e3.plan_id = p3.id
WHERE p3.approver_id = {ME} AND e3.kind = 'review' AND e3.status = 'submitted'
UNION
SELECT e4.id FROM engagements_roleassignment ra4
JOIN engagements_plan p4 ON p4.engagement_id = ra4.engagement_id
JOIN appraisals_evaluation e4 ON e4.plan_id = p4.id
WHERE ra4.employee_id = {ME} AND ra4.role = 'approver'
AND e4.kind = 'review' AND e4.status = 'submitted'
)"""  # noqa: S608 - this module's constants; the caller's values are parameters
# The reviews naming ``me``, each judged by the rule. The rule runs as a subquery
# per candidate, so its plan is found by its primary key rather than by hashing the
# organisation's plans (a scalar subquery, which the planner never turns into a
# join). The appraisal is looked up last, for the reviews the rule keeps.
NAMED_APPROVABLE = """
SELECT ev.id, ev.submitted_at
FROM named
JOIN appraisals_evaluation ev ON ev.id = named.id
CROSS JOIN caller
WHERE ev.organization_id = %(organization)s
AND ev.kind = 'review' AND ev.status = 'submitted'
AND ev.employee_id <> %(me)s AND COALESCE(ev.reviewer_id, {nobody}) <> %(me)s
AND (
SELECT CASE WHEN {decision} THEN EXISTS (
SELECT 1 FROM appraisals_appraisal ap
WHERE ap.id = ev.appraisal_id AND ap.status = 'open'
) ELSE FALSE END
FROM engagements_plan p
WHERE p.id = ev.plan_id
)
"""
# HR's share of the reviews nobody else may approve, without judging them one by
# one: the fallback rows (an index range of the organisation) except those naming
# ``me`` (the part above judges them), about ``me``, written by ``me`` or approved by
# ``me`` as line manager in their current submission (each found from ``me``).
HR_APPROVABLE = f"""
SELECT f.evaluation_id AS id, f.submitted_at
FROM appraisals_approvalfallback f
WHERE f.organization_id = %(organization)s AND {ME} IS NOT NULL
AND f.evaluation_id NOT IN (
SELECT named.id FROM named
UNION ALL
SELECT x.id FROM appraisals_evaluation x WHERE x.employee_id = {ME}
AND x.kind = 'review' AND x.status = 'submitted'
UNION ALL
SELECT x.id FROM appraisals_evaluation x WHERE x.reviewer_id = {ME}
AND x.kind = 'review' AND x.status = 'submitted'
UNION ALL
SELECT a.evaluation_id FROM appraisals_evaluationapproval a
JOIN appraisals_evaluation x ON x.id = a.evaluation_id AND x.submission = a.submission
WHERE a.approver_id = {ME} AND a.capacity = '{permissions.LINE_MANAGER}'
AND a.decision = 'approved'
)
"""  # noqa: S608 - this module's constants; the caller's values are parameters
PAGE = """
WITH {caller}, {named}
SELECT approvable.id FROM ({approvable}) approvable
ORDER BY approvable.submitted_at, approvable.id
LIMIT %(limit)s OFFSET %(offset)s
"""
_WRITABLE = ", ".join(f"'{status}'" for status in permissions.WRITABLE)
TO_WRITE = f"""(
SELECT count(*) FROM appraisals_evaluation e
JOIN appraisals_appraisal ap ON ap.id = e.appraisal_id
WHERE e.organization_id = %(organization)s AND e.reviewer_id = {ME}
AND e.status IN ({_WRITABLE}) AND ap.status = 'open'
)"""  # noqa: S608 - this module's constants; the caller's values are parameters
UNASSIGNED = """(
SELECT count(*) FROM appraisals_evaluation e
JOIN appraisals_appraisal ap ON ap.id = e.appraisal_id
WHERE e.organization_id = %(organization)s
AND e.kind = 'review' AND e.reviewer_id IS NULL AND ap.status = 'open'
)"""
# The rule is planned once per statement (planning it costs more than running it):
# the approvable reviews are materialised once, then counted and their first ids
# listed.
COUNTS = """
WITH {caller}, {named}, approvable AS MATERIALIZED ({approvable})
SELECT (SELECT count(*) FROM approvable),
ARRAY(
SELECT approvable.id FROM approvable
ORDER BY approvable.submitted_at, approvable.id LIMIT %(first)s
),
{to_write}, {unassigned}
"""
# The same for the embedded SQLite of ``make run``, which has neither ``ARRAY`` nor
# materialised CTEs: the first page's ids are then fetched when the page is shown.
PORTABLE_COUNTS = """
WITH {caller}, {named}, approvable AS ({approvable})
SELECT (SELECT count(*) FROM approvable), NULL, {to_write}, {unassigned}
"""


@cache
def _statement(template: str, *, is_hr: bool) -> tuple[str, tuple[str, ...]]:
    """``PAGE`` or ``COUNTS`` for HR admins or other members, built once per process,
    with positional placeholders (portable between the database drivers) and the
    names of the values they stand for, in order."""
    # An HR admin also approves what nobody else may: the fallback rows, whether
    # among the reviews naming them or not.
    fallback = f" OR {HR_FALLBACK}" if is_hr else ""
    as_approver = (
        f"(({ME_NAMED}{fallback}) AND NOT {APPROVER_DONE} AND NOT {MANAGER_DONE_BY_ME})"
    )
    me_manager = f"caller.dual AND {ME_MANAGER}"
    decision = (
        f"(CASE WHEN {me_manager} AND {MANAGER_ALONE}"
        f" THEN NOT ({APPROVER_DONE} AND {MANAGER_DONE})"
        f" WHEN {me_manager} THEN NOT {MANAGER_DONE}"
        f" ELSE {as_approver} END)"
    )
    approvable = NAMED_APPROVABLE.format(decision=decision, nobody=NOBODY)
    if is_hr:
        approvable = f"{HR_APPROVABLE} UNION ALL {approvable}"
    statement = template.format(
        caller=CALLER,
        named=NAMED_IDS,
        approvable=approvable,
        to_write=TO_WRITE,
        unassigned=UNASSIGNED if is_hr else "0",
    ).replace("%(me)s", "caller.id")
    names = tuple(PLACEHOLDER.findall(statement))
    return PLACEHOLDER.sub("%s", statement), names


def _approvable_page(
    organization_id: int,
    user_id: int,
    *,
    is_hr: bool,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[str, list[int | None]]:
    sql, names = _statement(PAGE, is_hr=is_hr)
    values = {
        "user": user_id,
        "organization": organization_id,
        "offset": offset,
        "limit": limit,
    }
    return sql, [values[name] for name in names]


def approvable_ids(
    organization_id: int,
    user_id: int,
    *,
    is_hr: bool,
    offset: int = 0,
    limit: int | None = None,
) -> list[int]:
    """The submitted reviews in open appraisals that the user's directory entry may
    approve now, oldest submission first (``limit`` of them from ``offset``; all by
    default): the module's rule, which is ``permissions.Authority.capacities_for``
    (none without a directory entry).

    One query, reading the entry and the dual-approval setting itself, costing a few
    index lookups per review naming the member (a handful) and, for HR admins, an
    index range over the reviews nobody else may approve (``ApprovalFallback``),
    read up to ``offset + limit`` of them.
    """
    sql, params = _approvable_page(
        organization_id, user_id, is_hr=is_hr, offset=offset, limit=limit
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]
