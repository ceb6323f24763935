"""URLs under /o/<org_slug>/ for the feedback app."""

from feedback.views import feedback, requests, surveys

app_name = "feedback"

urlpatterns = [
    *feedback.urlpatterns,
    *requests.urlpatterns,
    *surveys.urlpatterns,
]
