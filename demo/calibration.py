"""Demo calibration: reviewers in the cycle in review who rate differently enough
for the calibration pages to measure it, the line manager's potential on the general
evaluations they write, and one open calibration session. Idempotent: nothing
happens once the cycle has a calibration session.

Only acme gets it. More general reviews of the cycle in review are written, submitted
and approved through the services: the manager login's reports rated generously,
the reviewer login's strictly, and, reviewed by HR (their line manager has no
login), the third unit's in the middle. Compared with the other reviewers on the
same competencies the manager login comes out about 0.8 points lenient and the
reviewer login about 0.7 points harsh, each over well more than the five compared
ratings a correction needs, so the session page shows real suggestions. The session
(the whole organisation, the manager login taking part) is written with the ORM, as
a person opening it would leave it.

Runs after ``demo.closed_cycles``, so the rows before it are what they always were.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from appraisals.enums import (
    CalibrationScope,
    EvaluationKind,
    EvaluationStatus,
    Potential,
)
from appraisals.models import CalibrationParticipant, CalibrationSession, Evaluation
from appraisals.selectors import settings as selectors
from appraisals.services import evaluations as services
from appraisals.services.ratings import RatingInput
from demo.appraisals import LOGINS, previous_half_year
from engagements.enums import CycleStatus, PlanKind
from engagements.models import Goal, ReviewCycle
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization

# Points each writer adds to a competency rating, item by item in turn (a 1-5
# scale): the manager login a point up nine times in ten, the reviewer login a
# point down seven times in ten, HR level. Diluted by the team's level ratings
# (``demo.appraisals``) and compared with each other, that measures about +0.8 and
# -0.7.
BIAS = {
    "manager": (1, 1, 1, 1, 0, 1, 1, 1, 1, 1),
    "reviewer": (-1, 0, -1, -1, 0, -1, -1, 0, -1, -1),
    "hr": (0,),
}
# General reviews written per reviewer (beyond the demo's team).
REVIEWS_EACH = 6
POTENTIALS = (Potential.HIGH, Potential.MEDIUM, Potential.LOW, Potential.MEDIUM)


def seed(organization: Organization) -> None:
    if organization.slug != "acme":
        return
    members = {
        m.user.email.split("@")[0]: m
        for m in Membership.objects.filter(is_active=True).select_related(
            "organization", "user"
        )
    }
    if any(name not in members for name in LOGINS):
        return
    name, _start, _end = previous_half_year(timezone.localdate())
    cycle = ReviewCycle.objects.filter(name=name, status=CycleStatus.REVIEW).first()
    if cycle is None or CalibrationSession.objects.filter(cycle=cycle).exists():
        return
    people = {
        login: Employee.objects.get(user=members[login].user)
        for login in ("hr", "manager", "reviewer")
    }
    for login, reviews in _reviews_to_write(cycle, people).items():
        for number, evaluation in enumerate(reviews):
            potential = "" if login == "hr" else POTENTIALS[number % len(POTENTIALS)]
            try:
                # A review nobody but its own writer could approve (HR writing
                # where only HR may approve) would stay submitted for ever: leave
                # that one a draft, as it was.
                with transaction.atomic():
                    _write_and_approve(
                        members, people, login, evaluation, number, potential
                    )
                    evaluation.refresh_from_db()
                    if evaluation.status != EvaluationStatus.APPROVED:
                        raise _NotApproved
            except _NotApproved:
                evaluation.refresh_from_db()
    _open_session(cycle, members, people["manager"])


class _NotApproved(Exception):
    """Nobody the demo signs in as could approve a review: undo writing it."""


def _write_and_approve(
    members: dict[str, Membership],
    people: dict[str, Employee],
    login: str,
    evaluation: Evaluation,
    number: int,
    potential: str,
) -> None:
    """Write ``evaluation`` as ``login`` (HR assigns themself first) and approve it
    as the first demo login the workflow accepts."""
    if login == "hr":
        services.assign_reviewer(
            actor=members["hr"], evaluation=evaluation, reviewer=people["hr"]
        )
    _rate(members[login], evaluation, BIAS[login], number, potential)
    evaluation.refresh_from_db()
    approvers = [members[n] for n in ("approver", "hr", "manager", "reviewer")]
    _approve(evaluation, approvers)


def _reviews_to_write(
    cycle: ReviewCycle, people: dict[str, Employee]
) -> dict[str, list[Evaluation]]:
    """Per writer, the general reviews still untouched (draft, never saved) of the
    people they will review: the manager's and the reviewer's own reports, and for
    HR the reports of the line manager without a login."""
    drafts = (
        Evaluation.objects.filter(
            appraisal__cycle=cycle,
            kind=EvaluationKind.REVIEW,
            plan__kind=PlanKind.GENERAL,
            version=1,
            submission=0,
        )
        .select_related("reviewer", "employee", "plan__cycle", "appraisal")
        .order_by("employee__code", "pk")
    )
    with_login = {e.pk for e in people.values()}
    found: dict[str, list[Evaluation]] = {login: [] for login in BIAS}
    for evaluation in drafts:
        manager_id = evaluation.employee.line_manager_id
        if evaluation.reviewer_id == people["manager"].pk:
            login = "manager"
        elif evaluation.reviewer_id == people["reviewer"].pk:
            login = "reviewer"
        elif manager_id is not None and manager_id not in with_login:
            login = "hr"
        else:
            continue
        if (
            len(found[login]) < REVIEWS_EACH
            and evaluation.employee_id not in with_login
        ):
            found[login].append(evaluation)
    return found


def _rate(
    writer: Membership,
    evaluation: Evaluation,
    bias: Sequence[int],
    seed: int,
    potential: str,
) -> None:
    """Goals at the rating their attainment suggests (so attainment says nothing
    of leniency); competencies around the middle of the scale moved by the writer's
    ``bias``, item by item; the potential where the line manager writes it."""
    bands = selectors.attainment_bands()
    goals = Goal.objects.filter(plan_id=evaluation.plan_id).order_by("pk")
    goal_ratings = {
        goal.pk: RatingInput(
            value=selectors.suggested_rating(goal.attainment, bands) or Decimal(3),
            comment="Measured against the agreed target.",
        )
        for goal in goals
    }
    items = evaluation.plan.competencies.order_by("pk").values_list("pk", flat=True)
    competency_ratings = {}
    for number, pk in enumerate(items):
        base = Decimal(3 + (seed + number) % 2)
        shift = Decimal(bias[(seed + number) % len(bias)])
        value = (base + shift).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        competency_ratings[pk] = RatingInput(
            value=min(max(value, Decimal(1)), Decimal(5))
        )
    evaluation.refresh_from_db()
    services.submit_evaluation(
        actor=writer,
        evaluation=evaluation,
        version=evaluation.version,
        goal_ratings=goal_ratings,
        competency_ratings=competency_ratings,
        comments="A fair picture of the half-year.",
        potential=potential,
    )


def _approve(evaluation: Evaluation, candidates: Sequence[Membership]) -> None:
    """Approve as the first candidate the workflow accepts."""
    for member in candidates:
        try:
            services.approve_evaluation(
                actor=member, evaluation=evaluation, comment="Agreed."
            )
        except (DomainError, PermissionDenied):
            continue
        evaluation.refresh_from_db()
        if evaluation.status == EvaluationStatus.APPROVED:
            return


def _open_session(
    cycle: ReviewCycle, members: dict[str, Membership], manager: Employee
) -> None:
    session = CalibrationSession.objects.create(
        organization=cycle.organization,
        cycle=cycle,
        name=f"{cycle.name} calibration",
        scope=CalibrationScope.ORGANIZATION,
        opened_by=members["hr"].user,
    )
    CalibrationParticipant.objects.create(
        organization=cycle.organization, session=session, employee=manager
    )
