"""Appraisal pages: the member's appraisals, the score explanation, acknowledgement,
finalisation and reopening, and HR's cycle progress with bulk actions and recompute.

Access: ``selectors.access.get_appraisal_for`` for one appraisal (404 when not visible,
403 when the action is refused); HR-only pages check the role before any lookup. The
forms are plain posts (no HTMX): a refused one gets the page again with the message
beside the field and status 400, and nothing changes. Only the recompute progress and
the home section use HTMX.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from appraisals.enums import (
    FINAL_STATUSES,
    AppraisalStatus,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.forms import (
    AcknowledgeForm,
    BulkFinaliseForm,
    BulkRemindForm,
    ReopenForm,
)
from appraisals.models import Appraisal
from appraisals.selectors import appraisals as pages
from appraisals.selectors.access import (
    AppraisalAccess,
    get_appraisal_for,
    get_recompute_for,
    may_open_evaluation,
    sees_scores,
)
from appraisals.services.appraisals import (
    acknowledge_appraisal,
    finalise_appraisal,
    finalise_appraisals,
    reopen_appraisal,
    send_evaluation_reminders,
)
from appraisals.services.recompute import start_cycle_recompute
from engagements.models import ReviewCycle
from engagements.selectors.access import get_cycle_for
from organizations.errors import DomainError
from organizations.http import TenantRequest, is_htmx

# --- The member's appraisals ----------------------------------------------------------


@require_GET
def my_appraisals(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The member's own appraisals and, for line managers, their direct reports'."""
    found = pages.my_appraisals(request.membership)
    return render(
        request,
        "appraisals/appraisals/my_appraisals.html",
        {
            "own": found.own,
            "reports": found.reports,
            "final_statuses": FINAL_STATUSES,
        },
    )


@require_GET
def home_appraisals(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The home page's lazily loaded "Your appraisal is ready" section."""
    if not is_htmx(request):
        return redirect("appraisals:my_appraisals", org_slug)
    return render(
        request,
        "appraisals/appraisals/home_section.html",
        {"to_acknowledge": pages.appraisals_to_acknowledge(request.membership)},
    )


# --- One appraisal ------------------------------------------------------------------------


def _detail_context(
    request: TenantRequest,
    appraisal: Appraisal,
    access: AppraisalAccess,
    *,
    acknowledge_form: AcknowledgeForm | None = None,
    reopen_form: ReopenForm | None = None,
) -> dict[str, Any]:
    show_scores = sees_scores(access, appraisal)
    evaluations = pages.appraisal_evaluations(appraisal)
    reviews = [e for e in evaluations if e.kind == EvaluationKind.REVIEW]
    ready = bool(reviews) and all(
        e.status == EvaluationStatus.APPROVED for e in reviews
    )
    can_manage = access.is_hr and not access.is_subject
    is_open = appraisal.status == AppraisalStatus.OPEN
    scores = pages.score_view(appraisal, access, evaluations)
    return {
        "appraisal": appraisal,
        "access": access,
        "show_scores": show_scores,
        "explanation": scores.stored,
        "provisional": scores.provisional,
        "evaluations": evaluations,
        "linked_ids": {
            e.pk for e in evaluations if may_open_evaluation(access, e, show_scores)
        },
        "ready": ready,
        "can_finalise": can_manage and is_open and ready,
        "can_reopen": can_manage and not is_open,
        "can_acknowledge": access.is_subject
        and appraisal.status == AppraisalStatus.FINALIZED,
        "acknowledge_form": acknowledge_form
        or AcknowledgeForm(initial={"version": appraisal.version}),
        "reopen_form": reopen_form
        or ReopenForm(initial={"version": appraisal.version}),
        "timeline": pages.appraisal_history(appraisal, show_scores=show_scores),
    }


@require_GET
def appraisal_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The appraisal with its score explained, its evaluations and its history."""
    appraisal, access = get_appraisal_for(request, pk)
    return render(
        request,
        "appraisals/appraisals/detail.html",
        _detail_context(request, appraisal, access),
    )


def _form_error(
    request: TenantRequest,
    appraisal: Appraisal,
    access: AppraisalAccess,
    **forms: Any,
) -> HttpResponse:
    """A refused form: the page again, with the message beside the field (400)."""
    appraisal.refresh_from_db()
    context = _detail_context(request, appraisal, access, **forms)
    # A form whose action no longer applies is not shown; its message still is.
    shown = {
        "acknowledge_form": context["can_acknowledge"],
        "reopen_form": context["can_reopen"],
    }
    context["refused_forms"] = [form for name, form in forms.items() if not shown[name]]
    return render(request, "appraisals/appraisals/detail.html", context, status=400)


@require_POST
def appraisal_acknowledge(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """The employee acknowledges their finalised appraisal, with an optional comment."""
    appraisal, access = get_appraisal_for(request, pk, perm="acknowledge")
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            acknowledge_appraisal(
                actor=request.membership,
                appraisal=appraisal,
                comment=form.cleaned_data["comment"],
                version=form.cleaned_data["version"],
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, _("Thank you: your acknowledgement is recorded."))
            return redirect(appraisal.get_absolute_url())
    return _form_error(
        request,
        appraisal,
        access,
        acknowledge_form=form,
    )


@require_POST
def appraisal_finalise(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """HR finalises one appraisal whose evaluations are all approved."""
    appraisal, _access = get_appraisal_for(request, pk, perm="manage")
    try:
        finalise_appraisal(actor=request.membership, appraisal=appraisal)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The appraisal of %(name)s is finalised; they were e-mailed.")
            % {"name": appraisal.employee.full_name},
        )
    return redirect(appraisal.get_absolute_url())


@require_POST
def appraisal_reopen(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """HR reopens a finalised appraisal, with a reason recorded in its history."""
    appraisal, access = get_appraisal_for(request, pk, perm="manage")
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            reopen_appraisal(
                actor=request.membership,
                appraisal=appraisal,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                _("The appraisal is open again; evaluations can be changed."),
            )
            return redirect(appraisal.get_absolute_url())
    return _form_error(
        request,
        appraisal,
        access,
        reopen_form=form,
    )


# --- Cycle progress (HR) --------------------------------------------------------------------


def _progress_page(
    request: TenantRequest,
    cycle: ReviewCycle,
    *,
    finalise_form: BulkFinaliseForm | None = None,
    remind_form: BulkRemindForm | None = None,
    status: int = 200,
) -> HttpResponse:
    today = timezone.localdate()
    progress = pages.cycle_progress(cycle, today=today)
    return render(
        request,
        "appraisals/cycle/progress.html",
        {
            "cycle": cycle,
            "progress": progress,
            "today": today,
            "run": pages.latest_recompute(cycle),
            "finalise_form": finalise_form or BulkFinaliseForm(),
            "remind_form": remind_form or BulkRemindForm(),
        },
        status=status,
    )


@require_GET
def cycle_progress(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Appraisals and evaluations of a cycle by status, overdue ones, progress by
    engagement, bulk finalisation and reminders, and the score recomputation."""
    cycle = get_cycle_for(request, pk)
    return _progress_page(request, cycle)


@require_POST
def bulk_finalise(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Finalise the ticked appraisals of the cycle: all of them or, on any problem,
    none (the page comes back with the reason, status 400)."""
    cycle = get_cycle_for(request, pk)
    form = BulkFinaliseForm(request.POST)
    if form.is_valid():
        try:
            done = finalise_appraisals(
                actor=request.membership,
                appraisals=form.cleaned_data["appraisals"],
                cycle=cycle,
            )
        except DomainError as exc:
            form.add_error("appraisals", exc.message)
        else:
            messages.success(
                request,
                ngettext(
                    "%(n)s appraisal finalised; the employee was e-mailed.",
                    "%(n)s appraisals finalised; each employee was e-mailed.",
                    len(done),
                )
                % {"n": len(done)},
            )
            return redirect("appraisals:cycle_progress", org_slug, cycle.pk)
    return _progress_page(request, cycle, finalise_form=form, status=400)


@require_POST
def bulk_remind(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """E-mail the reviewers or approvers of the ticked evaluations (once a day each)."""
    cycle = get_cycle_for(request, pk)
    form = BulkRemindForm(request.POST)
    if form.is_valid():
        try:
            sent = send_evaluation_reminders(
                actor=request.membership,
                cycle=cycle,
                evaluation_ids=form.cleaned_data["evaluations"],
            )
        except DomainError as exc:
            form.add_error("evaluations", exc.message)
        else:
            messages.success(
                request,
                ngettext(
                    "%(n)s reminder queued. People already reminded today about an "
                    "evaluation are not e-mailed again.",
                    "%(n)s reminders queued. People already reminded today about an "
                    "evaluation are not e-mailed again.",
                    sent,
                )
                % {"n": sent},
            )
            return redirect("appraisals:cycle_progress", org_slug, cycle.pk)
    return _progress_page(request, cycle, remind_form=form, status=400)


@require_POST
def cycle_recompute(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Start recomputing every score of the cycle (in the background) and show its
    progress."""
    cycle = get_cycle_for(request, pk)
    try:
        run = start_cycle_recompute(actor=request.membership, cycle=cycle)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("appraisals:cycle_progress", org_slug, cycle.pk)
    if is_htmx(request):
        return render(
            request, "appraisals/cycle/partials/recompute_progress.html", {"run": run}
        )
    return redirect("appraisals:recompute_status", org_slug, run.pk)


@require_GET
def recompute_status(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The progress of a recomputation: a partial polled every 2 s by HTMX until it
    is done, or a full page (reload it to follow)."""
    run = get_recompute_for(request, pk)
    template = (
        "appraisals/cycle/partials/recompute_progress.html"
        if is_htmx(request)
        else "appraisals/cycle/recompute_status.html"
    )
    return render(request, template, {"run": run, "cycle": run.cycle})


urlpatterns = [
    path("appraisals/", my_appraisals, name="my_appraisals"),
    path("appraisals/home/", home_appraisals, name="home_appraisals"),
    path("appraisals/<int:pk>/", appraisal_detail, name="appraisal_detail"),
    path(
        "appraisals/<int:pk>/acknowledge/",
        appraisal_acknowledge,
        name="appraisal_acknowledge",
    ),
    path(
        "appraisals/<int:pk>/finalise/", appraisal_finalise, name="appraisal_finalise"
    ),
    path("appraisals/<int:pk>/reopen/", appraisal_reopen, name="appraisal_reopen"),
    path("cycles/<int:pk>/appraisals/", cycle_progress, name="cycle_progress"),
    path("cycles/<int:pk>/appraisals/finalise/", bulk_finalise, name="bulk_finalise"),
    path("cycles/<int:pk>/appraisals/remind/", bulk_remind, name="bulk_remind"),
    path("cycles/<int:pk>/recompute/", cycle_recompute, name="cycle_recompute"),
    path("recomputes/<int:pk>/", recompute_status, name="recompute_status"),
]
