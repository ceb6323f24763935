"""HR's cycle progress page, its bulk actions and the score recomputation.

The page shows the cycle's counts (read from the tallies that triggers keep), the
engagements with the most open work, and one of two filtered, paginated lists, each
at its own URL: the appraisals, or the review evaluations not approved yet. Each
list has one bulk action that acts on every row its filters select, not on ticked
rows: the form posts the filters back with the number of rows the button showed
(``services.bulk``). A refused action gets the page again with the message beside
the button and status 400, and nothing changes.

Access: ``engagements.selectors.access.get_cycle_for`` (HR admins; 403 for other
roles before the lookup, 404 for another organisation's cycle).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.forms import BaseForm
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from appraisals.filters import READY, AppraisalProgressFilter, EvaluationProgressFilter
from appraisals.forms import BulkFinaliseForm, BulkRemindForm
from appraisals.selectors import progress
from appraisals.selectors.access import get_recompute_for
from appraisals.services.bulk import BulkOutcome, finalise_matching, remind_matching
from appraisals.services.recompute import start_cycle_recompute
from appraisals.tallies import refresh_without_triggers
from engagements.models import ReviewCycle
from engagements.selectors.access import get_cycle_for
from organizations.errors import DomainError
from organizations.http import TenantRequest, apply_service, is_htmx

PAGE_SIZE = 50
# The two lists, by the name of their URL.
APPRAISALS, EVALUATIONS = "cycle_progress", "cycle_progress_evaluations"
# Filters both lists share: switching lists keeps them.
SHARED_FILTERS = ("q", "business_unit", "engagement", "reviewer")

ProgressFilter = AppraisalProgressFilter | EvaluationProgressFilter


def _filter(
    tab: str, data: QueryDict | None, cycle: ReviewCycle, request: TenantRequest
) -> ProgressFilter:
    """The list's filters bound to ``data`` (the query string, or a bulk action's
    POST). Building it runs no query."""
    today = timezone.localdate()
    if tab == EVALUATIONS:
        return EvaluationProgressFilter(
            data,
            queryset=progress.open_evaluations(cycle),
            request=request,
            cycle=cycle,
            today=today,
        )
    return AppraisalProgressFilter(
        data,
        queryset=progress.cycle_appraisals(cycle),
        request=request,
        cycle=cycle,
        today=today,
    )


def _query(filterset: ProgressFilter, names: tuple[str, ...] | None = None) -> str:
    """The filters' values as a query string (only ``names`` if given)."""
    query = QueryDict(mutable=True)
    data = filterset.data or {}
    for name in filterset.filters:
        if (names is None or name in names) and data.get(name):
            query[name] = data[name]
    return query.urlencode()


def _is_valid(filterset: ProgressFilter) -> bool:
    """No filter, or filters that all name something of this cycle."""
    return not filterset.is_bound or filterset.is_valid()


def _list_url(request: TenantRequest, tab: str, cycle: ReviewCycle) -> str:
    return reverse(f"appraisals:{tab}", args=[request.organization.slug, cycle.pk])


def _page(
    request: TenantRequest,
    cycle: ReviewCycle,
    *,
    tab: str,
    data: QueryDict | None,
    form: BaseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The page with the list ``tab``, filtered by ``data``, and its bulk action
    (``form`` when it was refused). A fixed number of queries: the gate's, two for
    the counts, the engagements, the last recomputation, three filters' choices, the
    list's page, and when filtered the list's count and, for appraisals, their ready
    count (unfiltered, both come from the counts; filtered to the ready ones, they
    are the same number)."""
    refresh_without_triggers()  # SQLite: no triggers keep the tallies
    today = timezone.localdate()
    summary = progress.cycle_summary(cycle, today)
    filterset = _filter(tab, data, cycle, request)
    valid = _is_valid(filterset)
    rows = filterset.qs if valid else filterset.queryset.none()
    query = _query(filterset)
    paginator = Paginator(rows, PAGE_SIZE)
    if valid and not query:
        # Unfiltered, the list is the whole cycle: its total is in the summary.
        paginator.count = (
            summary.waiting if tab == EVALUATIONS else summary.appraisals_total
        )
    page = paginator.get_page(request.GET.get("page"))
    if tab == EVALUATIONS or (valid and filterset.data.get("status") == READY):
        # Every row listed is one the action acts on: the list's own total.
        count = page.paginator.count
    elif not valid:
        count = 0
    else:
        count = progress.ready_count(rows) if query else summary.ready
    shared = _query(filterset, SHARED_FILTERS)
    return render(
        request,
        "appraisals/cycle/progress.html",
        {
            "cycle": cycle,
            "today": today,
            "tab": tab,
            "summary": summary,
            "engagements": progress.busiest_engagements(cycle, today),
            "run": progress.latest_recompute(cycle),
            "filter": filterset,
            "page_obj": page,
            "rows": list(page.object_list),
            "bulk_count": count,
            "bulk_errors": [
                *form.non_field_errors(),
                *form.errors.get("expected", []),
            ]
            if form is not None
            else [],
            "bulk_fields": [f for f in filterset.form if f.value()],
            "query_string": query,
            "appraisals_url": _list_url(request, APPRAISALS, cycle),
            "evaluations_url": _list_url(request, EVALUATIONS, cycle),
            "shared_query": shared,
            "reset_url": _list_url(request, tab, cycle),
        },
        status=status,
    )


@require_GET
def cycle_progress(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The cycle's counts, its busiest engagements, the score recomputation and its
    appraisals, filtered, with "finalise every ready one"."""
    cycle = get_cycle_for(request, pk)
    return _page(request, cycle, tab=APPRAISALS, data=request.GET or None)


@require_GET
def cycle_progress_evaluations(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """The same page with the review evaluations not approved yet (overdue first),
    filtered, with "remind about every one"."""
    cycle = get_cycle_for(request, pk)
    return _page(request, cycle, tab=EVALUATIONS, data=request.GET or None)


def _bulk(
    request: TenantRequest,
    cycle: ReviewCycle,
    *,
    tab: str,
    form: BaseForm,
    act: Callable[[ProgressFilter, int], BulkOutcome],
    report: Callable[[BulkOutcome], str],
) -> HttpResponse:
    """Run a bulk action on the rows the posted filters select; back to the list
    with a message, or the page again (400) with the refusal beside the button."""
    refresh_without_triggers()  # SQLite: no triggers keep the tallies
    filterset = _filter(tab, request.POST, cycle, request)
    if form.is_valid():
        if not _is_valid(filterset):
            form.add_error(
                None,
                _(
                    "These filters are not valid any more, so nothing was done. "
                    "Reset the filters and try again."
                ),
            )
        else:
            outcome = apply_service(
                form, lambda: act(filterset, form.cleaned_data["expected"])
            )
            if outcome.ok and outcome.value is not None:
                done = outcome.value
                text = " ".join(filter(None, [report(done), done.skipped_text()]))
                if done.done:
                    messages.success(request, text)
                else:
                    messages.warning(request, text)
                query = _query(filterset)
                url = _list_url(request, tab, cycle)
                return redirect(f"{url}?{query}" if query else url)
    return _page(request, cycle, tab=tab, data=request.POST, form=form, status=400)


@require_POST
def bulk_finalise(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Finalise every ready appraisal the posted filters select, as many as the
    button said; the rows that may not be finalised are reported, not changed."""
    cycle = get_cycle_for(request, pk)

    def act(filterset: ProgressFilter, expected: int) -> BulkOutcome:
        return finalise_matching(
            actor=request.membership,
            cycle=cycle,
            appraisals=progress.ready(filterset.qs),
            expected=expected,
        )

    def report(outcome: BulkOutcome) -> str:
        if not outcome.done:
            return _("Nothing was finalised.")
        return ngettext(
            "%(n)s appraisal finalised; the employee was e-mailed.",
            "%(n)s appraisals finalised; each employee was e-mailed.",
            outcome.done,
        ) % {"n": outcome.done}

    return _bulk(
        request,
        cycle,
        tab=APPRAISALS,
        form=BulkFinaliseForm(request.POST),
        act=act,
        report=report,
    )


@require_POST
def bulk_remind(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """E-mail the reviewers (draft, returned) or approvers (submitted) of every
    evaluation the posted filters select, at most once a day each."""
    cycle = get_cycle_for(request, pk)

    def act(filterset: ProgressFilter, expected: int) -> BulkOutcome:
        return remind_matching(
            actor=request.membership,
            cycle=cycle,
            evaluations=filterset.qs,
            expected=expected,
        )

    def report(outcome: BulkOutcome) -> str:
        if not outcome.done:
            return _("No reminder was sent.")
        return (
            ngettext(
                "%(n)s reminder queued about %(evaluations)s evaluation.",
                "%(n)s reminders queued about %(evaluations)s evaluations.",
                outcome.sent,
            )
            % {"n": outcome.sent, "evaluations": outcome.done}
            + " "
            + _(
                "People already reminded today about an evaluation are not e-mailed "
                "again."
            )
        )

    return _bulk(
        request,
        cycle,
        tab=EVALUATIONS,
        form=BulkRemindForm(request.POST),
        act=act,
        report=report,
    )


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
    path("cycles/<int:pk>/appraisals/", cycle_progress, name="cycle_progress"),
    path(
        "cycles/<int:pk>/appraisals/evaluations/",
        cycle_progress_evaluations,
        name="cycle_progress_evaluations",
    ),
    path("cycles/<int:pk>/appraisals/finalise/", bulk_finalise, name="bulk_finalise"),
    path("cycles/<int:pk>/appraisals/remind/", bulk_remind, name="bulk_remind"),
    path("cycles/<int:pk>/recompute/", cycle_recompute, name="cycle_recompute"),
    path("recomputes/<int:pk>/", recompute_status, name="recompute_status"),
]
