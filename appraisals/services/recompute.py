"""Recomputing stored scores in Celery: one appraisal after a change, or a whole cycle
as a run with progress (HR's button, or weights that changed).

The work itself is ``appraisals.scores``; this module decides when it starts. Tasks
are owed by name through the outbox (``organizations.outbox.enqueue``; ``appraisals.tasks``
is never imported here), so a rolled-back change owes nothing, the tasks read what was
committed, and a broker outage delays a recompute without losing it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisals.enums import AppraisalStatus
from appraisals.models import Appraisal, RecomputeRun
from appraisals.scores import recompute_cycle_chunk
from engagements.models import ReviewCycle
from organizations.errors import DomainError, describe_exception
from organizations.models import Membership
from organizations.outbox import enqueue

logger = logging.getLogger(__name__)

RECOMPUTE_APPRAISAL_TASK = "appraisals.recompute_appraisal"
RECOMPUTE_CYCLE_STEP_TASK = "appraisals.recompute_cycle_step"
# A cycle run recomputes this many appraisals per task, so its progress is committed
# (and visible) as it goes and no transaction holds thousands of row locks for long.
RUN_CHUNK = 500
# A run queued or running for longer than this is taken as abandoned (a worker died)
# and no longer blocks starting a new one.
RUN_STALE_AFTER = timedelta(hours=1)


# --- One appraisal after a change ---------------------------------------------------


def queue_recompute(appraisal: Appraisal) -> None:
    """Recompute ``appraisal`` in Celery after the current transaction commits, through
    the outbox (one INSERT). Calls for the same appraisal before the work is published
    owe it once (the outbox key)."""
    enqueue(
        RECOMPUTE_APPRAISAL_TASK,
        organization=appraisal.organization_id,
        idempotency_key=f"recompute:{appraisal.pk}",
        appraisal_id=appraisal.pk,
    )


# --- A whole cycle, as a run ----------------------------------------------------------


def _queue_run(run: RecomputeRun, *, after: int = 0) -> None:
    enqueue(
        RECOMPUTE_CYCLE_STEP_TASK,
        organization=run.organization_id,
        idempotency_key=f"recompute-run:{run.pk}:{after}",
        run_id=run.pk,
        after=after,
    )


def start_cycle_recompute(*, actor: Membership, cycle: ReviewCycle) -> RecomputeRun:
    """HR: recompute every open appraisal of ``cycle`` in Celery, with progress.

    Raises PermissionDenied for anyone but an HR admin, and DomainError while another
    recomputation of the cycle is queued or running (one left unfinished for over an
    hour is taken as abandoned, marked failed, and no longer blocks).
    """
    if not actor.is_hr_admin:
        raise PermissionDenied(_("Only HR admins can recompute a cycle's scores."))
    with transaction.atomic():
        # Serialises two HR admins pressing the button at the same moment.
        ReviewCycle.objects.select_for_update().filter(pk=cycle.pk).first()
        active = list(
            RecomputeRun.objects.filter(
                cycle_id=cycle.pk,
                status__in=[RecomputeRun.Status.QUEUED, RecomputeRun.Status.RUNNING],
            )
        )
        stale_before = timezone.now() - RUN_STALE_AFTER
        for run in active:
            if run.created_at >= stale_before:
                raise DomainError(
                    _(
                        "Scores of this cycle are already being recomputed (started "
                        "%(time)s, %(progress)s %% done). Wait for it to finish; the "
                        "progress shows on this page."
                    )
                    % {
                        "time": timezone.localtime(run.created_at).strftime("%H:%M"),
                        "progress": run.progress,
                    }
                )
            _fail(run, _("Stopped without finishing; a new recomputation replaced it."))
        run = RecomputeRun.objects.create(
            organization=actor.organization, cycle_id=cycle.pk, requested_by=actor.user
        )
        _queue_run(run)
    return run


def start_system_recompute(cycle: ReviewCycle) -> RecomputeRun:
    """Recompute ``cycle`` after its weights changed (no requester). Always starts a
    new run: one already under way may have read the old weights."""
    with transaction.atomic():
        run = RecomputeRun.objects.create(
            organization_id=cycle.organization_id, cycle_id=cycle.pk
        )
        _queue_run(run)
    return run


def _fail(run: RecomputeRun, error: str) -> None:
    run.status = RecomputeRun.Status.FAILED
    run.error = error[:1000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


def advance_run(run_id: int, *, after: int = 0) -> None:
    """One step of a cycle run: recompute the next ``RUN_CHUNK`` open appraisals with
    an id above ``after``, record the progress and queue the next step.

    Idempotent: a finished (done or failed) or missing run is left alone, and running a
    step twice recomputes the same rows to the same values and records the same
    progress. An error rolls the step back and marks the run failed with the message.
    """
    run = RecomputeRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.status in (
        RecomputeRun.Status.DONE,
        RecomputeRun.Status.FAILED,
    ):
        return
    try:
        done_ids = recompute_cycle_chunk(run.cycle_id, after=after, size=RUN_CHUNK)
    except Exception as exc:  # recorded on the run for HR to see, not raised
        logger.exception("Recompute run %s failed", run_id)
        _fail(run, describe_exception(exc))
        return
    last = done_ids[-1] if done_ids else after
    counts = Appraisal.objects.filter(
        cycle_id=run.cycle_id, status=AppraisalStatus.OPEN
    ).aggregate(total=Count("pk"), done=Count("pk", filter=Q(pk__lte=last)))
    run.total, run.done = counts["total"], counts["done"]
    if len(done_ids) < RUN_CHUNK:
        run.status = RecomputeRun.Status.DONE
        run.done = run.total
        run.finished_at = timezone.now()
    else:
        run.status = RecomputeRun.Status.RUNNING
        _queue_run(run, after=last)
    run.save(update_fields=["status", "total", "done", "finished_at"])
