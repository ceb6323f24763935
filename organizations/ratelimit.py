"""Rate limits that fail safe: counted in the cache, or in the database when the cache
cannot count.

``hit(scope, client, limit=..., window=...)`` counts one request of ``client`` (a
client address) against the limit named ``scope`` in a fixed window that starts at
the client's first request, and answers True once the client made more than ``limit``
requests in it. The count lives in the cache (Redis in production, shared by every
web process). When the cache fails (``config.cache.CacheUnavailable`` while Redis is
down, or any other error of a cache backend) the same count is kept in the database
(``RateLimitCounter``), so an outage never opens a limit. If the database fails too
the error propagates: the request then gets the 503 page, not a free pass.

Keys carry the scope and a SHA-256 of the client address, never the address itself.
Counters are not tenant data, so a limit works before any organisation is known.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from organizations.models import RateLimitCounter

logger = logging.getLogger(__name__)


class _Throttle:
    """Lets a repeated warning through at most once per ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: float | None = None

    def ready(self) -> bool:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        return True


# One warning a minute per process that limits count in the database.
_fallback_warning = _Throttle(60.0)


def counter_key(scope: str, client: str) -> str:
    """The key of ``client``'s counter for ``scope``, in the cache and the database."""
    digest = hashlib.sha256(client.encode()).hexdigest()
    return f"ratelimit:{scope}:{digest}"


def hit(scope: str, client: str, *, limit: int, window: int) -> bool:
    """Count one request of ``client`` against ``scope``; True when it is over
    ``limit`` requests within ``window`` seconds (the request should be refused).

    Cost: two cache operations; while the cache cannot count, one short transaction
    of two queries (three on a client's first request).
    """
    key = counter_key(scope, client)
    try:
        count = _count_in_cache(key, window)
    except Exception as error:  # noqa: BLE001 - whatever broke the cache, count on
        _warn_fallback(scope, error)
        count = _count_in_database(key, window)
    return count > limit


def _count_in_cache(key: str, window: int) -> int:
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired (or not stored) between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def _count_in_database(key: str, window: int) -> int:
    """Add one to the database counter, starting a new window once the old one has
    passed; the row lock makes concurrent requests count one after another."""
    now = timezone.now()
    with transaction.atomic():
        counter, created = RateLimitCounter.objects.select_for_update().get_or_create(
            key=key, defaults={"window_started_at": now, "count": 1}
        )
        if created:
            return 1
        if counter.window_started_at <= now - timedelta(seconds=window):
            counter.window_started_at = now
            counter.count = 1
        else:
            counter.count += 1
        counter.save(update_fields=["window_started_at", "count"])
        return counter.count


def _warn_fallback(scope: str, error: Exception) -> None:
    if _fallback_warning.ready():
        logger.warning(
            "Rate limit %r counts in the database: the cache failed (%s).",
            scope,
            error,
        )


def prune_counters(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete database counters whose window started more than ``older_than`` ago
    (beat, daily): they are written only during cache outages and matter only within
    their window. Returns how many were deleted."""
    deleted, _ = RateLimitCounter.objects.filter(
        window_started_at__lt=timezone.now() - older_than
    ).delete()
    return deleted
