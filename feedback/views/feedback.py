"""One piece of feedback (reading, editing, withdrawing it), "my feedback" and the
member's e-mail preferences.

Access: ``get_feedback_for`` for one piece of feedback (404 when not visible, 403 for
editing someone else's). Full-page forms with errors answer 400 with the form
re-rendered; nothing here is posted with HTMX.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from feedback.forms import FeedbackEditForm, FeedbackFilter, PreferencesForm
from feedback.permissions import Action, can
from feedback.selectors.access import (
    feedback_shared_with,
    feedback_written_by,
    get_feedback_for,
    team_feedback,
)
from feedback.selectors.feedback import (
    feed,
    feedback_history,
    goal_choices,
    mark_changeable,
)
from feedback.services.feedback import edit_feedback, withdraw_feedback
from organizations.errors import DomainError
from organizations.http import (
    TenantRequest,
    apply_service,
    form_response,
    remember_language,
    safe_next,
)
from organizations.permissions import Access

PAGE_SIZE = 20
TABS = ("about", "written", "team")


@require_GET
def detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """One piece of feedback; every version of it for its author, HR admins and the
    subject's line manager."""
    feedback = get_feedback_for(request, pk)
    mark_changeable(request.membership, [feedback])
    history = can(Access(request.membership), Action.VIEW_HISTORY, feedback)
    context = {
        "feedback": feedback,
        "show_history": history,
        "timeline": feedback_history(feedback) if history else [],
    }
    return render(request, "feedback/feedback/detail.html", context)


def edit(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Edit one's own feedback within its edit window (404 when not visible, 403 for
    someone else's); after the window the page explains why it is permanent."""
    feedback = get_feedback_for(request, pk, perm="edit")
    form = FeedbackEditForm(
        request.POST if request.method == "POST" else None,
        initial={
            "kind": feedback.kind,
            "body": feedback.body,
            "visibility": feedback.visibility,
            "goal": feedback.goal_id,
        },
        goals=goal_choices(feedback.engagement, [feedback.subject_id]),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        outcome = apply_service(
            form,
            lambda: edit_feedback(
                actor=request.membership,
                feedback=feedback,
                kind=data["kind"],
                body=data["body"],
                visibility=data["visibility"],
                goal=data["goal"],
            ),
        )
        if outcome.ok:
            messages.success(request, _("Your feedback was updated."))
            return redirect("feedback:detail", org_slug, feedback.pk)
    context = {"feedback": feedback, "form": form, "editable": feedback.is_editable()}
    return form_response(request, "feedback/feedback/edit.html", context)


@require_POST
def withdraw(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Withdraw one's own feedback within its edit window; after it, a message says
    why it stays and nothing changes."""
    feedback = get_feedback_for(request, pk, perm="edit")
    try:
        withdraw_feedback(actor=request.membership, feedback=feedback)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("feedback:detail", org_slug, feedback.pk)
    messages.success(
        request,
        _("Your feedback about %(name)s was withdrawn.")
        % {"name": feedback.subject.full_name},
    )
    target = safe_next(request, request.POST.get("next", ""))
    detail_url = reverse("feedback:detail", args=[org_slug, feedback.pk])
    if target and not target.startswith(detail_url):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(
        reverse("feedback:my_feedback", args=[org_slug]) + "?tab=written"
    )


def _query_string(request: TenantRequest) -> str:
    """The current tab and filters without the page number, for the pagination."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
def my_feedback(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Tabs: shared feedback about me, feedback I wrote and, for managers, reviewers,
    approvers and HR admins, everything they are entitled to read about others."""
    membership = request.membership
    team = team_feedback(membership)
    has_team = membership.is_hr_admin or team.exists()
    tab = request.GET.get("tab", "about")
    if tab not in TABS or (tab == "team" and not has_team):
        tab = "about"
    if tab == "team":
        base = team
    elif tab == "written":
        base = feedback_written_by(membership)
    else:
        base = feedback_shared_with(membership)
    filterset = FeedbackFilter(
        request.GET or None,
        queryset=base,
        request=request,
        with_person=tab == "team",
    )
    page = Paginator(feed(filterset.qs), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "tab": tab,
        "has_team": has_team,
        "filter": filterset,
        "page_obj": page,
        "rows": mark_changeable(membership, list(page.object_list)),
        "query_string": _query_string(request),
        "page_path": request.get_full_path(),
    }
    return render(request, "feedback/feedback/my_feedback.html", context)


def preferences(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The member picks their language and switches optional e-mails (feedback,
    reminders) and in-app notifications on or off."""
    user = request.membership.user
    form = PreferencesForm(
        request.POST or None,
        instance=user,
        organization_language=request.organization.language,
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        # The confirmation already in the language just chosen.
        with translation.override(user.language_in(request.organization)):
            if user.optional_emails:
                saved = _("Saved: you will get optional e-mails.")
            else:
                saved = _(
                    "Saved: no more optional e-mails. E-mails you need to act on "
                    "still arrive."
                )
        messages.success(request, saved)
        return remember_language(
            redirect("feedback:preferences", org_slug), user.language
        )
    employee = request.employee
    directory_email = employee.email if employee is not None else ""
    context = {
        "form": form,
        "login_email": user.email,
        # Shown only when it differs: e-mails never go to the directory address.
        "directory_email": directory_email
        if directory_email.lower() != user.email.lower()
        else "",
    }
    return form_response(request, "organizations/preferences.html", context)


urlpatterns: list[URLPattern] = [
    path("feedback/", my_feedback, name="my_feedback"),
    path("feedback/<int:pk>/", detail, name="detail"),
    path("feedback/<int:pk>/edit/", edit, name="edit"),
    path("feedback/<int:pk>/withdraw/", withdraw, name="withdraw"),
    path("preferences/", preferences, name="preferences"),
]
