"""Small pieces of the engagement pages, written here rather than included: the list
shows one per row, and an include per row costs a template render each."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from engagements.enums import EngagementStatus
from engagements.models import Engagement

register = template.Library()

_BADGE_CLASS: dict[str, str] = {
    EngagementStatus.ACTIVE: "text-bg-success",
    EngagementStatus.PLANNED: "text-bg-info",
}


@register.simple_tag
def engagement_status_badge(engagement: Engagement) -> SafeString:
    """The engagement's status as a badge: green when active, blue when planned, grey
    when closed."""
    return format_html(
        '<span class="badge {}">{}</span>',
        _BADGE_CLASS.get(engagement.status, "text-bg-secondary"),
        engagement.get_status_display(),
    )
