"""URLs under /o/<org_slug>/reports/ for the reporting app."""

from reporting.views import batches, dashboards, documents, jobs, subscriptions

app_name = "reporting"

urlpatterns = [
    *dashboards.urlpatterns,
    *jobs.urlpatterns,
    *documents.urlpatterns,
    *batches.urlpatterns,
    *subscriptions.urlpatterns,
]
