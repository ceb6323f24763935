"""Recomputing stored scores in Celery: one appraisal after a change, or a whole cycle
as a run with progress (HR's button, or weights that changed).

The work itself is ``appraisals.scores``; this module decides when it starts. Tasks
are started by name after commit (``appraisals.tasks`` is never imported here), so a
rolled-back change starts nothing and the tasks read what was committed.
"""

from __future__ import annotations

import logging
import weakref
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
from organizations.errors import DomainError
from organizations.jobs import start_task
from organizations.models import Membership

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


class _PendingRecomputes:
    """One on-commit callback per transaction collecting the appraisals to recompute,
    so several changes to one appraisal in a transaction start one task."""

    def __init__(self) -> None:
        self.keys: set[tuple[int, int]] = set()
        self.started = False

    def __call__(self) -> None:
        self.started = True
        for organization_id, appraisal_id in sorted(self.keys):
            start_task(
                RECOMPUTE_APPRAISAL_TASK,
                organization_id=organization_id,
                appraisal_id=appraisal_id,
            )


# The pending callback of each connection's transaction, held weakly: Django's list of
# on-commit callbacks holds the only strong reference, so a rollback that drops the
# callback drops the entry too, and nothing stale survives into the next transaction.
_pending: weakref.WeakValueDictionary[int, _PendingRecomputes] = (
    weakref.WeakValueDictionary()
)


def queue_recompute(appraisal: Appraisal) -> None:
    """Recompute ``appraisal`` in Celery after the current transaction commits.

    Calls for the same appraisal in one transaction start a single task; outside a
    transaction the task starts at once.
    """
    key = (appraisal.organization_id, appraisal.pk)
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        pending = _pending.get(id(connection))
        if pending is not None and not pending.started:
            pending.keys.add(key)
            return
    pending = _PendingRecomputes()
    pending.keys.add(key)
    if connection.in_atomic_block:
        _pending[id(connection)] = pending
    transaction.on_commit(pending)


# --- A whole cycle, as a run ----------------------------------------------------------


def _queue_run(run: RecomputeRun, *, after: int = 0) -> None:
    organization_id, run_id = run.organization_id, run.pk
    transaction.on_commit(
        lambda: start_task(
            RECOMPUTE_CYCLE_STEP_TASK,
            organization_id=organization_id,
            run_id=run_id,
            after=after,
        )
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


def _describe(exc: Exception) -> str:
    """The exception's type and first line: enough for HR to report, no traceback."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


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
        _fail(run, _describe(exc))
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
