"""Forms the engagement page's actions block shows when its view did not pass them."""

from __future__ import annotations

from django import template

from engagements.forms import EngagementTemplateForm, RoleAssignmentForm
from engagements.views.staffing import apply_form, role_form

register = template.Library()


@register.simple_tag
def role_assignment_form() -> RoleAssignmentForm:
    """An empty role assignment form (its person list costs one query when shown)."""
    return role_form()


@register.simple_tag
def engagement_template_form() -> EngagementTemplateForm:
    """An empty "apply a template" form (one query each for templates and cycles)."""
    return apply_form()
