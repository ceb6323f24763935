"""The URLconf as the authorisation matrix sees it: every pattern the project serves,
with its full name (namespaces included) and the kwargs its URL takes."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str | None
    route: str
    kwargs: frozenset[str]


def _walk(
    patterns: list[Any],
    namespace: str = "",
    prefix: str = "",
    kwargs: frozenset[str] = frozenset(),
) -> Iterator[Route]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        # Named groups of path() converters and re_path() regexes alike.
        names = kwargs | frozenset(pattern.pattern.regex.groupindex)
        if isinstance(pattern, URLResolver):
            inner = (
                f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            )
            yield from _walk(pattern.url_patterns, inner, route, names)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield Route(name=name, route=route, kwargs=names)


def url_routes() -> list[Route]:
    """Every URL pattern the project serves, with its full name and kwargs."""
    return list(_walk(get_resolver().url_patterns))


@functools.cache
def named_routes() -> dict[str, Route]:
    return {r.name: r for r in url_routes() if r.name is not None}
