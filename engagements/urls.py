"""URLs under /o/<org_slug>/ for the engagements app."""

from engagements.views import (
    clients,
    competencies,
    cycles,
    people,
    plans,
    staffing,
    templates,
)

app_name = "engagements"

urlpatterns = [
    *cycles.urlpatterns,
    *clients.urlpatterns,
    *staffing.urlpatterns,
    *plans.urlpatterns,
    *competencies.urlpatterns,
    *templates.urlpatterns,
    *people.urlpatterns,
]
