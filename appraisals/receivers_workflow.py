"""Receivers of the workflow: appraisals when a cycle enters review (workflow workstream).

Imported by ``AppraisalsConfig.ready``; also registers the workflow's Celery tasks.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from appraisals import services, workflow_tasks  # noqa: F401  (registers the tasks)
from engagements.enums import CycleStatus
from engagements.signals import cycle_status_changed


@receiver(cycle_status_changed, dispatch_uid="appraisals.open_on_review")
def open_on_review(sender: Any, cycle: Any, to_status: str, **kwargs: Any) -> None:
    """A cycle entering review opens every appraisal and evaluation, inside the
    transition's transaction (a failure leaves the cycle where it was)."""
    if to_status == CycleStatus.REVIEW:
        services.open_appraisals(cycle=cycle, actor=kwargs.get("actor"))
