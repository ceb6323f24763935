"""Reads of the client surveys: what a signed link is worth, the people a client may
rate, and the CSAT figures. Each selector states its cost.

A contact answers through a signed, expiring link without an account: the token
names the organisation, the survey and the survey's nonce, and is usable while the
survey is unanswered and ``expires_at`` lies ahead.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from django.core import signing
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone

from engagements.enums import PlanKind
from engagements.models import Engagement
from feedback.models import ClientSurvey, ClientSurveyRating
from organizations.models import Employee, Organization
from organizations.tenancy import tenant_context

SURVEY_SALT = "feedback.client-survey"
# A link works for at most this many days (the token's own age is checked too).
MAX_DAYS_VALID = 60

# What ``survey_from_token`` says about a link.
VALID = "valid"
TAMPERED = "tampered"  # bad signature, unknown survey, another tenant's, or a new nonce
EXPIRED = "expired"
ANSWERED = "answered"

# Survey states shown to the organisation.
SENT = "sent"

# --- The signed link -------------------------------------------------------------------


def survey_token(survey: ClientSurvey) -> str:
    """The signed token of a survey link: organisation, survey and nonce."""
    return signing.dumps(
        {"o": survey.organization_id, "s": survey.pk, "n": survey.nonce.hex},
        salt=SURVEY_SALT,
    )


def survey_path(survey: ClientSurvey) -> str:
    """The site-relative address of the survey's public page."""
    return reverse("survey:answer", args=[survey_token(survey)])


def survey_from_token(token: str) -> tuple[str, ClientSurvey | None]:
    """What a link is worth: ``(status, survey)`` with status valid, tampered,
    expired or answered; the survey is None when tampered.

    A bad signature, a survey that does not exist, one of another organisation than
    the token names, and a nonce that no longer matches all read as tampered, so the
    answer reveals nothing. The survey comes with its engagement and organisation.
    Cost: two queries (organisation, survey), plus the tenant context's settings.
    """
    try:
        data = signing.loads(
            token, salt=SURVEY_SALT, max_age=timedelta(days=MAX_DAYS_VALID)
        )
    except signing.SignatureExpired:
        return EXPIRED, None
    except signing.BadSignature:
        return TAMPERED, None
    if not isinstance(data, dict):
        return TAMPERED, None
    org_id, survey_id, nonce = data.get("o"), data.get("s"), data.get("n")
    if not (isinstance(org_id, int) and isinstance(survey_id, int)):
        return TAMPERED, None
    organization = Organization.objects.filter(pk=org_id).first()
    if organization is None:
        return TAMPERED, None
    with tenant_context(organization):
        survey = (
            ClientSurvey.objects.select_related("engagement")
            .filter(pk=survey_id)
            .first()
        )
    if survey is None or survey.nonce.hex != nonce:
        return TAMPERED, None
    survey.organization = organization
    if survey.is_answered:
        return ANSWERED, survey
    if survey.expires_at <= timezone.now():
        return EXPIRED, survey
    return VALID, survey


# --- The people a client may rate ----------------------------------------------------


def staffed_employees(engagement: Engagement | int) -> QuerySet[Employee]:
    """The active employees staffed on the engagement (an engagement plan there, in any
    cycle), by name: the people a client may rate. Builds a queryset only."""
    engagement_id = engagement if isinstance(engagement, int) else engagement.pk
    return (
        Employee.objects.filter(
            is_active=True,
            plans__engagement_id=engagement_id,
            plans__kind=PlanKind.ENGAGEMENT,
        )
        .distinct()
        .order_by("full_name", "pk")
    )


# --- Reading -------------------------------------------------------------------------


class EngagementCsat(NamedTuple):
    average: Decimal | None  # mean overall satisfaction, 2 places
    answered: int
    pending: int  # sent, unanswered and not yet expired


class EmployeeCsat(NamedTuple):
    average: Decimal | None  # mean client rating, 2 places
    ratings: int  # how many ratings


class EngagementRating(NamedTuple):
    engagement_id: int
    engagement_name: str
    average: Decimal | None
    ratings: int


def _mean(total: int | None, count: int) -> Decimal | None:
    """``total / count`` rounded half-up to 2 places, exact on every database."""
    if not count or total is None:
        return None
    return (Decimal(total) / Decimal(count)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def survey_status(survey: ClientSurvey, now: Any = None) -> str:
    """answered, expired or sent (still open)."""
    if survey.is_answered:
        return ANSWERED
    if survey.expires_at <= (now or timezone.now()):
        return EXPIRED
    return SENT


def engagement_csat(engagement: Engagement) -> EngagementCsat:
    """Average overall satisfaction of the engagement's answered surveys, their number,
    and the number of open ones. One query."""
    answered = Q(answered_at__isnull=False)
    figures = ClientSurvey.objects.filter(engagement=engagement).aggregate(
        total=Sum("overall", filter=answered),
        answered=Count("pk", filter=answered),
        pending=Count(
            "pk", filter=Q(answered_at__isnull=True, expires_at__gt=timezone.now())
        ),
    )
    return EngagementCsat(
        _mean(figures["total"], figures["answered"]),
        figures["answered"],
        figures["pending"],
    )


def employee_csat(employee: Employee) -> EmployeeCsat:
    """The employee's average client rating over every answered survey. One query."""
    figures = ClientSurveyRating.objects.filter(employee=employee).aggregate(
        total=Sum("rating"), count=Count("pk")
    )
    return EmployeeCsat(_mean(figures["total"], figures["count"]), figures["count"])


def employee_csat_by_engagement(employee: Employee) -> list[EngagementRating]:
    """The employee's average client rating per engagement, by engagement name.
    One query."""
    rows = (
        ClientSurveyRating.objects.filter(employee=employee)
        .values("survey__engagement_id", "survey__engagement__name")
        .annotate(total=Sum("rating"), count=Count("pk"))
        .order_by("survey__engagement__name", "survey__engagement_id")
    )
    return [
        EngagementRating(
            row["survey__engagement_id"],
            row["survey__engagement__name"],
            _mean(row["total"], row["count"]),
            row["count"],
        )
        for row in rows
    ]


def engagement_surveys(engagement: Engagement) -> QuerySet[ClientSurvey]:
    """The engagement's surveys, newest first, with the sender and the per-employee
    ratings (employee names). Two queries per page whatever the number of rows."""
    return (
        ClientSurvey.objects.filter(engagement=engagement)
        .select_related("sent_by")
        .prefetch_related(
            Prefetch(
                "ratings",
                queryset=ClientSurveyRating.objects.select_related("employee"),
            )
        )
    )
