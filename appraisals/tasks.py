"""Celery tasks of the appraisals app: thin wrappers that re-enter the tenant and call
``appraisals.recompute``."""

from __future__ import annotations

from celery import shared_task

from organizations.models import Organization
from organizations.tasks import tenant_task


@shared_task(bind=False)
@tenant_task
def recompute_appraisal_task(*, organization: Organization, appraisal_id: int) -> int:
    """Recompute one appraisal's stored scores; 0 when it is finalised or gone.

    Safe to run twice: the row lock makes a second run wait, then store the same
    values from the same ratings.
    """
    from appraisals.recompute import recompute_appraisals

    return recompute_appraisals([appraisal_id])


@shared_task(bind=False)
@tenant_task
def recompute_cycle_task(
    *, organization: Organization, run_id: int, after: int = 0
) -> None:
    """One step of a cycle run (``recompute.advance_run``): the next chunk of open
    appraisals after id ``after``; the step queues the next one itself, so progress
    is committed as it goes. A failure is recorded on the run, not raised."""
    from appraisals.recompute import advance_run

    advance_run(run_id, after=after)
