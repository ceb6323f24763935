"""Plans, goals, key activities and check-ins.

Every view asks one access gate (``selectors.get_plan_for`` / ``get_goal_for`` /
``get_activity_for``): a plan the caller cannot see is 404, a visible one they may not
change is 403. Writes go through ``engagements.services``, which also refuses every
change to a locked plan with the explanation shown to the user.

HTMX: in-page actions (add a goal, add or tick a key activity, record a check-in,
delete a goal) answer ``request.htmx`` with a partial and everything else with a full
page or a redirect, so the pages work without JavaScript. htmx does not swap 4xx
responses by default, so an HTMX form with errors is answered with status 200 and the
form partial (the form targets itself); a success re-targets the swap to the part of
the page it changes with the ``HX-Retarget``/``HX-Reswap`` headers. Without HTMX a form
with errors is the full page with status 400.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from engagements import selectors, services
from engagements.enums import GoalStatus, PlanStatus
from engagements.forms import CheckInForm, GoalForm, KeyActivityForm, PlanForm
from engagements.models import Goal, Plan
from engagements.permissions import can_check_in, can_edit_plan
from organizations.enums import Role
from organizations.errors import DomainError, EditConflict
from organizations.models import Membership
from organizations.permissions import Access, role_required

HUNDRED = Decimal(100)
# The timelines show the latest changes; older ones stay in the history tables.
HISTORY_LIMIT = 100


# --- helpers ---------------------------------------------------------------------------


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _add_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Show a domain error beside its field, or above the form when it has none."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _offer_resubmit(form: forms.BaseForm, version: int) -> None:
    """After an edit conflict keep the editor's input but let the next submit count
    against the latest version, once they have reviewed the other changes."""
    data = dict(form.data.items())
    data["version"] = str(version)
    form.data = data


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


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """Redirect to the page the action was posted from (``next``), if it is a page of
    this organisation, else to ``default``."""
    return HttpResponseRedirect(
        _safe_next(request, request.POST.get("next", "")) or default
    )


def _plan_url(plan_pk: int, org_slug: str, anchor: str = "") -> str:
    url = reverse("engagements:plan_detail", args=[org_slug, plan_pk])
    return f"{url}#{anchor}" if anchor else url


def _goal_url(goal_pk: int, org_slug: str) -> str:
    return reverse("engagements:goal_detail", args=[org_slug, goal_pk])


def _page_path(request: HttpRequest) -> str:
    """The path of the page the user is looking at, also for an HTMX request (whose
    own path is the action's); in-page forms send it back as ``next``."""
    if _htmx(request):
        current = request.htmx.current_url_abs_path  # type: ignore[attr-defined]
        if current:
            return str(current)
    return request.path


def _flags(request: HttpRequest, access: Access, plan: Plan) -> dict[str, Any]:
    """What the page may offer this caller on ``plan``: booleans for the templates."""
    lock_reason = services.plan_lock_reason(plan)
    can_edit = can_edit_plan(access, plan)
    checks_in = can_check_in(access, plan)
    return {
        "page_path": _page_path(request),
        "plan": plan,
        "lock_reason": lock_reason,
        "can_edit": can_edit,
        "editable": can_edit and lock_reason is None,
        "may_check_in": checks_in and lock_reason is None,
        "can_remove": access.is_hr and plan.engagement_id is not None,
    }


def _goal_list(
    request: HttpRequest,
    access: Access,
    plan: Plan,
    goals: list[Goal],
    goal_form: GoalForm | None = None,
) -> dict[str, Any]:
    """Context of the goal list: the goals, their weight total, the add-goal form."""
    context = _flags(request, access, plan)
    total = sum((goal.weight for goal in goals), Decimal(0))
    context.update(
        goals=goals,
        weight_total=total,
        # As the services word it: 75.5, not 75.50 or 7.55E+1.
        weight_total_text=f"{total.normalize():f}",
        weights_ok=total == HUNDRED,
        can_activate=context["editable"] and plan.status == PlanStatus.DRAFT,
        goal_form=goal_form
        if goal_form is not None
        else (GoalForm(plan=plan) if context["editable"] else None),
    )
    return context


def _render_goal_list(
    request: HttpRequest, plan_pk: int, *, keep_form_open: bool = False
) -> HttpResponse:
    """The goal list partial of the freshly loaded plan, swapped over ``#plan-goals``
    (its weight total and status may have changed with the goals)."""
    plan, access = selectors.get_plan_for(request, plan_pk)
    context = _goal_list(request, access, plan, selectors.plan_goals(plan))
    # A partial has no base page to show the messages: it shows them itself.
    context.update(show_messages=True, keep_form_open=keep_form_open)
    response = render(request, "engagements/partials/goal_list.html", context)
    return retarget(reswap(response, "outerHTML"), "#plan-goals")


def _checkin_form(goal: Goal, data: Any = None) -> CheckInForm:
    initial = {
        "progress": goal.progress,
        "actual_value": goal.actual_value,
        "status": goal.status if goal.status != GoalStatus.NOT_STARTED else "",
    }
    return CheckInForm(data, prefix=f"checkin-{goal.pk}", initial=initial)


def _activity_form(goal: Goal, data: Any = None) -> KeyActivityForm:
    return KeyActivityForm(data, prefix=f"activity-{goal.pk}")


# --- Plans -----------------------------------------------------------------------------


@require_GET
def plan_detail(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """A plan with its goals, weight total, key activities and history."""
    plan, access = selectors.get_plan_for(request, pk)
    goals = selectors.plan_goals(plan)
    context = _goal_list(request, access, plan, goals)
    context.update(
        timeline=selectors.plan_history(plan)[:HISTORY_LIMIT],
        history_limit=HISTORY_LIMIT,
    )
    return render(request, "engagements/plan_detail.html", context)


def plan_edit(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Change a plan's dates, allocation, role, weights and reviewer/approver."""
    plan, access = selectors.get_plan_for(request, pk, perm="edit")
    # The form works on a copy: a rejected submit must not show in the page header.
    form = PlanForm(request.POST or None, instance=copy.copy(plan))
    conflict = False
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            services.update_plan(
                actor=_membership(request), plan=plan, version=version, **data
            )
        except EditConflict as exc:
            form.add_error(None, exc.message)
            _offer_resubmit(form, exc.current_version)
            conflict = True
        except DomainError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("The plan was saved."))
            return redirect("engagements:plan_detail", org_slug, plan.pk)
    context = _flags(request, access, plan)
    context.update(form=form, conflict=conflict)
    return render(
        request,
        "engagements/plan_form.html",
        context,
        status=400 if form.errors else 200,
    )


@require_POST
def plan_activate(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Put a plan in force; its goal weights must total 100."""
    plan, _access = selectors.get_plan_for(request, pk, perm="edit")
    try:
        services.activate_plan(actor=_membership(request), plan=plan)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The plan is active. %(name)s can now see it and record progress.")
            % {"name": plan.employee.full_name},
        )
    return redirect("engagements:plan_detail", org_slug, plan.pk)


@require_POST
def plan_normalise(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Scale the goal weights so they total exactly 100."""
    plan, _access = selectors.get_plan_for(request, pk, perm="edit")
    try:
        services.normalise_goal_weights(actor=_membership(request), plan=plan)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Goal weights now total 100, in the same proportions as before."),
        )
    return redirect(_plan_url(plan.pk, org_slug, "plan-goals"))


@require_POST
@role_required(Role.HR_ADMIN)
def plan_remove(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Take someone off an engagement: their engagement plan is deleted (HR admins)."""
    plan, _access = selectors.get_plan_for(request, pk)
    try:
        services.remove_from_engagement(actor=_membership(request), plan=plan)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("engagements:plan_detail", org_slug, plan.pk)
    messages.success(
        request,
        _("%(name)s was taken off %(engagement)s; their plan for %(cycle)s is deleted.")
        % {
            "name": plan.employee.full_name,
            "engagement": plan.engagement,
            "cycle": plan.cycle.name,
        },
    )
    return redirect("engagements:engagement_detail", org_slug, plan.engagement_id)


# --- Goals -----------------------------------------------------------------------------


def goal_create(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Add a goal to a plan: in place with HTMX, as a page without."""
    plan, access = selectors.get_plan_for(request, pk, perm="edit")
    form = GoalForm(request.POST or None, plan=plan)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("version", None)
        try:
            goal = services.add_goal(actor=_membership(request), plan=plan, **data)
        except DomainError as exc:
            _add_error(form, exc)
        else:
            messages.success(
                request, _("The goal “%(title)s” was added.") % {"title": goal.title}
            )
            if _htmx(request):
                return _render_goal_list(request, plan.pk, keep_form_open=True)
            return redirect(_plan_url(plan.pk, org_slug, f"goal-{goal.pk}"))
    context = _flags(request, access, plan)
    context.update(form=form, goal=None)
    if _htmx(request):
        # 200, not 400: htmx would not swap a 4xx and the errors would stay hidden.
        return render(request, "engagements/partials/goal_form.html", context)
    return render(
        request,
        "engagements/goal_form.html",
        context,
        status=400 if form.errors else 200,
    )


@require_GET
def goal_detail(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """A goal with its key activities, check-ins and history."""
    goal, access = selectors.get_goal_for(request, pk)
    context = _flags(request, access, goal.plan)
    context.update(
        goal=selectors.with_goal_details(goal),
        show_checkins=True,
        timeline=selectors.goal_history(goal)[:HISTORY_LIMIT],
        history_limit=HISTORY_LIMIT,
    )
    return render(request, "engagements/goal_detail.html", context)


def goal_edit(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Change a goal; a stale submit is refused with who changed it and when."""
    goal, access = selectors.get_goal_for(request, pk, perm="edit")
    form = GoalForm(request.POST or None, instance=copy.copy(goal), plan=goal.plan)
    conflict = False
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            services.update_goal(
                actor=_membership(request), goal=goal, version=version, **data
            )
        except EditConflict as exc:
            form.add_error(None, exc.message)
            _offer_resubmit(form, exc.current_version)
            conflict = True
        except DomainError as exc:
            _add_error(form, exc)
        else:
            messages.success(
                request, _("The goal “%(title)s” was saved.") % {"title": data["title"]}
            )
            return redirect(_plan_url(goal.plan_id, org_slug, f"goal-{goal.pk}"))
    context = _flags(request, access, goal.plan)
    context.update(form=form, goal=goal, conflict=conflict)
    return render(
        request,
        "engagements/goal_form.html",
        context,
        status=400 if form.errors else 200,
    )


@require_POST
def goal_delete(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Delete a goal with its key activities and check-ins."""
    goal, _access = selectors.get_goal_for(request, pk, perm="edit")
    plan_pk = goal.plan_id
    try:
        services.delete_goal(actor=_membership(request), goal=goal)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The goal “%(title)s” was deleted.") % {"title": goal.title}
        )
    if _htmx(request):
        # The partial shows the message and the new weight total in place.
        return _render_goal_list(request, plan_pk)
    return redirect(_plan_url(plan_pk, org_slug, "plan-goals"))


# --- Key activities --------------------------------------------------------------------


@require_POST
def activity_create(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Add a key activity to a goal's checklist."""
    found, access = selectors.get_goal_for(request, pk, perm="edit")
    form = _activity_form(found, request.POST)
    if form.is_valid():
        try:
            services.add_key_activity(
                actor=_membership(request),
                goal=found,
                title=form.cleaned_data["title"],
                due_date=form.cleaned_data["due_date"],
            )
        except DomainError as exc:
            _add_error(form, exc)
        else:
            if not _htmx(request):
                messages.success(request, _("Key activity added."))
                return _back(request, _goal_url(found.pk, org_slug))
            form = _activity_form(found)
    context = _flags(request, access, found.plan)
    context.update(goal=selectors.with_goal_details(found), activity_form=form)
    if _htmx(request):
        # 200 even with errors: htmx would not swap a 4xx (see the module docstring).
        return render(request, "engagements/partials/activity_list.html", context)
    context.update(
        show_checkins=True,
        timeline=selectors.goal_history(found)[:HISTORY_LIMIT],
        history_limit=HISTORY_LIMIT,
    )
    return render(request, "engagements/goal_detail.html", context, status=400)


@require_POST
def activity_toggle(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Tick or untick a key activity (the plan's editors and its employee).

    ``done`` ("true"/"false") sets the state, so a repeated submit changes nothing;
    without it the state flips.
    """
    activity, access = selectors.get_activity_for(request, pk, perm="check_in")
    wanted = request.POST.get("done")
    done = wanted == "true" if wanted in ("true", "false") else not activity.done
    error = None
    try:
        services.set_key_activity_done(
            actor=_membership(request), activity=activity, done=done
        )
    except DomainError as exc:
        error = exc.message
    if _htmx(request):
        context = _flags(request, access, activity.goal.plan)
        context.update(activity=activity, activity_error=error)
        return render(request, "engagements/partials/activity_item.html", context)
    if error:
        messages.error(request, error)
    elif done:
        messages.success(request, _("“%(title)s” is done.") % {"title": activity.title})
    else:
        messages.success(
            request, _("“%(title)s” is open again.") % {"title": activity.title}
        )
    return _back(request, _goal_url(activity.goal_id, org_slug))


# --- Check-ins -------------------------------------------------------------------------


def checkin_create(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Record progress on a goal (its employee or the plan's editors)."""
    goal, access = selectors.get_goal_for(request, pk, perm="check_in")
    form = _checkin_form(goal, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            checkin = services.record_checkin(
                actor=_membership(request), goal=goal, **form.cleaned_data
            )
        except DomainError as exc:
            _add_error(form, exc)
        else:
            if _htmx(request):
                context = _flags(request, access, goal.plan)
                # The service's goal carries the new progress, actual and status.
                context.update(
                    goal=selectors.with_goal_details(checkin.goal), show_checkins=True
                )
                response = render(
                    request, "engagements/partials/goal_card.html", context
                )
                return retarget(reswap(response, "outerHTML"), f"#goal-{goal.pk}")
            messages.success(
                request,
                _("Progress on “%(title)s” recorded.") % {"title": goal.title},
            )
            return _back(request, _goal_url(goal.pk, org_slug))
    context = _flags(request, access, goal.plan)
    next_page = request.POST.get("next") or request.GET.get("next", "")
    context.update(goal=goal, checkin_form=form, next=_safe_next(request, next_page))
    if _htmx(request):
        # 200 even with errors: htmx would not swap a 4xx (see the module docstring).
        return render(request, "engagements/partials/checkin_form.html", context)
    return render(
        request,
        "engagements/checkin_form.html",
        context,
        status=400 if form.errors else 200,
    )


urlpatterns = [
    path("plans/<int:pk>/", plan_detail, name="plan_detail"),
    path("plans/<int:pk>/edit/", plan_edit, name="plan_edit"),
    path("plans/<int:pk>/activate/", plan_activate, name="plan_activate"),
    path("plans/<int:pk>/normalise/", plan_normalise, name="plan_normalise"),
    path("plans/<int:pk>/remove/", plan_remove, name="plan_remove"),
    path("plans/<int:pk>/goals/new/", goal_create, name="goal_create"),
    path("goals/<int:pk>/", goal_detail, name="goal_detail"),
    path("goals/<int:pk>/edit/", goal_edit, name="goal_edit"),
    path("goals/<int:pk>/delete/", goal_delete, name="goal_delete"),
    path("goals/<int:pk>/activities/new/", activity_create, name="activity_create"),
    path("activities/<int:pk>/toggle/", activity_toggle, name="activity_toggle"),
    path("goals/<int:pk>/checkins/new/", checkin_create, name="checkin_create"),
]
