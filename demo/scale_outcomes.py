"""How far each evaluation of a synthetic world (``demo.scale``) got, decided before
anything is written: who writes it and who approves it, by the workflow's own rules
(``appraisals.permissions``: the plan's reviewer override, else the engagement's
reviewer, else the line manager; the engagement's approver, else the line manager's
line manager, else an HR admin; never the employee or the reviewer), and the state
it reached. Closed cycles: every review approved (one in ten after a return), a
quarter of the self-assessments shared. The cycle in review: reviews in every state;
the employee login's general review approved, one engagement review submitted and one
returned; the manager login has drafts to write as an engagement's reviewer. No
queries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from appraisals.enums import EvaluationKind, EvaluationStatus
from demo.scale_people import People
from demo.scale_rows import at

if TYPE_CHECKING:
    from demo.scale_plans import PlanSpec
    from demo.scale_work import Cycle, Work

OPENED = time(9, 0)
APPROVED, SUBMITTED, RETURNED, PARTLY, EMPTY = (
    "approved",
    "submitted",
    "returned",
    "partly",
    "empty",
)
STATUS = {
    APPROVED: EvaluationStatus.APPROVED,
    SUBMITTED: EvaluationStatus.SUBMITTED,
    RETURNED: EvaluationStatus.RETURNED,
    PARTLY: EvaluationStatus.DRAFT,
    EMPTY: EvaluationStatus.DRAFT,
}
# Shares of the reviews and self-assessments of the cycle in review (the rest empty).
REVIEW_MIX = [(APPROVED, 0.45), (SUBMITTED, 0.25), (RETURNED, 0.08), (PARTLY, 0.12)]
SELF_MIX = [(SUBMITTED, 0.35), (PARTLY, 0.1)]
CLOSED_SELF_SHARED = 0.25
EARLIER_RETURN = 0.1  # approved or submitted again after one return
EMPLOYEE_REVIEWS = (APPROVED, SUBMITTED, RETURNED)
EMPLOYEE_SELF = (SUBMITTED, PARTLY, SUBMITTED)


@dataclass(slots=True)
class EvaluationSpec:
    """One evaluation as planned before anything is written."""

    plan: PlanSpec
    appraisal: int
    kind: str
    state: str
    writer: int | None
    approver: int | None
    submission: int
    returned_first: bool
    submitted: datetime | None
    decided: datetime | None
    pk: int = 0


def opened(cycle: Cycle) -> datetime:
    """When the cycle entered review: the day after its end."""
    return at(cycle.end + timedelta(days=1), OPENED)


def reviewer_of(people: People, plan: PlanSpec) -> int | None:
    """``appraisals.permissions.resolve_reviewer`` over the planned rows."""
    persons = people.persons

    def qualifies(index: int | None) -> bool:
        return index is not None and index != plan.person and persons[index].is_active

    if qualifies(plan.reviewer):
        return plan.reviewer
    if plan.engagement is not None:
        return plan.engagement.reviewer if qualifies(plan.engagement.reviewer) else None
    boss = persons[plan.person].boss
    return boss if qualifies(boss) else None


def approver_of(people: People, plan: PlanSpec, reviewer: int | None) -> int | None:
    """Who approves in capacity "approver" (``permissions.approval_authority``
    without dual approval); an HR admin when nobody else qualifies; None when not
    even they may."""
    persons = people.persons
    excluded = {plan.person, reviewer}
    if plan.engagement is not None:
        candidate = plan.engagement.approver
    else:
        boss = persons[plan.person].boss
        candidate = None if boss is None else persons[boss].boss
    if (
        candidate is not None
        and candidate not in excluded
        and persons[candidate].is_active
    ):
        return candidate
    return next((hr for hr in people.hr_admins if hr not in excluded), None)


def _pick(rng: random.Random, mix: list[tuple[str, float]]) -> str:
    roll, total = rng.random(), 0.0
    for state, share in mix:
        total += share
        if roll < total:
            return state
    return EMPTY


def plan_evaluations(
    people: People,
    work: Work,
    appraisal_of: dict[tuple[int, int], int],
    rng: random.Random,
) -> list[EvaluationSpec]:
    """A review and a self-assessment per plan, with the state each reached."""
    now = timezone.now()
    persons = people.persons
    employee, manager = people.logins["employee"], people.logins["manager"]
    drafts = [EMPTY, PARTLY]
    theirs = [
        plan.pk
        for plan in work.plans
        if plan.person == employee and plan.cycle is work.review
    ]
    specs = []
    for plan in work.plans:
        reviewer = reviewer_of(people, plan)
        approver = approver_of(people, plan, reviewer)
        if plan.cycle.closed:
            review = APPROVED
            own = SUBMITTED if rng.random() < CLOSED_SELF_SHARED else EMPTY
        elif plan.pk in theirs:
            review = EMPLOYEE_REVIEWS[theirs.index(plan.pk) % 3]
            own = EMPLOYEE_SELF[theirs.index(plan.pk) % 3]
        else:
            review, own = _pick(rng, REVIEW_MIX), _pick(rng, SELF_MIX)
            if reviewer == manager and persons[plan.person].boss != manager and drafts:
                # The manager login has drafts to write as an engagement's reviewer.
                review = drafts.pop()
        if reviewer is None:
            review = EMPTY  # HR assigns a reviewer first
        elif review in (APPROVED, RETURNED) and approver is None:
            review = SUBMITTED
        appraisal = appraisal_of[(plan.cycle.pk, plan.person)]
        for kind, state, writer in (
            (EvaluationKind.REVIEW, review, reviewer),
            (EvaluationKind.SELF, own, plan.person),
        ):
            submitted = decided = None
            again = False
            if state in (APPROVED, SUBMITTED, RETURNED):
                submitted = min(
                    opened(plan.cycle)
                    + timedelta(days=rng.randint(2, 12), hours=rng.randint(0, 8)),
                    now - timedelta(days=1),
                )
                again = kind == EvaluationKind.REVIEW and (
                    state in (APPROVED, SUBMITTED) and rng.random() < EARLIER_RETURN
                )
                if state in (APPROVED, RETURNED) and kind == EvaluationKind.REVIEW:
                    decided = min(
                        submitted + timedelta(days=rng.randint(1, 4)),
                        now - timedelta(hours=2),
                    )
            specs.append(
                EvaluationSpec(
                    plan=plan,
                    appraisal=appraisal,
                    kind=kind,
                    state=state,
                    writer=writer,
                    approver=approver if kind == EvaluationKind.REVIEW else None,
                    submission=(2 if again else 1) if submitted else 0,
                    returned_first=again,
                    submitted=submitted,
                    decided=decided,
                )
            )
    return specs
