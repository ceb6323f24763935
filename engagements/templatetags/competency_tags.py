"""The plan template page's competency block, built here so the page and its refusal
page (both in ``engagements/views/templates.py``) share one definition of what it
shows."""

from __future__ import annotations

from typing import Any

from django import template

from engagements.models import PlanTemplate
from engagements.views.templates import template_competency_block

register = template.Library()


@register.simple_tag
def template_competencies(plan_template: PlanTemplate) -> dict[str, Any]:
    """The template's competencies and the add form. Three queries."""
    return template_competency_block(plan_template)
