"""The evaluation queue: what a member must write, what they may approve now and, for
HR, the reviews nobody can write yet. Counted over indexed columns and listed a page
at a time, never by loading the organisation's evaluations.

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
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import overload

from django.db import connection
from django.db.models import Count, Q, QuerySet

from appraisals import permissions
from appraisals.enums import AppraisalStatus, EvaluationKind
from appraisals.models import Evaluation
from organizations.models import Membership

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


class RowsById(Sequence[Evaluation]):
    """Evaluations known by their ids, in that order, fetched a slice at a time (what
    a paginator asks of a list): one query per slice, none for the length."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Evaluation: ...

    @overload
    def __getitem__(self, index: slice) -> list[Evaluation]: ...

    def __getitem__(self, index: int | slice) -> Evaluation | list[Evaluation]:
        if isinstance(index, int):
            return self[index : index + 1 or None][0]
        wanted = self.ids[index]
        rows = queue_rows(Q(pk__in=wanted)).order_by() if wanted else []
        found = {e.pk: e for e in rows}
        return [found[pk] for pk in wanted if pk in found]


@dataclass(frozen=True)
class Queue:
    """How many evaluations each tab holds, and where its rows come from."""

    to_write: int
    to_approve: int
    unassigned: int  # 0 for anyone but HR admins
    filters: dict[Tab, Q]  # the write and unassigned tabs
    approvable: list[int]  # the approve tab's ids, oldest submission first

    def count(self, tab: Tab) -> int:
        return {
            Tab.WRITE: self.to_write,
            Tab.APPROVE: self.to_approve,
            Tab.UNASSIGNED: self.unassigned,
        }[tab]

    def rows(self, tab: Tab) -> QuerySet[Evaluation] | RowsById:
        """The tab's evaluations in the order shown, with only what a row shows.
        Slicing runs one query."""
        if tab == Tab.APPROVE:
            return RowsById(self.approvable)
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

    Two queries whatever the number of evaluations: the reviews the member may
    approve (their ids), and one aggregate counting the other tabs over the
    evaluation's indexed columns.
    """
    is_hr = membership.is_hr_admin
    approvable = approvable_ids(
        membership.organization_id, membership.user_id, is_hr=is_hr
    )
    filters = {
        Tab.WRITE: to_write(membership),
        Tab.UNASSIGNED: without_reviewer() if is_hr else NOTHING,
    }
    counts = (
        Evaluation.objects.filter(appraisal__status=AppraisalStatus.OPEN)
        .filter(filters[Tab.WRITE] | filters[Tab.UNASSIGNED])
        .aggregate(
            to_write=Count("pk", filter=filters[Tab.WRITE]),
            unassigned=Count("pk", filter=filters[Tab.UNASSIGNED]),
        )
    )
    return Queue(
        to_approve=len(approvable),
        filters=filters,
        approvable=approvable,
        **counts,
    )


def to_write(membership: Membership) -> Q:
    """Reviews and self-assessments the member writes that are still to write (draft
    or returned)."""
    return Q(reviewer__user_id=membership.user_id, status__in=permissions.WRITABLE)


def without_reviewer() -> Q:
    """Reviews nobody can write yet (HR assigns a reviewer)."""
    return Q(kind=EvaluationKind.REVIEW, reviewer__isnull=True)


# --- Who may approve now, in SQL -------------------------------------------------------
#
# One statement with the rule's parts named, so it reads like the module docstring
# and is built once per process (Django compiling the same rule as an expression tree
# took longer than running it). ``ev`` is a submitted review, ``p`` its plan and
# ``%(me)s`` the member's directory entry. Each part is an EXISTS over index lookups,
# evaluated only when the parts before it leave the answer open.

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
BY_LINE = f"(NOT {OWN_OK} AND p.kind = 'general' AND {_qualifies(_ABOVE_OF_EV, 'lm2')})"
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


SOMEONE_NAMED = (
    f"({OWN_OK} OR ({BY_ENGAGEMENT} AND {_engagement_approvers()}) OR {BY_LINE})"
)
ME_NAMED = (
    f"((p.approver_id = %(me)s AND {OWN_OK})"
    f" OR ({BY_ENGAGEMENT} AND {_engagement_approvers(' AND ra.employee_id = %(me)s')})"
    f" OR {ME_BY_LINE})"
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
# The caller's directory entry (NULL without one: then every comparison with it is
# unknown and nothing qualifies) and the organisation's dual-approval setting, read by
# the statement itself rather than by queries of their own.
CALLER = (
    "(SELECT e.id FROM organizations_employee e"
    " WHERE e.organization_id = %(organization)s AND e.user_id = %(user)s)"
)
DUAL = (
    "COALESCE((SELECT s.dual_approval FROM appraisals_appraisalsettings s"
    " WHERE s.organization_id = %(organization)s), FALSE)"
)
# The evaluations whose authority may name ``me`` at all: about someone ``me``
# manages (directly or one level down), of a plan ``me`` approves, or on an
# engagement ``me`` approves. Each part starts from an index lookup on ``me``, so the
# database sees a handful of rows, not the organisation's, before the rule's parts.
NAMED_IDS = f"""(
SELECT e1.id FROM organizations_employee r1
JOIN appraisals_evaluation e1 ON e1.employee_id = r1.id
WHERE r1.line_manager_id = {CALLER}
UNION
SELECT e2.id FROM organizations_employee m2
JOIN organizations_employee r2 ON r2.line_manager_id = m2.id
JOIN appraisals_evaluation e2 ON e2.employee_id = r2.id
WHERE m2.line_manager_id = {CALLER}
UNION
SELECT e3.id FROM engagements_plan p3
JOIN appraisals_evaluation e3 ON e3.plan_id = p3.id
WHERE p3.approver_id = {CALLER}
UNION
SELECT e4.id FROM engagements_roleassignment ra4
JOIN engagements_plan p4 ON p4.engagement_id = ra4.engagement_id
JOIN appraisals_evaluation e4 ON e4.plan_id = p4.id
WHERE ra4.employee_id = {CALLER} AND ra4.role = 'approver'
)"""  # noqa: S608 - this module's constants; the caller's values are parameters
NAMED = f"{NAMED_IDS} named JOIN appraisals_evaluation ev ON ev.id = named.id"
# HR admins approve for lack of anyone else: any review may need them.
EVERY_REVIEW = "appraisals_evaluation ev"
# The rule runs as a subquery per candidate, so its plan is found by its primary key
# rather than by hashing the organisation's plans (a scalar subquery, which the
# planner never turns into a join). The appraisal is looked up last, for the reviews
# the rule keeps: in HR's case a handful out of every submitted review.
APPROVABLE = """
SELECT ev.id
FROM {source}
CROSS JOIN (SELECT {caller} AS id, {dual} AS dual) caller
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
ORDER BY ev.submitted_at, ev.id
"""


@cache
def _approvable_sql(*, is_hr: bool) -> tuple[str, tuple[str, ...]]:
    """The statement for HR admins or other members, built once per process, with
    positional placeholders (portable between the database drivers) and the names of
    the values they stand for, in order."""
    # An HR admin reads every submitted review: the parts naming them run only for
    # the reviews that may name them (the others can only be HR's for lack of anyone).
    named = f"(ev.id IN {NAMED_IDS} AND {{}})" if is_hr else "{}"
    fallback = f" OR NOT {SOMEONE_NAMED}" if is_hr else ""
    as_approver = (
        f"(({named.format(ME_NAMED)}{fallback})"
        f" AND NOT {APPROVER_DONE} AND NOT {MANAGER_DONE_BY_ME})"
    )
    me_manager = f"caller.dual AND {named.format(ME_MANAGER)}"
    decision = (
        f"(CASE WHEN {me_manager} AND {MANAGER_ALONE}"
        f" THEN NOT ({APPROVER_DONE} AND {MANAGER_DONE})"
        f" WHEN {me_manager} THEN NOT {MANAGER_DONE}"
        f" ELSE {as_approver} END)"
    )
    statement = APPROVABLE.format(
        source=EVERY_REVIEW if is_hr else NAMED,
        decision=decision,
        nobody=NOBODY,
        caller=CALLER,
        dual=DUAL,
    ).replace("%(me)s", "caller.id")
    names = tuple(PLACEHOLDER.findall(statement))
    return PLACEHOLDER.sub("%s", statement), names


def approvable_ids(organization_id: int, user_id: int, *, is_hr: bool) -> list[int]:
    """The submitted reviews in open appraisals that the user's directory entry may
    approve now, oldest submission first: the module's rule, which is
    ``permissions.Authority.capacities_for`` (none without a directory entry).

    One query, reading the entry and the dual-approval setting itself, and costing a
    few index lookups per candidate: the reviews naming the member (a handful), or
    for HR admins every submitted review of the organisation (HR approves those
    nobody else may).
    """
    sql, names = _approvable_sql(is_hr=is_hr)
    values = {"user": user_id, "organization": organization_id}
    with connection.cursor() as cursor:
        cursor.execute(sql, [values[name] for name in names])
        return [pk for (pk,) in cursor.fetchall()]
