"""Appraisal pages: the member's appraisals, the score explanation, acknowledgement,
finalisation and reopening (HR's cycle progress page is ``views.progress``'s).

Access: ``selectors.access.get_appraisal_for`` for one appraisal (404 when not visible,
403 when the action is refused); HR-only pages check the role before any lookup. The
forms are plain posts (no HTMX): a refused one gets the page again with the message
beside the field and status 400, and nothing changes. Only the home section uses
HTMX.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from appraisals.enums import (
    FINAL_STATUSES,
    AppraisalStatus,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.explanation import signed
from appraisals.forms import (
    AcknowledgeForm,
    ReopenForm,
)
from appraisals.models import Appraisal
from appraisals.selectors import appraisals as pages
from appraisals.selectors.access import (
    PERSON_EVALUATIONS_SHOWN,
    AppraisalAccess,
    get_appraisal_for,
    may_open_evaluation,
    person_evaluations,
    sees_scores,
)
from appraisals.services.appraisals import (
    acknowledge_appraisal,
    finalise_appraisal,
    reopen_appraisal,
)
from organizations.errors import DomainError
from organizations.http import TenantRequest, is_htmx, page_or_partial
from organizations.selectors import get_employee_for

# --- The member's appraisals ----------------------------------------------------------


@require_GET
def my_appraisals(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The member's own appraisals and, for line managers, their direct reports'."""
    found = pages.my_appraisals(request.membership)
    cycles = {
        row.appraisal.cycle_id: row.appraisal.cycle
        for row in [*found.own, *found.reports]
    }
    return render(
        request,
        "appraisals/appraisals/my_appraisals.html",
        {
            "own": found.own,
            "reports": found.reports,
            "final_statuses": FINAL_STATUSES,
            "bands": pages.score_bands(cycles.values()),
        },
    )


@require_GET
def employee_appraisals(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """A person's appraisals in every cycle with their scores' trend: a section of
    the person's page (HR, the person, their line manager; 404 for anyone else),
    each row through ``appraisals_visible_to`` and its scores through
    ``sees_scores``. The fragment for HTMX, else a page. Two queries."""
    employee = get_employee_for(request, pk)
    template = "appraisals/appraisals/person_appraisals.html"
    rows = pages.person_appraisals(request.membership, employee)
    context = {
        "employee": employee,
        "rows": rows,
        "bands": pages.score_bands({r.appraisal.cycle for r in rows}),
        "section_template": template,
        "section_title": _("Appraisals"),
    }
    return page_or_partial(
        request, "partials/person_section_page.html", template, context
    )


@require_GET
def employee_evaluations(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """The evaluations of a person's plans the viewer may see (self-assessments and
    reviews, every cycle): a section of the person's page (HR, the person, their line
    manager; 404 for anyone else). The fragment for HTMX, else a page. Four
    queries."""
    employee = get_employee_for(request, pk)
    template = "appraisals/evaluations/person_evaluations.html"
    rows = person_evaluations(request.membership, employee)
    context = {
        "employee": employee,
        "rows": rows,
        "capped": len(rows) >= PERSON_EVALUATIONS_SHOWN,
        "today": timezone.localdate(),
        "section_template": template,
        "section_title": _("Evaluations"),
    }
    return page_or_partial(
        request, "partials/person_section_page.html", template, context
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
    records = pages.appraisal_records(appraisal)
    adjustments = pages.appraisal_adjustments(appraisal, request.membership, records)
    calibration = pages.appraisal_calibration(
        appraisal,
        access,
        adjustments,
        membership=request.membership,
        employee=request.employee,
    )
    reviews = [e for e in evaluations if e.kind == EvaluationKind.REVIEW]
    ready = bool(reviews) and all(
        e.status == EvaluationStatus.APPROVED for e in reviews
    )
    can_manage = access.is_hr and not access.is_subject
    is_open = appraisal.status == AppraisalStatus.OPEN
    scores = pages.score_view(
        appraisal, access, evaluations, calibration_shown=calibration.shown
    )
    adjustment = calibration.adjustment
    slug = request.organization.slug
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
        "bands": pages.score_bands([appraisal.cycle]),
        "adjustment": adjustment,
        "adjustment_delta": signed(adjustment.delta) if adjustment else "",
        "session_url": _url_if_built(
            "appraisals:calibration_session", slug, adjustment.session_id
        )
        if adjustment is not None and calibration.opens_session
        else None,
        "remove_adjustment_url": _url_if_built(
            "appraisals:calibration_remove", slug, adjustment.session_id, appraisal.pk
        )
        if adjustment is not None and calibration.removable
        else None,
        "timeline": pages.appraisal_history(
            appraisal,
            records,
            show_scores=show_scores,
            is_subject=access.is_subject,
            adjustments=adjustments,
            calibration_shown=calibration.shown,
        ),
    }


def _url_if_built(name: str, slug: str, *pks: int | None) -> str | None:
    """The URL named ``name`` of the objects ``pks``, or None while the calibration
    pages that serve it are not installed (the appraisal page then offers no
    link)."""
    try:
        return reverse(name, args=[slug, *pks])
    except NoReverseMatch:
        return None


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


urlpatterns = [
    path("appraisals/", my_appraisals, name="my_appraisals"),
    path("appraisals/home/", home_appraisals, name="home_appraisals"),
    path(
        "people/<int:pk>/appraisals/",
        employee_appraisals,
        name="employee_appraisals",
    ),
    path(
        "people/<int:pk>/evaluations/",
        employee_evaluations,
        name="employee_evaluations",
    ),
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
]
