"""seed_scale is repeatable: the same seed builds the same world, --replace removes
every row and permission of the old one, and a world too small for the manager's line
is refused."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.apps import apps
from django.core.management.base import CommandError
from django.db import connection
from guardian.models import UserObjectPermission

from appraisals.models import Appraisal, Evaluation, GoalRating
from engagements.models import Engagement, Goal, Plan
from feedback.models import Feedback
from organizations.models import Employee, Organization, User
from organizations.tenancy import tenant_context
from tests.seed.world import EMPLOYEES, SEED, seed

pytestmark = pytest.mark.django_db


def ordered(rows: Any) -> list[str]:
    """Rows in a fixed order (some values are None, which does not sort)."""
    return sorted(map(repr, rows))


def digest(organization: Organization) -> str:
    """A fingerprint of the world's content (natural keys, no ids or e-mails)."""
    with tenant_context(organization):
        parts = [
            ordered(Employee.objects.values_list("code", "full_name", "is_active")),
            ordered(
                Engagement.objects.values_list(
                    "code", "name", "start_date", "end_date", "status", "client__name"
                )
            ),
            ordered(
                Plan.objects.values_list(
                    "cycle__name",
                    "employee__code",
                    "engagement__code",
                    "allocation",
                    "template__name",
                ).order_by()
            ),
            ordered(
                Goal.objects.values_list(
                    "plan__employee__code",
                    "plan__engagement__code",
                    "title",
                    "actual_value",
                    "status",
                )
            ),
            ordered(
                Evaluation.objects.values_list(
                    "plan__cycle__name",
                    "employee__code",
                    "plan__engagement__code",
                    "kind",
                    "status",
                    "reviewer__code",
                    "score",
                )
            ),
            ordered(
                GoalRating.objects.values_list(
                    "evaluation__employee__code", "goal__title", "value"
                )
            ),
            ordered(
                Appraisal.objects.values_list(
                    "cycle__name", "employee__code", "status", "final_score"
                )
            ),
            ordered(
                Feedback.objects.values_list(
                    "author__code", "subject__code", "kind", "body"
                )
            ),
        ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def test_world_is_the_same_for_the_same_seed(world):
    seed("world-b", EMPLOYEES, "--seed", str(SEED))
    again = Organization.objects.get(slug="world-b")

    assert digest(again) == digest(world)


def test_world_replace_deletes_every_row_and_permission(world):
    seed("world-c", 70, "--seed", "3")
    old = Organization.objects.get(slug="world-c")
    with tenant_context(old):
        engagements = [
            str(pk) for pk in Engagement.objects.values_list("pk", flat=True)
        ]
    granted = UserObjectPermission.objects.filter(object_pk__in=engagements).count()

    seed("world-c", 10, "--replace", "--people-only")
    connection.check_constraints()

    left = UserObjectPermission.objects.filter(object_pk__in=engagements).count()
    with tenant_context(old):
        leftovers = {
            m._meta.label: n
            for m in apps.get_models()
            if any(f.column == "organization_id" for f in m._meta.concrete_fields)
            for n in [m._base_manager.filter(organization_id=old.pk).count()]
            if n
        }
    accounts = User.objects.filter(email__endswith="@world-c.test").count()
    assert granted > 0
    assert left == 0
    assert leftovers == {}
    assert accounts == 10


def test_world_refuses_too_few_employees_for_the_manager_line():
    with pytest.raises(CommandError, match="--people-only"):
        seed("world-tiny", 20)

    assert not Organization.objects.filter(slug="world-tiny").exists()
