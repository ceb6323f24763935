"""Views of the appraisals app: appraisals (owned by one workstream; see the brief)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
