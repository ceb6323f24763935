"""Rating scales, the competency library with level descriptors, and competency sets."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from organizations.tenancy import TenantModel

if TYPE_CHECKING:
    from organizations.models import JobTitle


class RatingScale(TenantModel):
    """The points reviewers rate on, e.g. 1 "Below expectations" … 5 "Outstanding"."""

    name = models.CharField(_("name"), max_length=120)
    min_value = models.DecimalField(_("lowest point"), max_digits=4, decimal_places=1)
    max_value = models.DecimalField(_("highest point"), max_digits=4, decimal_places=1)
    step = models.DecimalField(
        _("step"),
        max_digits=3,
        decimal_places=1,
        default=Decimal(1),
        help_text=_("1 for whole points, 0.5 for half points."),
    )
    is_default = models.BooleanField(_("default scale"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="scale_unique_name"
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_default=True),
                name="scale_one_default",
            ),
            models.CheckConstraint(
                condition=Q(max_value__gt=F("min_value")), name="scale_max_above_min"
            ),
            models.CheckConstraint(
                condition=Q(step__in=[Decimal("0.5"), Decimal(1)]), name="scale_step"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def points(self) -> list[Decimal]:
        """Every point of the scale from lowest to highest."""
        values, value = [], self.min_value
        while value <= self.max_value:
            values.append(value)
            value += self.step
        return values


class RatingLevel(TenantModel):
    """A label and description for one point of a scale."""

    scale = models.ForeignKey(
        RatingScale,
        verbose_name=_("rating scale"),
        on_delete=models.CASCADE,
        related_name="levels",
    )
    value = models.DecimalField(_("point"), max_digits=4, decimal_places=1)
    label = models.CharField(_("label"), max_length=80)
    description = models.TextField(_("description"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["value"]
        constraints = [
            models.UniqueConstraint(
                fields=["scale", "value"], name="level_unique_value"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.value.normalize():f} · {self.label}"


class CompetencyCategory(TenantModel):
    """Technical, behavioural, client-facing, leadership, or one HR defines."""

    name = models.CharField(_("name"), max_length=80)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("competency categories")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="category_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Competency(TenantModel):
    name = models.CharField(_("name"), max_length=120)
    category = models.ForeignKey(
        CompetencyCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="competencies",
    )
    description = models.TextField(_("description"), blank=True)
    is_archived = models.BooleanField(
        _("archived"),
        default=False,
        help_text=_(
            "Archived competencies stay on existing plans but cannot be added."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("competencies")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="competency_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CompetencyDescriptor(TenantModel):
    """What a given point looks like for one competency ("what a 3 looks like")."""

    competency = models.ForeignKey(
        Competency,
        verbose_name=_("competency"),
        on_delete=models.CASCADE,
        related_name="descriptors",
    )
    value = models.DecimalField(_("point"), max_digits=4, decimal_places=1)
    text = models.TextField(_("what it looks like"))

    history = HistoricalRecords()

    class Meta:
        ordering = ["value"]
        constraints = [
            models.UniqueConstraint(
                fields=["competency", "value"], name="descriptor_unique_value"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.competency} · {self.value.normalize():f}"


class CompetencySet(TenantModel):
    """A framework: competencies with weights and expected levels, for job titles or
    (through engagement types and engagements) for engagements."""

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    # Through a tenant model, so the link itself carries organization_id and gets
    # row-level security and same-tenant keys like every other tenant row.
    job_titles: models.ManyToManyField[JobTitle, CompetencySetJobTitle] = (
        models.ManyToManyField(
            "organizations.JobTitle",
            verbose_name=_("job titles"),
            blank=True,
            through="CompetencySetJobTitle",
            related_name="competency_sets",
            help_text=_("General plans of people with these job titles use this set."),
        )
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="competency_set_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CompetencySetJobTitle(TenantModel):
    competency_set = models.ForeignKey(
        CompetencySet,
        verbose_name=_("competency set"),
        on_delete=models.CASCADE,
        related_name="job_title_links",
    )
    job_title = models.ForeignKey(
        "organizations.JobTitle",
        verbose_name=_("job title"),
        on_delete=models.CASCADE,
        related_name="+",
    )

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["competency_set", "job_title"], name="set_job_title_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.competency_set} · {self.job_title}"


class CompetencySetItem(TenantModel):
    competency_set = models.ForeignKey(
        CompetencySet,
        verbose_name=_("competency set"),
        on_delete=models.CASCADE,
        related_name="items",
    )
    competency = models.ForeignKey(
        Competency,
        verbose_name=_("competency"),
        on_delete=models.PROTECT,
        related_name="set_items",
    )
    weight = models.DecimalField(
        _("weight"), max_digits=6, decimal_places=2, default=Decimal(1)
    )
    expected_level = models.DecimalField(
        _("expected level"), max_digits=4, decimal_places=1
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["competency__name"]
        verbose_name = _("competency of a set")
        verbose_name_plural = _("competencies of a set")
        constraints = [
            models.UniqueConstraint(
                fields=["competency_set", "competency"], name="set_item_unique"
            ),
            models.CheckConstraint(
                condition=Q(weight__gt=0), name="set_item_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.competency_set} · {self.competency}"
