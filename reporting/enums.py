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


# The formats a member may export a dataset or a dashboard as (a PDF is a document
# of its own: ``reporting.documents``).
EXPORT_FORMATS = (FileFormat.CSV, FileFormat.XLSX)
EXPORT_FORMAT_CHOICES = [(f.value, f.label) for f in EXPORT_FORMATS]
