"""Choices and fixed values for the competencies app. Imports nothing of ours."""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


class DefaultCategory(models.TextChoices):
    """The categories every organisation starts with; HR may add their own."""

    TECHNICAL = "Technical", _("Technical")
    BEHAVIOURAL = "Behavioural", _("Behavioural")
    CLIENT_FACING = "Client-facing", _("Client-facing")
    LEADERSHIP = "Leadership", _("Leadership")


class ScaleStep(models.TextChoices):
    """Whole or half points; the value is the step as a decimal string."""

    WHOLE = "1", _("Whole points (1, 2, 3 …)")
    HALF = "0.5", _("Half points (1, 1.5, 2 …)")


ALLOWED_STEPS = (Decimal(1), Decimal("0.5"))
# More points than this cannot be told apart by reviewers (and fill a page).
MAX_SCALE_POINTS = 21
