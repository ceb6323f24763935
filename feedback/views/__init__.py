"""Views of the feedback app, one module per page family; each exports
``urlpatterns``."""
