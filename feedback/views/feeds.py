"""Feedback feeds on the engagement, plan and person pages, and giving feedback there.

Access is checked in one place per view: the engagement, plan and employee gates of
their apps (404 when the page's object is not visible). Who may write about whom is
``feedback.permissions.refusal``; a member who may write about nobody on a page gets
no form, and 403 when posting one.

HTMX: the feeds load into their pages' cards. The give-feedback form posts with
HTMX; a success answers with the refreshed feed, re-targeted over ``#feedback-feed``
(the feed updates in place); a form with errors is answered with status 200 and the
form partial alone (the form targets itself), since htmx does not swap 4xx responses.
Without HTMX a success redirects back and a form with errors is a full page with
status 400.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from engagements.enums import PlanKind
from engagements.models import Engagement, Goal, Plan
from engagements.selectors.access import get_engagement_for, get_plan_for
from feedback.forms import FeedbackForm
from feedback.models import Feedback
from feedback.permissions import refusal
from feedback.selectors.feedback import (
    engagement_feedback,
    feedback_about,
    feedback_by,
    feedback_subjects,
    goal_choices,
    mark_changeable,
    plan_feedback,
    writer_for,
)
from feedback.services.feedback import give_feedback
from feedback.views.feedback import PAGE_SIZE
from organizations.http import (
    TenantRequest,
    apply_service,
    is_htmx,
    page_or_partial,
    safe_next,
)
from organizations.models import Employee
from organizations.permissions import Access
from organizations.selectors import get_employee_for

FEED_PARTIAL = "feedback/feedback/partials/feed.html"
FORM_PARTIAL = "feedback/feedback/partials/form.html"
FEED_PAGE = "feedback/feedback/feed_page.html"


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


def _page_path(request: TenantRequest) -> str:
    """The page the user looks at, also for an HTMX request (whose own path is the
    feed's); forms on it send this back as ``next``."""
    if is_htmx(request):
        current = request.htmx.current_url_abs_path
        if current:
            return str(current)
    return request.get_full_path()


def _engagement_feed(
    request: TenantRequest, engagement: Engagement, access: Access
) -> Feed:
    """The feedback on ``engagement`` the member reads, and whom they may write
    about there (role holders, teammates and HR: everyone staffed; line managers:
    their direct reports)."""
    membership = request.membership
    slug = request.organization.slug
    feed = Feed(
        title=_("Feedback on %(name)s") % {"name": engagement.name},
        feed_url=reverse("feedback:engagement_feed", args=[slug, engagement.pk]),
        back_url=reverse("engagements:engagement_detail", args=[slug, engagement.pk]),
        back_label=_("Back to the engagement"),
        rows=engagement_feedback(membership, engagement),
        empty_text=_("No feedback on this engagement that you can read yet."),
    )
    writer = writer_for(membership, engagement, request.employee, access)
    subjects = feedback_subjects(membership, engagement, writer)
    people = list(subjects)
    if people:
        feed.give_url = reverse("feedback:give", args=[slug, engagement.pk])
        feed.subjects = subjects
        feed.people = people
        # Their ids, already loaded: no subquery repeating the team's.
        feed.goals = goal_choices(engagement, [person.pk for person in people])
    return feed


def _plan_feed(request: TenantRequest, plan: Plan, access: Access) -> Feed:
    """Feedback about the plan's employee on its engagement (general feedback for a
    general plan), with a form about them when the member may write it."""
    membership = request.membership
    slug = request.organization.slug
    subject = plan.employee
    feed = Feed(
        title=_("Feedback about %(name)s") % {"name": subject.full_name},
        feed_url=reverse("feedback:plan_feed", args=[slug, plan.pk]),
        back_url=reverse("engagements:plan_detail", args=[slug, plan.pk]),
        back_label=_("Back to the plan"),
        rows=plan_feedback(membership, plan),
        empty_text=_("No feedback about %(name)s here that you can read yet.")
        % {"name": subject.full_name},
    )
    writer = writer_for(membership, plan.engagement, request.employee, access)
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


def _employee_feed(request: TenantRequest, employee: Employee) -> Feed:
    """Every piece of feedback about ``employee`` the member reads, with a general
    feedback form for their line manager and HR admins."""
    membership = request.membership
    slug = request.organization.slug
    feed = Feed(
        title=_("Feedback about %(name)s") % {"name": employee.full_name},
        feed_url=reverse("feedback:employee_feed", args=[slug, employee.pk]),
        back_url=reverse("organizations:employee_detail", args=[slug, employee.pk]),
        back_label=_("Back to %(name)s") % {"name": employee.full_name},
        rows=feedback_about(membership, employee.pk),
        empty_text=_("No feedback about %(name)s that you can read yet.")
        % {"name": employee.full_name},
    )
    writer = writer_for(membership, None, request.employee)
    if refusal(writer, employee, subject_staffed=True) is None and employee.is_active:
        feed.give_url = reverse("feedback:give_general", args=[slug, employee.pk])
        feed.subjects = Employee.objects.filter(pk=employee.pk)
        feed.goals = goal_choices(None, [employee.pk])
        feed.fixed_subject = employee
    return feed


def _feed_context(
    request: TenantRequest, feed: Feed, form: FeedbackForm | None = None
) -> dict[str, Any]:
    """The feed's page of rows (two queries) and its form."""
    page = Paginator(feed.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = mark_changeable(request.membership, list(page.object_list))
    if form is None and feed.can_give:
        form = feed.form()
    return {
        "feed": feed,
        "form": form,
        "page_obj": page,
        "rows": rows,
        "page_path": _page_path(request),
        "show_messages": is_htmx(request),
    }


def _render_feed(
    request: TenantRequest,
    feed: Feed,
    form: FeedbackForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The feed partial for HTMX, else a page of its own."""
    context = _feed_context(request, feed, form)
    return page_or_partial(request, FEED_PAGE, FEED_PARTIAL, context, status=status)


@require_GET
def engagement_feed(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The engagement's feedback feed and the give-feedback form (404 when the
    engagement is not visible)."""
    engagement, access = get_engagement_for(request, pk)
    return _render_feed(request, _engagement_feed(request, engagement, access))


@require_GET
def plan_feed(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The feedback about a plan's employee there (404 when the plan is not
    visible)."""
    plan, access = get_plan_for(request, pk)
    return _render_feed(request, _plan_feed(request, plan, access))


@require_GET
def employee_feed(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Feedback about one person: for HR admins, their line manager and themselves
    (404 for members who cannot see the person)."""
    employee = get_employee_for(request, pk)
    return _render_feed(request, _employee_feed(request, employee))


@require_GET
def employee_given(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Feedback the person wrote, as far as the member may read it
    (``feedback_visible_to``): a section of the person's page, for whoever sees the
    person (404 for anyone else). The fragment for HTMX, else a page. Three
    queries."""
    employee = get_employee_for(request, pk)
    page = Paginator(feedback_by(request.membership, employee.pk), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    template = "feedback/feedback/person_given.html"
    context = {
        "employee": employee,
        "page_obj": page,
        "rows": mark_changeable(request.membership, list(page.object_list)),
        "page_path": _page_path(request),
        "section_template": template,
        "section_title": _("Feedback given"),
    }
    return page_or_partial(
        request, "partials/person_section_page.html", template, context
    )


# --- Giving ----------------------------------------------------------------------------


def _from_plan(
    request: TenantRequest, belongs: Callable[[Plan], bool]
) -> tuple[Plan, Access] | None:
    """The plan page the form was posted from (``from_plan``), if any: visible to
    the member (else 404) and matching the URL's engagement or person (else 404)."""
    raw = request.POST.get("from_plan", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404("No such plan.")
    plan, access = get_plan_for(request, int(raw))
    if not belongs(plan):
        raise Http404("No such plan.")
    return plan, access


def _give(
    request: TenantRequest, feed: Feed, engagement: Engagement | None
) -> HttpResponse:
    """Validate and save the posted feedback, answering as the module docstring says.

    A form with errors posted with HTMX gets the form partial alone, with status 200
    and without ``Vary`` (the feed's rows are not loaded again for it)."""
    if not feed.can_give:
        # Visible, but the member may write about nobody here.
        raise PermissionDenied
    form = feed.form(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        outcome = apply_service(
            form,
            lambda: give_feedback(
                actor=request.membership,
                subject=data["subject"],
                engagement=engagement,
                kind=data["kind"],
                body=data["body"],
                visibility=data["visibility"],
                goal=data["goal"],
            ),
        )
        if outcome.ok:
            messages.success(
                request,
                _("Your feedback about %(name)s was saved.")
                % {"name": data["subject"].full_name},
            )
            if is_htmx(request):
                response = render(request, FEED_PARTIAL, _feed_context(request, feed))
                return retarget(reswap(response, "outerHTML"), "#feedback-feed")
            target = safe_next(request, request.POST.get("next", ""))
            return HttpResponseRedirect(target or feed.back_url)
    if is_htmx(request):
        return render(
            request,
            FORM_PARTIAL,
            {"feed": feed, "form": form, "page_path": _page_path(request)},
        )
    return _render_feed(request, feed, form=form, status=400)


@require_POST
def give(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Give feedback about someone staffed on the engagement (from its page, or from
    one of its plans' pages with ``from_plan``)."""
    engagement, access = get_engagement_for(request, pk)
    posted_from = _from_plan(request, lambda plan: plan.engagement_id == engagement.pk)
    if posted_from is not None:
        feed = _plan_feed(request, *posted_from)
    else:
        feed = _engagement_feed(request, engagement, access)
    return _give(request, feed, engagement)


@require_POST
def give_general(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Give general feedback about a person: their line manager or an HR admin (from
    the person's feed, or their general plan's page with ``from_plan``)."""
    employee = get_employee_for(request, pk)
    posted_from = _from_plan(
        request,
        lambda plan: plan.kind == PlanKind.GENERAL and plan.employee_id == employee.pk,
    )
    if posted_from is not None:
        feed = _plan_feed(request, *posted_from)
    else:
        feed = _employee_feed(request, employee)
    return _give(request, feed, None)


urlpatterns: list[URLPattern] = [
    path("engagements/<int:pk>/feedback/", engagement_feed, name="engagement_feed"),
    path("engagements/<int:pk>/feedback/give/", give, name="give"),
    path("plans/<int:pk>/feedback/", plan_feed, name="plan_feed"),
    path("people/<int:pk>/feedback/", employee_feed, name="employee_feed"),
    path("people/<int:pk>/feedback/give/", give_general, name="give_general"),
    path("people/<int:pk>/feedback/given/", employee_given, name="employee_given"),
]
