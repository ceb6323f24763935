"""What the feedback app contributes to other apps' pages: its home-page section.

``FeedbackConfig.ready`` registers it with ``organizations.home``; the app has no
signal receivers.
"""

from __future__ import annotations

from django.http import HttpRequest

from organizations.home import HomeSection


def feedback_asked_section(request: HttpRequest) -> HomeSection:
    """ "Feedback asked of you": a placeholder that loads its list from
    ``feedback:home_requests`` once the page is shown. Costs the home page no query."""
    return HomeSection("feedback/requests/home_section.html", order=20)
