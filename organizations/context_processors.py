"""Template context for the organisation a request runs in, and the organisation's
main menu, rendered once per process for each organisation, role, language and
section instead of on every page (its two dozen URL reversals and labels cost more
than a whole simple page)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from organizations.enums import Role
from organizations.models import Membership
from organizations.notifications import unread_badge
from organizations.tenancy import current_organization_id


def tenant(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    context: dict[str, Any] = {
        "organization": getattr(request, "organization", None),
        "membership": membership,
        "is_hr_admin": bool(membership and membership.is_hr_admin),
        "is_manager": bool(membership and membership.role == Role.MANAGER),
    }
    organization = context["organization"]
    if organization is not None:
        is_hr, is_manager = context["is_hr_admin"], context["is_manager"]
        context["org_menu"] = SimpleLazyObject(
            lambda: org_menu(
                organization.slug,
                is_hr_admin=is_hr,
                is_manager=is_manager,
                language=get_language(),
                active=active_section(request.path, organization.slug),
            )
        )
    user = getattr(request, "user", None)
    if membership is not None and user is not None and user.is_authenticated:
        # Lazy: the bell's one query runs only on pages that render the navbar, and
        # not on error pages rendered after the tenant scope closed.
        context["unread_notifications"] = SimpleLazyObject(
            lambda: (
                unread_badge(membership.user)
                if current_organization_id() == membership.organization_id
                else ""
            )
        )
    if getattr(membership, "organizations_of_user", None) == 1:
        # The tenant middleware counted them: a member of one organisation has
        # nothing to switch to, and no query is needed to say so.
        context["my_memberships"] = [membership]
    elif user is not None and user.is_authenticated:
        # Lazy: only pages that render the switcher pay its query.
        context["my_memberships"] = SimpleLazyObject(
            lambda: list(
                Membership.unscoped.for_user(user)
                .select_related("organization")
                .order_by("organization__name")
            )
        )
    return context


# Menu sections and the paths that make each one the active section.
SECTIONS = {
    "engagements": ("engagements:engagements",),
    "feedback": ("/feedback/",),
    "appraisals": ("/appraisals/", "/evaluations/", "/calibration/"),
    "competencies": ("competencies:competencies",),
    "people": ("organizations:people",),
    "team": ("appraisals:my_team",),
    "reports": ("/reports/",),
}


@lru_cache(maxsize=256)
def _sections_of(slug: str) -> tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Organisation ``slug``'s home path and each section's path fragments: URL
    names reversed once per process, literal fragments as they are."""
    sections = tuple(
        (
            section,
            tuple(
                reverse(part, args=[slug]) if ":" in part else part for part in parts
            ),
        )
        for section, parts in SECTIONS.items()
    )
    return reverse("organizations:home", args=[slug]), sections


def active_section(path: str, slug: str) -> str:
    """The menu section ``path`` belongs to ("home" for the organisation's home
    page, "" for none). No URL reversal after the first call per organisation."""
    home, sections = _sections_of(slug)
    if path == home:
        return "home"
    for section, fragments in sections:
        if any(fragment in path for fragment in fragments):
            return section
    return ""


@lru_cache(maxsize=1024)
def org_menu(
    slug: str,
    *,
    is_hr_admin: bool,
    language: str,
    active: str,
    is_manager: bool = False,
) -> SafeString:
    """The organisation's main menu as HTML, rendered once per process for each
    organisation, role, language and active section (``language`` is part of the
    key: the labels are translated)."""
    return render_to_string(
        "partials/org_menu.html",
        {
            "organization": {"slug": slug},
            "is_hr_admin": is_hr_admin,
            "is_manager": is_manager,
            "active": active,
        },
    )
