"""Choices for the appraisals app. Imports nothing of ours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppraisalStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FINALIZED = "finalized", _("Finalised")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")


class EvaluationKind(models.TextChoices):
    REVIEW = "review", _("Review")
    SELF = "self", _("Self-assessment")


class EvaluationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned")


class ApprovalCapacity(models.TextChoices):
    """In which capacity someone approved: the engagement's (or plan's) approver, or the
    employee's line manager when the organisation requires dual approval."""

    APPROVER = "approver", _("Approver")
    LINE_MANAGER = "line_manager", _("Line manager")


class ApprovalDecision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned")


# Appraisals whose scores are frozen and shown to their employee.
FINAL_STATUSES = (AppraisalStatus.FINALIZED, AppraisalStatus.ACKNOWLEDGED)


class Potential(models.TextChoices):
    """The line manager's view of a person's potential, given on the general
    evaluation: the nine-box grid's second axis, never part of any score."""

    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class CalibrationScope(models.TextChoices):
    """Whose appraisals a calibration session covers."""

    ORGANIZATION = "organization", _("The whole organisation")
    BUSINESS_UNITS = "business_units", _("Business units")
    JOB_TITLES = "job_titles", _("Job titles")
    MANAGER_LINE = "manager_line", _("A manager's line")


class SessionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class AdjustmentKind(models.TextChoices):
    """Where a calibration adjustment came from."""

    SUGGESTED = "suggested", _("Suggestion accepted")
    MANUAL = "manual", _("Set by hand")
