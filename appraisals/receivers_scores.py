"""Receivers that keep scores fresh when weights change (scores workstream).

Both run inside the sender's transaction; the recomputation itself starts after
commit, in Celery. Rating and approval changes are queued by the workflow services
(``appraisals.recompute.queue_recompute``).
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from appraisals.enums import AppraisalStatus
from appraisals.models import Appraisal
from engagements.signals import cycle_weights_changed, plan_weights_changed


@receiver(cycle_weights_changed, dispatch_uid="appraisals.cycle_weights_changed")
def recompute_cycle_on_weights(sender: Any, cycle: Any, **kwargs: Any) -> None:
    """β, weighting or γ changed: every open appraisal of the cycle changes."""
    from appraisals.recompute import start_system_recompute

    if Appraisal.objects.filter(
        cycle_id=cycle.pk, status=AppraisalStatus.OPEN
    ).exists():
        start_system_recompute(cycle)


@receiver(plan_weights_changed, dispatch_uid="appraisals.plan_weights_changed")
def recompute_plan_appraisal(sender: Any, plan: Any, **kwargs: Any) -> None:
    """α, allocation, dates or custom weight of one plan changed: its employee's
    appraisal in that cycle, if there is one and it is open. One query."""
    from appraisals.recompute import queue_recompute

    appraisal = Appraisal.objects.filter(
        cycle_id=plan.cycle_id,
        employee_id=plan.employee_id,
        status=AppraisalStatus.OPEN,
    ).first()
    if appraisal is not None:
        queue_recompute(appraisal)
