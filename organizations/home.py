"""The organizations app's extension point: sections other apps add to the home page.

The home page belongs to this app, but what a member should do next comes from the
apps above it (plans to write, evaluations to review...). They ``register`` a provider
in their ``AppConfig.ready``; this app never imports them, so the dependency keeps
pointing downwards (the layers contract in pyproject.toml checks it). A provider takes
the request and returns a ``HomeSection`` or None, and states its own query cost.
This module imports no models, so an ``AppConfig`` module may import it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Types only: organizations.http imports the models, which an AppConfig module
    # (where providers register) may not import.
    from organizations.http import TenantRequest


@dataclass(frozen=True)
class HomeSection:
    template_name: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100


Provider = Callable[["TenantRequest"], "HomeSection | None"]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    """Add a section provider (idempotent); usable as a decorator."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def sections_for(request: TenantRequest) -> list[HomeSection]:
    """The sections to show this member, in order. Each provider states its own cost."""
    sections = [s for p in _providers if (s := p(request)) is not None]
    return sorted(sections, key=lambda s: s.order)
