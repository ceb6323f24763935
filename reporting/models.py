"""Models of the reporting app: report jobs, the exports that run in Celery with
visible progress (see docs/architecture.md, "Reporting")."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantModel
from reporting.enums import (
    FINISHED_STATUSES,
    CycleEvent,
    DeliveryStatus,
    EmailStatus,
    FileFormat,
    Frequency,
    JobStatus,
    PartStatus,
    SubscriptionKind,
    Weekday,
)


def report_file_path(owner: TenantModel, filename: str) -> str:
    """Where a report file (a job's, a batch document's, an e-mailed PDF) is stored
    under MEDIA_ROOT: the organisation's folder and a random name, so that neither a
    path nor a name can be guessed or collide. The name the member downloads a job's
    file under is ``ReportJob.download_name``."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"reports/{owner.organization_id}/{secrets.token_urlsafe(24)}.{extension}"


class ReportJob(TenantModel):
    """One export asked for by a member: what (``kind`` with its ``parameters``), in
    which format, and how far it got. The file is served only through the download
    view, which checks access again, and deleted at ``expires_at``."""

    kind = models.CharField(_("report"), max_length=60)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    file_format = models.CharField(
        _("format"), max_length=4, choices=FileFormat.choices, default=FileFormat.CSV
    )
    requested_by = models.ForeignKey(
        "organizations.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    file = models.FileField(
        _("file"), upload_to=report_file_path, max_length=200, blank=True
    )
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("deleted after"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "requested_by", "-created_at"],
                name="report_job_requester",
            ),
            models.Index(
                fields=["organization", "expires_at"], name="report_job_expiry"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="report_job_progress_range"
            ),
            models.CheckConstraint(
                condition=~Q(status=JobStatus.FAILED) | Q(file=""),
                name="report_job_failed_has_no_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} · {self.get_status_display()}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    def is_expired(self, now: Any = None) -> bool:
        return (now or timezone.now()) >= self.expires_at

    @property
    def download_name(self) -> str:
        """The file name offered to the browser: the report and the day requested."""
        day = timezone.localtime(self.created_at).date().isoformat()
        return f"{self.kind}-{day}.{self.file_format}"


class ReportJobPart(TenantModel):
    """One document of a batch job (a ZIP of appraisal PDFs): which appraisal, in
    which chunk (the unit of work of one Celery task), and its PDF once made. A
    chunk task makes its queued parts one by one, committing each part's file and
    status before the next, so a worker killed half-way leaves the finished parts
    finished and the redelivered task makes only the rest. The ZIP is assembled from
    the parts' files when none is queued; the parts' files are deleted with it."""

    job = models.ForeignKey(ReportJob, on_delete=models.CASCADE, related_name="parts")
    chunk = models.PositiveIntegerField()
    subject_id = models.PositiveBigIntegerField()
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=8, choices=PartStatus.choices, default=PartStatus.QUEUED
    )
    file = models.FileField(upload_to=report_file_path, max_length=200, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "chunk", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "subject_id"], name="report_job_part_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["job", "chunk", "status"], name="report_job_part_chunk"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.subject_id}: {self.status}"


# --- Scheduled report e-mails ------------------------------------------------------------


class ReportSubscription(TenantModel):
    """A report e-mailed on a schedule: which report (``kind`` with its
    ``filters``), to whom (``ReportRecipient``), when (``frequency`` with its
    weekday, day of the month or cycle event, at ``time_of_day`` in the
    organisation's time zone). ``next_run_at`` is the next time a delivery is due
    (None for subscriptions that follow cycle events, and for inactive ones); the
    dispatcher finds the due ones by it (docs/reporting.md, "Scheduled reports")."""

    kind = models.CharField(
        _("report"), max_length=24, choices=SubscriptionKind.choices
    )
    title = models.CharField(_("name"), max_length=120)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    frequency = models.CharField(
        _("frequency"), max_length=12, choices=Frequency.choices
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), choices=Weekday.choices, null=True, blank=True
    )
    day_of_month = models.PositiveSmallIntegerField(
        _("day of the month"),
        null=True,
        blank=True,
        help_text=_("29, 30 or 31: the last day of shorter months."),
    )
    cycle_event = models.CharField(
        _("cycle event"), max_length=12, choices=CycleEvent.choices, blank=True
    )
    time_of_day = models.TimeField(_("time of day"))
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        "organizations.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_run_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    next_run_at = models.DateTimeField(_("next"), null=True, blank=True)

    class Meta:
        ordering = ["title", "pk"]
        indexes = [
            # The dispatcher's query, across organisations: active and due.
            models.Index(
                fields=["next_run_at"],
                condition=Q(is_active=True, next_run_at__isnull=False),
                name="report_subscription_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(frequency=Frequency.WEEKLY)
                | Q(weekday__isnull=False, weekday__lte=6),
                name="report_subscription_weekly_has_weekday",
            ),
            models.CheckConstraint(
                condition=~Q(frequency=Frequency.MONTHLY)
                | Q(day_of_month__gte=1, day_of_month__lte=31),
                name="report_subscription_monthly_has_day",
            ),
            models.CheckConstraint(
                condition=~Q(frequency=Frequency.CYCLE_EVENT) | ~Q(cycle_event=""),
                name="report_subscription_event_has_event",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ReportRecipient(TenantModel):
    """A member who receives a subscription, until they unsubscribe (the signed
    link in every e-mail), leave the organisation or lose access to the report."""

    subscription = models.ForeignKey(
        ReportSubscription, on_delete=models.CASCADE, related_name="recipients"
    )
    membership = models.ForeignKey(
        "organizations.Membership", on_delete=models.CASCADE, related_name="+"
    )
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "membership"], name="report_recipient_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}/{self.membership_id}"


class ReportDelivery(TenantModel):
    """One period of a subscription (a week, a month, a cycle event, or one press
    of "send now"): the ledger that makes a period deliver once. The unique
    (subscription, period) key holds when beat fires twice, a task is retried or two
    dispatchers overlap. Its e-mails, one per recipient, are ``ReportEmail``."""

    subscription = models.ForeignKey(
        ReportSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    period = models.CharField(_("period"), max_length=60)
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.QUEUED,
    )
    requested_by = models.ForeignKey(
        "organizations.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("queued"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-due_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period"], name="report_delivery_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["subscription", "-due_at"], name="report_delivery_recent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}/{self.period}: {self.status}"


class ReportEmail(TenantModel):
    """One recipient's e-mail of a delivery, computed for that recipient's own
    access: its status (sent once: a retry after an SMTP outage sends only the
    e-mails not marked sent), the reason it failed, and the PDF it carried."""

    delivery = models.ForeignKey(
        ReportDelivery, on_delete=models.CASCADE, related_name="emails"
    )
    recipient = models.ForeignKey(
        "organizations.Membership", on_delete=models.CASCADE, related_name="+"
    )
    address = models.EmailField(_("address"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=EmailStatus.choices,
        default=EmailStatus.QUEUED,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    file = models.FileField(
        _("PDF"), upload_to=report_file_path, max_length=200, blank=True
    )
    message_id = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["delivery", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "recipient"], name="report_email_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}/{self.recipient_id}: {self.status}"


# --- Rating tallies ---------------------------------------------------------------------
#
# The competency ratings of a cycle, summed per the dimensions the organisation-wide
# heatmap and reviewer consistency group by, kept by PostgreSQL statement-level
# triggers in the transaction of every write they depend on (migration
# ``0002_rating_tallies``, docs/reporting.md "Cost"), whichever code writes it. Never
# written by the application; ``reporting.tallies`` recounts them (and is what the
# dashboards read where no trigger keeps them). A rating counts as the heatmap
# counts it: in a review evaluation that is submitted or approved, not N/A, with a
# value. A tally reaching zero ratings is deleted.


def _key(to: str, *, null: bool = False) -> models.ForeignKey:
    # No database constraint: derived rows, kept by the triggers with the rows they
    # count, and never a reason to refuse deleting a cycle or a unit.
    return models.ForeignKey(
        to,
        null=null,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )


class CompetencyTally(TenantModel):
    """The ratings of ``competency`` in ``cycle`` given to people of ``business_unit``
    with ``job_title`` on plans of ``engagement_type`` (None: a general plan, or an
    engagement without a type): how many, their sum and the sum of their expected
    levels. One row per combination that has ratings: a few thousand per cycle at
    10,000 employees, against ~100,000 ratings."""

    cycle = _key("engagements.ReviewCycle")
    competency = _key("competencies.Competency")
    business_unit = _key("organizations.BusinessUnit", null=True)
    job_title = _key("organizations.JobTitle", null=True)
    engagement_type = _key("engagements.EngagementType", null=True)
    n = models.IntegerField()
    total = models.DecimalField(max_digits=14, decimal_places=2)
    expected = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "cycle",
                    "competency",
                    "business_unit",
                    "job_title",
                    "engagement_type",
                ],
                nulls_distinct=False,
                name="competency_tally_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.competency_id}: {self.n}"


class ReviewerTally(TenantModel):
    """The ratings of ``competency`` that ``reviewer`` gave in ``cycle``: how many,
    their sum and the sum of their squares (the reviewer's mean, spread and bias
    follow exactly). Reviews without a reviewer are not counted here."""

    cycle = _key("engagements.ReviewCycle")
    reviewer = _key("organizations.Employee")
    competency = _key("competencies.Competency")
    n = models.IntegerField()
    total = models.DecimalField(max_digits=14, decimal_places=2)
    squares = models.DecimalField(max_digits=16, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "cycle", "reviewer", "competency"],
                name="reviewer_tally_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.reviewer_id}/{self.competency_id}: {self.n}"


# --- Cycle tallies ------------------------------------------------------------------------
#
# Kept the same way (migration ``0003_cycle_tallies``): what HR's cycle overview and
# trends read for the whole organisation instead of a cycle's review evaluations
# and every cycle's appraisals.


class ReviewDayTally(TenantModel):
    """The review evaluations of ``cycle`` created on ``day`` and those approved on
    ``day``, days in the organisation's time zone (the triggers count each day anew
    when the organisation changes its time zone). The cycle overview's completion
    line: a row per day with either, a few hundred per cycle at most."""

    cycle = _key("engagements.ReviewCycle")
    day = models.DateField()
    created = models.IntegerField()
    approved = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "cycle", "day"], name="review_day_tally_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.day}: {self.created}, {self.approved}"


class OwedReviewTally(TenantModel):
    """The review evaluations of ``cycle`` that ``reviewer`` owes (a draft, or one
    sent back to them) with ``due_date``: the cycle overview's reviewers with the most
    overdue work, counted from a row per (reviewer, due date) instead of the cycle's
    reviews."""

    cycle = _key("engagements.ReviewCycle")
    reviewer = _key("organizations.Employee")
    due_date = models.DateField(null=True)
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "cycle", "reviewer", "due_date"],
                nulls_distinct=False,
                name="owed_review_tally_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.reviewer_id}/{self.due_date}: {self.n}"


class ScoreTally(TenantModel):
    """The appraisals of ``cycle`` with a final score whose person is in
    ``business_unit`` with ``job_title``, per appraisal ``status``: how many and the
    sum of their final scores. The trends across cycles: a few hundred rows per
    cycle, against one appraisal per employee."""

    cycle = _key("engagements.ReviewCycle")
    business_unit = _key("organizations.BusinessUnit", null=True)
    job_title = _key("organizations.JobTitle", null=True)
    status = models.CharField(max_length=12)
    scored = models.IntegerField()
    total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "cycle",
                    "business_unit",
                    "job_title",
                    "status",
                ],
                nulls_distinct=False,
                name="score_tally_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.business_unit_id}/{self.status}: {self.scored}"


class DistributionTally(TenantModel):
    """The appraisals of ``cycle`` whose person is in ``business_unit`` with
    ``job_title``, per appraisal ``status``, ``final_score`` (None: not scored yet)
    and percent ``band`` (0-4, as ``figures.distribution.band_expression``): how
    many. The score distribution's histogram, bands, medians and groups by business
    unit and job title, exactly: at most one row per appraisal, fewer the more
    people share a score."""

    cycle = _key("engagements.ReviewCycle")
    business_unit = _key("organizations.BusinessUnit", null=True)
    job_title = _key("organizations.JobTitle", null=True)
    status = models.CharField(max_length=12)
    final_score = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    band = models.SmallIntegerField()
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "cycle",
                    "business_unit",
                    "job_title",
                    "status",
                    "final_score",
                    "band",
                ],
                nulls_distinct=False,
                name="distribution_tally_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.business_unit_id}/{self.final_score}: {self.n}"


class StaffingTally(TenantModel):
    """How many engagement plans ``employee`` has in ``cycle`` on engagements of
    ``engagement_type`` (None: an engagement without a type). What
    ``TypeDistributionTally`` follows: a person counts under a type while this is
    above zero."""

    cycle = _key("engagements.ReviewCycle")
    employee = _key("organizations.Employee")
    engagement_type = _key("engagements.EngagementType", null=True)
    plans = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "cycle", "employee", "engagement_type"],
                nulls_distinct=False,
                name="staffing_tally_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.employee_id}/{self.engagement_type_id}"


class TypeDistributionTally(TenantModel):
    """The appraisals of ``cycle`` of the people staffed on an engagement of
    ``engagement_type`` in that cycle (each person once per type, however many such
    plans), per appraisal ``status``, ``final_score`` and percent ``band``: how
    many. The score distribution by engagement type."""

    cycle = _key("engagements.ReviewCycle")
    engagement_type = _key("engagements.EngagementType", null=True)
    status = models.CharField(max_length=12)
    final_score = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    band = models.SmallIntegerField()
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "cycle",
                    "engagement_type",
                    "status",
                    "final_score",
                    "band",
                ],
                nulls_distinct=False,
                name="type_distribution_tally_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.engagement_type_id}/{self.final_score}: {self.n}"
