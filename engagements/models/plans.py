"""Plans (the general one and one per engagement), their goals with key activities
and check-ins, and the competencies rated on them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from engagements.enums import (
    OUTCOME_STATUSES,
    Direction,
    GoalStatus,
    PlanKind,
    PlanStatus,
)
from engagements.models.clients import Engagement
from engagements.models.cycles import ReviewCycle
from engagements.models.templates import PlanTemplate
from engagements.models.validation import PERCENT, percent_check
from organizations.tenancy import TenantModel


class Plan(TenantModel):
    """An employee's plan in a cycle: the general one, or one per engagement."""

    cycle = models.ForeignKey(
        ReviewCycle,
        verbose_name=_("cycle"),
        on_delete=models.PROTECT,
        related_name="plans",
    )
    employee = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("employee"),
        on_delete=models.PROTECT,
        related_name="plans",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=PlanKind.choices)
    engagement = models.ForeignKey(
        Engagement,
        verbose_name=_("engagement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="plans",
    )
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    allocation = models.DecimalField(
        _("allocation (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT,
        help_text=_("Share of working time on this engagement."),
    )
    role_title = models.CharField(
        _("role on the engagement"),
        max_length=120,
        blank=True,
        help_text=_("For example: Data architect."),
    )
    responsibilities = models.TextField(_("responsibilities"), blank=True)
    goal_weight = models.DecimalField(
        _("goal weight α (%)"), max_digits=5, decimal_places=2, validators=PERCENT
    )
    custom_weight = models.DecimalField(
        _("custom weight"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Used when the cycle weights engagements by custom weight."),
    )
    template = models.ForeignKey(
        PlanTemplate,
        verbose_name=_("plan template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plans",
    )
    # Optional per-plan overrides of who reviews and approves this plan; by default the
    # engagement's reviewers/approvers (other than the employee) or the line manager.
    reviewer = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("reviewer for this plan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plans_to_review",
    )
    approver = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("approver for this plan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plans_to_approve",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["cycle", "kind", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "employee"],
                condition=Q(kind=PlanKind.GENERAL),
                name="plan_one_general_per_cycle",
            ),
            models.UniqueConstraint(
                fields=["cycle", "employee", "engagement"],
                condition=Q(kind=PlanKind.ENGAGEMENT),
                name="plan_one_per_engagement_per_cycle",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=PlanKind.GENERAL)
                    & Q(engagement__isnull=True)
                    & Q(allocation__isnull=True)
                )
                | (
                    Q(kind=PlanKind.ENGAGEMENT)
                    & Q(engagement__isnull=False)
                    & Q(allocation__isnull=False)
                ),
                name="plan_kind_matches_engagement",
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="plan_dates_ordered"
            ),
            percent_check("allocation", "plan_allocation_range", nullable=True),
            percent_check("goal_weight", "plan_goal_weight_range"),
            models.CheckConstraint(
                condition=Q(custom_weight__isnull=True) | Q(custom_weight__gte=0),
                name="plan_custom_weight_positive",
            ),
            # Segregation of duties: nobody reviews or approves their own plan.
            models.CheckConstraint(
                condition=Q(reviewer__isnull=True) | ~Q(reviewer=F("employee")),
                name="plan_reviewer_not_self",
            ),
            models.CheckConstraint(
                condition=Q(approver__isnull=True) | ~Q(approver=F("employee")),
                name="plan_approver_not_self",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == PlanKind.GENERAL:
            return f"{self.employee} · {_('General plan')} · {self.cycle}"
        return f"{self.employee} · {self.engagement} · {self.cycle}"

    def get_absolute_url(self) -> str:
        return reverse(
            "engagements:plan_detail", args=[self.organization.slug, self.pk]
        )

    @property
    def is_editable(self) -> bool:
        return self.status != PlanStatus.LOCKED

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1


# "Achieved" below this attainment (or progress) in percent reads as a contradiction:
# a little short of target may still be agreed as met, well below may not.
ACHIEVED_FLOOR = 90


class Goal(TenantModel):
    """A measurable goal on a plan."""

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="goals"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    metric = models.CharField(
        _("metric"),
        max_length=120,
        blank=True,
        help_text=_("What is measured, e.g. 'Client NPS'."),
    )
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
    actual_value = models.DecimalField(
        _("actual"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2)
    planned_start = models.DateField(_("planned start"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=GoalStatus.choices,
        default=GoalStatus.NOT_STARTED,
    )
    progress = models.PositiveSmallIntegerField(
        _("progress (%)"), default=0, validators=PERCENT
    )
    responsibilities = models.TextField(_("responsibilities"), blank=True)
    position = models.PositiveIntegerField(_("order"), default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        constraints = [
            models.CheckConstraint(
                condition=Q(weight__gt=0), name="goal_weight_positive"
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="goal_progress_range"
            ),
            models.CheckConstraint(
                condition=Q(due_date__isnull=True)
                | Q(planned_start__isnull=True)
                | Q(due_date__gte=F("planned_start")),
                name="goal_due_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "engagements:goal_detail", args=[self.organization.slug, self.pk]
        )

    @property
    def attainment(self) -> Decimal | None:
        """Actual against target in percent, honouring direction; may exceed 100."""
        return attainment(self.target_value, self.actual_value, self.direction)

    def status_contradiction(self) -> str | None:
        """Why the recorded status disagrees with the numbers, or None.

        "Missed" contradicts an attainment of at least 100 % (or, without an
        attainment, a self-reported progress of 100 %); "Achieved" contradicts an
        attainment below ``ACHIEVED_FLOOR`` % (or, without one, a progress below it).
        Other statuses describe the way there and contradict nothing.
        """
        reached = self.attainment
        if self.status == GoalStatus.MISSED:
            if reached is not None and reached >= 100:
                return gettext(
                    "Marked missed, but the actual reaches %(attainment)s %% of the "
                    "target."
                ) % {"attainment": f"{reached.normalize():f}"}
            if reached is None and self.progress >= 100:
                return gettext("Marked missed, but the progress is complete.")
        if self.status == GoalStatus.ACHIEVED:
            if reached is not None and reached < ACHIEVED_FLOOR:
                return gettext(
                    "Marked achieved, but the actual reaches only %(attainment)s %% "
                    "of the target."
                ) % {"attainment": f"{reached.normalize():f}"}
            if reached is None and self.progress < ACHIEVED_FLOOR:
                return gettext(
                    "Marked achieved, but the progress is only %(progress)s %%."
                ) % {"progress": self.progress}
        return None

    def is_overdue(self, today: date | None = None) -> bool:
        """Past its due date without an outcome (achieved or missed)."""
        today = today or timezone.localdate()
        return (
            self.due_date is not None
            and self.due_date < today
            and self.status not in OUTCOME_STATUSES
        )


def attainment(
    target: Decimal | None, actual: Decimal | None, direction: str
) -> Decimal | None:
    """Percent of target reached. Higher-is-better: actual/target; lower-is-better:
    target/actual. None without both values; a zero denominator counts as fully met
    when the actual is at least as good as the target."""
    if target is None or actual is None:
        return None
    if direction == Direction.HIGHER:
        if target == 0:
            return Decimal(100) if actual >= 0 else Decimal(0)
        return (actual / target * 100).quantize(Decimal("0.1"))
    if actual == 0:
        return Decimal(100) if target >= 0 else Decimal(0)
    return (target / actual * 100).quantize(Decimal("0.1"))


class KeyActivity(TenantModel):
    goal = models.ForeignKey(
        Goal,
        verbose_name=_("goal"),
        on_delete=models.CASCADE,
        related_name="activities",
    )
    title = models.CharField(_("title"), max_length=200)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["due_date", "pk"]
        verbose_name = _("key activity")
        verbose_name_plural = _("key activities")

    def __str__(self) -> str:
        return self.title


class GoalCheckIn(TenantModel):
    """A progress update on a goal by the employee or a planner."""

    goal = models.ForeignKey(
        Goal, verbose_name=_("goal"), on_delete=models.CASCADE, related_name="checkins"
    )
    author = models.ForeignKey(
        "organizations.User",
        verbose_name=_("written by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), validators=PERCENT)
    actual_value = models.DecimalField(
        _("actual value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(_("status"), max_length=12, choices=GoalStatus.choices)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("written at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="checkin_progress_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.goal} · {self.progress}%"


class PlanCompetency(TenantModel):
    """A competency expected on a plan, with its weight and expected level."""

    plan = models.ForeignKey(
        Plan,
        verbose_name=_("plan"),
        on_delete=models.CASCADE,
        related_name="competencies",
    )
    competency = models.ForeignKey(
        "competencies.Competency",
        verbose_name=_("competency"),
        on_delete=models.PROTECT,
        related_name="plan_uses",
    )
    weight = models.DecimalField(
        _("weight"), max_digits=6, decimal_places=2, default=Decimal(1)
    )
    expected_level = models.DecimalField(
        _("expected level"), max_digits=4, decimal_places=1
    )
    position = models.PositiveIntegerField(_("order"), default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "pk"]
        verbose_name_plural = _("plan competencies")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "competency"], name="plan_competency_unique"
            ),
            models.CheckConstraint(
                condition=Q(weight__gt=0), name="plan_competency_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} · {self.competency}"
