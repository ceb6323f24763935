"""Feedback: the feeds on the engagement, plan and person pages, giving, editing and
withdrawing feedback, "my feedback" and the member's e-mail preferences.

Access is checked in one place per view: the engagement, plan and employee gates of
their apps (404 when the page's object is not visible) and ``get_feedback_for`` for
one piece of feedback (404 when not visible, 403 for editing someone else's). Who
may write about whom is ``feedback.permissions.refusal``; a member who may write
about nobody on a page gets no form, and 403 when posting one.

HTMX: the feeds load into their pages' cards. The give-feedback form posts with
HTMX; a success answers with the refreshed feed, re-targeted over ``#feedback-feed``
(the feed updates in place); a form with errors is answered with status 200 and the
form partial (the form targets itself), since htmx does not swap 4xx responses.
Without HTMX a success redirects back and a form with errors is a full page with
status 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from engagements import selectors as engagement_selectors
from engagements.enums import PlanKind
from engagements.models import Engagement, Goal, Plan
from feedback import selectors, services
from feedback.forms import (
    FeedbackEditForm,
    FeedbackFilter,
    FeedbackForm,
    PreferencesForm,
)
from feedback.models import Feedback
from feedback.permissions import can_see_history, refusal
from organizations import selectors as people_selectors
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Employee, Membership
from organizations.permissions import Access

PAGE_SIZE = 20
FEED_PARTIAL = "feedback/feedback/partials/feed.html"
FORM_PARTIAL = "feedback/feedback/partials/form.html"
FEED_PAGE = "feedback/feedback/feed_page.html"
TABS = ("about", "written", "team")


# --- helpers ---------------------------------------------------------------------------


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _author(request: HttpRequest) -> Employee | None:
    employee = request.employee  # type: ignore[attr-defined]
    # A lazy object: evaluate it, then hand on the entry itself (or None).
    if not employee:
        return None
    return getattr(employee, "_wrapped", employee)  # type: ignore[no-any-return]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _safe_next(request: HttpRequest, target: str) -> str:
    """``target`` if it is a page of this organisation on this site, else ""."""
    slug = request.organization.slug  # type: ignore[attr-defined]
    if (
        target
        and url_has_allowed_host_and_scheme(
            target,
            allowed_hosts={request.get_host()},
            require_https=request.is_secure(),
        )
        and target.startswith(f"/o/{slug}/")
    ):
        return target
    return ""


def _page_path(request: HttpRequest) -> str:
    """The page the user looks at, also for an HTMX request (whose own path is the
    feed's); forms on it send this back as ``next``."""
    if _htmx(request):
        current = request.htmx.current_url_abs_path  # type: ignore[attr-defined]
        if current:
            return str(current)
    return request.get_full_path()


def _add_error(form: Any, exc: DomainError) -> None:
    """Show a domain error beside its field, or above the form when it has none."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _mark_changeable(membership: Membership, rows: list[Feedback]) -> list[Feedback]:
    """Flag the rows the member may still edit or withdraw (their own, within the
    edit window), for the templates. No query."""
    now = timezone.now()
    for row in rows:
        row.can_change = (  # type: ignore[attr-defined]
            row.author.user_id == membership.user_id and row.is_editable(now)
        )
    return rows


def _page(
    request: HttpRequest, rows: QuerySet[Feedback]
) -> tuple[Page[Any], list[Feedback]]:
    """The requested page of ``rows`` and its rows, flagged. Two queries."""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return page, _mark_changeable(_membership(request), list(page.object_list))


# --- Feeds -----------------------------------------------------------------------------


@dataclass
class Feed:
    """A feed of feedback and, when the member may give some there, its form."""

    title: str
    feed_url: str  # GET: this feed (HTMX partial or page)
    back_url: str  # the page the feed belongs to
    back_label: str
    rows: QuerySet[Feedback]
    give_url: str = ""  # POST target of the form; "" when the member may not give
    subjects: QuerySet[Employee] | None = None
    goals: QuerySet[Goal] | None = None
    fixed_subject: Employee | None = None
    people: list[Employee] | None = None  # ``subjects``, loaded
    from_plan: int | None = None
    empty_text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def can_give(self) -> bool:
        return bool(self.give_url)

    def form(self, data: Any = None) -> FeedbackForm:
        if self.subjects is None or self.goals is None:
            raise PermissionDenied
        return FeedbackForm(
            data,
            subjects=self.subjects,
            goals=self.goals,
            fixed_subject=self.fixed_subject,
            people=self.people,
            auto_id="id_feedback_%s",
        )


def _engagement_feed(
    request: HttpRequest, engagement: Engagement, access: Access
) -> Feed:
    """The feedback on ``engagement`` the member reads, and whom they may write
    about there (role holders, teammates and HR: everyone staffed; line managers:
    their direct reports)."""
    membership = _membership(request)
    slug = request.organization.slug  # type: ignore[attr-defined]
    feed = Feed(
        title=_("Feedback on %(name)s") % {"name": engagement.name},
        feed_url=reverse("feedback:engagement_feed", args=[slug, engagement.pk]),
        back_url=reverse("engagements:engagement_detail", args=[slug, engagement.pk]),
        back_label=_("Back to the engagement"),
        rows=selectors.engagement_feedback(membership, engagement),
        empty_text=_("No feedback on this engagement that you can read yet."),
    )
    writer = selectors.writer_for(membership, engagement, _author(request), access)
    subjects = selectors.feedback_subjects(membership, engagement, writer)
    people = list(subjects)
    if people:
        feed.give_url = reverse("feedback:give", args=[slug, engagement.pk])
        feed.subjects = subjects
        feed.people = people
        feed.goals = selectors.goal_choices(engagement, subjects)
    return feed


def _plan_feed(request: HttpRequest, plan: Plan, access: Access) -> Feed:
    """Feedback about the plan's employee on its engagement (general feedback for a
    general plan), with a form about them when the member may write it."""
    membership = _membership(request)
    slug = request.organization.slug  # type: ignore[attr-defined]
    subject = plan.employee
    feed = Feed(
        title=_("Feedback about %(name)s") % {"name": subject.full_name},
        feed_url=reverse("feedback:plan_feed", args=[slug, plan.pk]),
        back_url=reverse("engagements:plan_detail", args=[slug, plan.pk]),
        back_label=_("Back to the plan"),
        rows=selectors.plan_feedback(membership, plan),
        empty_text=_("No feedback about %(name)s here that you can read yet.")
        % {"name": subject.full_name},
    )
    writer = selectors.writer_for(membership, plan.engagement, _author(request), access)
    if refusal(writer, subject, subject_staffed=True) is None and subject.is_active:
        feed.give_url = (
            reverse("feedback:give_general", args=[slug, subject.pk])
            if plan.engagement is None
            else reverse("feedback:give", args=[slug, plan.engagement_id])
        )
        feed.subjects = Employee.objects.filter(pk=subject.pk)
        feed.goals = Goal.objects.filter(plan=plan).select_related(
            "plan__employee", "plan__cycle"
        )
        feed.fixed_subject = subject
        feed.from_plan = plan.pk
    return feed


def _employee_feed(request: HttpRequest, employee: Employee) -> Feed:
    """Every piece of feedback about ``employee`` the member reads, with a general
    feedback form for their line manager and HR admins."""
    membership = _membership(request)
    slug = request.organization.slug  # type: ignore[attr-defined]
    feed = Feed(
        title=_("Feedback about %(name)s") % {"name": employee.full_name},
        feed_url=reverse("feedback:employee_feed", args=[slug, employee.pk]),
        back_url=reverse("organizations:employee_detail", args=[slug, employee.pk]),
        back_label=_("Back to %(name)s") % {"name": employee.full_name},
        rows=selectors.feedback_about(membership, employee.pk),
        empty_text=_("No feedback about %(name)s that you can read yet.")
        % {"name": employee.full_name},
    )
    writer = selectors.writer_for(membership, None, _author(request))
    if refusal(writer, employee, subject_staffed=True) is None and employee.is_active:
        feed.give_url = reverse("feedback:give_general", args=[slug, employee.pk])
        feed.subjects = Employee.objects.filter(pk=employee.pk)
        feed.goals = selectors.goal_choices(None, [employee.pk])
        feed.fixed_subject = employee
    return feed


def _feed_context(
    request: HttpRequest, feed: Feed, form: FeedbackForm | None = None
) -> dict[str, Any]:
    page, rows = _page(request, feed.rows)
    if form is None and feed.can_give:
        form = feed.form()
    return {
        "feed": feed,
        "form": form,
        "page_obj": page,
        "rows": rows,
        "page_path": _page_path(request),
        "show_messages": _htmx(request),
    }


def _render_feed(
    request: HttpRequest,
    feed: Feed,
    form: FeedbackForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The feed partial for HTMX, else a page of its own."""
    context = _feed_context(request, feed, form)
    template = FEED_PARTIAL if _htmx(request) else FEED_PAGE
    response = render(request, template, context, status=status)
    # One URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
def engagement_feed(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """The engagement's feedback feed and the give-feedback form (404 when the
    engagement is not visible)."""
    engagement, access = engagement_selectors.get_engagement_for(request, pk)
    return _render_feed(request, _engagement_feed(request, engagement, access))


@require_GET
def plan_feed(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """The feedback about a plan's employee there (404 when the plan is not
    visible)."""
    plan, access = engagement_selectors.get_plan_for(request, pk)
    return _render_feed(request, _plan_feed(request, plan, access))


@require_GET
def employee_feed(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Feedback about one person: for HR admins, their line manager and themselves
    (404 for members who cannot see the person)."""
    employee = people_selectors.get_employee_for(request, pk)
    return _render_feed(request, _employee_feed(request, employee))


# --- Giving ----------------------------------------------------------------------------


def _from_plan(request: HttpRequest, belongs: Any) -> tuple[Plan, Access] | None:
    """The plan page the form was posted from (``from_plan``), if any: visible to
    the member (else 404) and matching the URL's engagement or person (else 404)."""
    raw = request.POST.get("from_plan", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404("No such plan.")
    plan, access = engagement_selectors.get_plan_for(request, int(raw))
    if not belongs(plan):
        raise Http404("No such plan.")
    return plan, access


def _give(
    request: HttpRequest, feed: Feed, engagement: Engagement | None
) -> HttpResponse:
    """Validate and save the posted feedback, answering as the module docstring says."""
    if not feed.can_give:
        # Visible, but the member may write about nobody here.
        raise PermissionDenied
    form = feed.form(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.give_feedback(
                actor=_membership(request),
                subject=data["subject"],
                engagement=engagement,
                kind=data["kind"],
                body=data["body"],
                visibility=data["visibility"],
                goal=data["goal"],
            )
        except DomainError as exc:
            _add_error(form, exc)
        else:
            messages.success(
                request,
                _("Your feedback about %(name)s was saved.")
                % {"name": data["subject"].full_name},
            )
            if _htmx(request):
                response = render(request, FEED_PARTIAL, _feed_context(request, feed))
                return retarget(reswap(response, "outerHTML"), "#feedback-feed")
            target = _safe_next(request, request.POST.get("next", ""))
            return HttpResponseRedirect(target or feed.back_url)
    if _htmx(request):
        return render(
            request,
            FORM_PARTIAL,
            {"feed": feed, "form": form, "page_path": _page_path(request)},
        )
    return _render_feed(request, feed, form=form, status=400)


@require_POST
def give(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Give feedback about someone staffed on the engagement (from its page, or from
    one of its plans' pages with ``from_plan``)."""
    engagement, access = engagement_selectors.get_engagement_for(request, pk)
    posted_from = _from_plan(request, lambda plan: plan.engagement_id == engagement.pk)
    if posted_from is not None:
        feed = _plan_feed(request, *posted_from)
    else:
        feed = _engagement_feed(request, engagement, access)
    return _give(request, feed, engagement)


@require_POST
def give_general(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Give general feedback about a person: their line manager or an HR admin (from
    the person's feed, or their general plan's page with ``from_plan``)."""
    employee = people_selectors.get_employee_for(request, pk)
    posted_from = _from_plan(
        request,
        lambda plan: plan.kind == PlanKind.GENERAL and plan.employee_id == employee.pk,
    )
    if posted_from is not None:
        feed = _plan_feed(request, *posted_from)
    else:
        feed = _employee_feed(request, employee)
    return _give(request, feed, None)


# --- One piece of feedback --------------------------------------------------------------


@require_GET
def detail(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """One piece of feedback; every version of it for its author, HR admins and the
    subject's line manager."""
    membership = _membership(request)
    feedback = selectors.get_feedback_for(request, pk)
    _mark_changeable(membership, [feedback])
    history = can_see_history(membership, feedback)
    context = {
        "feedback": feedback,
        "show_history": history,
        "timeline": selectors.feedback_history(feedback) if history else [],
    }
    return render(request, "feedback/feedback/detail.html", context)


def edit(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Edit one's own feedback within its edit window (404 when not visible, 403 for
    someone else's); after the window the page explains why it is permanent."""
    feedback = selectors.get_feedback_for(request, pk, perm="edit")
    goals = selectors.goal_choices(feedback.engagement, [feedback.subject_id])
    initial = {
        "kind": feedback.kind,
        "body": feedback.body,
        "visibility": feedback.visibility,
        "goal": feedback.goal_id,
    }
    form = FeedbackEditForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        goals=goals,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.edit_feedback(
                actor=_membership(request),
                feedback=feedback,
                kind=data["kind"],
                body=data["body"],
                visibility=data["visibility"],
                goal=data["goal"],
            )
        except DomainError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("Your feedback was updated."))
            return redirect("feedback:detail", org_slug, feedback.pk)
    context = {"feedback": feedback, "form": form, "editable": feedback.is_editable()}
    return render(
        request,
        "feedback/feedback/edit.html",
        context,
        status=400 if form.errors else 200,
    )


@require_POST
def withdraw(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Withdraw one's own feedback within its edit window; after it, a message says
    why it stays and nothing changes."""
    feedback = selectors.get_feedback_for(request, pk, perm="edit")
    try:
        services.withdraw_feedback(actor=_membership(request), feedback=feedback)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("feedback:detail", org_slug, feedback.pk)
    messages.success(
        request,
        _("Your feedback about %(name)s was withdrawn.")
        % {"name": feedback.subject.full_name},
    )
    target = _safe_next(request, request.POST.get("next", ""))
    detail_url = reverse("feedback:detail", args=[org_slug, feedback.pk])
    if target and not target.startswith(detail_url):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(
        reverse("feedback:my_feedback", args=[org_slug]) + "?tab=written"
    )


# --- My feedback ------------------------------------------------------------------------


def _query_string(request: HttpRequest) -> str:
    """The current tab and filters without the page number, for the pagination."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
def my_feedback(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Tabs: shared feedback about me, feedback I wrote and, for managers, reviewers,
    approvers and HR admins, everything they are entitled to read about others."""
    membership = _membership(request)
    visible = selectors.feedback_visible_to(membership)
    team = selectors.team_feedback(membership)
    has_team = membership.role == Role.HR_ADMIN or team.exists()
    tab = request.GET.get("tab", "about")
    if tab not in TABS or (tab == "team" and not has_team):
        tab = "about"
    base = {
        "about": visible.filter(subject__user_id=membership.user_id),
        "written": visible.filter(author__user_id=membership.user_id),
        "team": team,
    }[tab]
    filterset = FeedbackFilter(
        request.GET or None,
        queryset=base,
        request=request,
        with_person=tab == "team",
    )
    page, rows = _page(request, selectors.feed(filterset.qs))
    context = {
        "tab": tab,
        "has_team": has_team,
        "filter": filterset,
        "page_obj": page,
        "rows": rows,
        "query_string": _query_string(request),
        "page_path": request.get_full_path(),
    }
    return render(request, "feedback/feedback/my_feedback.html", context)


# --- Preferences ------------------------------------------------------------------------


def preferences(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The member switches optional e-mails (feedback, reminders) on or off."""
    user = _membership(request).user
    form = PreferencesForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        form.save()
        if user.optional_emails:
            messages.success(request, _("Saved: you will get optional e-mails."))
        else:
            messages.success(
                request,
                _(
                    "Saved: no more optional e-mails. E-mails you need to act on "
                    "still arrive."
                ),
            )
        return redirect("feedback:preferences", org_slug)
    return render(
        request,
        "organizations/preferences.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


urlpatterns: list[URLPattern] = [
    path("feedback/", my_feedback, name="my_feedback"),
    path("feedback/<int:pk>/", detail, name="detail"),
    path("feedback/<int:pk>/edit/", edit, name="edit"),
    path("feedback/<int:pk>/withdraw/", withdraw, name="withdraw"),
    path("engagements/<int:pk>/feedback/", engagement_feed, name="engagement_feed"),
    path("engagements/<int:pk>/feedback/give/", give, name="give"),
    path("plans/<int:pk>/feedback/", plan_feed, name="plan_feed"),
    path("people/<int:pk>/feedback/", employee_feed, name="employee_feed"),
    path("people/<int:pk>/feedback/give/", give_general, name="give_general"),
    path("preferences/", preferences, name="preferences"),
]
