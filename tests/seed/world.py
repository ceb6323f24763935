"""What the seed tests share: the world's size, seed and password, the models it must
fill, and helpers that seed and drop organisations (the ``world`` fixture is in this
folder's conftest.py)."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.db import transaction
from django.test.utils import override_settings

from appraisals.models import (
    Appraisal,
    AppraisalSettings,
    AttainmentBand,
    CompetencyRating,
    Evaluation,
    EvaluationApproval,
    GoalRating,
)
from competencies.models import (
    Competency,
    CompetencyDescriptor,
    CompetencySet,
    CompetencySetItem,
    RatingLevel,
    RatingScale,
)
from demo.scale import delete_organization
from engagements.enums import CycleStatus
from engagements.models import Client as ClientModel
from engagements.models import (
    Engagement,
    EngagementType,
    Goal,
    GoalCheckIn,
    KeyActivity,
    Plan,
    PlanCompetency,
    PlanTemplate,
    ReviewCycle,
    RoleAssignment,
    RoleRule,
)
from feedback.models import (
    ClientSurvey,
    ClientSurveyRating,
    Feedback,
    FeedbackAnswer,
    FeedbackAsk,
    FeedbackRequest,
)
from organizations.models import Employee, Organization

SLUG = "world-a"
EMPLOYEES = 100
SEED = 5
PASSWORD = "world-test-password-1"
MD5 = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Every model the issue asks the world to fill.
WORLD_MODELS = [
    RatingScale,
    RatingLevel,
    Competency,
    CompetencyDescriptor,
    CompetencySet,
    CompetencySetItem,
    ClientModel,
    EngagementType,
    Engagement,
    PlanTemplate,
    RoleRule,
    ReviewCycle,
    RoleAssignment,
    Plan,
    PlanCompetency,
    Goal,
    GoalCheckIn,
    KeyActivity,
    AppraisalSettings,
    AttainmentBand,
    Appraisal,
    Evaluation,
    GoalRating,
    CompetencyRating,
    EvaluationApproval,
    Feedback,
    FeedbackRequest,
    FeedbackAsk,
    FeedbackAnswer,
    ClientSurvey,
    ClientSurveyRating,
]


def seed(slug: str, employees: int, *extra: str) -> str:
    out = StringIO()
    with override_settings(PASSWORD_HASHERS=MD5):
        call_command(
            "seed_scale",
            "--org",
            slug,
            "--employees",
            str(employees),
            "--password",
            PASSWORD,
            *extra,
            stdout=out,
            stderr=StringIO(),
        )
    return out.getvalue()


def drop(slug: str) -> None:
    with transaction.atomic():
        organization = Organization.objects.filter(slug=slug).first()
        if organization is not None:
            delete_organization(organization)


def employee_of(email: str) -> Employee:
    return Employee.objects.select_related("line_manager").get(user__email=email)


def review_cycle() -> ReviewCycle:
    return ReviewCycle.objects.get(status=CycleStatus.REVIEW)
