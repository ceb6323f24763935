"""Picker sources: what a member may choose in one kind of field, the registry that
names them, and the endpoint's page of matching rows. The directory's own sources are
at the end; every other app registers its own in ``AppConfig.ready``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import and_, or_
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from organizations.models import BusinessUnit, Employee, JobTitle, Membership

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PAGE_SIZE = 20
MAX_QUERY_LENGTH = 100
MAX_PAGE = 500


def everyone(membership: Membership) -> bool:
    return True


def hr_admins(membership: Membership) -> bool:
    return membership.is_hr_admin


@dataclass(frozen=True)
class PickerTexts:
    """What a picker says: the search box's placeholder, the label of the
    no-JavaScript box (one key, several keys), the refusal of an unknown key and the
    empty choice of a single choice whose form names none (never Django's
    "---------")."""

    prompt: StrOrPromise
    find_one: StrOrPromise
    find_many: StrOrPromise
    not_found: StrOrPromise  # with %(typed)s
    choose: StrOrPromise = _("Choose one")  # noqa: RUF009 - a lazy string, made once


@dataclass(frozen=True)
class PickerSource:
    """What a member may choose in one kind of field (see ``organizations.pickers``)."""

    name: str
    choices: Callable[[Membership], QuerySet[Any]]
    search: tuple[str, ...]  # matched with icontains, every word of the query
    keys: tuple[str, ...]  # matched exactly (ignoring case) from the typed box
    order: tuple[str, ...]
    label: Callable[[Any], str]
    texts: PickerTexts
    allowed: Callable[[Membership], bool] = everyone
    related: tuple[str, ...] = ()  # select_related for the label

    def ordered(self, membership: Membership) -> QuerySet[Any]:
        """``choices`` in order, with what the label reads; no gate. Builds only."""
        queryset = self.choices(membership)
        return queryset.select_related(*self.related).order_by(*self.order)

    def queryset_for(self, membership: Membership) -> QuerySet[Any]:
        """What ``membership`` may choose, in order; nothing when the member may not
        use the source. Builds the queryset; ``allowed`` may cost a query."""
        if not self.allowed(membership):
            return self.choices(membership).none()
        return self.ordered(membership)


_SOURCES: dict[str, PickerSource] = {}


def register(*sources: PickerSource) -> None:
    """Make ``sources`` known to pickers and the endpoint by their names."""
    for source in sources:
        known = _SOURCES.get(source.name)
        if known is not None and known is not source:
            raise ImproperlyConfigured(f"Two picker sources are named {source.name}.")
        _SOURCES[source.name] = source


def source_named(name: str) -> PickerSource | None:
    return _SOURCES.get(name)


def get_source(name: str) -> PickerSource:
    found = _SOURCES.get(name)
    if found is None:
        raise ImproperlyConfigured(f"No picker source is registered as {name!r}.")
    return found


# --- The endpoint's page ---------------------------------------------------------


@dataclass(frozen=True)
class PickerPage:
    results: list[tuple[int, str]]  # (pk, label)
    more: bool


def page_number(raw: str | None) -> int:
    """``?page=`` as a page number from 1 to ``MAX_PAGE`` (1 when unreadable)."""
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def matching(
    queryset: QuerySet[Any], fields: Sequence[str], query: str
) -> QuerySet[Any]:
    """Rows where every word of ``query`` occurs in one of ``fields`` (ignoring case).
    Builds only."""
    words = query[:MAX_QUERY_LENGTH].split()
    if not words:
        return queryset
    conditions = [
        reduce(or_, (Q(**{f"{field}__icontains": word}) for field in fields))
        for word in words
    ]
    return queryset.filter(reduce(and_, conditions))


def pick_page(
    source: PickerSource, membership: Membership, *, query: str, page: int
) -> PickerPage:
    """Page ``page`` (``PAGE_SIZE`` rows in the source's order) of what ``membership``
    may choose from ``source`` that matches ``query``.

    PermissionDenied when the member may not use the source. One query whatever the
    page (it reads one row more to know whether there are more), plus what
    ``allowed`` costs (none for most sources).
    """
    if not source.allowed(membership):
        raise PermissionDenied
    queryset = matching(source.ordered(membership), source.search, query)
    start = (page - 1) * PAGE_SIZE
    rows = list(queryset[start : start + PAGE_SIZE + 1])
    return PickerPage(
        results=[(row.pk, source.label(row)) for row in rows[:PAGE_SIZE]],
        more=len(rows) > PAGE_SIZE,
    )


# --- The directory's sources ------------------------------------------------------------


def person_label(person: Employee) -> str:
    return f"{person.full_name} ({person.code})"


PEOPLE_TEXTS = PickerTexts(
    prompt=_("Type a name, code or e-mail address"),
    find_one=_("Or type their employee code or e-mail address"),
    find_many=_("Or type employee codes or e-mail addresses, separated by commas"),
    not_found=_(
        "Nobody you can choose here has the code or e-mail address “%(typed)s”. "
        "Check it, or search by name."
    ),
    choose=_("Choose a person"),
)


def people_source(
    name: str,
    choices: Callable[[Membership], QuerySet[Employee]],
    allowed: Callable[[Membership], bool] = everyone,
) -> PickerSource:
    """A source of directory entries: searched by name, code and e-mail address,
    typed by code or e-mail address, listed by name."""
    return PickerSource(
        name=name,
        choices=choices,
        allowed=allowed,
        # The name, code and e-mail address (``Employee.search_text``).
        search=("search_text",),
        keys=("code", "email"),
        # Codes are unique in an organisation: the order is total, and it is the
        # directory's index (organization_id, full_name, code).
        order=("full_name", "code"),
        label=person_label,
        texts=PEOPLE_TEXTS,
    )


def active_people() -> QuerySet[Employee]:
    """Everyone active in the directory. Builds only."""
    return Employee.objects.filter(is_active=True)


def line_managers() -> QuerySet[Employee]:
    """People with at least one direct report, active or not. Builds only."""
    return Employee.objects.filter(
        Exists(Employee.objects.filter(line_manager=OuterRef("pk")))
    )


def people_without_login() -> QuerySet[Employee]:
    """Active people not yet linked to a login (whom an invitation may name)."""
    return Employee.objects.filter(user__isnull=True, is_active=True)


# HR admins pick anyone active: staffing, roles, reviewers, line managers.
PEOPLE = people_source("people", lambda m: active_people(), hr_admins)
# The people directory's line-manager filter (HR admins).
MANAGERS = people_source("managers", lambda m: line_managers(), hr_admins)
# The directory entry an invitation links to (HR admins).
PEOPLE_WITHOUT_LOGIN = people_source(
    "people_without_login", lambda m: people_without_login(), hr_admins
)


def named_source(
    name: str,
    choices: Callable[[Membership], QuerySet[Any]],
    texts: PickerTexts,
    allowed: Callable[[Membership], bool] = everyone,
) -> PickerSource:
    """A source of named rows (job titles, business units, competencies): searched
    and typed by name, listed by name."""
    return PickerSource(
        name=name,
        choices=choices,
        allowed=allowed,
        search=("name",),
        keys=("name",),
        # Names are unique in an organisation; the id settles the rest.
        order=("name", "pk"),
        label=name_label,
        texts=texts,
    )


def name_label(row: Any) -> str:
    return str(row.name)


JOB_TITLE_TEXTS = PickerTexts(
    prompt=_("Type part of a job title"),
    find_one=_("Or type the job title"),
    find_many=_("Or type job titles, separated by commas"),
    not_found=_(
        "No job title you can choose here is named “%(typed)s”. Check the spelling, "
        "or search for part of it."
    ),
    choose=_("Choose a job title"),
)
BUSINESS_UNIT_TEXTS = PickerTexts(
    prompt=_("Type part of a business unit's name"),
    find_one=_("Or type the business unit's name"),
    find_many=_("Or type business unit names, separated by commas"),
    not_found=_(
        "No business unit you can choose here is named “%(typed)s”. Check the "
        "spelling, or search for part of the name."
    ),
    choose=_("Choose a business unit"),
)
# Every member: the organisation's job titles and business units are no secret (the
# directory shows them beside each person, and every filter bar lists them).
JOB_TITLES = named_source(
    "job_titles", lambda m: JobTitle.objects.all(), JOB_TITLE_TEXTS
)
BUSINESS_UNITS = named_source(
    "business_units", lambda m: BusinessUnit.objects.all(), BUSINESS_UNIT_TEXTS
)
register(PEOPLE, MANAGERS, PEOPLE_WITHOUT_LOGIN, JOB_TITLES, BUSINESS_UNITS)
