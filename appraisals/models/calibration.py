"""Calibration: sessions where HR and managers compare a scope's scores before
finalisation, and the adjustments they make (docs/scoring.md, Calibration).

An adjustment δ belongs to one appraisal; the one in force has no ``removed_at``
(at most one per appraisal, enforced by the database) and is copied onto the
appraisal (``Appraisal.calibration_delta``, with the calibrated figures) so lists,
dashboards and recomputes read it without a join. Removing one is an explicit act
with a reason; replacing one removes the old one first. Both stay in the history.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from appraisals.enums import AdjustmentKind, CalibrationScope, SessionStatus
from appraisals.models.core import Appraisal, delta_field
from organizations.tenancy import TenantModel


class CalibrationSession(TenantModel):
    """A calibration meeting over one cycle in review and a scope of people.

    Scope ``organization`` covers everyone with an appraisal in the cycle;
    ``business_units`` and ``job_titles`` the people whose current unit or title is
    among the session's; ``manager_line`` everyone below ``manager`` in the line
    (reports, their reports, and so on; not the manager). Participants are the
    managers taking part; HR admins always take part.
    """

    cycle = models.ForeignKey(
        "engagements.ReviewCycle",
        verbose_name=_("cycle"),
        on_delete=models.PROTECT,
        related_name="calibration_sessions",
    )
    name = models.CharField(_("name"), max_length=120)
    scope = models.CharField(
        _("scope"),
        max_length=16,
        choices=CalibrationScope.choices,
        default=CalibrationScope.ORGANIZATION,
    )
    business_units: models.ManyToManyField[models.Model, CalibrationSessionUnit] = (
        models.ManyToManyField(
            "organizations.BusinessUnit",
            verbose_name=_("business units"),
            blank=True,
            through="CalibrationSessionUnit",
            related_name="+",
        )
    )
    job_titles: models.ManyToManyField[models.Model, CalibrationSessionJobTitle] = (
        models.ManyToManyField(
            "organizations.JobTitle",
            verbose_name=_("job titles"),
            blank=True,
            through="CalibrationSessionJobTitle",
            related_name="+",
        )
    )
    manager = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("manager whose line is calibrated"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    participants: models.ManyToManyField[models.Model, CalibrationParticipant] = (
        models.ManyToManyField(
            "organizations.Employee",
            verbose_name=_("participants"),
            blank=True,
            through="CalibrationParticipant",
            related_name="calibration_sessions",
        )
    )
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=SessionStatus.choices,
        default=SessionStatus.OPEN,
    )
    opened_by = models.ForeignKey(
        "organizations.User",
        verbose_name=_("opened by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_by = models.ForeignKey(
        "organizations.User",
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(scope=CalibrationScope.MANAGER_LINE)
                | Q(manager__isnull=False),
                name="calibration_line_has_manager",
            ),
            models.CheckConstraint(
                condition=Q(status=SessionStatus.OPEN, closed_at__isnull=True)
                | Q(status=SessionStatus.CLOSED, closed_at__isnull=False),
                name="calibration_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(
            "appraisals:calibration_session", args=[self.organization.slug, self.pk]
        )

    @property
    def is_open(self) -> bool:
        return self.status == SessionStatus.OPEN


class CalibrationSessionUnit(TenantModel):
    session = models.ForeignKey(
        CalibrationSession,
        verbose_name=_("calibration session"),
        on_delete=models.CASCADE,
        related_name="unit_links",
    )
    business_unit = models.ForeignKey(
        "organizations.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "business_unit"], name="calibration_unit_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session} · {self.business_unit}"


class CalibrationSessionJobTitle(TenantModel):
    session = models.ForeignKey(
        CalibrationSession,
        verbose_name=_("calibration session"),
        on_delete=models.CASCADE,
        related_name="job_title_links",
    )
    job_title = models.ForeignKey(
        "organizations.JobTitle",
        verbose_name=_("job title"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "job_title"], name="calibration_title_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session} · {self.job_title}"


class CalibrationParticipant(TenantModel):
    session = models.ForeignKey(
        CalibrationSession,
        verbose_name=_("calibration session"),
        on_delete=models.CASCADE,
        related_name="participant_links",
    )
    employee = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "employee"], name="calibration_participant_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session} · {self.employee}"


class CalibrationAdjustment(TenantModel):
    """A calibration adjustment δ of one appraisal's final score.

    ``inputs`` records what a suggestion was computed from: the unrounded final,
    per counted plan its reviewer, E and the corrected E, and per reviewer the
    leniency figures (raw, shrunk, ratings) as they stood; for a manual value the
    computed final it was set against and, from the nine-box, the box it came from
    and went to.
    """

    appraisal = models.ForeignKey(
        Appraisal,
        verbose_name=_("appraisal"),
        on_delete=models.CASCADE,
        related_name="calibration_adjustments",
    )
    session = models.ForeignKey(
        CalibrationSession,
        verbose_name=_("calibration session"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="adjustments",
    )
    delta = delta_field(_("adjustment"))
    kind = models.CharField(_("kind"), max_length=10, choices=AdjustmentKind.choices)
    reason = models.TextField(_("reason"), max_length=2000)
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)
    created_by = models.ForeignKey(
        "organizations.User",
        verbose_name=_("adjusted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("adjusted at"), default=timezone.now)
    removed_by = models.ForeignKey(
        "organizations.User",
        verbose_name=_("removed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    removal_reason = models.TextField(_("why it was removed"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["appraisal"],
                condition=Q(removed_at__isnull=True),
                name="calibration_one_adjustment_in_force",
            ),
            models.CheckConstraint(
                condition=Q(delta__isnull=False), name="calibration_delta_given"
            ),
            models.CheckConstraint(
                condition=~Q(reason=""), name="calibration_reason_given"
            ),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | ~Q(removal_reason=""),
                name="calibration_removal_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appraisal} · {self.delta}"
