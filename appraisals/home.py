"""Home page section: evaluations to write and to approve (workflow workstream).

The section costs no query: it renders a placeholder that loads its content from
``appraisals:queue_summary`` with HTMX, with a plain link as fallback.
"""

from __future__ import annotations

from django.http import HttpRequest

from organizations.home import HomeSection, register


@register
def evaluations_section(request: HttpRequest) -> HomeSection:
    """Evaluations to write / approve, loaded lazily. No query."""
    return HomeSection("appraisals/evaluations/home_section.html", order=20)
