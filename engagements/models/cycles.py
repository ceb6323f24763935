"""Review cycles, and the plan counts per cycle that triggers keep
(``CyclePlanTally``)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from engagements.enums import (
    CycleStatus,
    PlanKind,
    PlanStatus,
    Weighting,
)
from engagements.models.validation import PERCENT, percent_check
from organizations.tenancy import TenantModel


class ReviewCycle(TenantModel):
    """The calendar that plans and appraisals hang on."""

    name = models.CharField(_("name"), max_length=120)
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=CycleStatus.choices,
        default=CycleStatus.DRAFT,
    )
    general_weight = models.DecimalField(
        _("general weight β (%)"),
        max_digits=5,
        decimal_places=2,
        validators=PERCENT,
        help_text=_(
            "Share of the general evaluation in the final score; engagements get the rest."
        ),
    )
    rating_scale = models.ForeignKey(
        "competencies.RatingScale",
        verbose_name=_("rating scale"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cycles",
        help_text=_("Leave empty for the organisation's default scale."),
    )
    engagement_weighting = models.CharField(
        _("engagement weighting"),
        max_length=10,
        choices=Weighting.choices,
        default=Weighting.EFFORT,
    )
    csat_weight = models.DecimalField(
        _("client satisfaction weight γ (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=PERCENT,
        help_text=_(
            "Share of client survey ratings in an engagement's score; 0 leaves "
            "surveys out of scores."
        ),
    )
    allow_early_evaluation = models.BooleanField(
        _("evaluate early when an engagement ends"),
        default=False,
        help_text=_(
            "While the cycle is in progress, plans whose engagement has ended or whose "
            "end date has passed can be evaluated straight away."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["-start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="cycle_unique_name"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="cycle_dates_ordered"
            ),
            percent_check("general_weight", "cycle_general_weight_range"),
            percent_check("csat_weight", "cycle_csat_weight_range"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(
            "engagements:cycle_detail", args=[self.organization.slug, self.pk]
        )

    @property
    def plans_locked(self) -> bool:
        return self.status in (CycleStatus.REVIEW, CycleStatus.CLOSED)


class CyclePlanTally(TenantModel):
    """How many plans of ``cycle`` have ``kind`` and ``status``: the cycle list's
    and the cycle page's counts. Kept by PostgreSQL statement-level triggers in the
    same transaction as every write to the plans (migration 0005), whoever makes it;
    never written by the application. A tally reaching zero is deleted."""

    # No database constraint: the triggers delete a cycle's tallies with its plans.
    cycle = models.ForeignKey(
        ReviewCycle, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=PlanKind.choices)
    status = models.CharField(max_length=10, choices=PlanStatus.choices)
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "cycle", "kind", "status"],
                name="cycle_plan_tally_key",
            ),
        ]
