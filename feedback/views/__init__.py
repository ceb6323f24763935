"""Views of the feedback app, one module per area; each exports ``urlpatterns``."""
