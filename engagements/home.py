"""The "My work" section of the organisation home page."""

from __future__ import annotations

from django.http import HttpRequest

from engagements.selectors import my_work
from organizations.home import HomeSection


def my_work_section(request: HttpRequest) -> HomeSection:
    """The member's plans, the draft plans they must write, and their engagement
    roles. Adds three queries to the page whatever the data size (one per list in
    ``selectors.my_work``; a cold content-type cache adds one); the template touches
    only what those loaded."""
    work = my_work(request.membership)  # type: ignore[attr-defined]
    return HomeSection(
        "engagements/home_my_work.html",
        {
            "my_plans": work.my_plans,
            "plans_to_write": work.plans_to_write,
            "my_roles": work.my_roles,
        },
        order=10,
    )
