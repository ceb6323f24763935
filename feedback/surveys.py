"""Client satisfaction surveys: sending, the signed link, answering, and CSAT figures.

An HR admin or one of the engagement's reviewers sends a survey to a client contact's
e-mail address. The contact answers through a signed, expiring link without an
account: the token names the organisation, the survey and the survey's nonce, and is
usable while the survey is unanswered and ``expires_at`` lies ahead. One answer per
link: answering locks the survey row, so two concurrent submits cannot both count.

Services that change state take the acting ``Membership`` as ``actor``; the public
answer has no actor (the link is the credential) and runs inside the survey's tenant,
which the caller enters. Selectors here are small aggregates; each states its cost.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from engagements.enums import PlanKind
from engagements.models import Engagement
from engagements.permissions import load_access
from feedback.models import ClientSurvey, ClientSurveyRating
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization
from organizations.permissions import Access
from organizations.tenancy import tenant_context

SURVEY_SALT = "feedback.client-survey"
DEFAULT_DAYS_VALID = 14
MAX_DAYS_VALID = 60
RATING_MIN, RATING_MAX = 1, 5
COMMENT_MAX_LENGTH = 4000

# What ``survey_from_token`` says about a link.
VALID = "valid"
TAMPERED = "tampered"  # bad signature, unknown survey, another tenant's, or a new nonce
EXPIRED = "expired"
ANSWERED = "answered"

# Survey states shown to the organisation.
SENT = "sent"


class SurveyClosed(DomainError):
    """The survey cannot take an answer any more; ``reason`` is expired or answered."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# --- Who may do what ---------------------------------------------------------------------


def can_send_surveys(access: Access, engagement: Engagement) -> bool:
    """HR admins and the engagement's reviewers send surveys."""
    return access.is_hr or "review_engagement" in access.on(engagement.pk)


def can_see_surveys(access: Access, engagement: Engagement) -> bool:
    """HR admins, the engagement's reviewers and approvers read the answers."""
    return access.is_hr or bool(
        {"review_engagement", "approve_engagement"} & access.on(engagement.pk)
    )


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


# --- Sending ------------------------------------------------------------------------


def _clean_days(days_valid: Any) -> int:
    try:
        days = int(days_valid)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_DAYS_VALID:
        raise DomainError(
            _("Choose how long the link works: from 1 to %(max)d days.")
            % {"max": MAX_DAYS_VALID},
            field="days_valid",
        )
    return days


def _clean_contact(engagement: Engagement, contact_email: str) -> str:
    address = (contact_email or engagement.client.contact_email or "").strip()
    if not address:
        raise DomainError(
            _(
                "Enter the client contact's e-mail address; the client has none on "
                "record."
            ),
            field="contact_email",
        )
    try:
        validate_email(address)
    except ValidationError as exc:
        raise DomainError(
            _("Enter a valid e-mail address, like name@client.com."),
            field="contact_email",
        ) from exc
    return address


def _local_date(moment: Any, organization: Organization) -> str:
    local = timezone.localtime(moment, zoneinfo.ZoneInfo(organization.timezone))
    return str(formats.date_format(local, "DATE_FORMAT"))


def send_survey(
    *,
    actor: Membership,
    engagement: Engagement,
    contact_email: str = "",
    contact_name: str = "",
    days_valid: int = DEFAULT_DAYS_VALID,
) -> ClientSurvey:
    """Create a survey for ``engagement`` and e-mail its link to the contact.

    ``contact_email`` defaults to the client's contact e-mail. The e-mail is essential
    (it goes to an outside address) and queued after commit, once per survey. Raises
    DomainError when the actor is neither an HR admin nor a reviewer of the engagement,
    the address is missing or invalid, ``days_valid`` is outside 1–60, or the same
    address already has an open survey for this engagement.
    """
    from organizations.notifications import queue_email

    organization = actor.organization
    if engagement.organization_id != organization.pk:
        raise DomainError(_("This engagement belongs to another organisation."))
    if not can_send_surveys(load_access(actor, [engagement]), engagement):
        raise DomainError(
            _("Only HR admins and the engagement's reviewers can send surveys.")
        )
    address = _clean_contact(engagement, contact_email)
    days = _clean_days(days_valid)
    now = timezone.now()
    with transaction.atomic():
        open_one = (
            ClientSurvey.objects.filter(
                engagement=engagement,
                contact_email__iexact=address,
                answered_at__isnull=True,
                expires_at__gt=now,
            )
            .order_by("expires_at")
            .first()
        )
        if open_one is not None:
            raise DomainError(
                _(
                    "%(email)s already has an open survey for this engagement, "
                    "until %(date)s. Wait for the answer or for that link to expire."
                )
                % {
                    "email": address,
                    "date": _local_date(open_one.expires_at, organization),
                },
                field="contact_email",
            )
        survey = ClientSurvey.objects.create(
            organization=organization,
            engagement=engagement,
            contact_name=contact_name.strip(),
            contact_email=address,
            sent_by=Employee.objects.filter(user_id=actor.user_id).first(),
            sent_at=now,
            expires_at=now + timedelta(days=days),
        )
        queue_email(
            organization=organization,
            key=f"survey.sent:{survey.pk}",
            template="feedback/email/survey_sent.txt",
            context={
                "engagement_name": engagement.name,
                "contact_name": survey.contact_name,
                "expires_on": _local_date(survey.expires_at, organization),
                "path": survey_path(survey),
            },
            address=address,
            essential=True,
        )
    return survey


# --- Answering ----------------------------------------------------------------------


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


def _check_rating(value: Any, field: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not RATING_MIN <= value <= RATING_MAX
    ):
        raise DomainError(_("Choose a rating from 1 to 5."), field=field)
    return value


def answer_survey(
    survey: ClientSurvey,
    *,
    overall: Any,
    ratings: dict[int, int] | None = None,
    comment: str = "",
) -> ClientSurvey:
    """Record the contact's answer: overall 1–5, optional 1–5 ratings of staffed
    employees (by employee id), optional comment. One answer per link.

    Runs inside the survey's tenant (the caller enters it). Locks the survey row, so of
    two concurrent submits the second sees the first's answer. Raises SurveyClosed
    (answered or expired) and DomainError for bad input: overall missing or out of
    range, a rating out of range or for someone not staffed on the engagement, an
    over-long comment. Nothing is saved on any error.
    """
    ratings = ratings or {}
    comment = (comment or "").strip()
    with transaction.atomic():
        locked = (
            ClientSurvey.objects.select_for_update(of=("self",))
            .filter(pk=survey.pk)
            .first()
        )
        if locked is None:
            raise DomainError(_("This survey link is not valid."))
        if locked.is_answered:
            raise SurveyClosed(
                ANSWERED, _("This survey has already been answered. Thank you.")
            )
        if locked.expires_at <= timezone.now():
            raise SurveyClosed(EXPIRED, _("This survey link has expired."))
        overall_value = _check_rating(overall, "overall")
        staffed = set(
            staffed_employees(locked.engagement_id).values_list("pk", flat=True)
        )
        if set(ratings) - staffed:
            raise DomainError(
                _("Only the people listed in the survey can be rated."),
                field="ratings",
            )
        values = {
            employee_id: _check_rating(value, "ratings")
            for employee_id, value in ratings.items()
        }
        if len(comment) > COMMENT_MAX_LENGTH:
            raise DomainError(
                _("Keep the comment under %(n)d characters.")
                % {"n": COMMENT_MAX_LENGTH},
                field="comment",
            )
        ClientSurveyRating.objects.bulk_create(
            ClientSurveyRating(
                organization_id=locked.organization_id,
                survey=locked,
                employee_id=employee_id,
                rating=value,
            )
            for employee_id, value in sorted(values.items())
        )
        locked.overall = overall_value
        locked.comment = comment
        locked.answered_at = timezone.now()
        locked.save(update_fields=["overall", "comment", "answered_at"])
    return locked


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
