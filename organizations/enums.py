"""Choices for the organizations app. Imports nothing of ours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A member's tenant role."""

    HR_ADMIN = "hr_admin", _("HR admin")
    MANAGER = "manager", _("Manager")
    EMPLOYEE = "employee", _("Employee")


class NotificationKind(models.TextChoices):
    """What an in-app notification (and its e-mail) is about; a user switches each
    kind off in-app separately."""

    ASSIGNED = "assigned", _("Evaluation assigned to me")
    SUBMITTED = "submitted", _("Evaluation submitted for my approval")
    RETURNED = "returned", _("Evaluation returned to me")
    FINALISED = "finalised", _("My appraisal finalised")
    FEEDBACK_RECEIVED = "feedback_received", _("Feedback shared with me")
    REQUEST_ASKED = "request_asked", _("Feedback asked of me, or no longer needed")
    REQUEST_ANSWERED = "request_answered", _("Answers to my feedback requests")
    REMINDER = "reminder", _("Reminders")
