"""Choices for the engagements app. Imports nothing of ours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EngagementStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class CycleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PLANNING = "planning", _("Planning")
    IN_PROGRESS = "in_progress", _("In progress")
    REVIEW = "review", _("Review")
    CLOSED = "closed", _("Closed")


class Weighting(models.TextChoices):
    EFFORT = "effort", _("By effort (allocation × days)")
    EQUAL = "equal", _("Equal per engagement")
    CUSTOM = "custom", _("Custom weight per plan")


class PlanKind(models.TextChoices):
    GENERAL = "general", _("General")
    ENGAGEMENT = "engagement", _("Engagement")


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    LOCKED = "locked", _("Locked")


class Direction(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")


class GoalStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    BEHIND = "behind", _("Behind")
    ACHIEVED = "achieved", _("Achieved")
    MISSED = "missed", _("Missed")


OUTCOME_STATUSES = (GoalStatus.ACHIEVED, GoalStatus.MISSED)


class EngagementRole(models.TextChoices):
    PLANNER = "planner", _("Planner")
    REVIEWER = "reviewer", _("Reviewer")
    APPROVER = "approver", _("Approver")
    CONTRIBUTOR = "contributor", _("Contributor")


class AssignmentSource(models.TextChoices):
    MANUAL = "manual", _("Assigned by hand")
    RULE = "rule", _("From a role rule")
