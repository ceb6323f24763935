"""Facts about the HTTP request that several apps need, decided in one place."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address, for login throttling and rate limits.

    Behind ``TRUSTED_PROXY_COUNT`` reverse proxies it is the Nth entry from the right
    of X-Forwarded-For (what the outermost trusted proxy saw; entries further left are
    the client's own claims); otherwise REMOTE_ADDR, and X-Forwarded-For is ignored so
    a client cannot choose its own address. None when the request carries no
    address at all (requests built in code).
    """
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None
