"""The cache backend: Redis that degrades to no cache while Redis is unavailable.

The cache only ever holds what can be rebuilt or recounted, so a Redis outage must not
take pages down with it. ``ResilientRedisCache`` turns a connection or timeout error
into "nothing cached": reads answer their default, writes are skipped, and the outage
is logged at WARNING at most once per ``WARNING_INTERVAL`` seconds. Counting is the one
thing a caller cannot silently skip, so ``incr`` and ``decr`` raise
``CacheUnavailable`` instead; ``organizations.ratelimit`` then counts in the database.

Short socket timeouts (``OPTIONS`` in settings: connect 0.5 s, read 1 s) keep an
unanswering Redis from stalling a page. Sessions and messages live in the database,
so they do not notice an outage at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# What Redis being away looks like; any other error (a bad key, a bug) still raises.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    BusyLoadingError,
    OSError,
)


class CacheUnavailable(Exception):
    """The cache cannot count right now (Redis does not answer).

    Raised by ``incr``/``decr`` of ``ResilientRedisCache``; a caller that needs the
    count falls back to another store (``organizations.ratelimit`` uses the database).
    """


class ResilientRedisCache(RedisCache):
    """Django's Redis cache that treats an unreachable Redis as an empty cache.

    Reads (``get``, ``get_many``, ``has_key``) answer as for a missing key; writes
    (``set``, ``add``, ``touch``, ``delete``, ``set_many``, ``delete_many``,
    ``clear``) are skipped and report failure the way each method reports it;
    ``incr``/``decr`` raise ``CacheUnavailable``. Each call still tries Redis, so
    the cache works again as soon as Redis does. Django keeps one backend object per
    thread, so the warning is throttled per thread.
    """

    WARNING_INTERVAL = 60.0  # seconds between two warnings about the same outage

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._last_warning: float | None = None

    def _degrade(self, operation: str, error: BaseException) -> None:
        now = time.monotonic()
        if (
            self._last_warning is None
            or now - self._last_warning >= self.WARNING_INTERVAL
        ):
            self._last_warning = now
            logger.warning(
                "Redis cache unavailable (%s failed: %s); serving without the cache. "
                "Further failures are not logged for %d seconds.",
                operation,
                error,
                self.WARNING_INTERVAL,
            )

    def _attempt(self, operation: str, fallback: Any, *args: Any) -> Any:
        """``RedisCache.<operation>(*args)``, or ``fallback`` while Redis is away."""
        try:
            return getattr(super(), operation)(*args)
        except OUTAGE_ERRORS as error:
            self._degrade(operation, error)
            return fallback

    # --- reads: answer as if nothing were cached ------------------------------------

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._attempt("get", default, key, default, version)

    def get_many(
        self, keys: Iterable[Any], version: int | None = None
    ) -> dict[Any, Any]:
        return self._attempt("get_many", {}, keys, version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return bool(self._attempt("has_key", False, key, version))

    # --- writes: skipped, reported as not done --------------------------------------

    def add(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        return bool(self._attempt("add", False, key, value, timeout, version))

    def set(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> None:
        self._attempt("set", None, key, value, timeout, version)

    def touch(
        self,
        key: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        return bool(self._attempt("touch", False, key, timeout, version))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return bool(self._attempt("delete", False, key, version))

    def set_many(
        self,
        data: dict[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[Any]:
        # set_many's contract: the keys that were not stored (here: every one).
        return list(self._attempt("set_many", list(data), data, timeout, version))

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self._attempt("delete_many", None, keys, version)

    def clear(self) -> None:
        self._attempt("clear", None)

    # --- counting: the caller must know ----------------------------------------------

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        """Add ``delta`` to the counter; ``decr`` comes here too (BaseCache).

        Raises ``CacheUnavailable`` while Redis does not answer, ``ValueError`` for
        a missing key (as every Django cache does).
        """
        try:
            return super().incr(key, delta, version)
        except OUTAGE_ERRORS as error:
            self._degrade("incr", error)
            raise CacheUnavailable(
                "The cache (Redis) does not answer; count somewhere else."
            ) from error
