"""Home page sections of the feedback app (open feedback requests)."""

from __future__ import annotations

from django.http import HttpRequest

from organizations.home import HomeSection, register


@register
def feedback_asked_section(request: HttpRequest) -> HomeSection:
    """ "Feedback asked of you": a placeholder that loads its list from
    ``feedback:home_requests`` once the page is shown. Costs the home page no query."""
    return HomeSection("feedback/requests/home_section.html", order=20)
