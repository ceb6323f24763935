"""URLs under /o/<org_slug>/ for the appraisals app."""

from appraisals.views import (
    appraisals,
    calibration,
    evaluations,
    progress,
    settings,
    team,
)

app_name = "appraisals"

urlpatterns = [
    *evaluations.urlpatterns,
    *appraisals.urlpatterns,
    *progress.urlpatterns,
    *settings.urlpatterns,
    *team.urlpatterns,
    *calibration.urlpatterns,
]
