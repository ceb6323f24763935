"""Competencies on plans (add, re-weight, remove) and engagement types.

Plan competencies are edited by whoever may edit the plan (``can(access,
"edit_plan", plan)``: HR, the engagement's planners for engagement plans, the line
manager for general plans); the access gates in ``engagements.selectors.access``
answer 404 for a plan the caller cannot see and 403 for one they see but may not
change. Engagement types are for HR admins (403 for other roles before any lookup);
template competencies are in ``engagements/views/templates.py``.

HTMX: every form of the plan's competency section posts with ``hx-post`` and gets the
whole section back (``#plan-competencies``), with status 200 also when the input is
refused, because htmx does not swap 4xx responses (see ``engagements/views/plans.py``).
Without HTMX a success redirects to the plan and a refusal is a page of its own with
status 400, the message beside the field and nothing changed.

The plan page loads the section on its own (``plan_competencies``, as the engagement
page loads its activity and history), so the plan page stays within its query budget.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from engagements.forms import EngagementTypeForm, PlanCompetencyForm
from engagements.models import EngagementType, Plan, PlanCompetency
from engagements.permissions import Action, can
from engagements.selectors.access import (
    get_engagement_type_for,
    get_plan_competency_for,
    get_plan_for,
)
from engagements.selectors.competencies import plan_competencies as competency_items
from engagements.selectors.competencies import (
    plan_competency_rows,
    scale_for_cycle,
    scale_points,
)
from engagements.selectors.pages import engagement_type_list
from engagements.services.clients import save_engagement_type
from engagements.services.competencies import (
    add_plan_competency,
    remove_plan_competency,
    update_plan_competency,
)
from engagements.services.plans import plan_lock_reason
from engagements.views.listing import list_with_form
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.http import (
    TenantRequest,
    apply_service,
    form_response,
    is_htmx,
    page_or_partial,
)
from organizations.permissions import role_required

SECTION = "engagements/partials/plan_competencies.html"
ADD_FORM_AUTO_ID = "id_pc_%s"


def _plan_url(org_slug: str, plan_pk: int) -> str:
    url = reverse("engagements:plan_detail", args=[org_slug, plan_pk])
    return f"{url}#plan-competencies"


def _edit_prefix(item: PlanCompetency) -> str:
    return f"pc{item.pk}"


def _level_key(value: Decimal) -> str:
    return format(value.normalize(), "f")


def competency_section(
    plan: Plan,
    editable: bool,
    *,
    add_form: PlanCompetencyForm | None = None,
    edit_form: PlanCompetencyForm | None = None,
    edit_pk: int | None = None,
    error: str = "",
) -> dict[str, Any]:
    """Everything the plan's competency section shows: each competency with its
    expected level and the descriptor of every point of the scale, their weight
    total and, for editors of an unlocked plan, the forms.

    ``add_form`` / ``edit_form`` (for ``edit_pk``) are bound forms to show with their
    errors. Four queries (scale, competencies, descriptors, and the competencies that
    can be added when the add form shows); the plan's cycle must be loaded.
    """
    scale = scale_for_cycle(plan.cycle)
    points = scale_points(scale)
    rows = plan_competency_rows(competency_items(plan), points)
    edit_forms: dict[int, PlanCompetencyForm] = {}
    if editable:
        for row in rows:
            item = row.item
            if edit_form is not None and item.pk == edit_pk:
                edit_forms[item.pk] = edit_form
                continue
            edit_forms[item.pk] = PlanCompetencyForm(
                plan=plan,
                points=points,
                adding=False,
                prefix=_edit_prefix(item),
                initial={
                    "weight": item.weight.normalize(),
                    "expected_level": _level_key(item.expected_level),
                },
            )
        if add_form is None:
            add_form = PlanCompetencyForm(
                plan=plan, points=points, auto_id=ADD_FORM_AUTO_ID
            )
    else:
        add_form = None
    total = sum((row.item.weight for row in rows), Decimal(0))
    return {
        "scale": scale,
        "rows": [(row, edit_forms.get(row.item.pk)) for row in rows],
        "count": len(rows),
        "weight_total": total,
        "add_form": add_form,
        "editable": editable,
        "error": error,
    }


def _respond(
    request: TenantRequest,
    plan: Plan,
    section: dict[str, Any],
    *,
    refused: bool,
) -> HttpResponse:
    """The section for HTMX (200, also when refused); without HTMX the competency
    page (400 when refused)."""
    context = _section_context(request, plan, section)
    if is_htmx(request):
        return render(request, SECTION, context)
    return render(
        request,
        "engagements/plan_competencies.html",
        context,
        status=400 if refused else 200,
    )


def _editable(plan: Plan) -> bool:
    """For a caller allowed to edit ``plan``: whether it may still change."""
    return plan_lock_reason(plan) is None


def _field_error(form: PlanCompetencyForm, exc: DomainError) -> str:
    """Put a domain error beside its field; one without a field is returned to show
    above the section (the lock explanation)."""
    if exc.field in form.fields:
        form.add_error(exc.field, exc.message)
        return ""
    return exc.message


def _section_context(
    request: TenantRequest, plan: Plan, section: dict[str, Any]
) -> dict[str, Any]:
    # A partial has no base page to show the messages: it shows them itself.
    return {"plan": plan, "section": section, "show_messages": is_htmx(request)}


def _run_in_section(
    request: TenantRequest,
    form: PlanCompetencyForm,
    call: Callable[[], object],
    success: Callable[[], str],
) -> tuple[bool, str]:
    """Run a section form's service call: whether it was done (with ``success()`` as
    the message), and the refusal to show above the section (see ``_field_error``)."""
    if not form.is_valid():
        return False, ""
    try:
        call()
    except DomainError as exc:
        return False, _field_error(form, exc)
    messages.success(request, success())
    return True, ""


@require_GET
def plan_competencies(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The competencies expected on a plan with their descriptors (everyone who can
    see the plan), with the edit forms for its editors.

    The plan page loads it as a section of its own (HTMX), so each response stays
    within the query budget; without JavaScript it is a page of its own.
    """
    plan, access = get_plan_for(request, pk)
    editable = can(access, Action.EDIT_PLAN, plan) and _editable(plan)
    section = competency_section(plan, editable)
    return page_or_partial(
        request,
        "engagements/plan_competencies.html",
        SECTION,
        _section_context(request, plan, section),
    )


@require_POST
def plan_competency_add(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Add a competency to a plan with its weight and expected level (the plan's
    editors)."""
    plan, _access = get_plan_for(request, pk, perm="edit")
    points = scale_points(scale_for_cycle(plan.cycle))
    form = PlanCompetencyForm(
        request.POST, plan=plan, points=points, auto_id=ADD_FORM_AUTO_ID
    )
    done, error = _run_in_section(
        request,
        form,
        lambda: add_plan_competency(
            actor=request.membership, plan=plan, **form.cleaned_data
        ),
        lambda: (
            _("%(name)s was added to the plan.")
            % {"name": form.cleaned_data["competency"].name}
        ),
    )
    if done and not is_htmx(request):
        return redirect(_plan_url(org_slug, plan.pk))
    # After a success the section shows a fresh form.
    shown = None if done else form
    section = competency_section(plan, _editable(plan), add_form=shown, error=error)
    return _respond(request, plan, section, refused=not done)


@require_POST
def plan_competency_update(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Change the weight and expected level of a competency on a plan (the plan's
    editors)."""
    item, _access = get_plan_competency_for(request, pk, perm="edit")
    plan = item.plan
    points = scale_points(scale_for_cycle(plan.cycle))
    form = PlanCompetencyForm(
        request.POST, plan=plan, points=points, adding=False, prefix=_edit_prefix(item)
    )
    done, error = _run_in_section(
        request,
        form,
        lambda: update_plan_competency(
            actor=request.membership, plan_competency=item, **form.cleaned_data
        ),
        lambda: _("%(name)s was saved.") % {"name": item.competency.name},
    )
    if done and not is_htmx(request):
        return redirect(_plan_url(org_slug, plan.pk))
    shown = None if done else form
    section = competency_section(
        plan, _editable(plan), edit_form=shown, edit_pk=item.pk, error=error
    )
    return _respond(request, plan, section, refused=not done)


@require_POST
def plan_competency_remove(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Take a competency off a plan (the plan's editors)."""
    item, _access = get_plan_competency_for(request, pk, perm="edit")
    plan = item.plan
    try:
        remove_plan_competency(actor=request.membership, plan_competency=item)
    except DomainError as exc:
        section = competency_section(plan, _editable(plan), error=exc.message)
        return _respond(request, plan, section, refused=True)
    messages.success(
        request,
        _("%(name)s was taken off the plan.") % {"name": item.competency.name},
    )
    if not is_htmx(request):
        return redirect(_plan_url(org_slug, plan.pk))
    section = competency_section(plan, _editable(plan))
    return _respond(request, plan, section, refused=False)


# --- Engagement types (HR admins) --------------------------------------------------------


@role_required(Role.HR_ADMIN)
def engagement_types(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The engagement types with their competency sets, and a form to add one."""
    form = EngagementTypeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = apply_service(
            form,
            lambda: save_engagement_type(actor=request.membership, **form.cleaned_data),
        )
        if (created := outcome.value) is not None:
            messages.success(
                request,
                _("Engagement type %(name)s created.") % {"name": created.name},
            )
            return redirect("engagements:engagement_types", org_slug)
    return list_with_form(
        request,
        "engagements/engagement_types.html",
        engagement_type_list(),
        {"form": form},
        "engagement_types",
    )


def engagement_type_edit(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Rename an engagement type or change its competency set (HR admins)."""
    found: EngagementType = get_engagement_type_for(request, pk)
    form = EngagementTypeForm(request.POST or None, instance=found)
    if request.method == "POST" and form.is_valid():
        outcome = apply_service(
            form,
            lambda: save_engagement_type(
                actor=request.membership, engagement_type=found, **form.cleaned_data
            ),
        )
        if (saved := outcome.value) is not None:
            messages.success(
                request, _("Engagement type %(name)s saved.") % {"name": saved.name}
            )
            return redirect("engagements:engagement_types", org_slug)
    if form.errors:
        # The bound instance carries the rejected values; show the stored ones.
        found.refresh_from_db()
    context = {"form": form, "engagement_type": found}
    return form_response(request, "engagements/engagement_type_form.html", context)


urlpatterns: list[URLPattern] = [
    path("plans/<int:pk>/competencies/", plan_competencies, name="plan_competencies"),
    path(
        "plans/<int:pk>/competencies/add/",
        plan_competency_add,
        name="plan_competency_add",
    ),
    path(
        "plan-competencies/<int:pk>/",
        plan_competency_update,
        name="plan_competency_update",
    ),
    path(
        "plan-competencies/<int:pk>/remove/",
        plan_competency_remove,
        name="plan_competency_remove",
    ),
    path("engagement-types/", engagement_types, name="engagement_types"),
    path(
        "engagement-types/<int:pk>/",
        engagement_type_edit,
        name="engagement_type_edit",
    ),
]
