"""Public URLs of the reporting app (no account, no organisation in the path): the
unsubscribe link of scheduled report e-mails."""

from reporting.views import unsubscribe

app_name = "reporting_public"

urlpatterns = [*unsubscribe.public_urlpatterns]
