"""Views of the feedback app: surveys (owned by one workstream; see the brief)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
