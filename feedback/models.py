"""Real-time feedback, feedback requests (named or anonymous) and client surveys."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from feedback.enums import EDIT_WINDOW_HOURS, AskStatus, FeedbackKind, Visibility
from organizations.tenancy import TenantModel

ONE_TO_FIVE = [MinValueValidator(1), MaxValueValidator(5)]


class Feedback(TenantModel):
    """A piece of feedback about a staffed employee, written during an engagement.

    ``engagement`` is empty for general feedback (line manager or HR). Authors may edit
    or withdraw it for ``EDIT_WINDOW_HOURS``; history keeps every version. Withdrawn
    feedback disappears from every feed.
    """

    author = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="feedback_given",
    )
    subject = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("about"),
        on_delete=models.PROTECT,
        related_name="feedback_received",
    )
    engagement = models.ForeignKey(
        "engagements.Engagement",
        verbose_name=_("engagement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="feedback",
    )
    goal = models.ForeignKey(
        "engagements.Goal",
        verbose_name=_("goal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
    )
    # Set when this feedback answers a named (non-anonymous) feedback request.
    ask = models.OneToOneField(
        "feedback.FeedbackAsk",
        verbose_name=_("request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=FeedbackKind.choices)
    body = models.TextField(_("feedback"), max_length=4000)
    visibility = models.CharField(
        _("who can read it"),
        max_length=14,
        choices=Visibility.choices,
        default=Visibility.SHARED,
    )
    created_at = models.DateTimeField(_("written at"), default=timezone.now)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = _("feedback")
        indexes = [
            models.Index(
                fields=["subject", "-created_at"], name="feedback_subject_idx"
            ),
            models.Index(
                fields=["engagement", "-created_at"], name="feedback_engagement_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(author=F("subject")), name="feedback_not_about_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.subject}"

    @property
    def editable_until(self) -> datetime:
        return self.created_at + timedelta(hours=EDIT_WINDOW_HOURS)

    def is_editable(self, now: datetime | None = None) -> bool:
        """Within the edit window and not withdrawn."""
        now = now or timezone.now()
        return self.withdrawn_at is None and now < self.editable_until


class FeedbackRequest(TenantModel):
    """Someone asks named colleagues for feedback about ``subject``.

    With ``anonymous`` the answers are stored without their authors (``FeedbackAnswer``)
    and shown only once ``ANONYMITY_THRESHOLD`` exist.
    """

    requested_by = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="feedback_requests_made",
    )
    subject = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("feedback about"),
        on_delete=models.PROTECT,
        related_name="feedback_requests_about",
    )
    engagement = models.ForeignKey(
        "engagements.Engagement",
        verbose_name=_("engagement"),
        on_delete=models.PROTECT,
        related_name="feedback_requests",
    )
    message = models.TextField(_("message"), max_length=2000, blank=True)
    questions = models.TextField(
        _("questions"),
        max_length=2000,
        blank=True,
        help_text=_("Optional. One question per line."),
    )
    due_date = models.DateField(_("answer by"))
    anonymous = models.BooleanField(
        _("anonymous answers"),
        default=False,
        help_text=_(
            "Answers are shown without names, and only once at least three exist."
        ),
    )
    created_at = models.DateTimeField(_("asked at"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.subject} · {self.engagement}"

    @property
    def question_list(self) -> list[str]:
        return [line.strip() for line in self.questions.splitlines() if line.strip()]


class FeedbackAsk(TenantModel):
    """One requestee of a feedback request and where their answer stands.

    No history here: for anonymous requests, a record of when each requestee answered
    could be matched against the answers.
    """

    request = models.ForeignKey(
        FeedbackRequest, on_delete=models.CASCADE, related_name="asks"
    )
    requestee = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("asked"),
        on_delete=models.PROTECT,
        related_name="feedback_asks",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=AskStatus.choices, default=AskStatus.OPEN
    )
    decline_reason = models.TextField(_("reason"), max_length=1000, blank=True)
    # A date, not a time: for anonymous requests a precise time could identify the
    # answer it belongs to.
    closed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["request", "requestee__full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "requestee"], name="feedback_ask_unique"
            ),
            models.CheckConstraint(
                condition=~Q(status=AskStatus.DECLINED) | ~Q(decline_reason=""),
                name="feedback_ask_decline_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.requestee} · {self.request}"


class FeedbackAnswer(TenantModel):
    """An answer to an anonymous feedback request. It has no author by design: nobody,
    HR admins included, can tell who wrote it. The random primary key and the day-only
    date keep ids, ordering and timestamps from hinting at the author either."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        FeedbackRequest, on_delete=models.CASCADE, related_name="anonymous_answers"
    )
    # [{"question": "...", "answer": "..."}]; a single item with question "" when the
    # request had no questions.
    answers = models.JSONField(default=list)
    submitted_on = models.DateField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{_('Anonymous answer')} · {self.request}"


class ClientSurvey(TenantModel):
    """A satisfaction survey sent to a client contact, answered through a signed link."""

    engagement = models.ForeignKey(
        "engagements.Engagement",
        verbose_name=_("engagement"),
        on_delete=models.PROTECT,
        related_name="surveys",
    )
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact e-mail"))
    sent_by = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("sent by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Part of the signed token; a new nonce would invalidate an old link.
    nonce = models.UUIDField(
        _("link key"), default=uuid.uuid4, editable=False, unique=True
    )
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("link expires at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    overall = models.PositiveSmallIntegerField(
        _("overall satisfaction"), null=True, blank=True, validators=ONE_TO_FIVE
    )
    comment = models.TextField(_("comment"), max_length=4000, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(overall__isnull=True)
                | (Q(overall__gte=1) & Q(overall__lte=5)),
                name="survey_overall_range",
            ),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True) | Q(overall__isnull=False),
                name="survey_answer_has_rating",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.engagement} · {self.contact_email}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class ClientSurveyRating(TenantModel):
    """The client's 1–5 rating of one staffed employee in an answered survey."""

    survey = models.ForeignKey(
        ClientSurvey, on_delete=models.CASCADE, related_name="ratings"
    )
    employee = models.ForeignKey(
        "organizations.Employee", on_delete=models.PROTECT, related_name="csat_ratings"
    )
    rating = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)

    class Meta:
        ordering = ["survey", "employee__full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "employee"], name="survey_rating_unique"
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5),
                name="survey_rating_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee}: {self.rating}"
