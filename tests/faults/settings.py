"""Settings of the processes that fault tests start: the project's own, except that
static files are served under their own names from the source directories.

Production's hashed-name storage (``DEBUG`` off) needs ``collectstatic``'s manifest,
and every page links a stylesheet through it; the tests do not run ``collectstatic``.
"""

from config.settings import *  # noqa: F403 - these are the project's settings
from config.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None  # nothing collected; WhiteNoise serves from the finders instead
WHITENOISE_USE_FINDERS = True
