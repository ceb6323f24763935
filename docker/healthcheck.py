"""Health probe of the web container: GET /healthz from gunicorn, exit 0 on 200.

Sends the first ALLOWED_HOSTS entry as Host and ``X-Forwarded-Proto: https``, as the
TLS-terminating proxy in front does, so neither the host check nor
SECURE_SSL_REDIRECT turns the probe away. Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

URL = "http://127.0.0.1:8000/healthz"


def main() -> int:
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",")]
    host = next((h.lstrip(".") for h in hosts if h and h != "*"), "localhost")
    request = urllib.request.Request(
        URL, headers={"Host": host, "X-Forwarded-Proto": "https"}
    )
    try:
        # A fixed http URL on loopback; no user input reaches it.
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
