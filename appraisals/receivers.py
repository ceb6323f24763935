"""What the appraisals app does when other apps' signals fire, and the sections it adds
to the home page. Connected and registered in ``AppraisalsConfig.ready``.

The signal receivers run inside the sender's transaction; recomputations they start
run after commit, in Celery. Rating and approval changes are queued by the workflow
services themselves (``services.recompute.queue_recompute``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from appraisals.enums import AppraisalStatus
from appraisals.models import Appraisal
from appraisals.services.opening import open_appraisals
from appraisals.services.recompute import queue_recompute, start_system_recompute
from engagements.enums import CycleStatus
from organizations.home import HomeSection

# --- Signals of the engagements app ---------------------------------------------------


def open_on_review(sender: Any, cycle: Any, to_status: str, **kwargs: Any) -> None:
    """A cycle entering review opens every appraisal and evaluation, inside the
    transition's transaction (a failure leaves the cycle where it was)."""
    if to_status == CycleStatus.REVIEW:
        open_appraisals(cycle=cycle, actor=kwargs.get("actor"))


def recompute_cycle_on_weights(sender: Any, cycle: Any, **kwargs: Any) -> None:
    """β, weighting or γ changed: every open appraisal of the cycle changes."""
    if Appraisal.objects.filter(
        cycle_id=cycle.pk, status=AppraisalStatus.OPEN
    ).exists():
        start_system_recompute(cycle)


def recompute_plan_appraisal(sender: Any, plan: Any, **kwargs: Any) -> None:
    """α, allocation, dates or custom weight of one plan changed: its employee's
    appraisal in that cycle, if there is one and it is open. One query."""
    appraisal = Appraisal.objects.filter(
        cycle_id=plan.cycle_id,
        employee_id=plan.employee_id,
        status=AppraisalStatus.OPEN,
    ).first()
    if appraisal is not None:
        queue_recompute(appraisal)


# --- Home page sections ----------------------------------------------------------------


def evaluations_section(request: HttpRequest) -> HomeSection:
    """Evaluations to write / approve, loaded lazily from ``appraisals:queue_summary``
    with HTMX, with a plain link as fallback. No query."""
    return HomeSection("appraisals/evaluations/home_section.html", order=20)


def appraisals_section(request: HttpRequest) -> HomeSection:
    """ "Your appraisal is ready" (finalised, waiting to be read and acknowledged): a
    placeholder that loads the member's finalised appraisals with HTMX from
    ``appraisals:home_appraisals``, with a plain link as fallback. No query on the
    home page itself."""
    return HomeSection("appraisals/appraisals/home_placeholder.html", order=20)
