"""Root URLconf: the account pages, the health probe and everything under /o/<slug>/."""

from django.urls import include, path

from config.middleware import server_error
from organizations.views.home import healthz, root

# A database outage answers 503 rather than 500 (config/middleware.py).
handler500 = server_error

urlpatterns = [
    path("", root, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("organizations.account_urls")),
    path("o/<slug:org_slug>/", include("organizations.urls")),
    path("o/<slug:org_slug>/", include("competencies.urls")),
    path("o/<slug:org_slug>/", include("engagements.urls")),
    path("o/<slug:org_slug>/", include("feedback.urls")),
    path("o/<slug:org_slug>/", include("appraisals.urls")),
    path("o/<slug:org_slug>/", include("reporting.urls")),
    path("survey/", include("feedback.public_urls")),
    path("reports/", include("reporting.public_urls")),
]
