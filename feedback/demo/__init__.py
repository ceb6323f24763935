"""Demo data of the feedback app, run by ``seed_demo`` inside each organisation."""

from __future__ import annotations

from organizations.models import Organization


def seed(organization: Organization) -> None:
    from feedback.demo import feedback, requests, surveys

    feedback.seed(organization)
    requests.seed(organization)
    surveys.seed(organization)
