"""Plan templates: the goals and competencies a new plan can start from."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from engagements.enums import (
    Direction,
)
from engagements.models.validation import PERCENT, percent_check
from organizations.tenancy import TenantModel


class PlanTemplate(TenantModel):
    """A reusable blueprint of goals ("customizable framework")."""

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    goal_weight = models.DecimalField(
        _("goal weight α (%)"),
        max_digits=5,
        decimal_places=2,
        validators=PERCENT,
        help_text=_("Share of goals, versus competencies, in a plan's score."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="template_unique_name"
            ),
            percent_check("goal_weight", "template_goal_weight_range"),
        ]

    def __str__(self) -> str:
        return self.name


class TemplateGoal(TenantModel):
    template = models.ForeignKey(
        PlanTemplate, on_delete=models.CASCADE, related_name="goals"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    metric = models.CharField(_("metric"), max_length=120, blank=True)
    target_value = models.DecimalField(
        _("target"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    direction = models.CharField(
        _("direction"),
        max_length=10,
        choices=Direction.choices,
        default=Direction.HIGHER,
    )
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2)
    key_activities = models.TextField(
        _("key activities"), blank=True, help_text=_("One activity per line.")
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight__gt=0), name="template_goal_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def activity_titles(self) -> list[str]:
        return [
            line.strip() for line in self.key_activities.splitlines() if line.strip()
        ]


class TemplateCompetency(TenantModel):
    """A competency a plan template adds to the plans it is applied to."""

    template = models.ForeignKey(
        PlanTemplate, on_delete=models.CASCADE, related_name="competencies"
    )
    competency = models.ForeignKey(
        "competencies.Competency",
        verbose_name=_("competency"),
        on_delete=models.PROTECT,
        related_name="template_uses",
    )
    weight = models.DecimalField(
        _("weight"), max_digits=6, decimal_places=2, default=Decimal(1)
    )
    expected_level = models.DecimalField(
        _("expected level"), max_digits=4, decimal_places=1
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "competency"], name="template_competency_unique"
            ),
            models.CheckConstraint(
                condition=Q(weight__gt=0), name="template_competency_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} · {self.competency}"
