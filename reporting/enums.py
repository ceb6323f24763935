"""Choices for the reporting app. Imports nothing of ours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


# A job in one of these states changes no more.
FINISHED_STATUSES = (JobStatus.DONE, JobStatus.FAILED)


class FileFormat(models.TextChoices):
    CSV = "csv", _("CSV (comma-separated values)")
    XLSX = "xlsx", _("Excel workbook (XLSX)")
    PDF = "pdf", _("PDF document")
    ZIP = "zip", _("ZIP archive of PDF documents")


# The formats a member may export a dataset or a dashboard as (a PDF is a document
# of its own: ``reporting.documents``).
EXPORT_FORMATS = (FileFormat.CSV, FileFormat.XLSX)
EXPORT_FORMAT_CHOICES = [(f.value, f.label) for f in EXPORT_FORMATS]


# --- Batches ---------------------------------------------------------------------------


class PartStatus(models.TextChoices):
    """One document of a batch job (``ReportJobPart``)."""

    QUEUED = "queued", _("Queued")
    DONE = "done", _("Made")
    FAILED = "failed", _("Failed")


# --- Scheduled report e-mails ----------------------------------------------------------


class SubscriptionKind(models.TextChoices):
    CYCLE_DIGEST = "cycle_digest", _("Cycle digest")
    ENGAGEMENT_ANALYTICS = "engagement_analytics", _("Engagement analytics")
    TEAM_SUMMARY = "team_summary", _("Team summary for a line manager")
    MY_APPRAISAL = "my_appraisal", _("My appraisal when finalised")


class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly, on a weekday")
    MONTHLY = "monthly", _("Monthly, on a day of the month")
    CYCLE_EVENT = "cycle_event", _("On a cycle event")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class CycleEvent(models.TextChoices):
    """The cycle moves a subscription may follow (the cycle's new status)."""

    PLANNING_OPENED = "planning", _("Planning opened")
    REVIEW_OPENED = "review", _("Review opened")
    CYCLE_CLOSED = "closed", _("Cycle closed")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Nothing to send")


class EmailStatus(models.TextChoices):
    """One recipient's e-mail of a delivery (``ReportEmail``)."""

    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
