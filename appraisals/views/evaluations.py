"""Evaluations: the queues, the evaluation form, approval decisions, reviewer
assignment and the plan page's list of evaluations.

Every view on one evaluation asks the gate ``selectors.access.get_evaluation_for``
(404 when not visible, 403 when the action is not the caller's); HR-only views refuse
other roles before any lookup. Writes go through ``appraisals.services``. A full-page
form with errors answers 400 with the messages beside the fields; nothing is saved.
"""

from __future__ import annotations

from functools import cached_property
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appraisals.enums import EvaluationKind, EvaluationStatus
from appraisals.forms import (
    AssignReviewerForm,
    DecisionForm,
    EvaluationForm,
)
from appraisals.models import Evaluation
from appraisals.selectors.access import EvaluationAccess, get_evaluation_for
from appraisals.selectors.access import plan_evaluations as visible_plan_evaluations
from appraisals.selectors.evaluations import (
    approval_lines,
    evaluation_sheet,
    is_overdue,
    status_help,
    takes_potential,
)
from appraisals.selectors.evaluations import (
    evaluation_history as evaluation_timeline,
)
from appraisals.selectors.queues import ApprovableRows, Tab, evaluation_queue
from appraisals.services.evaluations import (
    approve_evaluation,
    assign_reviewer,
    return_evaluation,
    save_evaluation,
    submit_evaluation,
)
from engagements.selectors.access import get_plan_for
from feedback.selectors.feedback import feedback_about
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.http import Outcome, TenantRequest, apply_service, page_or_partial
from organizations.permissions import role_required

# The timeline shows the latest changes; older ones stay in the history tables.
HISTORY_LIMIT = 100
FEEDBACK_LIMIT = 50
QUEUE_PAGE_SIZE = 25
SUMMARY_SIZE = 5  # rows of each list on the home page


def _detail_url(org_slug: str, pk: int) -> str:
    return reverse("appraisals:evaluation_detail", args=[org_slug, pk])


# --- Queues --------------------------------------------------------------------------------


class CountedPaginator(Paginator):
    """A paginator given its total (counted with the other tabs in one aggregate)
    instead of counting again; only the shown page's rows are fetched."""

    def __init__(
        self, object_list: QuerySet[Evaluation] | ApprovableRows, total: int
    ) -> None:
        super().__init__(object_list, QUEUE_PAGE_SIZE)
        self.total = total

    @cached_property
    def count(self) -> int:
        return self.total


@require_GET
def queue(request: TenantRequest, org_slug: str) -> HttpResponse:
    """ "To write" and "To approve" tabs (and, for HR, "Needs a reviewer"), a page of
    rows at a time. Two queries besides the middleware's, whatever the numbers:
    the queue's counts and the page's rows."""
    found = evaluation_queue(request.membership)
    tabs = [Tab.WRITE, Tab.APPROVE]
    if request.membership.is_hr_admin:
        tabs.append(Tab.UNASSIGNED)
    asked = request.GET.get("tab", "")
    tab = Tab(asked) if asked in tabs else Tab.WRITE
    paginator = CountedPaginator(found.rows(tab), found.count(tab))
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "appraisals/evaluations/queue.html",
        {
            "queue": found,
            "tab": tab.value,
            "page_obj": page,
            "rows": list(page.object_list),
            "query_string": urlencode({"tab": tab.value}),
            "today": timezone.localdate(),
        },
    )


@require_GET
def queue_summary(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The home page section's content, loaded lazily: the counts and the first few
    of each list. Three queries besides the middleware's, whatever the numbers: the
    queue's counts and the first rows of two lists."""
    found = evaluation_queue(request.membership)
    return render(
        request,
        "appraisals/evaluations/queue_summary.html",
        {
            "queue": found,
            "to_write": list(found.rows(Tab.WRITE)[:SUMMARY_SIZE]),
            "to_approve": list(found.rows(Tab.APPROVE)[:SUMMARY_SIZE]),
            "today": timezone.localdate(),
        },
    )


# --- The evaluation page -------------------------------------------------------------------


def _page(
    request: TenantRequest,
    access: EvaluationAccess,
    *,
    form: EvaluationForm | None = None,
    approve_form: DecisionForm | None = None,
    return_form: DecisionForm | None = None,
    assign_form: AssignReviewerForm | None = None,
    conflict: bool = False,
    status: int = 200,
) -> HttpResponse:
    """The evaluation page: the sheet, the writer's form when it may still change,
    the decision forms and HR's reviewer form (each given one is shown as refused)."""
    evaluation = access.evaluation
    sheet = evaluation_sheet(access)
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
        "point_labels": sheet.point_labels,
        "form": form if editable else None,
        "editable": editable,
        "conflict": conflict,
        "is_review": evaluation.kind == EvaluationKind.REVIEW,
        "approve_form": approve_form or DecisionForm(prefix="approve"),
        "return_form": return_form or DecisionForm(prefix="return", required=True),
        "assign_form": assign_form if access.can_assign else None,
        "approvals": approval_lines(access),
        "overdue": is_overdue(evaluation),
        "status_help": status_help(evaluation),
        "takes_potential": takes_potential(evaluation),
    }
    return render(request, "appraisals/evaluations/detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
def evaluation_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The evaluation: the form for its writer, read-only for others who may see it.

    POST (the writer only) saves a draft or, with ``action=submit``, submits.
    """
    perm = "write" if request.method == "POST" else "view"
    evaluation, access = get_evaluation_for(request, pk, perm=perm)
    if request.method == "GET":
        return _page(request, access)
    if not access.editable:
        messages.error(request, _refused_message(evaluation))
        return redirect(_detail_url(org_slug, pk))
    sheet = evaluation_sheet(access)
    form = EvaluationForm(request.POST, evaluation=evaluation, sheet=sheet)
    if not form.is_valid():
        return _page(request, access, form=form, status=400)
    submit = request.POST.get("action") == "submit"
    outcome = _save_or_submit(request, evaluation, form, submit=submit)
    if not outcome.ok:
        return _page(request, access, form=form, conflict=outcome.conflict, status=400)
    messages.success(request, _success_message(evaluation, submit))
    return redirect(_detail_url(org_slug, pk))


def _save_or_submit(
    request: TenantRequest,
    evaluation: Evaluation,
    form: EvaluationForm,
    *,
    submit: bool,
) -> Outcome[Evaluation]:
    """Save the form's ratings as a draft, or submit them; a refusal lands on
    ``form`` (a stale version as a conflict, an incomplete one beside each item)."""
    service = submit_evaluation if submit else save_evaluation
    return apply_service(
        form,
        lambda: service(
            actor=request.membership,
            evaluation=evaluation,
            version=form.cleaned_data["version"],
            goal_ratings=form.goal_ratings(),
            competency_ratings=form.competency_ratings(),
            comments=form.cleaned_data["comments"],
            potential=form.potential(),
        ),
    )


def _refused_message(evaluation: Evaluation) -> str:
    return _("This evaluation is %(status)s and cannot change any more.") % {
        "status": evaluation.get_status_display().lower()
    }


def _success_message(evaluation: Evaluation, submitted: bool) -> str:
    if not submitted:
        return _("Draft saved. Nobody else sees changes until you submit.")
    if evaluation.kind == EvaluationKind.SELF:
        return _("Your self-assessment is shared with your reviewer.")
    return _("Submitted. The approvers have been told by e-mail.")


@require_GET
def evaluation_feedback(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Feedback the caller may read about the employee, received during the plan's
    engagement (general feedback for a general plan): loaded beside the form."""
    evaluation, _access = get_evaluation_for(request, pk)
    engagement_id = evaluation.plan.engagement_id
    items = feedback_about(
        request.membership, evaluation.employee_id, engagement_id=engagement_id
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
def evaluation_history(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The evaluation's timeline: ratings, comments, submissions and decisions. The
    partial for the detail page's "Show history" button (HTMX), a page of its own
    without JavaScript."""
    evaluation, _access = get_evaluation_for(request, pk)
    return page_or_partial(
        request,
        "appraisals/evaluations/history_page.html",
        "appraisals/evaluations/history.html",
        {
            "evaluation": evaluation,
            "timeline": evaluation_timeline(evaluation)[:HISTORY_LIMIT],
            "history_limit": HISTORY_LIMIT,
        },
    )


# --- Decisions -----------------------------------------------------------------------------


@require_POST
def evaluation_approve(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Approve the current submission (its approvers). Only the decision and its
    comment are read from the request; ratings never change here. A refusal is a
    message on the page, not a form error."""
    evaluation, access = get_evaluation_for(request, pk, perm="approve")
    form = DecisionForm(request.POST, prefix="approve")
    if not form.is_valid():
        return _page(request, access, approve_form=form, status=400)
    try:
        done = approve_evaluation(
            actor=request.membership,
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
def evaluation_return(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Return the submission to the reviewer with a comment (required). A refusal about
    the comment shows beside it (400); any other is a message on the page."""
    evaluation, access = get_evaluation_for(request, pk, perm="approve")
    form = DecisionForm(request.POST, prefix="return", required=True)
    if not form.is_valid():
        return _page(request, access, return_form=form, status=400)
    try:
        return_evaluation(
            actor=request.membership,
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
def evaluation_assign(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """HR names the reviewer of an evaluation still to write."""
    evaluation, access = get_evaluation_for(request, pk, perm="assign")
    form = AssignReviewerForm(request.POST, evaluation=evaluation)
    if form.is_valid():
        reviewer = form.cleaned_data["reviewer"]
        outcome = apply_service(
            form,
            lambda: assign_reviewer(
                actor=request.membership, evaluation=evaluation, reviewer=reviewer
            ),
        )
        if outcome.ok:
            messages.success(
                request,
                _("%(name)s now reviews this evaluation and has been told by e-mail.")
                % {"name": reviewer.full_name},
            )
            return redirect(_detail_url(org_slug, pk))
    return _page(request, access, assign_form=form, status=400)


# --- The plan page's card ------------------------------------------------------------------


@require_GET
def plan_evaluations(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The plan's evaluations the caller may see (the plan page loads it lazily)."""
    plan, _access = get_plan_for(request, pk)
    rows = visible_plan_evaluations(request.membership, plan)
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
    path("plans/<int:pk>/evaluations/", plan_evaluations, name="plan_evaluations"),
]
