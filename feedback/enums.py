"""Choices for the feedback app. Imports nothing of ours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FeedbackKind(models.TextChoices):
    PRAISE = "praise", _("Praise")
    IMPROVEMENT = "improvement", _("Improvement")
    NOTE = "note", _("Note")


class Visibility(models.TextChoices):
    SHARED = "shared", _("Shared with the employee")
    MANAGERS_ONLY = "managers_only", _("Managers and reviewers only")


class AskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    DECLINED = "declined", _("Declined")
    CANCELLED = "cancelled", _("Cancelled")


# Anonymous answers are shown only once at least this many exist.
ANONYMITY_THRESHOLD = 3

# Authors may edit or withdraw their feedback for this many hours.
EDIT_WINDOW_HOURS = 24
