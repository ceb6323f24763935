"""Plan templates (HR admins): the list, a template's page with its goals and
competencies, and removing goals and competencies from it. Applying a template to an
engagement's plans is in ``engagements/views/staffing.py``.

Other roles get 403 before any lookup (``role_required`` or the HR-only gate
``engagements.selectors.access.get_template_for``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from engagements.forms import PlanCompetencyForm, PlanTemplateForm, TemplateGoalForm
from engagements.models import PlanTemplate
from engagements.selectors.access import (
    get_template_competency_for,
    get_template_for,
    get_template_goal_for,
)
from engagements.selectors.competencies import (
    default_scale,
    scale_points,
    template_competencies,
)
from engagements.selectors.pages import template_goals
from engagements.selectors.pages import template_list as templates_overview
from engagements.services.competencies import (
    add_template_competency,
    remove_template_competency,
)
from engagements.services.templates import (
    add_template_goal,
    create_template,
    delete_template_goal,
    update_template,
)
from engagements.views.listing import list_with_form
from organizations.enums import Role
from organizations.http import TenantRequest, apply_service
from organizations.permissions import role_required

TEMPLATE_FORM_AUTO_ID = "id_tc_%s"


# --- Plan templates ----------------------------------------------------------------------


@role_required(Role.HR_ADMIN)
def template_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The plan templates, and a form to create one (HR admins)."""
    form = PlanTemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = apply_service(
            form,
            lambda: create_template(actor=request.membership, **form.cleaned_data),
        )
        if (template := outcome.value) is not None:
            messages.success(
                request,
                _("Template %(name)s created. Now add its goals.")
                % {"name": template.name},
            )
            return redirect("engagements:template_detail", org_slug, template.pk)
    return list_with_form(
        request,
        "engagements/template_list.html",
        templates_overview(),
        {"form": form},
        "templates",
    )


@role_required(Role.HR_ADMIN)
def template_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """A template's goals with their total; edit the template, add goals (HR admins).

    The page has two forms; the hidden ``action`` field says which one was sent.
    """
    template = get_template_for(request, pk)
    template_form = PlanTemplateForm(prefix="template", instance=template)
    goal_form = TemplateGoalForm(prefix="goal")
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "update":
        template_form = PlanTemplateForm(
            request.POST, prefix="template", instance=template
        )
        if _update_template(request, template, template_form):
            messages.success(request, _("Template saved."))
            return redirect("engagements:template_detail", org_slug, pk)
    elif action == "add_goal":
        goal_form = TemplateGoalForm(request.POST, prefix="goal")
        if _add_template_goal(request, template, goal_form):
            return redirect("engagements:template_detail", org_slug, pk)
    elif request.method == "POST":
        messages.error(
            request, _("Use one of the forms on this page to make a change.")
        )
    return _template_page(request, template, template_form, goal_form)


def _update_template(
    request: TenantRequest, template: PlanTemplate, form: PlanTemplateForm
) -> bool:
    """Save the template form of the template page; False when refused."""
    return (
        form.is_valid()
        and apply_service(
            form,
            lambda: update_template(
                actor=request.membership, template=template, **form.cleaned_data
            ),
        ).ok
    )


def _add_template_goal(
    request: TenantRequest, template: PlanTemplate, form: TemplateGoalForm
) -> bool:
    """Add the goal of the template page's goal form; False when refused."""
    if not form.is_valid():
        return False
    outcome = apply_service(
        form,
        lambda: add_template_goal(
            actor=request.membership, template=template, **form.cleaned_data
        ),
    )
    if outcome.value is not None:
        messages.success(
            request, _("Goal %(title)s added.") % {"title": outcome.value.title}
        )
    return outcome.ok


def _template_page(
    request: TenantRequest,
    template: PlanTemplate,
    template_form: PlanTemplateForm,
    goal_form: TemplateGoalForm,
) -> HttpResponse:
    """The template page; 400 after a POST (every successful one redirects)."""
    if template_form.errors:
        # The bound instance carries the rejected values; show the stored ones.
        template.refresh_from_db()
    goals = template_goals(template)
    context = {
        "template": template,
        "template_form": template_form,
        "goal_form": goal_form,
        "goals": goals,
        "weight_total": sum((g.weight for g in goals), Decimal(0)),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "engagements/template_detail.html", context, status=status)


@require_POST
def template_goal_delete(
    request: TenantRequest, org_slug: str, pk: int, gid: int
) -> HttpResponse:
    """Remove a goal blueprint from a template (HR admins)."""
    template = get_template_for(request, pk)
    goal = get_template_goal_for(template, gid)
    delete_template_goal(actor=request.membership, goal=goal)
    messages.success(request, _("Goal %(title)s removed.") % {"title": goal.title})
    return redirect("engagements:template_detail", org_slug, template.pk)


# --- Competencies of plan templates (HR admins) ------------------------------------------


def template_competency_block(
    template: PlanTemplate, form: PlanCompetencyForm | None = None
) -> dict[str, Any]:
    """The template page's competency block: its competencies and the add form
    (levels are points of the default scale). Three queries."""
    points = scale_points(default_scale())
    return {
        "items": template_competencies(template),
        "form": form
        if form is not None
        else PlanCompetencyForm(
            template=template, points=points, auto_id=TEMPLATE_FORM_AUTO_ID
        ),
    }


@require_POST
def template_competency_add(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Add a competency to a plan template (HR admins)."""
    template = get_template_for(request, pk)
    points = scale_points(default_scale())
    form = PlanCompetencyForm(
        request.POST, template=template, points=points, auto_id=TEMPLATE_FORM_AUTO_ID
    )
    if form.is_valid():
        outcome = apply_service(
            form,
            lambda: add_template_competency(
                actor=request.membership, template=template, **form.cleaned_data
            ),
        )
        if (item := outcome.value) is not None:
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
    request: TenantRequest, org_slug: str, pk: int, cid: int
) -> HttpResponse:
    """Take a competency out of a plan template (HR admins)."""
    template = get_template_for(request, pk)
    item = get_template_competency_for(template, cid)
    remove_template_competency(actor=request.membership, item=item)
    messages.success(
        request,
        _("%(name)s removed from the template. Plans that received it keep it.")
        % {"name": item.competency.name},
    )
    return redirect("engagements:template_detail", org_slug, template.pk)


urlpatterns: list[URLPattern] = [
    path("templates/", template_list, name="templates"),
    path("templates/<int:pk>/", template_detail, name="template_detail"),
    path(
        "templates/<int:pk>/goals/<int:gid>/delete/",
        template_goal_delete,
        name="template_goal_delete",
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
]
