"""The engagements app's picker sources (see ``organizations.pickers``): clients,
engagements, the people a plan's reviewer and approver are picked from, and the
competencies a plan takes.
Registered in ``EngagementsConfig.ready``."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from competencies.pickers import COMPETENCY_TEXTS, competencies_in_use
from engagements.models import Client, Engagement
from engagements.selectors.access import engagements_visible_to, engagements_with_perm
from engagements.selectors.pages import engagement_clients
from organizations.models import Employee, Membership
from organizations.pickers import (
    PickerSource,
    PickerTexts,
    active_people,
    everyone,
    named_source,
    people_source,
)


def may_edit_some_plan(membership: Membership) -> bool:
    """HR admins, planners of any engagement and line managers of anyone: the members
    who may set a plan's reviewer and approver. At most two queries (none for HR)."""
    if membership.is_hr_admin:
        return True
    uid = membership.user_id
    return (
        Employee.objects.filter(line_manager__user_id=uid).exists()
        or engagements_with_perm(membership, "plan_engagement").exists()
    )


def client_label(client: Client) -> str:
    return client.name


def engagement_label(engagement: Engagement) -> str:
    return f"{engagement.code} · {engagement.name} · {engagement.client.name}"


ENGAGEMENT_TEXTS = PickerTexts(
    prompt=_("Type an engagement's code or name, or its client"),
    find_one=_("Or type the engagement's code"),
    find_many=_("Or type engagement codes, separated by commas"),
    not_found=_(
        "No engagement you can choose here has the code “%(typed)s”. Check it, or "
        "search by name."
    ),
    choose=_("Choose an engagement"),
)


def engagement_source(
    name: str,
    choices: Callable[[Membership], QuerySet[Engagement]],
    allowed: Callable[[Membership], bool] = everyone,
) -> PickerSource:
    """A source of engagements: searched by code, name and client, typed by code,
    listed by name with their code and client."""
    return PickerSource(
        name=name,
        choices=choices,
        allowed=allowed,
        search=("code", "name", "client__name"),
        keys=("code",),
        order=("name", "code", "pk"),
        label=engagement_label,
        texts=ENGAGEMENT_TEXTS,
        related=("client",),
    )


# Every member: HR admins choose from every client, others from their engagements'.
CLIENTS = PickerSource(
    name="clients",
    choices=engagement_clients,
    search=("name", "industry"),
    keys=("name",),
    order=("name", "pk"),
    label=client_label,
    texts=PickerTexts(
        prompt=_("Type a client's name"),
        find_one=_("Or type the client's name"),
        find_many=_("Or type client names, separated by commas"),
        not_found=_(
            "No client you can choose here is named “%(typed)s”. Check the spelling, "
            "or search for part of the name."
        ),
        choose=_("Choose a client"),
    ),
)
# Every member: the engagements they see.
ENGAGEMENTS = engagement_source("engagements", engagements_visible_to)
# A plan's reviewer and approver: anyone active, for those who may edit some plan.
PLAN_PEOPLE = people_source(
    "plan_people", lambda m: active_people(), may_edit_some_plan
)

# The competencies a plan or plan template may take: those not archived, for those
# who may edit some plan (templates are HR's).
PLAN_COMPETENCIES = named_source(
    "plan_competencies",
    lambda m: competencies_in_use(),
    COMPETENCY_TEXTS,
    may_edit_some_plan,
)

SOURCES = (CLIENTS, ENGAGEMENTS, PLAN_PEOPLE, PLAN_COMPETENCIES)
