"""Views of the appraisals app, one module per area; each exports ``urlpatterns``."""
