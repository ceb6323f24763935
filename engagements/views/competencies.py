"""Competencies on plans (add, re-weight, remove), on plan templates, and engagement
types.

Plan competencies are edited by whoever may edit the plan (``can_edit_plan``: HR, the
engagement's planners for engagement plans, the line manager for general plans); the
access gates in ``engagements.selectors`` answer 404 for a plan the caller cannot see
and 403 for one they see but may not change. Template competencies and engagement
types are for HR admins (403 for other roles before any lookup).

HTMX: every form of the plan's competency section posts with ``hx-post`` and gets the
whole section back (``#plan-competencies``), with status 200 also when the input is
refused, because htmx does not swap 4xx responses (see ``engagements/views/plans.py``).
Without HTMX a success redirects to the plan and a refusal is a page of its own with
status 400, the message beside the field and nothing changed.

The plan page loads the section on its own (``plan_competencies``, as the engagement
page loads its activity and history), so the plan page stays within its query budget.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from engagements import selectors, services
from engagements.forms import EngagementTypeForm, PlanCompetencyForm
from engagements.models import EngagementType, Plan, PlanCompetency, PlanTemplate
from engagements.permissions import can_edit_plan
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Membership
from organizations.permissions import role_required

PAGE_SIZE = 25
SECTION = "engagements/partials/plan_competencies.html"
ADD_FORM_AUTO_ID = "id_pc_%s"
TEMPLATE_FORM_AUTO_ID = "id_tc_%s"


def _actor(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


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
    scale = selectors.scale_for_cycle(plan.cycle)
    points = selectors.scale_points(scale)
    rows = selectors.plan_competency_rows(selectors.plan_competencies(plan), points)
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
    request: HttpRequest,
    plan: Plan,
    section: dict[str, Any],
    *,
    refused: bool,
) -> HttpResponse:
    """The section for HTMX (200, also when refused); without HTMX the competency
    page (400 when refused)."""
    # A partial has no base page to show the messages: it shows them itself.
    context = {"plan": plan, "section": section, "show_messages": _htmx(request)}
    if _htmx(request):
        return render(request, SECTION, context)
    return render(
        request,
        "engagements/plan_competencies.html",
        context,
        status=400 if refused else 200,
    )


def _editable(plan: Plan) -> bool:
    """For a caller allowed to edit ``plan``: whether it may still change."""
    return services.plan_lock_reason(plan) is None


def _field_error(form: PlanCompetencyForm, exc: DomainError) -> str:
    """Put a domain error beside its field; one without a field is returned to show
    above the section (the lock explanation)."""
    if exc.field in form.fields:
        form.add_error(exc.field, exc.message)
        return ""
    return exc.message


@require_GET
def plan_competencies(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """The competencies expected on a plan with their descriptors (everyone who can
    see the plan), with the edit forms for its editors.

    The plan page loads it as a section of its own (HTMX), so each response stays
    within the query budget; without JavaScript it is a page of its own.
    """
    plan, access = selectors.get_plan_for(request, pk)
    editable = can_edit_plan(access, plan) and _editable(plan)
    response = _respond(
        request, plan, competency_section(plan, editable), refused=False
    )
    # One URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_POST
def plan_competency_add(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Add a competency to a plan with its weight and expected level (the plan's
    editors)."""
    plan, _access = selectors.get_plan_for(request, pk, perm="edit")
    points = selectors.scale_points(selectors.scale_for_cycle(plan.cycle))
    form = PlanCompetencyForm(
        request.POST, plan=plan, points=points, auto_id=ADD_FORM_AUTO_ID
    )
    error = ""
    if form.is_valid():
        try:
            item = services.add_plan_competency(
                actor=_actor(request), plan=plan, **form.cleaned_data
            )
        except DomainError as exc:
            error = _field_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s was added to the plan.") % {"name": item.competency.name},
            )
            if not _htmx(request):
                return redirect(_plan_url(org_slug, plan.pk))
            form = None  # type: ignore[assignment]  # a fresh form after a success
    refused = bool(error or (form is not None and form.errors))
    section = competency_section(plan, _editable(plan), add_form=form, error=error)
    return _respond(request, plan, section, refused=refused)


@require_POST
def plan_competency_update(
    request: HttpRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Change the weight and expected level of a competency on a plan (the plan's
    editors)."""
    item, _access = selectors.get_plan_competency_for(request, pk, perm="edit")
    plan = item.plan
    points = selectors.scale_points(selectors.scale_for_cycle(plan.cycle))
    form = PlanCompetencyForm(
        request.POST,
        plan=plan,
        points=points,
        adding=False,
        prefix=_edit_prefix(item),
    )
    error = ""
    if form.is_valid():
        try:
            services.update_plan_competency(
                actor=_actor(request), plan_competency=item, **form.cleaned_data
            )
        except DomainError as exc:
            error = _field_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s was saved.") % {"name": item.competency.name},
            )
            if not _htmx(request):
                return redirect(_plan_url(org_slug, plan.pk))
            form = None  # type: ignore[assignment]
    refused = bool(error or (form is not None and form.errors))
    section = competency_section(
        plan, _editable(plan), edit_form=form, edit_pk=item.pk, error=error
    )
    return _respond(request, plan, section, refused=refused)


@require_POST
def plan_competency_remove(
    request: HttpRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Take a competency off a plan (the plan's editors)."""
    item, _access = selectors.get_plan_competency_for(request, pk, perm="edit")
    plan = item.plan
    try:
        services.remove_plan_competency(actor=_actor(request), plan_competency=item)
    except DomainError as exc:
        section = competency_section(plan, _editable(plan), error=exc.message)
        return _respond(request, plan, section, refused=True)
    messages.success(
        request,
        _("%(name)s was taken off the plan.") % {"name": item.competency.name},
    )
    if not _htmx(request):
        return redirect(_plan_url(org_slug, plan.pk))
    section = competency_section(plan, _editable(plan))
    return _respond(request, plan, section, refused=False)


# --- Competencies of plan templates (HR admins) ------------------------------------------


def template_competency_block(
    template: PlanTemplate, form: PlanCompetencyForm | None = None
) -> dict[str, Any]:
    """The template page's competency block: its competencies and the add form
    (levels are points of the default scale). Three queries."""
    points = selectors.scale_points(selectors.default_scale())
    return {
        "items": selectors.template_competencies(template),
        "form": form
        if form is not None
        else PlanCompetencyForm(
            template=template, points=points, auto_id=TEMPLATE_FORM_AUTO_ID
        ),
    }


@require_POST
def template_competency_add(
    request: HttpRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Add a competency to a plan template (HR admins)."""
    template = selectors.get_template_for(request, pk)
    points = selectors.scale_points(selectors.default_scale())
    form = PlanCompetencyForm(
        request.POST, template=template, points=points, auto_id=TEMPLATE_FORM_AUTO_ID
    )
    if form.is_valid():
        try:
            item = services.add_template_competency(
                actor=_actor(request), template=template, **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _(
                    "%(name)s added; plans this template is applied to from now on get "
                    "it."
                )
                % {"name": item.competency.name},
            )
            return redirect("engagements:template_detail", org_slug, template.pk)
    return render(
        request,
        "engagements/template_competency_form.html",
        {
            "template": template,
            "competency_block": template_competency_block(template, form),
        },
        status=400,
    )


@require_POST
def template_competency_remove(
    request: HttpRequest, org_slug: str, pk: int, cid: int
) -> HttpResponse:
    """Take a competency out of a plan template (HR admins)."""
    template = selectors.get_template_for(request, pk)
    item = selectors.get_template_competency_for(template, cid)
    services.remove_template_competency(actor=_actor(request), item=item)
    messages.success(
        request,
        _("%(name)s removed from the template. Plans that received it keep it.")
        % {"name": item.competency.name},
    )
    return redirect("engagements:template_detail", org_slug, template.pk)


# --- Engagement types (HR admins) --------------------------------------------------------


@role_required(Role.HR_ADMIN)
def engagement_types(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The engagement types with their competency sets, and a form to add one."""
    form = EngagementTypeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.save_engagement_type(
                actor=_actor(request), **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                _("Engagement type %(name)s created.") % {"name": created.name},
            )
            return redirect("engagements:engagement_types", org_slug)
    page = Paginator(selectors.engagement_type_list(), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "engagements/engagement_types.html",
        {"form": form, "page_obj": page, "engagement_types": page.object_list},
        status=400 if form.errors else 200,
    )


def engagement_type_edit(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Rename an engagement type or change its competency set (HR admins)."""
    found: EngagementType = selectors.get_engagement_type_for(request, pk)
    form = EngagementTypeForm(request.POST or None, instance=found)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_engagement_type(
                actor=_actor(request), engagement_type=found, **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request, _("Engagement type %(name)s saved.") % {"name": saved.name}
            )
            return redirect("engagements:engagement_types", org_slug)
    if form.errors:
        # The bound instance carries the rejected values; show the stored ones.
        found.refresh_from_db()
    return render(
        request,
        "engagements/engagement_type_form.html",
        {"form": form, "engagement_type": found},
        status=400 if form.errors else 200,
    )


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
    path(
        "templates/<int:pk>/competencies/add/",
        template_competency_add,
        name="template_competency_add",
    ),
    path(
        "templates/<int:pk>/competencies/<int:cid>/remove/",
        template_competency_remove,
        name="template_competency_remove",
    ),
    path("engagement-types/", engagement_types, name="engagement_types"),
    path(
        "engagement-types/<int:pk>/",
        engagement_type_edit,
        name="engagement_type_edit",
    ),
]
