"""Plans, goals, key activities and check-ins.

Every view asks one access gate (``selectors.access.get_plan_for`` / ``get_goal_for``
/ ``get_activity_for``): a plan the caller cannot see is 404, a visible one they may
not change is 403. Writes go through ``engagements.services.plans``, which refuses every
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
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib import messages
from django.forms import BaseForm
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from engagements.enums import GoalStatus, PlanStatus
from engagements.forms import CheckInForm, GoalForm, KeyActivityForm, PlanForm
from engagements.models import Goal, GoalCheckIn, Plan
from engagements.permissions import Action, can
from engagements.selectors.access import get_activity_for, get_goal_for, get_plan_for
from engagements.selectors.history import goal_history
from engagements.selectors.pages import plan_goals, with_goal_details
from engagements.services.plans import (
    activate_plan,
    add_goal,
    add_key_activity,
    delete_goal,
    normalise_goal_weights,
    plan_lock_reason,
    record_checkin,
    remove_from_engagement,
    set_key_activity_done,
    update_goal,
    update_plan,
)
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.http import (
    Outcome,
    TenantRequest,
    apply_service,
    form_response,
    is_htmx,
    safe_next,
)
from organizations.permissions import Access, role_required

T = TypeVar("T")

HUNDRED = Decimal(100)
# The timelines show the latest changes; older ones stay in the history tables.
HISTORY_LIMIT = 100


# --- helpers ---------------------------------------------------------------------------


def _back(request: TenantRequest, default: str) -> HttpResponseRedirect:
    """Redirect to the page the action was posted from (``next``), if it is a page of
    this organisation, else to ``default``."""
    return HttpResponseRedirect(
        safe_next(request, request.POST.get("next", "")) or default
    )


def _apply_edit(
    request: TenantRequest,
    form: BaseForm,
    update: Callable[[int, dict[str, Any]], T],
) -> Outcome[T]:
    """On a POST whose versioned form is valid, run ``update(version, fields)`` (the
    form's cleaned data, less its ``version``) through ``apply_service``; otherwise
    a refusal that did nothing (``ok`` and ``conflict`` both false). No query of its
    own."""
    if request.method != "POST" or not form.is_valid():
        return Outcome(ok=False)
    fields = dict(form.cleaned_data)
    version = fields.pop("version")
    return apply_service(form, lambda: update(version, fields))


def _plan_url(plan_pk: int, org_slug: str, anchor: str = "") -> str:
    url = reverse("engagements:plan_detail", args=[org_slug, plan_pk])
    return f"{url}#{anchor}" if anchor else url


def _goal_url(goal_pk: int, org_slug: str) -> str:
    return reverse("engagements:goal_detail", args=[org_slug, goal_pk])


def _page_path(request: TenantRequest) -> str:
    """The path of the page the user is looking at, also for an HTMX request (whose
    own path is the action's); in-page forms send it back as ``next``."""
    if is_htmx(request):
        current = request.htmx.current_url_abs_path
        if current:
            return str(current)
    return request.path


def _flags(request: TenantRequest, access: Access, plan: Plan) -> dict[str, Any]:
    """What the page may offer this caller on ``plan``: booleans for the templates."""
    lock_reason = plan_lock_reason(plan)
    can_edit = can(access, Action.EDIT_PLAN, plan)
    checks_in = can(access, Action.CHECK_IN, plan)
    return {
        "page_path": _page_path(request),
        "plan": plan,
        "lock_reason": lock_reason,
        "can_edit": can_edit,
        "editable": can_edit and lock_reason is None,
        "may_check_in": checks_in and lock_reason is None,
        "can_remove": can(access, Action.MANAGE) and plan.engagement_id is not None,
    }


def _goal_list(
    request: TenantRequest,
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
    request: TenantRequest, plan_pk: int, *, keep_form_open: bool = False
) -> HttpResponse:
    """The goal list partial of the freshly loaded plan, swapped over ``#plan-goals``
    (its weight total and status may have changed with the goals)."""
    plan, access = get_plan_for(request, plan_pk)
    context = _goal_list(request, access, plan, plan_goals(plan))
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


def _act(request: TenantRequest, call: Callable[[], object], success: str) -> bool:
    """Run a one-button action: ``success`` as a message, or the refusal's. True when
    it was done."""
    try:
        call()
    except DomainError as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True


# --- Plans -----------------------------------------------------------------------------


@require_GET
def plan_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """A plan with its goals, weight total and key activities; its history loads on
    demand (``engagements.views.plan_history``)."""
    plan, access = get_plan_for(request, pk)
    context = _goal_list(request, access, plan, plan_goals(plan))
    # The key activity forms fold behind a button here; the goal page shows them open.
    context.update(fold_activity_forms=True)
    return render(request, "engagements/plan_detail.html", context)


def plan_edit(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Change a plan's dates, allocation, role, weights and reviewer/approver; a
    stale submit is refused with who changed it and when."""
    plan, access = get_plan_for(request, pk, perm="edit")
    # The form works on a copy: a rejected submit must not show in the page header.
    form = PlanForm(request.POST or None, instance=copy.copy(plan))
    outcome = _apply_edit(
        request,
        form,
        lambda version, fields: update_plan(
            actor=request.membership, plan=plan, version=version, **fields
        ),
    )
    if outcome.ok:
        messages.success(request, _("The plan was saved."))
        return redirect("engagements:plan_detail", org_slug, plan.pk)
    context = _flags(request, access, plan)
    context.update(form=form, conflict=outcome.conflict)
    return form_response(request, "engagements/plan_form.html", context)


@require_POST
def plan_activate(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Put a plan in force; its goal weights must total 100."""
    plan, _access = get_plan_for(request, pk, perm="edit")
    _act(
        request,
        lambda: activate_plan(actor=request.membership, plan=plan),
        _("The plan is active. %(name)s can now see it and record progress.")
        % {"name": plan.employee.full_name},
    )
    return redirect("engagements:plan_detail", org_slug, plan.pk)


@require_POST
def plan_normalise(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Scale the goal weights so they total exactly 100."""
    plan, _access = get_plan_for(request, pk, perm="edit")
    _act(
        request,
        lambda: normalise_goal_weights(actor=request.membership, plan=plan),
        _("Goal weights now total 100, in the same proportions as before."),
    )
    return redirect(_plan_url(plan.pk, org_slug, "plan-goals"))


@require_POST
@role_required(Role.HR_ADMIN)
def plan_remove(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Take someone off an engagement: their engagement plan is deleted (HR admins)."""
    plan, _access = get_plan_for(request, pk)
    removed = _act(
        request,
        lambda: remove_from_engagement(actor=request.membership, plan=plan),
        _("%(name)s was taken off %(engagement)s; their plan for %(cycle)s is deleted.")
        % {
            "name": plan.employee.full_name,
            "engagement": plan.engagement,
            "cycle": plan.cycle.name,
        },
    )
    if not removed:
        return redirect("engagements:plan_detail", org_slug, plan.pk)
    return redirect("engagements:engagement_detail", org_slug, plan.engagement_id)


# --- Goals -----------------------------------------------------------------------------


def goal_create(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Add a goal to a plan: in place with HTMX, as a page without."""
    plan, access = get_plan_for(request, pk, perm="edit")
    form = GoalForm(request.POST or None, plan=plan)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("version", None)
        outcome = apply_service(
            form, lambda: add_goal(actor=request.membership, plan=plan, **data)
        )
        if (goal := outcome.value) is not None:
            messages.success(
                request, _("The goal “%(title)s” was added.") % {"title": goal.title}
            )
            if is_htmx(request):
                return _render_goal_list(request, plan.pk, keep_form_open=True)
            return redirect(_plan_url(plan.pk, org_slug, f"goal-{goal.pk}"))
    context = _flags(request, access, plan)
    context.update(form=form, goal=None)
    if is_htmx(request):
        # 200, not 400: htmx would not swap a 4xx and the errors would stay hidden.
        return render(request, "engagements/partials/goal_form.html", context)
    return form_response(request, "engagements/goal_form.html", context)


@require_GET
def goal_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """A goal with its key activities, check-ins and history."""
    goal, access = get_goal_for(request, pk)
    context = _flags(request, access, goal.plan)
    context.update(goal=with_goal_details(goal), **_goal_page(goal))
    return render(request, "engagements/goal_detail.html", context)


def _goal_page(goal: Goal) -> dict[str, Any]:
    """What the goal page shows below the goal card: check-ins and the history."""
    return {
        "show_checkins": True,
        "timeline": goal_history(goal)[:HISTORY_LIMIT],
        "history_limit": HISTORY_LIMIT,
    }


def goal_edit(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Change a goal; a stale submit is refused with who changed it and when."""
    goal, access = get_goal_for(request, pk, perm="edit")
    form = GoalForm(request.POST or None, instance=copy.copy(goal), plan=goal.plan)
    outcome = _apply_edit(
        request,
        form,
        lambda version, fields: update_goal(
            actor=request.membership, goal=goal, version=version, **fields
        ),
    )
    if outcome.ok:
        messages.success(
            request,
            _("The goal “%(title)s” was saved.")
            % {"title": form.cleaned_data["title"]},
        )
        return redirect(_plan_url(goal.plan_id, org_slug, f"goal-{goal.pk}"))
    context = _flags(request, access, goal.plan)
    context.update(form=form, goal=goal, conflict=outcome.conflict)
    return form_response(request, "engagements/goal_form.html", context)


@require_POST
def goal_delete(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Delete a goal with its key activities and check-ins."""
    goal, _access = get_goal_for(request, pk, perm="edit")
    plan_pk = goal.plan_id
    _act(
        request,
        lambda: delete_goal(actor=request.membership, goal=goal),
        _("The goal “%(title)s” was deleted.") % {"title": goal.title},
    )
    if is_htmx(request):
        # The partial shows the message and the new weight total in place.
        return _render_goal_list(request, plan_pk)
    return redirect(_plan_url(plan_pk, org_slug, "plan-goals"))


# --- Key activities --------------------------------------------------------------------


@require_POST
def activity_create(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Add a key activity to a goal's checklist."""
    found, access = get_goal_for(request, pk, perm="edit")
    form = _activity_form(found, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        outcome = apply_service(
            form,
            lambda: add_key_activity(
                actor=request.membership,
                goal=found,
                title=data["title"],
                due_date=data["due_date"],
            ),
        )
        if outcome.ok and not is_htmx(request):
            messages.success(request, _("Key activity added."))
            return _back(request, _goal_url(found.pk, org_slug))
        if outcome.ok:
            form = _activity_form(found)
    context = _flags(request, access, found.plan)
    context.update(goal=with_goal_details(found), activity_form=form)
    if is_htmx(request):
        # 200 even with errors: htmx would not swap a 4xx (see the module docstring).
        return render(request, "engagements/partials/activity_list.html", context)
    context.update(_goal_page(found))
    return render(request, "engagements/goal_detail.html", context, status=400)


@require_POST
def activity_toggle(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Tick or untick a key activity (the plan's editors and its employee).

    ``done`` ("true"/"false") sets the state, so a repeated submit changes nothing;
    without it the state flips.
    """
    activity, access = get_activity_for(request, pk, perm="check_in")
    wanted = request.POST.get("done")
    done = wanted == "true" if wanted in ("true", "false") else not activity.done
    if is_htmx(request):
        error = None
        try:
            set_key_activity_done(
                actor=request.membership, activity=activity, done=done
            )
        except DomainError as exc:
            error = exc.message
        context = _flags(request, access, activity.goal.plan)
        context.update(activity=activity, activity_error=error)
        return render(request, "engagements/partials/activity_item.html", context)
    _act(
        request,
        lambda: set_key_activity_done(
            actor=request.membership, activity=activity, done=done
        ),
        (_("“%(title)s” is done.") if done else _("“%(title)s” is open again."))
        % {"title": activity.title},
    )
    return _back(request, _goal_url(activity.goal_id, org_slug))


# --- Check-ins -------------------------------------------------------------------------


def checkin_create(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Record progress on a goal (its employee or the plan's editors)."""
    goal, access = get_goal_for(request, pk, perm="check_in")
    form = _checkin_form(goal, request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = apply_service(
            form,
            lambda: record_checkin(
                actor=request.membership, goal=goal, **form.cleaned_data
            ),
        )
        if (checkin := outcome.value) is not None:
            if is_htmx(request):
                # The service's goal carries the new progress, actual and status.
                return _render_goal_card(request, access, goal.plan, checkin.goal)
            messages.success(request, _checkin_saved(goal, checkin))
            plan_url = f"{goal.plan.get_absolute_url()}#goal-{goal.pk}"
            return _back(request, plan_url)
    context = _flags(request, access, goal.plan)
    next_page = request.POST.get("next") or request.GET.get("next", "")
    context.update(goal=goal, checkin_form=form, next=safe_next(request, next_page))
    if is_htmx(request):
        # 200 even with errors: htmx would not swap a 4xx (see the module docstring).
        return render(request, "engagements/partials/checkin_form.html", context)
    return form_response(request, "engagements/checkin_form.html", context, form=form)


def _checkin_saved(goal: Goal, checkin: GoalCheckIn) -> str:
    """The confirmation of a check-in: the goal and what was recorded."""
    values = {
        "title": goal.title,
        "progress": checkin.progress,
        "status": GoalStatus(checkin.status).label,
    }
    if checkin.actual_value is None:
        return _("Progress on “%(title)s” recorded: %(progress)s %%, %(status)s.") % (
            values
        )
    actual = f"{format(checkin.actual_value.normalize(), 'f')} {goal.unit}".strip()
    return _(
        "Progress on “%(title)s” recorded: %(progress)s %%, %(status)s, "
        "actual %(actual)s."
    ) % {**values, "actual": actual}


def _render_goal_card(
    request: TenantRequest, access: Access, plan: Plan, goal: Goal
) -> HttpResponse:
    """The card of ``goal`` (on ``plan``) with its check-ins, swapped over
    ``#goal-<pk>``."""
    context = _flags(request, access, plan)
    context.update(goal=with_goal_details(goal), show_checkins=True)
    response = render(request, "engagements/partials/goal_card.html", context)
    return retarget(reswap(response, "outerHTML"), f"#goal-{goal.pk}")


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
