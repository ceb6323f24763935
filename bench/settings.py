"""The project's settings, with the benchmark's floor page (bench/urls.py) mounted.

Everything else, middleware included, is ``config.settings`` as the environment sets
it, except where static files come from: under their own names, served by WhiteNoise
from the source directories, whether DEBUG is on or off. Production's hashed names need
``collectstatic`` first (minutes, with the compression) and cost a dictionary look-up
per ``{% static %}``, which no page measurement would notice.
"""

from pathlib import Path
from typing import cast

from config.settings import *  # noqa: F403
from config.settings import BASE_DIR, STORAGES, TEMPLATES

ROOT_URLCONF = "bench.urls"
_PRODUCT_DIRS = cast("list[Path]", TEMPLATES[0]["DIRS"])
TEMPLATES = [
    {**TEMPLATES[0], "DIRS": [*_PRODUCT_DIRS, BASE_DIR / "bench" / "templates"]}
]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Nothing collected: WhiteNoise would warn about a missing STATIC_ROOT directory.
STATIC_ROOT = None  # type: ignore[assignment]  # Django accepts None
WHITENOISE_USE_FINDERS = True
