"""Views of the feedback app: feedback (owned by one workstream; see the brief)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
