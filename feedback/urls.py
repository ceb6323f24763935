"""URLs under /o/<org_slug>/ for the feedback app."""

from feedback.views import feedback, feeds, requests, surveys

app_name = "feedback"

urlpatterns = [
    *feedback.urlpatterns,
    *feeds.urlpatterns,
    *requests.urlpatterns,
    *surveys.urlpatterns,
]
