"""Celery tasks of the appraisals app: thin wrappers that re-enter the tenant and call
one service. Each has an explicit name; services start them by that name after
commit (``appraisals.services.recompute``), and beat by the name in
``CELERY_BEAT_SCHEDULE``.
"""

from __future__ import annotations

from celery import shared_task

from appraisals.scores import recompute_appraisals
from appraisals.selectors.evaluations import early_evaluation_cycles
from appraisals.services.opening import open_early_evaluations
from appraisals.services.recompute import (
    RECOMPUTE_APPRAISAL_TASK,
    RECOMPUTE_CYCLE_STEP_TASK,
    advance_run,
)
from organizations.models import Organization
from organizations.outbox import enqueue_daily_everywhere
from organizations.tasks import RETRY_OPTIONS, tenant_task

OPEN_EARLY_EVALUATIONS_TASK = "appraisals.open_early_evaluations"


@shared_task(bind=False, name=RECOMPUTE_APPRAISAL_TASK, **RETRY_OPTIONS)
@tenant_task
def recompute_appraisal_task(*, organization: Organization, appraisal_id: int) -> int:
    """Recompute one appraisal's stored scores; 0 when it is finalised or gone.

    Safe to run twice: the row lock makes a second run wait, then store the same
    values from the same ratings.
    """
    return recompute_appraisals([appraisal_id])


@shared_task(bind=False, name=RECOMPUTE_CYCLE_STEP_TASK, **RETRY_OPTIONS)
@tenant_task
def recompute_cycle_task(
    *, organization: Organization, run_id: int, after: int = 0
) -> None:
    """One step of a cycle run (``services.recompute.advance_run``): the next chunk of
    open appraisals after id ``after``; the step queues the next one itself, so
    progress is committed as it goes. A failure is recorded on the run, not raised."""
    advance_run(run_id, after=after)


@shared_task(
    bind=False, name="appraisals.open_early_evaluations_everywhere", **RETRY_OPTIONS
)
def open_early_evaluations_everywhere() -> int:
    """Owe early evaluation for every organisation, through the outbox (beat runs it
    once a day, and may run it twice: opening is idempotent). Returns how many."""
    return enqueue_daily_everywhere(OPEN_EARLY_EVALUATIONS_TASK)


@shared_task(bind=False, name=OPEN_EARLY_EVALUATIONS_TASK, **RETRY_OPTIONS)
@tenant_task
def open_early_evaluations_task(*, organization: Organization) -> int:
    """Open evaluations for ended plans in every in-progress cycle of the
    organisation that allows early evaluation. Returns how many were created."""
    created = 0
    for cycle in early_evaluation_cycles():
        created += open_early_evaluations(cycle=cycle)
    return created
