"""Evaluations: the queues, the evaluation form, approval decisions, reviewer
assignment, the appraisal settings and early evaluation.

Every view on one evaluation asks the gate ``selectors.get_evaluation_for`` (404 when
not visible, 403 when the action is not the caller's); HR-only views refuse other
roles before any lookup. Writes go through ``appraisals.services``. A full-page form
with errors answers 400 with the messages beside the fields; nothing is saved.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appraisals import permissions, selectors, services
from appraisals.enums import ApprovalCapacity, EvaluationKind, EvaluationStatus
from appraisals.forms import (
    AssignReviewerForm,
    BandFormSet,
    DecisionForm,
    EvaluationForm,
    SettingsForm,
)
from appraisals.models import Evaluation
from appraisals.selectors import EvaluationAccess
from engagements.enums import CycleStatus
from engagements.models import ReviewCycle
from engagements.selectors import default_scale, get_cycle_for, get_plan_for
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Membership
from organizations.permissions import role_required

# The timeline shows the latest changes; older ones stay in the history tables.
HISTORY_LIMIT = 100
FEEDBACK_LIMIT = 50


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _own_employee(request: HttpRequest) -> Any:
    return lambda: request.employee  # type: ignore[attr-defined]


def _detail_url(org_slug: str, pk: int) -> str:
    return reverse("appraisals:evaluation_detail", args=[org_slug, pk])


# --- Queues --------------------------------------------------------------------------------


@require_GET
def queue(request: HttpRequest, org_slug: str) -> HttpResponse:
    """ "To write" and "To approve" tabs (and, for HR, evaluations needing a reviewer)."""
    tab = "approve" if request.GET.get("tab") == "approve" else "write"
    found = selectors.evaluation_queue(_membership(request), _own_employee(request))
    return render(
        request,
        "appraisals/evaluations/queue.html",
        {"queue": found, "tab": tab, "today": timezone.localdate()},
    )


@require_GET
def queue_summary(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The home page section's content, loaded lazily: counts and the first few."""
    found = selectors.evaluation_queue(_membership(request), _own_employee(request))
    return render(
        request,
        "appraisals/evaluations/queue_summary.html",
        {"queue": found, "today": timezone.localdate()},
    )


# --- The evaluation page -------------------------------------------------------------------


def _page(
    request: HttpRequest,
    access: EvaluationAccess,
    *,
    form: EvaluationForm | None = None,
    approve_form: DecisionForm | None = None,
    return_form: DecisionForm | None = None,
    assign_form: AssignReviewerForm | None = None,
    conflict: bool = False,
    status: int = 200,
) -> HttpResponse:
    evaluation = access.evaluation
    sheet = selectors.evaluation_sheet(access)
    editable = access.editable
    if editable:
        form = form or EvaluationForm(evaluation=evaluation, sheet=sheet)
        form.bind_rows(sheet)
    if access.can_assign and assign_form is None:
        assign_form = AssignReviewerForm(
            evaluation=evaluation, initial={"reviewer": evaluation.reviewer_id}
        )
    context = {
        "evaluation": evaluation,
        "access": access,
        "plan": evaluation.plan,
        "sheet": sheet,
        "form": form if editable else None,
        "editable": editable,
        "conflict": conflict,
        "is_review": evaluation.kind == EvaluationKind.REVIEW,
        "approve_form": approve_form or DecisionForm(prefix="approve"),
        "return_form": return_form or DecisionForm(prefix="return", required=True),
        "assign_form": assign_form if access.can_assign else None,
        "approvals": _approval_status(access),
        "overdue": selectors.is_overdue(evaluation),
        "status_help": _status_help(access),
    }
    return render(request, "appraisals/evaluations/detail.html", context, status=status)


def _approval_status(access: EvaluationAccess) -> list[dict[str, Any]]:
    """One line per required capacity: who may approve, and who did (this round)."""
    authority = access.authority
    review = access.review
    if authority is None or review is None or access.evaluation is not review:
        return []
    by_id = {a.approver_id: a.approver for a in access.approvals}
    lines = []
    for capacity in authority.required:
        approver_id = access.approved.get(capacity)
        if capacity == permissions.LINE_MANAGER:
            names = [authority.line_manager.full_name] if authority.line_manager else []
        elif authority.hr_fallback:
            names = [_("an HR admin (nobody else qualifies)")]
        else:
            names = [p.full_name for p in authority.approvers]
        lines.append(
            {
                "label": ApprovalCapacity(capacity).label,
                "names": names,
                "done_by": by_id[approver_id].full_name if approver_id else "",
            }
        )
    return lines


def _status_help(access: EvaluationAccess) -> str:
    evaluation = access.evaluation
    if evaluation.kind == EvaluationKind.SELF:
        if evaluation.status == EvaluationStatus.DRAFT:
            return _(
                "Only you see this self-assessment until you share it with your "
                "reviewer. It is never part of your score."
            )
        return _("Shared with the reviewer. It is never part of the score.")
    if evaluation.reviewer_id is None:
        return _("This evaluation needs a reviewer: HR assigns one.")
    return {
        EvaluationStatus.DRAFT: _(
            "Draft: save as often as you like; submit when every item is rated or N/A."
        ),
        EvaluationStatus.SUBMITTED: _("Submitted: waiting for approval."),
        EvaluationStatus.APPROVED: _("Approved: it counts towards the appraisal."),
        EvaluationStatus.RETURNED: _(
            "Returned to the reviewer: change it and submit it again."
        ),
    }[EvaluationStatus(evaluation.status)]


@require_http_methods(["GET", "POST"])
def evaluation_detail(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """The evaluation: the form for its writer, read-only for others who may see it.

    POST (the writer only) saves a draft or, with ``action=submit``, submits.
    """
    perm = "write" if request.method == "POST" else "view"
    evaluation, access = selectors.get_evaluation_for(request, pk, perm=perm)
    if request.method == "GET":
        return _page(request, access)
    if not access.editable:
        messages.error(
            request,
            _("This evaluation is %(status)s and cannot change any more.")
            % {"status": evaluation.get_status_display().lower()},
        )
        return redirect(_detail_url(org_slug, pk))
    sheet = selectors.evaluation_sheet(access)
    form = EvaluationForm(request.POST, evaluation=evaluation, sheet=sheet)
    if not form.is_valid():
        return _page(request, access, form=form, status=400)
    submit = request.POST.get("action") == "submit"
    arguments = {
        "actor": _membership(request),
        "evaluation": evaluation,
        "version": form.cleaned_data["version"],
        "goal_ratings": form.goal_ratings(),
        "competency_ratings": form.competency_ratings(),
        "comments": form.cleaned_data["comments"],
    }
    try:
        if submit:
            services.submit_evaluation(**arguments)
        else:
            services.save_evaluation(**arguments)
    except services.EvaluationConflict as exc:
        form.add_error(None, exc.message)
        data = request.POST.copy()
        data["version"] = str(exc.current_version)
        form.data = data
        return _page(request, access, form=form, conflict=True, status=400)
    except services.EvaluationIncomplete as exc:
        form.add_error(None, exc.message)
        for name, message in exc.errors.items():
            form.add_error(name if name in form.fields else None, message)
        return _page(request, access, form=form, status=400)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _page(request, access, form=form, status=400)
    messages.success(request, _success_message(evaluation, submit))
    return redirect(_detail_url(org_slug, pk))


def _success_message(evaluation: Evaluation, submitted: bool) -> str:
    if not submitted:
        return _("Draft saved. Nobody else sees changes until you submit.")
    if evaluation.kind == EvaluationKind.SELF:
        return _("Your self-assessment is shared with your reviewer.")
    return _("Submitted. The approvers have been told by e-mail.")


@require_GET
def evaluation_feedback(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Feedback the caller may read about the employee, received during the plan's
    engagement (general feedback for a general plan): loaded beside the form."""
    from feedback.selectors import feedback_about

    evaluation, _access = selectors.get_evaluation_for(request, pk)
    engagement_id = evaluation.plan.engagement_id
    items = feedback_about(
        _membership(request), evaluation.employee_id, engagement_id=engagement_id
    )
    if engagement_id is None:
        # A general plan: the general feedback only, not every engagement's.
        items = items.filter(engagement__isnull=True)
    return render(
        request,
        "appraisals/evaluations/feedback.html",
        {
            "evaluation": evaluation,
            "items": list(items[:FEEDBACK_LIMIT]),
            "limit": FEEDBACK_LIMIT,
        },
    )


@require_GET
def evaluation_history(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """The evaluation's timeline: ratings, comments, submissions and decisions."""
    evaluation, _access = selectors.get_evaluation_for(request, pk)
    return render(
        request,
        "appraisals/evaluations/history.html",
        {
            "timeline": selectors.evaluation_history(evaluation)[:HISTORY_LIMIT],
            "history_limit": HISTORY_LIMIT,
        },
    )


# --- Decisions -----------------------------------------------------------------------------


@require_POST
def evaluation_approve(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Approve the current submission (its approvers). Only the decision and its
    comment are read from the request; ratings never change here."""
    evaluation, access = selectors.get_evaluation_for(request, pk, perm="approve")
    form = DecisionForm(request.POST, prefix="approve")
    if not form.is_valid():
        return _page(request, access, approve_form=form, status=400)
    try:
        done = services.approve_evaluation(
            actor=_membership(request),
            evaluation=evaluation,
            comment=form.cleaned_data["comment"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if done.status == EvaluationStatus.APPROVED:
            messages.success(request, _("Approved. The evaluation now counts."))
        else:
            messages.success(
                request, _("Your approval is recorded; the other approval is pending.")
            )
    return redirect(_detail_url(org_slug, pk))


@require_POST
def evaluation_return(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Return the submission to the reviewer with a comment (required)."""
    evaluation, access = selectors.get_evaluation_for(request, pk, perm="approve")
    form = DecisionForm(request.POST, prefix="return", required=True)
    if not form.is_valid():
        return _page(request, access, return_form=form, status=400)
    try:
        services.return_evaluation(
            actor=_membership(request),
            evaluation=evaluation,
            comment=form.cleaned_data["comment"],
        )
    except DomainError as exc:
        if exc.field == "comment":
            form.add_error("comment", exc.message)
            return _page(request, access, return_form=form, status=400)
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Returned to the reviewer, who has been told by e-mail.")
        )
    return redirect(_detail_url(org_slug, pk))


@require_POST
@role_required(Role.HR_ADMIN)
def evaluation_assign(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """HR names the reviewer of an evaluation still to write."""
    evaluation, access = selectors.get_evaluation_for(request, pk, perm="assign")
    form = AssignReviewerForm(request.POST, evaluation=evaluation)
    if form.is_valid():
        try:
            services.assign_reviewer(
                actor=_membership(request),
                evaluation=evaluation,
                reviewer=form.cleaned_data["reviewer"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("%(name)s now reviews this evaluation and has been told by e-mail.")
                % {"name": form.cleaned_data["reviewer"].full_name},
            )
            return redirect(_detail_url(org_slug, pk))
    return _page(request, access, assign_form=form, status=400)


# --- HR: settings and early evaluation ------------------------------------------------------


def _band_formset(data: Any = None) -> Any:
    scale = default_scale()
    points = scale.points() if scale is not None else []
    initial = [
        {"min_attainment": start, "rating": rating}
        for start, rating in selectors.attainment_bands()
    ]
    return BandFormSet(
        data, initial=initial, prefix="bands", form_kwargs={"points": points}
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.HR_ADMIN)
def appraisal_settings(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Dual approval, days to write an evaluation and the attainment bands (HR)."""
    current = selectors.current_settings()
    form = SettingsForm(request.POST or None, instance=current)
    bands = _band_formset(request.POST or None)
    if request.method == "POST" and form.is_valid() and bands.is_valid():
        try:
            services.update_settings(
                actor=_membership(request),
                dual_approval=form.cleaned_data["dual_approval"],
                evaluation_days=form.cleaned_data["evaluation_days"],
                bands=bands.bands(),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The appraisal settings were saved."))
            return redirect("appraisals:settings", org_slug)
    early_cycles = ReviewCycle.objects.filter(
        status=CycleStatus.IN_PROGRESS, allow_early_evaluation=True
    ).order_by("-start_date")
    return render(
        request,
        "appraisals/evaluations/settings.html",
        {"form": form, "bands": bands, "early_cycles": list(early_cycles)},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def open_early(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Open evaluations now for plans whose engagement or end date has passed (HR)."""
    cycle = get_cycle_for(request, pk)
    try:
        created = services.open_early_evaluations(
            cycle=cycle, actor=_membership(request)
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            messages.success(
                request,
                _("%(n)s evaluations opened early in %(cycle)s.")
                % {"n": created, "cycle": cycle.name},
            )
        else:
            messages.info(
                request,
                _("No plan in %(cycle)s has ended without an evaluation.")
                % {"cycle": cycle.name},
            )
    return redirect("appraisals:settings", org_slug)


# --- The plan page's card ------------------------------------------------------------------


@require_GET
def plan_evaluations(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """The plan's evaluations the caller may see (the plan page loads it lazily)."""
    plan, _access = get_plan_for(request, pk)
    rows = selectors.plan_evaluations(_membership(request), plan)
    return render(
        request,
        "appraisals/evaluations/plan_evaluations.html",
        {"plan": plan, "evaluations": rows},
    )


urlpatterns = [
    path("evaluations/", queue, name="queue"),
    path("evaluations/summary/", queue_summary, name="queue_summary"),
    path("evaluations/<int:pk>/", evaluation_detail, name="evaluation_detail"),
    path(
        "evaluations/<int:pk>/feedback/",
        evaluation_feedback,
        name="evaluation_feedback",
    ),
    path(
        "evaluations/<int:pk>/history/", evaluation_history, name="evaluation_history"
    ),
    path(
        "evaluations/<int:pk>/approve/", evaluation_approve, name="evaluation_approve"
    ),
    path("evaluations/<int:pk>/return/", evaluation_return, name="evaluation_return"),
    path("evaluations/<int:pk>/assign/", evaluation_assign, name="evaluation_assign"),
    path("appraisal-settings/", appraisal_settings, name="settings"),
    path("cycles/<int:pk>/open-early/", open_early, name="open_early"),
    path("plans/<int:pk>/evaluations/", plan_evaluations, name="plan_evaluations"),
]
