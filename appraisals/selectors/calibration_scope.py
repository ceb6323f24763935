"""Who a calibration session covers and who sees whom in it: the one place for the
session's scope and its separation of duties (the rules, in words, are in
docs/scoring.md, "Calibration sessions").

- A session covers the appraisals of its cycle whose employee is in its scope
  (``scope_q``): everyone (``organization``), the people whose business unit or job
  title is among the session's, or everyone below the session's manager in the line.
- HR admins see every session; a manager sees the sessions they take part in.
- In a session, nobody sees their own appraisal, and a participant who is not an HR
  admin sees nobody above them in their own line (their line manager, theirs, ...).
- Adjusting (``may_adjust``): never one's own score, never the score of anyone above
  oneself in one's own line; HR admins adjust everyone else in scope, a participating
  manager only the people below them in their line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Value

from appraisals.enums import AppraisalStatus, CalibrationScope, SessionStatus
from appraisals.models import (
    Appraisal,
    CalibrationParticipant,
    CalibrationSession,
    CalibrationSessionJobTitle,
    CalibrationSessionUnit,
)
from appraisals.selectors.team import line_below
from engagements.enums import CycleStatus
from organizations.models import Employee
from organizations.permissions import Access


def scope_q(session: CalibrationSession, prefix: str = "employee") -> Q:
    """The people ``session`` covers, as a filter on ``prefix`` (an Employee
    relation; ``"pk"``-relative names for Employee itself with ``prefix=""``).
    Builds a filter only: the scope's links are subqueries, no query of its own."""
    field = f"{prefix}__" if prefix else ""
    if session.scope == CalibrationScope.BUSINESS_UNITS:
        units = CalibrationSessionUnit.objects.filter(session=session).values(
            "business_unit_id"
        )
        return Q(**{f"{field}business_unit_id__in": units})
    if session.scope == CalibrationScope.JOB_TITLES:
        titles = CalibrationSessionJobTitle.objects.filter(session=session).values(
            "job_title_id"
        )
        return Q(**{f"{field}job_title_id__in": titles})
    if session.scope == CalibrationScope.MANAGER_LINE:
        if session.manager_id is None:  # refused by a database constraint
            return Q(pk__in=[])
        return line_below(
            session.manager_id, session.organization_id, f"{field}pk" if field else "pk"
        )
    return Q()


def session_appraisals(session: CalibrationSession) -> QuerySet[Appraisal]:
    """Every appraisal the session covers (its cycle, its scope), whoever looks.
    Builds a queryset only."""
    return Appraisal.objects.filter(scope_q(session), cycle_id=session.cycle_id)


@cache
def _chain_statement(table: str) -> str:
    # UNION (not UNION ALL) stops at people already found, so even a loop in the
    # hierarchy (which the services refuse) ends.
    return (
        "WITH RECURSIVE chain(id) AS ("  # noqa: S608 - a model's table, constants
        f" SELECT e.line_manager_id FROM {table} e"
        " WHERE e.organization_id = %s AND e.id = %s"
        " AND e.line_manager_id IS NOT NULL"
        f" UNION SELECT e.line_manager_id FROM {table} e JOIN chain ON e.id = chain.id"
        " WHERE e.organization_id = %s AND e.line_manager_id IS NOT NULL"
        ") SELECT id FROM chain"
    )


def chain_above(employee: Employee | None) -> frozenset[int]:
    """The ids of ``employee``'s line manager, theirs, and so on up. One query (none
    without an employee)."""
    if employee is None:
        return frozenset()
    org = employee.organization_id
    with connection.cursor() as cursor:
        cursor.execute(
            _chain_statement(Employee._meta.db_table), [org, employee.pk, org]
        )
        return frozenset(row[0] for row in cursor.fetchall())


@dataclass(frozen=True)
class Viewer:
    """A member as a calibration session sees them: their employee record (if any),
    the chain of managers above it, and whether they take part in the session."""

    access: Access
    employee: Employee | None
    above: frozenset[int]
    participant: bool

    @property
    def is_hr(self) -> bool:
        return self.access.is_hr

    @property
    def may_open(self) -> bool:
        """May open the session's page: HR admins and its participants."""
        return self.is_hr or self.participant


def viewer_in(
    access: Access, session: CalibrationSession, employee: Employee | None
) -> Viewer:
    """``access``'s member in ``session``, given their employee record (the caller's
    request has it). Two queries at most (the chain above; participation)."""
    participant = employee is not None and (
        CalibrationParticipant.objects.filter(
            session=session, employee=employee
        ).exists()
    )
    return Viewer(access, employee, chain_above(employee), participant)


def visible_appraisals(
    session: CalibrationSession, viewer: Viewer
) -> QuerySet[Appraisal]:
    """The appraisals of ``session`` that ``viewer`` sees: all it covers but their
    own and, for a participant who is not an HR admin, anyone above them in their
    own line. Empty for a member who may not open the session. Builds a queryset
    only."""
    if not viewer.may_open:
        return Appraisal.objects.none()
    appraisals = session_appraisals(session)
    if viewer.employee is not None:
        appraisals = appraisals.exclude(employee_id=viewer.employee.pk)
    if not viewer.is_hr:
        appraisals = appraisals.exclude(employee_id__in=viewer.above)
    return appraisals


def with_adjustable(
    appraisals: QuerySet[Appraisal], session: CalibrationSession, viewer: Viewer
) -> QuerySet[Appraisal]:
    """``appraisals`` (of ``visible_appraisals``) with ``adjustable``: may
    ``viewer`` adjust each one (``may_adjust``'s rule, in SQL, for a whole page at
    once)? No query of its own."""
    if not may_adjust_in(session, viewer):
        return appraisals.annotate(adjustable=Value(False, BooleanField()))
    rule = Q(status=AppraisalStatus.OPEN) & ~Q(employee_id__in=viewer.above)
    if viewer.employee is not None:
        rule &= ~Q(employee_id=viewer.employee.pk)
        if not viewer.is_hr:
            rule &= line_below(
                viewer.employee.pk, viewer.employee.organization_id, "employee_id"
            )
    elif not viewer.is_hr:
        return appraisals.annotate(adjustable=Value(False, BooleanField()))
    return appraisals.annotate(
        adjustable=Exists(Appraisal.objects.filter(rule, pk=OuterRef("pk")))
    )


def may_adjust_in(session: CalibrationSession, viewer: Viewer) -> bool:
    """May ``viewer`` adjust anyone in ``session`` at all: the session is open, its
    cycle in review, and they are an HR admin or a participating manager. Needs the
    session's cycle loaded. No query."""
    return (
        session.status == SessionStatus.OPEN
        and session.cycle.status == CycleStatus.REVIEW
        and (viewer.is_hr or (viewer.participant and viewer.employee is not None))
    )


def may_adjust(
    session: CalibrationSession, viewer: Viewer, appraisal: Appraisal
) -> bool:
    """May ``viewer`` adjust ``appraisal`` in ``session``? The module's rule: an
    open appraisal the session covers, not their own, nobody above them in their
    line; HR admins anyone else, a participating manager only the people below them
    in their line. One query (the scope and line check)."""
    if not may_adjust_in(session, viewer) or appraisal.status != AppraisalStatus.OPEN:
        return False
    if appraisal.cycle_id != session.cycle_id or appraisal.employee_id in viewer.above:
        return False
    if viewer.employee is not None and appraisal.employee_id == viewer.employee.pk:
        return False
    covered = session_appraisals(session).filter(pk=appraisal.pk)
    if not viewer.is_hr and viewer.employee is not None:
        covered = covered.filter(
            line_below(
                viewer.employee.pk, viewer.employee.organization_id, "employee_id"
            )
        )
    return covered.exists()


def sessions_visible_to(
    access: Access, employee: Employee | None
) -> QuerySet[CalibrationSession]:
    """The sessions ``access``'s member may open: all for HR admins, the ones they
    take part in for anyone else. Builds a queryset only."""
    sessions = CalibrationSession.objects.select_related("cycle")
    if access.is_hr:
        return sessions
    if employee is None:
        return sessions.none()
    return sessions.filter(
        Exists(
            CalibrationParticipant.objects.filter(
                session=OuterRef("pk"), employee=employee
            )
        )
    )


def uncovered(appraisals: QuerySet[Appraisal]) -> QuerySet[Appraisal]:
    """Those of ``appraisals`` that no closed calibration session of their cycle
    covers (what blocks finalisation when the organisation requires calibration).
    Builds a queryset after one query (the closed sessions of their cycles)."""
    cycles = appraisals.values("cycle_id")
    covered = Q(pk__in=[])
    for session in CalibrationSession.objects.filter(
        status=SessionStatus.CLOSED, cycle_id__in=cycles
    ):
        covered |= Q(scope_q(session), cycle_id=session.cycle_id)
    return appraisals.exclude(covered)
