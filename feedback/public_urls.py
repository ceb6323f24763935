"""Public URLs of the feedback app (no account, no organisation in the path): the
client survey a contact opens from a signed link."""

from feedback.views import surveys

app_name = "survey"

urlpatterns = [*surveys.public_urlpatterns]
