"""Calibration sessions: the list, opening one (HR), the session page with its
distribution, nine-box grid, reviewer panel and suggestions table, and the actions
on it (close; accept one suggestion or all; set a calibrated score by hand or by a
nine-box move; remove an adjustment).

Access: ``selectors.calibration.get_session_for`` (HR admins and the session's
participants; 404 for everyone else and for another organisation's session; HR-only
actions 403 to other roles before the lookup), then for one person
``get_session_appraisal_for`` (404 when the session does not show them to the
caller, 403 when the caller may not adjust them). Every action answers with a
redirect to the session page and a message; a refused form is shown again (400).
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appraisals.calibration_forms import (
    CalibrationMoveForm,
    CalibrationRemoveForm,
    CalibrationSessionForm,
)
from appraisals.models import Appraisal, CalibrationSession
from appraisals.selectors import calibration
from appraisals.selectors.calibration_grid import PERFORMANCE
from appraisals.selectors.calibration_scope import Viewer, may_adjust_in
from appraisals.services import calibration as services
from organizations.errors import DomainError
from organizations.http import TenantRequest, apply_service, form_response
from organizations.permissions import Access, require_hr_admin

LIST_PAGE_SIZE = 25


def _back(
    request: TenantRequest, session: CalibrationSession, anchor: str = ""
) -> HttpResponse:
    url = reverse(
        "appraisals:calibration_session", args=[request.organization.slug, session.pk]
    )
    return redirect(f"{url}#{anchor}" if anchor else url)


@require_GET
def calibration_sessions(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The calibration sessions the member may open: all for HR admins (with "Open a
    session"), the ones they take part in for managers."""
    sessions = calibration.sessions_for(Access(request.membership), request.employee)
    page = Paginator(sessions, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "appraisals/calibration/list.html",
        {
            "page_obj": page,
            "rows": calibration.session_rows(list(page.object_list)),
            "can_open": request.membership.is_hr_admin,
        },
    )


@require_http_methods(["GET", "POST"])
def calibration_session_new(request: TenantRequest, org_slug: str) -> HttpResponse:
    """HR opens a session: cycle in review, name, scope, participants."""
    require_hr_admin(request.membership)
    form = CalibrationSessionForm(
        request.POST or None,
        membership=request.membership,
        cycles=calibration.review_cycles(),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        outcome = apply_service(
            form,
            lambda: services.open_session(
                actor=request.membership,
                cycle=data["cycle"],
                name=data["name"],
                scope=data["scope"],
                business_units=list(data["business_units"]),
                job_titles=list(data["job_titles"]),
                manager=data["manager"],
                participants=list(data["participants"]),
            ),
        )
        if outcome.ok and outcome.value is not None:
            messages.success(
                request,
                _(
                    "Session opened. Review the reviewer panel and the suggestions, "
                    "then close the session when the scores are agreed."
                ),
            )
            return _back(request, outcome.value)
    return form_response(request, "appraisals/calibration/new.html", {"form": form})


@require_GET
def calibration_session(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The session page: header, distribution, nine-box grid, reviewer panel and
    suggestions table (``selectors.calibration.session_page``)."""
    session, viewer, settings = calibration.get_session_for(request, pk)
    page = calibration.session_page(
        session,
        viewer,
        settings,
        page=request.GET.get("page"),
        all_reviewers=request.GET.get("reviewers") == "all",
    )
    return render(
        request,
        "appraisals/calibration/session.html",
        {
            "page": page,
            "session": session,
            "cycle": session.cycle,
            "is_hr": viewer.is_hr,
            "can_close": viewer.is_hr and session.is_open,
        },
    )


@require_POST
def calibration_close(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """HR closes the session."""
    session, _viewer, _settings = calibration.get_session_for(request, pk, hr_only=True)
    try:
        services.close_session(actor=request.membership, session=session)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "Session closed. The appraisals it covers can be finalised from the "
                "cycle's progress page."
            ),
        )
    return _back(request, session)


def _adjusting(
    request: TenantRequest, pk: int, appraisal_pk: int
) -> tuple[CalibrationSession, Viewer, calibration.SessionSettings, Appraisal]:
    session, viewer, settings = calibration.get_session_for(request, pk)
    appraisal = calibration.get_session_appraisal_for(
        request, session, viewer, appraisal_pk
    )
    return session, viewer, settings, appraisal


@require_POST
def calibration_accept(
    request: TenantRequest, org_slug: str, pk: int, appraisal_pk: int
) -> HttpResponse:
    """Accept the suggestion for one person."""
    session, _viewer, _settings, appraisal = _adjusting(request, pk, appraisal_pk)
    try:
        services.accept_suggestion(
            actor=request.membership, session=session, appraisal=appraisal
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Suggestion accepted for %(name)s.") % {"name": appraisal.employee},
        )
    return _back(request, session, "suggestions")


@require_POST
def calibration_accept_all(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Accept every non-zero suggestion of the people the caller may adjust."""
    session, viewer, _settings = calibration.get_session_for(request, pk)
    if not may_adjust_in(session, viewer):
        messages.error(
            request,
            _("This session is closed or its cycle is not in review; nothing changed."),
        )
        return _back(request, session, "suggestions")
    try:
        done = services.accept_all(actor=request.membership, session=session)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if done:
            messages.success(
                request,
                ngettext(
                    "%(n)s suggestion accepted.", "%(n)s suggestions accepted.", done
                )
                % {"n": done},
            )
        else:
            messages.info(request, _("No suggestion was waiting; nothing changed."))
    return _back(request, session, "suggestions")


@require_http_methods(["GET", "POST"])
def calibration_move(
    request: TenantRequest, org_slug: str, pk: int, appraisal_pk: int
) -> HttpResponse:
    """Set one person's calibrated final score by hand: from the suggestions table,
    or from a nine-box move (``box``: the target performance third, whose middle is
    offered as the score). An HTMX request (a drop on the grid) gets the form alone,
    to show beside the grid; its submit is an ordinary POST."""
    session, _viewer, _settings, appraisal = _adjusting(request, pk, appraisal_pk)
    scale = calibration.cycle_scale(session.cycle)
    smin = scale.smin if scale is not None else None
    smax = scale.smax if scale is not None else None
    box = request.GET.get("box", "")
    initial: dict[str, object] = {}
    if scale is not None and box in PERFORMANCE:
        initial = {"box": box, "calibrated_final": scale.middle_of(box)}
    elif appraisal.calibrated_score is not None:
        initial = {"calibrated_final": appraisal.calibrated_score}
    form = CalibrationMoveForm(
        request.POST or None, initial=initial, smin=smin, smax=smax
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        target: Decimal = data["calibrated_final"]
        outcome = apply_service(
            form,
            lambda: services.set_adjustment(
                actor=request.membership,
                session=session,
                appraisal=appraisal,
                calibrated_final=target,
                reason=data["reason"],
                source="nine_box" if data["box"] else "form",
                box=data["box"],
            ),
        )
        if outcome.ok:
            messages.success(
                request,
                _("Calibrated score of %(name)s set to %(score)s.")
                % {"name": appraisal.employee, "score": target},
            )
            return _back(request, session, "ninebox" if data["box"] else "suggestions")
    return form_response(
        request,
        "appraisals/calibration/move.html",
        partial="appraisals/calibration/partials/move_form.html",
        context={
            "form": form,
            "session": session,
            "appraisal": appraisal,
            "box": box if box in PERFORMANCE else "",
            "boxes": PERFORMANCE if scale is not None else (),
        },
    )


@require_POST
def calibration_remove(
    request: TenantRequest, org_slug: str, pk: int, appraisal_pk: int
) -> HttpResponse:
    """Remove the adjustment in force, with a reason; refused input shows the form
    again (400) with nothing changed."""
    session, _viewer, _settings, appraisal = _adjusting(request, pk, appraisal_pk)
    form = CalibrationRemoveForm(request.POST)
    if form.is_valid():
        outcome = apply_service(
            form,
            lambda: services.remove_adjustment(
                actor=request.membership,
                appraisal=appraisal,
                reason=form.cleaned_data["reason"],
                session=session,
            ),
        )
        if outcome.ok:
            messages.success(
                request,
                _("Adjustment of %(name)s removed; the computed final applies again.")
                % {"name": appraisal.employee},
            )
            return _back(request, session, "suggestions")
    return form_response(
        request,
        "appraisals/calibration/remove.html",
        {"form": form, "session": session, "appraisal": appraisal},
    )


urlpatterns = [
    path("calibration/", calibration_sessions, name="calibration_sessions"),
    path("calibration/new/", calibration_session_new, name="calibration_session_new"),
    path("calibration/<int:pk>/", calibration_session, name="calibration_session"),
    path("calibration/<int:pk>/close/", calibration_close, name="calibration_close"),
    path(
        "calibration/<int:pk>/accept-all/",
        calibration_accept_all,
        name="calibration_accept_all",
    ),
    path(
        "calibration/<int:pk>/people/<int:appraisal_pk>/accept/",
        calibration_accept,
        name="calibration_accept",
    ),
    path(
        "calibration/<int:pk>/people/<int:appraisal_pk>/move/",
        calibration_move,
        name="calibration_move",
    ),
    path(
        "calibration/<int:pk>/people/<int:appraisal_pk>/remove/",
        calibration_remove,
        name="calibration_remove",
    ),
]
