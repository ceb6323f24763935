"""Search in the navigation: people, engagements, clients and plans, each group of
results found by the app that owns it.

The search page (``organizations:search``, ``/o/<slug>/search/?q=``) belongs to this
app, but engagements, clients and plans belong to the apps above it. Each app
``register``s a provider in its ``AppConfig.ready`` (as for the home page's sections,
``organizations.home``); this app never imports them. A provider takes the request and
the query and returns a ``SearchGroup`` (or None when the viewer has nothing of that
kind to open), built from the app's own visibility definition (``*_visible_to``), so
search never shows a row that the row's page would refuse. Each provider runs one
query (``first_hits``): the first ``GROUP_LIMIT`` rows and the total together.

Matching (``matched``)
    Every word of the query occurs in one of the searched columns (``icontains``), as
    in the lists' search boxes. On PostgreSQL a row also matches when the query is
    close to one of its names (pg_trgm's ``word_similarity`` at least
    ``TRIGRAM_THRESHOLD``: "Jonh" finds "John"), and rows are ranked by that
    similarity, exact matches first. No index serves either: under row-level security
    PostgreSQL evaluates functions that are not leakproof only after the policy (see
    ``organizations/migrations/0004``), so a search reads the organisation's rows of
    each kind the viewer may see. Other databases (SQLite under ``make run``) match the
    words alone, in the group's plain order.

This module imports no models, so an ``AppConfig`` module may import it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import and_, or_
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection
from django.db.models import (
    Case,
    Count,
    FloatField,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Greatest

if TYPE_CHECKING:
    # Types only: organizations.http imports the models, which an AppConfig module
    # (where providers register) may not import.
    from organizations.http import TenantRequest

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
# Rows each group shows; the rest are behind its "show all" link.
GROUP_LIMIT = 5
# The live results under the navigation's box: fewer rows per group.
DROPDOWN_LIMIT = 3
# pg_trgm's word_similarity of a misspelt word to the right one: "Jonh" against
# "John Smith" is 0.4, "Smiht" 0.5; unrelated names score about 0.1 to 0.3.
TRIGRAM_THRESHOLD = 0.4


def normalised(raw: str | None) -> str:
    """The query as searched: surrounding and repeated spaces removed, at most
    ``MAX_QUERY_LENGTH`` characters."""
    return " ".join((raw or "").split())[:MAX_QUERY_LENGTH]


@dataclass(frozen=True)
class SearchResult:
    label: str
    url: str
    # The short line under the label: code, business unit, cycle, status...
    secondary: str = ""


@dataclass(frozen=True)
class SearchGroup:
    key: str  # "people", "engagements"...: the group's id in the page
    title: str
    results: list[SearchResult]
    total: int
    # The list page filtered by the query, where one exists for this viewer.
    show_all_url: str | None = None
    order: int = 100

    @property
    def more(self) -> int:
        """How many matches the group does not show."""
        return max(self.total - len(self.results), 0)


@dataclass(frozen=True)
class Hits:
    """The first rows of a search and how many rows match in all."""

    rows: list[Any] = field(default_factory=list)
    total: int = 0


Provider = Callable[["TenantRequest", str, int], "SearchGroup | None"]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    """Add a group provider (idempotent); usable as a decorator. A provider is called
    with the request, the normalised query (at least ``MIN_QUERY_LENGTH`` characters)
    and the number of rows to show."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def groups_for(request: TenantRequest, query: str, limit: int) -> list[SearchGroup]:
    """Every provider's group for this viewer and query, in order, empty groups
    included (the page says which kinds found nothing). One query per provider that
    returns a group."""
    groups = [g for p in _providers if (g := p(request, query, limit)) is not None]
    return sorted(groups, key=lambda g: g.order)


def matched(
    queryset: QuerySet[Any],
    query: str,
    *,
    fields: Sequence[str],
    similar: Sequence[str],
    order: Sequence[str],
    vendor: str | None = None,
) -> QuerySet[Any]:
    """The rows of ``queryset`` that match ``query``, best first. Builds only.

    Every word of ``query`` must occur in one of ``fields`` (ignoring case). On
    PostgreSQL (``vendor``, by default the connection's) a row also matches when
    ``query`` is similar to one of the ``similar`` columns (``word_similarity`` of at
    least ``TRIGRAM_THRESHOLD``); rows are ranked word matches first, each kind by
    that similarity, then by ``order``. Elsewhere only the words match, in
    ``order``.
    """
    words = query.split()
    contains = reduce(
        and_,
        (
            reduce(or_, (Q(**{f"{f}__icontains": word}) for f in fields))
            for word in words
        ),
        Q(),
    )
    if (vendor or connection.vendor) != "postgresql":
        return queryset.filter(contains).order_by(*order)
    scores = [TrigramWordSimilarity(query, column) for column in similar]
    # GREATEST skips NULLs (a general plan has no engagement); all NULL scores 0.
    similarity = Coalesce(
        scores[0] if len(scores) == 1 else Greatest(*scores),
        Value(0.0),
        output_field=FloatField(),
    )
    word_match = Case(
        When(contains, then=Value(1.0)), default=Value(0.0), output_field=FloatField()
    )
    return (
        queryset.annotate(search_rank=word_match + similarity)
        .filter(search_rank__gte=TRIGRAM_THRESHOLD)
        .order_by("-search_rank", *order)
    )


def first_hits(queryset: QuerySet[Any], limit: int) -> Hits:
    """The first ``limit`` rows of ``queryset`` and the number of rows in all, in one
    query (the total is a window count over the matching rows, taken before the
    limit)."""
    rows = list(queryset.annotate(search_total=Window(Count("*")))[:limit])
    return Hits(rows=rows, total=rows[0].search_total if rows else 0)
