"""URLs under /o/<org_slug>/ for the engagements app."""

from engagements.views import (
    clients,
    competencies,
    cycles,
    people,
    plan_history,
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
    *plan_history.urlpatterns,
    *competencies.urlpatterns,
    *templates.urlpatterns,
    *people.urlpatterns,
]
