"""A Redis outage in the web tier: the cache degrades to no cache, pages keep working,
and the limits (the public survey's rate limit, login throttling) never fail open.

Redis is "down" by pointing the cache at a port that is bound but not listening, so
every connection is refused at once; no mock stands in for Redis."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from redis.exceptions import ResponseError

from config.cache import CacheUnavailable, ResilientRedisCache
from feedback.models import ClientSurvey
from feedback.selectors.surveys import survey_token
from organizations import ratelimit
from organizations.models import BusinessUnit, Membership, RateLimitCounter
from organizations.tenancy import tenant_context
from tests.factories import TEST_PASSWORD
from tests.feedback_factories import ClientSurveyFactory

pytestmark = pytest.mark.django_db

SCOPE = "resilience-test"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port that refuses every connection: bound, never listening, held for
    the test so nothing else can take it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _dead_redis_params() -> dict[str, Any]:
    return {
        "KEY_PREFIX": "resilience",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
    }


@pytest.fixture
def dead_redis(closed_port: int) -> ResilientRedisCache:
    return ResilientRedisCache(
        f"redis://127.0.0.1:{closed_port}/0", _dead_redis_params()
    )


@pytest.fixture
def redis_down(settings: Any, closed_port: int) -> None:
    """The site's cache is a Redis that does not answer, as during an outage."""
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
            **_dead_redis_params(),
        }
    }


# --- The cache backend --------------------------------------------------------------


def test_site_cache_is_the_resilient_redis_cache_with_short_timeouts():
    config = django_settings.CACHES["default"]

    assert config["BACKEND"] == "config.cache.ResilientRedisCache"
    assert config["OPTIONS"] == {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}


def test_resilient_cache_works_normally_while_redis_answers():
    key = f"{SCOPE}:round-trip"

    cache.set(key, {"answer": 42}, timeout=30)
    stored = cache.get(key)
    cache.delete(key)

    assert stored == {"answer": 42}
    assert cache.get(key, "gone") == "gone"


def test_resilient_cache_reads_answer_as_for_a_missing_key_while_redis_is_down(
    dead_redis,
):
    reads = (
        dead_redis.get("k", "fallback"),
        dead_redis.get_many(["k", "l"]),
        dead_redis.has_key("k"),
        dead_redis.get_or_set("k", "computed"),
    )

    assert reads == ("fallback", {}, False, "computed")


def test_resilient_cache_skips_writes_while_redis_is_down(dead_redis):
    writes = (
        dead_redis.set("k", 1),
        dead_redis.add("k", 1),
        dead_redis.touch("k"),
        dead_redis.delete("k"),
        dead_redis.set_many({"k": 1, "l": 2}),
        dead_redis.delete_many(["k", "l"]),
        dead_redis.clear(),
    )

    assert writes == (None, False, False, False, ["k", "l"], None, None)


@pytest.mark.parametrize("operation", ["incr", "decr"])
def test_resilient_cache_refuses_to_count_while_redis_is_down(dead_redis, operation):
    with pytest.raises(CacheUnavailable, match="count somewhere else"):
        getattr(dead_redis, operation)("k")


def test_resilient_cache_warns_once_per_interval_of_an_outage(dead_redis, caplog):
    caplog.set_level(logging.WARNING, logger="config.cache")

    for _ in range(5):
        dead_redis.get("k")
    dead_redis.set("k", 1)

    warnings = [r for r in caplog.records if r.name == "config.cache"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "Redis cache unavailable (get failed" in warnings[0].getMessage()


def test_resilient_cache_warns_again_after_the_interval(dead_redis, caplog):
    caplog.set_level(logging.WARNING, logger="config.cache")
    dead_redis.WARNING_INTERVAL = 0.0

    dead_redis.get("k")
    dead_redis.get("k")

    assert len([r for r in caplog.records if r.name == "config.cache"]) == 2


def test_resilient_cache_still_raises_errors_that_are_not_an_outage():
    key = f"{SCOPE}:not-a-number"
    cache.set(key, "text", timeout=30)

    try:
        with pytest.raises(ResponseError, match="not an integer"):
            cache.incr(key)
    finally:
        cache.delete(key)


# --- Pages while Redis is down --------------------------------------------------------


def test_sessions_and_messages_do_not_use_the_cache():
    assert django_settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    assert (
        django_settings.MESSAGE_STORAGE
        == "django.contrib.messages.storage.session.SessionStorage"
    )


def test_tenant_page_renders_while_redis_is_down(redis_down, client_as, hr_admin):
    response = client_as(hr_admin).get(
        reverse("organizations:home", args=[hr_admin.organization.slug])
    )

    assert response.status_code == 200


def test_form_and_its_message_work_while_redis_is_down(redis_down, client_as, hr_admin):
    url = reverse("organizations:business_units", args=[hr_admin.organization.slug])
    client = client_as(hr_admin)

    response = client.post(url, {"name": "Finance", "parent": ""}, follow=True)

    assert response.status_code == 200
    assert "Finance added." in response.content.decode()
    with tenant_context(hr_admin.organization):
        assert BusinessUnit.objects.filter(name="Finance").count() == 1


# --- The survey's rate limit -----------------------------------------------------------


@pytest.fixture
def survey() -> ClientSurvey:
    return ClientSurveyFactory()


def _survey_url(survey: ClientSurvey) -> str:
    return reverse("survey:answer", args=[survey_token(survey)])


def test_survey_rate_limit_counts_in_the_database_while_redis_is_down(
    redis_down, settings, survey
):
    settings.SURVEY_RATE_LIMIT = 3
    client = Client(REMOTE_ADDR="203.0.113.5")

    statuses = [client.get(_survey_url(survey)).status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    counter = RateLimitCounter.objects.get()
    assert counter.count == 5
    assert counter.key == ratelimit.counter_key("survey", "203.0.113.5")


def test_survey_rate_limit_in_the_database_is_per_address(redis_down, settings, survey):
    settings.SURVEY_RATE_LIMIT = 2
    url = _survey_url(survey)
    for _ in range(3):
        Client(REMOTE_ADDR="203.0.113.5").get(url)

    other = Client(REMOTE_ADDR="198.51.100.9").get(url)

    assert Client(REMOTE_ADDR="203.0.113.5").get(url).status_code == 429
    assert other.status_code == 200


def test_rate_limit_counts_in_the_cache_while_redis_answers():
    key = ratelimit.counter_key(SCOPE, "192.0.2.1")
    cache.delete(key)

    try:
        over = [ratelimit.hit(SCOPE, "192.0.2.1", limit=2, window=60) for _ in range(3)]
        counted = cache.get(key)
    finally:
        cache.delete(key)

    assert over == [False, False, True]
    assert counted == 3
    assert RateLimitCounter.objects.count() == 0


def test_rate_limit_database_counter_starts_a_new_window_once_it_has_passed(
    redis_down,
):
    over = [ratelimit.hit(SCOPE, "192.0.2.1", limit=2, window=60) for _ in range(3)]
    RateLimitCounter.objects.update(
        window_started_at=RateLimitCounter.objects.get().window_started_at
        - timedelta(seconds=61)
    )

    after_the_window = ratelimit.hit(SCOPE, "192.0.2.1", limit=2, window=60)

    assert over == [False, False, True]
    assert after_the_window is False
    assert RateLimitCounter.objects.get().count == 1


def test_rate_limit_database_counter_holds_within_the_window(redis_down):
    for _ in range(3):
        ratelimit.hit(SCOPE, "192.0.2.1", limit=2, window=60)
    RateLimitCounter.objects.update(
        window_started_at=RateLimitCounter.objects.get().window_started_at
        - timedelta(seconds=59)
    )

    still_over = ratelimit.hit(SCOPE, "192.0.2.1", limit=2, window=60)

    assert still_over is True
    assert RateLimitCounter.objects.get().count == 4


def test_rate_limit_never_stores_the_client_address(redis_down):
    ratelimit.hit(SCOPE, "203.0.113.5", limit=2, window=60)

    keys = list(RateLimitCounter.objects.values_list("key", flat=True))

    assert len(keys) == 1
    assert "203.0.113.5" not in keys[0]
    assert keys[0].startswith(f"ratelimit:{SCOPE}:")


# --- Login throttling ------------------------------------------------------------------


def test_login_throttling_stores_failures_in_the_database():
    assert django_settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"


def test_login_locks_out_after_five_failures_while_redis_is_down(
    redis_down, hr_admin: Membership
):
    client = Client()
    login = reverse("login")
    email = hr_admin.user.email
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        client.post(login, {"username": email, "password": "wrong-guess"})

    locked = client.post(login, {"username": email, "password": TEST_PASSWORD})

    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Counted in the database; the refused attempt counts as one more failure.
    attempt = AccessAttempt.objects.get()
    assert attempt.failures_since_start == django_settings.AXES_FAILURE_LIMIT + 1
