"""Client satisfaction surveys: sending one to a client contact, and recording the
contact's answer.

An HR admin or one of the engagement's reviewers sends a survey to a client contact's
e-mail address; the contact answers through the signed link
(``feedback.selectors.surveys.survey_token``). One answer per link: answering locks
the survey row, so two concurrent submits cannot both count.

``send_survey`` takes the acting ``Membership`` as ``actor``; the public answer has no
actor (the link is the credential) and runs inside the survey's tenant, which the
caller enters.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from engagements.models import Engagement
from engagements.permissions import load_access
from feedback.models import ClientSurvey, ClientSurveyRating
from feedback.permissions import Action, can
from feedback.selectors.feedback import directory_entry
from feedback.selectors.surveys import (
    ANSWERED,
    EXPIRED,
    MAX_DAYS_VALID,
    staffed_employees,
    survey_path,
)
from organizations.errors import DomainError
from organizations.models import Membership, Organization
from organizations.notifications import queue_email

DEFAULT_DAYS_VALID = 14
RATING_MIN, RATING_MAX = 1, 5
COMMENT_MAX_LENGTH = 4000


class SurveyClosed(DomainError):
    """The survey cannot take an answer any more; ``reason`` is expired or answered."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


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
    organization = actor.organization
    if engagement.organization_id != organization.pk:
        raise DomainError(_("This engagement belongs to another organisation."))
    if not can(load_access(actor, [engagement]), Action.SEND_SURVEYS, engagement):
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
            sent_by=directory_entry(actor),
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
