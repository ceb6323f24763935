"""Choices for the organizations app. Imports nothing of ours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A member's tenant role."""

    HR_ADMIN = "hr_admin", _("HR admin")
    MANAGER = "manager", _("Manager")
    EMPLOYEE = "employee", _("Employee")
