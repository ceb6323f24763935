"""URLs under /o/<org_slug>/reports/ for the reporting app."""

from reporting.views import dashboards, documents, jobs

app_name = "reporting"

urlpatterns = [
    *dashboards.urlpatterns,
    *jobs.urlpatterns,
    *documents.urlpatterns,
]
