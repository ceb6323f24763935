"""Staffing, engagement roles, role rules and plan templates.

HR admins staff engagements, hand out engagement roles, keep role rules and plan
templates; a planner of an engagement may also apply a template to its plans. Every
view checks access in one place: ``role_required`` (HR-only pages, checked before any
lookup) or an access gate from ``engagements.selectors``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from engagements import selectors, services
from engagements.forms import (
    EngagementTemplateForm,
    PlanTemplateForm,
    RoleAssignmentForm,
    RoleRuleForm,
    StaffingForm,
    TemplateGoalForm,
)
from engagements.models import Engagement, ReviewCycle
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Membership
from organizations.permissions import role_required

PAGE_SIZE = 25

# The engagement page holds several forms; distinct ids keep labels and errors apart
# while the posted field names stay plain.
ROLE_FORM_AUTO_ID = "id_role_%s"
APPLY_FORM_AUTO_ID = "id_apply_%s"


def role_form(data: Any = None) -> RoleAssignmentForm:
    """The role assignment form as the engagement page shows it."""
    return RoleAssignmentForm(data, auto_id=ROLE_FORM_AUTO_ID)


def apply_form(data: Any = None) -> EngagementTemplateForm:
    """The "apply a template" form as the engagement page shows it."""
    return EngagementTemplateForm(data, auto_id=APPLY_FORM_AUTO_ID)


def _actor(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _to_engagement(org_slug: str, engagement: Engagement) -> HttpResponse:
    return redirect("engagements:engagement_detail", org_slug, engagement.pk)


# --- Staffing --------------------------------------------------------------------------


def _default_dates_help(
    engagement: Engagement, cycles: Sequence[ReviewCycle]
) -> SafeString:
    """The start field's help: what empty dates become, per open cycle (escaped)."""
    if not cycles:
        return format_html(
            "{}",
            _(
                "No cycle accepts staffing. Create a cycle, or open one that is still "
                "in draft, first."
            ),
        )

    def window(cycle: ReviewCycle) -> str:
        dates: tuple[date, date] | None = services.default_plan_dates(engagement, cycle)
        if dates is None:
            return _("does not overlap this engagement")
        return _("%(start)s to %(end)s") % {
            "start": date_format(dates[0], "DATE_FORMAT"),
            "end": date_format(dates[1], "DATE_FORMAT"),
        }

    return format_html(
        '{}<ul class="mb-0">{}</ul>',
        _(
            "Leave the dates empty to use the overlap of the engagement and the chosen "
            "cycle:"
        ),
        format_html_join(
            "", "<li>{}: {}</li>", ((cycle.name, window(cycle)) for cycle in cycles)
        ),
    )


def _report_staffing(request: HttpRequest, result: services.StaffingResult) -> None:
    staffed = len(result.plans)
    if staffed:
        text = ngettext(
            "%(n)d person was staffed; their engagement plan is ready to write.",
            "%(n)d people were staffed; their engagement plans are ready to write.",
            staffed,
        ) % {"n": staffed}
    else:
        text = _("Nobody new was staffed.")
    if result.skipped:
        text += " " + _(
            "Already staffed in this cycle, so left as they were: %(names)s."
        ) % {"names": ", ".join(e.full_name for e in result.skipped)}
    if staffed:
        messages.success(request, text)
    else:
        messages.info(request, text)
    for warning in result.warnings:
        messages.warning(request, warning)


@role_required(Role.HR_ADMIN)
def engagement_staff(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Staff one or many people on the engagement for a cycle (HR admins)."""
    engagement = selectors.get_engagement_for(request, pk, perm="manage")[0]
    form = StaffingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.staff_employees(
                actor=_actor(request),
                engagement=engagement,
                cycle=data["cycle"],
                employees=list(data["employees"]),
                allocation=data["allocation"],
                start_date=data["start_date"],
                end_date=data["end_date"],
                role_title=data["role_title"],
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            _report_staffing(request, result)
            return _to_engagement(org_slug, engagement)
    cycles = list(selectors.cycles_for_staffing())
    form.fields["start_date"].help_text = _default_dates_help(engagement, cycles)
    return render(
        request,
        "engagements/staff_form.html",
        {"engagement": engagement, "form": form},
        status=400 if form.errors else 200,
    )


# --- Engagement roles ------------------------------------------------------------------


def _roles_block(
    request: HttpRequest,
    engagement: Engagement,
    form: RoleAssignmentForm | None = None,
) -> HttpResponse:
    """The engagement page's actions block, for HTMX swaps after a role change.

    Sent with 200 even when the form has errors: HTMX swaps only successful responses,
    and the errors must show beside the field.
    """
    return render(
        request,
        "engagements/partials/engagement_actions.html",
        {
            "engagement": engagement,
            "can_manage": True,
            "can_plan": True,
            "roles": selectors.engagement_roles(engagement),
            "role_form": form or role_form(),
        },
    )


@require_POST
@role_required(Role.HR_ADMIN)
def engagement_role_assign(
    request: HttpRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Give a person a role on the engagement, with its permissions (HR admins)."""
    engagement = selectors.get_engagement_for(request, pk, perm="manage")[0]
    form = role_form(request.POST)
    if form.is_valid():
        employee = form.cleaned_data["employee"]
        try:
            assignment = services.assign_role(
                actor=_actor(request),
                engagement=engagement,
                employee=employee,
                role=form.cleaned_data["role"],
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                _("%(name)s is %(role)s on this engagement.")
                % {
                    "name": employee.full_name,
                    "role": assignment.get_role_display().lower(),
                },
            )
            if request.htmx:  # type: ignore[attr-defined]
                return _roles_block(request, engagement)
            return _to_engagement(org_slug, engagement)
    if request.htmx:  # type: ignore[attr-defined]
        return _roles_block(request, engagement, form)
    return render(
        request,
        "engagements/role_form.html",
        {
            "engagement": engagement,
            "role_form": form,
            "roles": selectors.engagement_roles(engagement),
        },
        status=400,
    )


@require_POST
@role_required(Role.HR_ADMIN)
def engagement_role_revoke(
    request: HttpRequest, org_slug: str, pk: int, rid: int
) -> HttpResponse:
    """Take a role away, with the permissions it gave (HR admins)."""
    engagement = selectors.get_engagement_for(request, pk, perm="manage")[0]
    assignment = selectors.get_role_assignment_for(engagement, rid)
    services.revoke_role(actor=_actor(request), assignment=assignment)
    messages.success(
        request,
        _("%(name)s is no longer %(role)s on this engagement.")
        % {
            "name": assignment.employee.full_name,
            "role": assignment.get_role_display().lower(),
        },
    )
    if request.htmx:  # type: ignore[attr-defined]
        return _roles_block(request, engagement)
    return _to_engagement(org_slug, engagement)


# --- Applying a template to an engagement -------------------------------------------------


@require_POST
def engagement_apply_template(
    request: HttpRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Apply a template to the engagement's plans, all or nothing (HR admins and the
    engagement's planners)."""
    engagement = selectors.get_engagement_for(request, pk, perm="plan")[0]
    form = apply_form(request.POST)
    if form.is_valid():
        template = form.cleaned_data["template"]
        try:
            plans, goals = services.apply_template_to_engagement(
                actor=_actor(request),
                template=template,
                engagement=engagement,
                cycle=form.cleaned_data["cycle"],
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                ngettext(
                    "%(template)s was applied to %(n)d plan (%(goals)d goals added).",
                    "%(template)s was applied to %(n)d plans (%(goals)d goals added).",
                    plans,
                )
                % {"template": template.name, "n": plans, "goals": goals},
            )
            return _to_engagement(org_slug, engagement)
    return render(
        request,
        "engagements/apply_template_form.html",
        {"engagement": engagement, "apply_form": form},
        status=400,
    )


# --- Role rules --------------------------------------------------------------------------


@role_required(Role.HR_ADMIN)
def role_rules(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The role rules, and a form to add one (HR admins)."""
    form = RoleRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.create_role_rule(
                actor=_actor(request),
                job_title=form.cleaned_data["job_title"],
                role=form.cleaned_data["role"],
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                _(
                    "Rule added: every %(title)s staffed on an engagement is its "
                    "%(role)s. People already staffed got the role too."
                )
                % {
                    "title": rule.job_title.name,
                    "role": rule.get_role_display().lower(),
                },
            )
            return redirect("engagements:role_rules", org_slug)
    page = Paginator(selectors.role_rule_list(), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "engagements/role_rules.html",
        {"form": form, "page_obj": page, "rules": page.object_list},
        status=400 if form.errors else 200,
    )


@require_POST
def role_rule_delete(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Remove a role rule; the roles it gave stay (HR admins)."""
    rule = selectors.get_role_rule_for(request, pk)
    services.delete_role_rule(actor=_actor(request), rule=rule)
    messages.success(
        request,
        _(
            "The rule for %(title)s was removed. Roles it already gave stay until you "
            "revoke them on each engagement."
        )
        % {"title": rule.job_title.name},
    )
    return redirect("engagements:role_rules", org_slug)


# --- Plan templates ----------------------------------------------------------------------


@role_required(Role.HR_ADMIN)
def template_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The plan templates, and a form to create one (HR admins)."""
    form = PlanTemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.create_template(
                actor=_actor(request), **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                _("Template %(name)s created. Now add its goals.")
                % {"name": template.name},
            )
            return redirect("engagements:template_detail", org_slug, template.pk)
    page = Paginator(selectors.template_list(), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "engagements/template_list.html",
        {"form": form, "page_obj": page, "templates": page.object_list},
        status=400 if form.errors else 200,
    )


@role_required(Role.HR_ADMIN)
def template_detail(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """A template's goals with their total; edit the template, add goals (HR admins).

    The page has two forms; the hidden ``action`` field says which one was sent.
    """
    template = selectors.get_template_for(request, pk)
    template_form = PlanTemplateForm(prefix="template", instance=template)
    goal_form = TemplateGoalForm(prefix="goal")
    bad_action = False
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "update":
            template_form = PlanTemplateForm(
                request.POST, prefix="template", instance=template
            )
            if template_form.is_valid():
                try:
                    services.update_template(
                        actor=_actor(request),
                        template=template,
                        **template_form.cleaned_data,
                    )
                except DomainError as exc:
                    template_form.add_error(exc.field, exc.message)
                else:
                    messages.success(request, _("Template saved."))
                    return redirect("engagements:template_detail", org_slug, pk)
        elif action == "add_goal":
            goal_form = TemplateGoalForm(request.POST, prefix="goal")
            if goal_form.is_valid():
                try:
                    goal = services.add_template_goal(
                        actor=_actor(request),
                        template=template,
                        **goal_form.cleaned_data,
                    )
                except DomainError as exc:
                    goal_form.add_error(exc.field, exc.message)
                else:
                    messages.success(
                        request, _("Goal %(title)s added.") % {"title": goal.title}
                    )
                    return redirect("engagements:template_detail", org_slug, pk)
        else:
            bad_action = True
            messages.error(
                request, _("Use one of the forms on this page to make a change.")
            )
    if template_form.errors:
        # The bound instance carries the rejected values; show the stored ones.
        template.refresh_from_db()
    goals = selectors.template_goals(template)
    invalid = bad_action or bool(template_form.errors or goal_form.errors)
    return render(
        request,
        "engagements/template_detail.html",
        {
            "template": template,
            "template_form": template_form,
            "goal_form": goal_form,
            "goals": goals,
            "weight_total": sum((g.weight for g in goals), Decimal(0)),
        },
        status=400 if invalid else 200,
    )


@require_POST
def template_goal_delete(
    request: HttpRequest, org_slug: str, pk: int, gid: int
) -> HttpResponse:
    """Remove a goal blueprint from a template (HR admins)."""
    template = selectors.get_template_for(request, pk)
    goal = selectors.get_template_goal_for(template, gid)
    services.delete_template_goal(actor=_actor(request), goal=goal)
    messages.success(request, _("Goal %(title)s removed.") % {"title": goal.title})
    return redirect("engagements:template_detail", org_slug, template.pk)


urlpatterns: list[URLPattern] = [
    path(
        "engagements/<int:pk>/staff/",
        engagement_staff,
        name="engagement_staff",
    ),
    path(
        "engagements/<int:pk>/roles/",
        engagement_role_assign,
        name="engagement_role_assign",
    ),
    path(
        "engagements/<int:pk>/roles/<int:rid>/revoke/",
        engagement_role_revoke,
        name="engagement_role_revoke",
    ),
    path(
        "engagements/<int:pk>/apply-template/",
        engagement_apply_template,
        name="engagement_apply_template",
    ),
    path("role-rules/", role_rules, name="role_rules"),
    path("role-rules/<int:pk>/delete/", role_rule_delete, name="role_rule_delete"),
    path("templates/", template_list, name="templates"),
    path("templates/<int:pk>/", template_detail, name="template_detail"),
    path(
        "templates/<int:pk>/goals/<int:gid>/delete/",
        template_goal_delete,
        name="template_goal_delete",
    ),
]
