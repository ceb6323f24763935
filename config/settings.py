"""Settings for Engagement HRMS, driven by the environment.

Every variable has a safe development default; production (``DEBUG`` off) refuses to
start with an unsafe value. See README.md, "Configuration".
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)

_LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=_LOCAL_HOSTS)


def _check_production_safety() -> None:
    """Refuse to start with a configuration that would be unsafe in production."""
    public_hosts = [h for h in ALLOWED_HOSTS if h not in _LOCAL_HOSTS]
    if DEBUG and public_hosts:
        raise ImproperlyConfigured(
            "DEBUG is on while ALLOWED_HOSTS names public hosts "
            f"({', '.join(public_hosts)}). Set DEBUG=false for a public deployment."
        )
    if not DEBUG and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 50 characters "
            "when DEBUG is off. Generate one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'"
        )


_check_production_safety()

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Trigram similarity for the navigation's search (organizations/search.py).
    "django.contrib.postgres",
    "django_htmx",
    "django_filters",
    "django_scopes",
    "guardian",
    "simple_history",
    "axes",
    "csp",
    "organizations",
    "competencies",
    "engagements",
    "feedback",
    "appraisals",
    "reporting",
]

MIDDLEWARE = [
    # First, so it sees every error: a database outage answers a plain 503 page.
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "organizations.middleware.TenantMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# No "loaders" on purpose: Django then wraps the default loaders in the cached loader,
# so each template is read and compiled once per process (with DEBUG on it reloads
# changed files). tests/organizations/test_navigation.py checks it.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "organizations.context_processors.tenant",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
# DATABASE_URL is the application's connection. On PostgreSQL it must be a role that
# is not superuser, not BYPASSRLS and not the table owner; run `migrate` with a
# DATABASE_URL naming the owner role instead (see README.md, "Production").
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    ),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# Check a persistent connection before a request reuses it, so a process recovers by
# itself after PostgreSQL restarts instead of failing once per dead connection.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

# The role that row-level security applies to; the owner grants it table access.
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery -----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            # While Redis is down the cache degrades to no cache (config/cache.py);
            # short timeouts keep an unanswering Redis from stalling a page.
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "hrms",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    # A broker that is down fails a publication within seconds (the outbox retries it)
    # instead of holding a request or the relay.
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# --- The outbox (organizations/outbox.py, docs/architecture.md "Background work") -----
# Beat's catch-up pass publishes due rows this often (seconds).
OUTBOX_RELAY_INTERVAL = env.float("OUTBOX_RELAY_INTERVAL", default=5.0)
# A published row not completed after this many seconds is published again; the delay
# doubles with each attempt (up to an hour).
OUTBOX_REDELIVER_AFTER = env.int("OUTBOX_REDELIVER_AFTER", default=120)
# After this many publications without completion a row is marked failed, for HR.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
# Completed rows are deleted after this many days (beat, daily).
OUTBOX_KEEP_COMPLETED_DAYS = env.int("OUTBOX_KEEP_COMPLETED_DAYS", default=14)

# --- Auth --------------------------------------------------------------------------
AUTH_USER_MODEL = "organizations.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row
GUARDIAN_RAISE_403 = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling: lock a user name from one address after 5 failures, for 15 minutes.
# Failures are stored in the database (axes' default handler, named here so that no
# one swaps in the cache handler): a Redis outage cannot open the lock.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
# Count failures per address whatever its capitalisation, like the login itself.
AXES_USERNAME_CALLABLE = "organizations.forms.normalised_login_username"
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
# Behind N trusted reverse proxies, the client address is the Nth from the right in
# X-Forwarded-For; without this every login would seem to come from the proxy.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Login throttling and the public survey's rate limit read the client address the
# same way (organizations.http.client_ip), honouring TRUSTED_PROXY_COUNT.
AXES_CLIENT_IP_CALLABLE = "organizations.http.client_ip"

INVITATION_MAX_AGE = timedelta(days=7)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
CSRF_COOKIE_HTTPONLY = True

# --- Security headers ----------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes speak plain HTTP inside the stack
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- E-mail ------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="hrms@localhost")
# Seconds an SMTP connection may wait for the server: an unanswering server fails the
# send (retried later) instead of holding a worker.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# Scheduled report e-mails attach PDFs up to this size (bytes); a larger one is
# linked instead, as a report job of the recipient's (docs/reporting.md).
REPORT_EMAIL_MAX_ATTACHMENT = env.int(
    "REPORT_EMAIL_MAX_ATTACHMENT", default=5 * 1024 * 1024
)

# --- I18N, time --------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
# Each language in its own name, as a language menu shows it. A member's language is
# their preference (User.language), else their organisation's (Organization.language);
# pages outside an organisation follow the language cookie (set from the preference at
# login and when it changes: organizations.http.remember_language), else the browser.
# Catalogues live in locale/ (.po committed; `make messages` compiles the .mo files).
LANGUAGES = [("en-gb", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- Static and media ------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
    ("vendor/tom-select", BASE_DIR / "node_modules" / "tom-select" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Decided from the environment, not from settings.DEBUG at request time: the test runner
# turns DEBUG off, and WhiteNoise would then demand a collected STATIC_ROOT.
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media-not-served/"  # files are served only through authorising views

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # WeasyPrint's steps of every PDF (its refusals stay: warnings and errors).
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

SILENCED_SYSTEM_CHECKS: list[str] = []
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The tallies' unique keys treat an empty due date as a value (NULLS NOT
    # DISTINCT), which SQLite cannot declare. On SQLite nothing relies on them: the
    # pages rebuild the tallies from the rows (appraisals/tallies.py).
    SILENCED_SYSTEM_CHECKS.append("models.W047")

# Absolute address of the site, for links in e-mails sent by background tasks.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Celery beat schedule ------------------------------------------------------------
# Beat may run twice or late; every scheduled job is idempotent through the e-mail
# ledger (organizations.SentEmail), so a duplicate run sends nothing new.
from celery.schedules import crontab  # noqa: E402 - only the schedule needs it

CELERY_BEAT_SCHEDULE = {
    # The outbox relay's catch-up pass: owed work whose publication failed or whose
    # task never completed (organizations/outbox.py).
    "outbox-relay": {
        "task": "organizations.relay_outbox",
        "schedule": OUTBOX_RELAY_INTERVAL,
    },
    "outbox-prune": {
        "task": "organizations.prune_outbox",
        "schedule": crontab(hour=3, minute=40),
    },
    # Feedback requests: remind requestees of open asks due within two days.
    "feedback-request-reminders": {
        "task": "feedback.tasks.send_request_reminders",
        "schedule": crontab(hour=6, minute=30),
    },
    # Appraisals: open evaluations of plans that ended in cycles allowing it.
    "appraisals-open-early-evaluations": {
        "task": "appraisals.open_early_evaluations_everywhere",
        "schedule": crontab(hour=2, minute=15),
    },
    # Reporting: delete report files and jobs past their organisation's retention.
    "reporting-delete-expired-reports": {
        "task": "reporting.delete_expired_reports_everywhere",
        "schedule": crontab(hour=3, minute=10),
    },
    # Reporting: queue the scheduled report e-mails that are due, once per
    # subscription and period (reporting/dispatch.py); a subscription is sent within
    # five minutes of its time.
    "reporting-dispatch-due-reports": {
        "task": "reporting.dispatch_due_reports",
        "schedule": crontab(minute="*/5"),
    },
}
