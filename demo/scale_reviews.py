"""Appraisals of a synthetic world (``demo.scale``): an appraisal per employee and
cycle, a review and a self-assessment per plan (in the states
``demo.scale_outcomes`` decides) with their ratings and approvals, scores from the
real set-based recompute, then finalisation.

Ratings are what the forms store: goals at the rating their attainment suggests
(a review's different rating carries a reason), competencies around the expected
level (some reviewers a point more leniently or strictly, ``leniency``), every item
of a submitted evaluation rated. Reviews still to write in the
cycle in review are due around today, some overdue. Every ready appraisal of a
closed cycle is finalised or acknowledged, a few in the cycle in review; the
employee login's is acknowledged in the oldest cycle, finalised (waiting for them)
in the next and open in the cycle in review.

Scores come from ``appraisals.scores.recompute_cycle``, run per cycle while every
appraisal is still open; the finalised ones are then frozen as
``finalise_appraisals`` leaves them. Query cost: per table written, one query plus
two per batch of ``demo.scale_rows.BATCH`` rows; an ANALYZE per table the recompute
reads (when the role may); the recompute's fixed number per cycle; one update per
batch of finalised appraisals.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone

from appraisals.enums import (
    AppraisalStatus,
    ApprovalCapacity,
    ApprovalDecision,
    EvaluationKind,
)
from appraisals.models import (
    DEFAULT_BANDS,
    Appraisal,
    CompetencyRating,
    Evaluation,
    EvaluationApproval,
    GoalRating,
)
from appraisals.scores import recompute_cycle
from appraisals.selectors.settings import suggested_rating
from demo.scale_outcomes import (
    APPROVED,
    EMPTY,
    PARTLY,
    RETURNED,
    STATUS,
    SUBMITTED,
    EvaluationSpec,
    opened,
    plan_evaluations,
)
from demo.scale_people import People
from demo.scale_rows import (
    Log,
    Rows,
    analyze,
    at,
    update_rows,
    without_nested_loops,
)
from engagements.models import Goal, Plan, PlanCompetency, ReviewCycle
from feedback.models import ClientSurvey, ClientSurveyRating

if TYPE_CHECKING:
    from demo.scale_work import Work

OVERDUE_SHARE = 0.4  # of the reviews still to write, due before today
FINALISED_IN_REVIEW = 0.2  # of the ready appraisals of the cycle in review
ACKNOWLEDGED_SHARE = 0.6  # of the finalised appraisals of closed cycles
DIFFERENT_RATING = 0.1  # reviews that rate a goal away from the suggested rating
NOT_APPLICABLE = 0.03
REVIEW_COMMENTS = [
    "Solid delivery, well received by the client.",
    "Strong analysis; next step is leading the client conversations.",
    "Reliable under pressure; keep sharing what you learn with the team.",
    "Good progress; the hand-over documentation needs more care.",
]
SELF_COMMENTS = ["My own view.", "A busy half-year; proud of the client results."]
RETURN_COMMENT = "Please add examples from the client steering committee."
OVERRIDE_REASON = "The last month's escalation weighed on delivery."
ACKNOWLEDGEMENT = "Thank you: a fair summary of a busy half-year."
POINTS = [Decimal(point) for point in range(1, 6)]
# What the recompute reads.
SCORED = [
    Appraisal,
    Evaluation,
    GoalRating,
    CompetencyRating,
    Goal,
    PlanCompetency,
    Plan,
    ReviewCycle,
    ClientSurvey,
    ClientSurveyRating,
]


def build_reviews(people: People, work: Work, rng: random.Random, log: Log) -> None:
    persons = people.persons
    rows = Rows(
        Appraisal,
        ("cycle_id", "employee_id", "created_at"),
        organization_id=people.organization.pk,
    )
    keys = []
    for cycle in work.cycles:
        for person in persons:
            if person.is_active:
                rows.add(cycle.pk, person.pk, opened(cycle))
                keys.append((cycle.pk, person.index))
    appraisal_of = dict(zip(keys, rows.insert(log), strict=True))
    specs = plan_evaluations(people, work, appraisal_of, rng)
    _write_evaluations(people, work, specs, rng, log)
    _write_ratings(people, specs, rng, log)
    _write_approvals(people, specs, log)
    # Statistics first where the role may take them (the owner); else at least no
    # nested loops over rows the planner believes are not there.
    analyze([model._meta.db_table for model in SCORED])
    with without_nested_loops():
        for cycle in work.cycles:
            recompute_cycle(ReviewCycle.objects.get(pk=cycle.pk))
    _finalise(people, work, appraisal_of, specs, rng)


def _due(spec: EvaluationSpec, today: date, rng: random.Random) -> date:
    """Closed cycles: two weeks after the review opened. In review: the reviews
    still to write are spread around today, some overdue."""
    opened = spec.plan.cycle.end + timedelta(days=15)
    if spec.plan.cycle.closed or spec.state in (APPROVED, SUBMITTED):
        return opened
    if rng.random() < OVERDUE_SHARE:
        return today - timedelta(days=rng.randint(1, 10))
    return today + timedelta(days=rng.randint(2, 14))


def _write_evaluations(
    people: People,
    work: Work,
    specs: list[EvaluationSpec],
    rng: random.Random,
    log: Log,
) -> None:
    persons = people.persons
    rows = Rows(
        Evaluation,
        (
            "appraisal_id",
            "plan_id",
            "employee_id",
            "kind",
            "reviewer_id",
            "status",
            "comments",
            "due_date",
            "submission",
            "submitted_at",
            "approved_at",
            "return_comment",
            "version",
            "created_at",
        ),
        organization_id=people.organization.pk,
    )
    for spec in specs:
        review = spec.kind == EvaluationKind.REVIEW
        rated = spec.state != EMPTY
        comments = rng.choice(REVIEW_COMMENTS if review else SELF_COMMENTS)
        # One version per save, submission and decision.
        version = 1 + rated + spec.submission + (spec.decided is not None)
        rows.add(
            spec.appraisal,
            spec.plan.pk,
            persons[spec.plan.person].pk,
            spec.kind,
            None if spec.writer is None else persons[spec.writer].pk,
            STATUS[spec.state],
            comments if rated else "",
            _due(spec, work.today, rng),
            spec.submission,
            spec.submitted,
            spec.decided if spec.state == APPROVED else None,
            RETURN_COMMENT if spec.state == RETURNED else "",
            version + 2 * spec.returned_first,
            opened(spec.plan.cycle),
        )
    for spec, pk in zip(specs, rows.insert(log), strict=True):
        spec.pk = pk


def _write_ratings(
    people: People, specs: list[EvaluationSpec], rng: random.Random, log: Log
) -> None:
    """Every goal and competency of rated evaluations (the first of each when
    partly rated), goals at the rating their attainment suggests (as
    ``write_ratings`` stores it), competencies around the expected level."""
    org = people.organization.pk
    goals = Rows(
        GoalRating,
        (
            "evaluation_id",
            "goal_id",
            "value",
            "not_applicable",
            "suggested",
            "override_reason",
        ),
        organization_id=org,
    )
    competencies = Rows(
        CompetencyRating,
        ("evaluation_id", "plan_competency_id", "value", "not_applicable"),
        organization_id=org,
    )
    bands = list(DEFAULT_BANDS)
    for spec in specs:
        if spec.state == EMPTY:
            continue
        review = spec.kind == EvaluationKind.REVIEW
        count = 1 if spec.state == PARTLY else None
        for goal in spec.plan.goals[:count]:
            suggested = suggested_rating(goal.attainment, bands)
            value = suggested or Decimal(3 if review else 4)
            reason = ""
            if review and suggested is not None and rng.random() < DIFFERENT_RATING:
                value = POINTS[max(0, min(4, int(value) - 1 + rng.choice((-1, 1))))]
                reason = OVERRIDE_REASON if value != suggested else ""
            goals.add(spec.pk, goal.pk, value, False, suggested, reason)
        for item, expected in spec.plan.items[:count]:
            if rng.random() < NOT_APPLICABLE:
                competencies.add(spec.pk, item, None, True)
                continue
            step = rng.choice((-1, 0, 0, 1)) + (leniency(spec.writer) if review else 0)
            competencies.add(
                spec.pk, item, POINTS[max(0, min(4, int(expected) - 1 + step))], False
            )
    goals.insert(log)
    competencies.insert(log)


def leniency(writer: int | None) -> int:
    """How far a reviewer rates competencies from the expected level beyond the
    usual spread: one in seven a point higher, one in seven a point lower, the rest
    as expected (by the reviewer's index, so the same people each cycle), so
    reports of reviewer consistency have lenient and strict reviewers to find."""
    if writer is None:
        return 0
    return {0: 1, 1: -1}.get(writer % 7, 0)


def _write_approvals(people: People, specs: list[EvaluationSpec], log: Log) -> None:
    """The approver's decisions: a return of the first submission where there was
    one, the approval of the current one."""
    persons = people.persons
    rows = Rows(
        EvaluationApproval,
        (
            "evaluation_id",
            "submission",
            "approver_id",
            "capacity",
            "decision",
            "comment",
            "decided_at",
        ),
        organization_id=people.organization.pk,
    )
    for spec in specs:
        if spec.approver is None or spec.submitted is None:
            continue
        approver = persons[spec.approver].pk
        if spec.returned_first:
            rows.add(
                spec.pk,
                1,
                approver,
                ApprovalCapacity.APPROVER,
                ApprovalDecision.RETURNED,
                RETURN_COMMENT,
                spec.submitted - timedelta(days=2),
            )
        if spec.decided is None:
            continue
        approved = spec.state == APPROVED
        rows.add(
            spec.pk,
            spec.submission,
            approver,
            ApprovalCapacity.APPROVER,
            ApprovalDecision.APPROVED if approved else ApprovalDecision.RETURNED,
            "Agreed." if approved else RETURN_COMMENT,
            spec.decided,
        )
    rows.insert(log)


def _finalise(
    people: People,
    work: Work,
    appraisal_of: dict[tuple[int, int], int],
    specs: list[EvaluationSpec],
    rng: random.Random,
) -> None:
    """Freeze the ready appraisals (every review approved): all of them in closed
    cycles, some in the cycle in review (never those of the manager login's
    reports). Nobody finalises their own appraisal: the HR login's is finalised by
    the other HR admin."""
    reviews: dict[int, list[str]] = {}
    for spec in specs:
        if spec.kind == EvaluationKind.REVIEW:
            reviews.setdefault(spec.appraisal, []).append(spec.state)
    hr, other_hr = (people.persons[i].user_id for i in people.hr_admins[:2])
    employee = people.logins["employee"]
    rows = []
    for (cycle_pk, person), appraisal in appraisal_of.items():
        states = reviews.get(appraisal, [])
        if not states or any(state != APPROVED for state in states):
            continue
        cycle = next(c for c in work.cycles if c.pk == cycle_pk)
        if not cycle.closed and (
            rng.random() >= FINALISED_IN_REVIEW
            # The manager login's reports keep open appraisals, scored provisionally.
            or people.persons[person].boss == people.logins["manager"]
        ):
            continue
        finalised = (
            at(cycle.end + timedelta(days=40))
            if cycle.closed
            else timezone.now() - timedelta(hours=1)
        )
        acknowledged = cycle.closed and rng.random() < ACKNOWLEDGED_SHARE
        if person == employee:
            acknowledged = cycle is work.cycles[0]
        by = other_hr if person == people.logins["hr"] else hr
        rows.append(
            (
                appraisal,
                AppraisalStatus.ACKNOWLEDGED
                if acknowledged
                else AppraisalStatus.FINALIZED,
                finalised,
                by,
                finalised + timedelta(days=3) if acknowledged else None,
                ACKNOWLEDGEMENT if acknowledged else "",
                2 + acknowledged,
            )
        )
    update_rows(
        Appraisal,
        (
            "status",
            "finalized_at",
            "finalized_by_id",
            "acknowledged_at",
            "acknowledgement",
            "version",
        ),
        rows,
    )
