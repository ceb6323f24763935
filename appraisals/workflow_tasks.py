"""Celery tasks of the evaluation workflow: daily early evaluation.

Beat runs ``open_early_evaluations_everywhere`` once a day; it fans out one task per
organisation, each inside its tenant (``tenant_task``).
"""

from __future__ import annotations

from celery import shared_task

from engagements.enums import CycleStatus
from engagements.models import ReviewCycle
from organizations.models import Organization
from organizations.tasks import tenant_task


@shared_task(bind=False)
def open_early_evaluations_everywhere() -> int:
    """Queue early evaluation for every organisation. Returns how many were queued."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in ids:
        open_early_evaluations_task.delay(organization_id=organization_id)
    return len(ids)


@shared_task(bind=False)
@tenant_task
def open_early_evaluations_task(*, organization: Organization) -> int:
    """Open evaluations for ended plans in every in-progress cycle of the
    organisation that allows early evaluation. Returns how many were created."""
    from appraisals.services import open_early_evaluations

    created = 0
    for cycle in ReviewCycle.objects.filter(
        status=CycleStatus.IN_PROGRESS, allow_early_evaluation=True
    ):
        created += open_early_evaluations(cycle=cycle)
    return created
