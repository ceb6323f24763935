"""Home page section: "Your appraisal is ready" (finalised, waiting to be read and
acknowledged). Registered at import by ``AppraisalsConfig.ready``."""

from __future__ import annotations

from django.http import HttpRequest

from organizations.home import HomeSection, register


@register
def appraisals_section(request: HttpRequest) -> HomeSection:
    """A placeholder that loads the member's finalised appraisals with HTMX from
    ``appraisals:home_appraisals``, with a plain link as fallback. No query on the
    home page itself."""
    return HomeSection("appraisals/appraisals/home_placeholder.html", order=20)
