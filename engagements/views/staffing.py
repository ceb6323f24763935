"""Staffing, engagement roles, role rules, and applying a template to an engagement.

HR admins staff engagements, hand out engagement roles and keep role rules; a planner
of an engagement may also apply a template to its plans. Every
view checks access in one place: ``role_required`` (HR-only pages, checked before any
lookup) or an access gate from ``engagements.selectors.access``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from engagements.forms import (
    EngagementTemplateForm,
    RoleAssignmentForm,
    RoleRuleForm,
    StaffingForm,
)
from engagements.models import Engagement, ReviewCycle
from engagements.selectors.access import (
    get_engagement_for,
    get_role_assignment_for,
    get_role_rule_for,
)
from engagements.selectors.pages import (
    cycles_for_staffing,
    engagement_roles,
    role_rule_list,
)
from engagements.services.roles import (
    assign_role,
    create_role_rule,
    delete_role_rule,
    revoke_role,
)
from engagements.services.staffing import (
    StaffingResult,
    default_plan_dates,
    staff_employees,
)
from engagements.services.templates import (
    apply_template_to_engagement,
)
from engagements.views.listing import list_with_form
from organizations.enums import Role
from organizations.http import TenantRequest, apply_service, form_response
from organizations.permissions import role_required

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
        dates: tuple[date, date] | None = default_plan_dates(engagement, cycle)
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


def _report_staffing(request: TenantRequest, result: StaffingResult) -> None:
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
def engagement_staff(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Staff one or many people on the engagement for a cycle (HR admins)."""
    engagement = get_engagement_for(request, pk, perm="manage")[0]
    form = StaffingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        outcome = apply_service(
            form,
            lambda: staff_employees(
                actor=request.membership,
                engagement=engagement,
                cycle=data["cycle"],
                employees=list(data["employees"]),
                allocation=data["allocation"],
                start_date=data["start_date"],
                end_date=data["end_date"],
                role_title=data["role_title"],
            ),
        )
        if outcome.value is not None:
            _report_staffing(request, outcome.value)
            return _to_engagement(org_slug, engagement)
    cycles = list(cycles_for_staffing())
    form.fields["start_date"].help_text = _default_dates_help(engagement, cycles)
    context = {"engagement": engagement, "form": form}
    return form_response(request, "engagements/staff_form.html", context)


# --- Engagement roles ------------------------------------------------------------------


def _roles_block(
    request: TenantRequest,
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
            "roles": engagement_roles(engagement),
            "role_form": form or role_form(),
        },
    )


@require_POST
@role_required(Role.HR_ADMIN)
def engagement_role_assign(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Give a person a role on the engagement, with its permissions (HR admins)."""
    engagement = get_engagement_for(request, pk, perm="manage")[0]
    form = role_form(request.POST)
    if form.is_valid():
        employee = form.cleaned_data["employee"]
        outcome = apply_service(
            form,
            lambda: assign_role(
                actor=request.membership,
                engagement=engagement,
                employee=employee,
                role=form.cleaned_data["role"],
            ),
        )
        if (assignment := outcome.value) is not None:
            messages.success(
                request,
                _("%(name)s is %(role)s on this engagement.")
                % {
                    "name": employee.full_name,
                    "role": assignment.get_role_display().lower(),
                },
            )
            if request.htmx:
                return _roles_block(request, engagement)
            return _to_engagement(org_slug, engagement)
    if request.htmx:
        return _roles_block(request, engagement, form)
    context = {
        "engagement": engagement,
        "role_form": form,
        "roles": engagement_roles(engagement),
    }
    return render(request, "engagements/role_form.html", context, status=400)


@require_POST
@role_required(Role.HR_ADMIN)
def engagement_role_revoke(
    request: TenantRequest, org_slug: str, pk: int, rid: int
) -> HttpResponse:
    """Take a role away, with the permissions it gave (HR admins)."""
    engagement = get_engagement_for(request, pk, perm="manage")[0]
    assignment = get_role_assignment_for(engagement, rid)
    revoke_role(actor=request.membership, assignment=assignment)
    messages.success(
        request,
        _("%(name)s is no longer %(role)s on this engagement.")
        % {
            "name": assignment.employee.full_name,
            "role": assignment.get_role_display().lower(),
        },
    )
    if request.htmx:
        return _roles_block(request, engagement)
    return _to_engagement(org_slug, engagement)


# --- Applying a template to an engagement -------------------------------------------------


@require_POST
def engagement_apply_template(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Apply a template to the engagement's plans, all or nothing (HR admins and the
    engagement's planners)."""
    engagement = get_engagement_for(request, pk, perm="plan")[0]
    form = apply_form(request.POST)
    if form.is_valid():
        template = form.cleaned_data["template"]
        outcome = apply_service(
            form,
            lambda: apply_template_to_engagement(
                actor=request.membership,
                template=template,
                engagement=engagement,
                cycle=form.cleaned_data["cycle"],
            ),
        )
        if outcome.value is not None:
            plans, goals = outcome.value
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
    context = {"engagement": engagement, "apply_form": form}
    return render(request, "engagements/apply_template_form.html", context, status=400)


# --- Role rules --------------------------------------------------------------------------


@role_required(Role.HR_ADMIN)
def role_rules(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The role rules, and a form to add one (HR admins)."""
    form = RoleRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = apply_service(
            form,
            lambda: create_role_rule(
                actor=request.membership,
                job_title=form.cleaned_data["job_title"],
                role=form.cleaned_data["role"],
            ),
        )
        if (rule := outcome.value) is not None:
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
    return list_with_form(
        request,
        "engagements/role_rules.html",
        role_rule_list(),
        {"form": form},
        "rules",
    )


@require_POST
def role_rule_delete(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Remove a role rule; the roles it gave stay (HR admins)."""
    rule = get_role_rule_for(request, pk)
    delete_role_rule(actor=request.membership, rule=rule)
    messages.success(
        request,
        _(
            "The rule for %(title)s was removed. Roles it already gave stay until you "
            "revoke them on each engagement."
        )
        % {"title": rule.job_title.name},
    )
    return redirect("engagements:role_rules", org_slug)


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
]
