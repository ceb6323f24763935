"""The demo, in the order its parts depend on each other (idempotent)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from demo import (
    appraisals,
    calibration,
    closed_cycles,
    competencies,
    engagements,
    feedback,
    feedback_requests,
    people,
    reports,
    subscriptions,
    surveys,
)
from organizations.models import Organization
from organizations.tenancy import tenant_context

Seeder = Callable[[Organization], None]

# Each seeder runs inside the organisation's tenant context and builds on those
# before it: engagement types and plans link to the competency sets; feedback,
# requests and surveys need staffed engagements; appraisals need all of them; the
# closed cycles come after, so the rows before them are what they always were; then
# the calibration of the cycle in review (more reviews, a session); the finished
# report jobs and the scheduled e-mails last, over everything.
SEEDERS: tuple[Seeder, ...] = (
    competencies.seed,
    engagements.seed,
    feedback.seed,
    feedback_requests.seed,
    surveys.seed,
    appraisals.seed,
    closed_cycles.seed,
    calibration.seed,
    reports.seed,
    subscriptions.seed,
)


def seed_demo() -> list[Organization]:
    """Create or refresh the demo organisations with everything in them, in one
    transaction. Returns the organisations (acme, globex)."""
    with transaction.atomic():
        organizations = [people.acme(), people.globex()]
        for organization in organizations:
            with tenant_context(organization):
                for seeder in SEEDERS:
                    seeder(organization)
    return organizations
