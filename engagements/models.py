"""Clients, engagements, review cycles, plans, goals and engagement roles.

Longer than the 500-line guideline on purpose: these 14 models are one schema (plans
hang on cycles and engagements, goals on plans, competencies on plans and templates)
and read best top to bottom in one file. Django loads one ``models`` module per app,
so a package would need an ``__init__`` re-exporting every class; the file holds
fields, constraints and properties over their own fields only (rules live in
``engagements/services/``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from engagements.enums import (
    OUTCOME_STATUSES,
    AssignmentSource,
    CycleStatus,
    Direction,
    EngagementRole,
    EngagementStatus,
    GoalStatus,
    PlanKind,
    PlanStatus,
    Weighting,
)
from organizations.tenancy import TenantModel

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]

# The django-guardian object permission each engagement role grants on the engagement.
ROLE_PERMISSIONS: dict[str, str] = {
    EngagementRole.PLANNER: "plan_engagement",
    EngagementRole.REVIEWER: "review_engagement",
    EngagementRole.APPROVER: "approve_engagement",
    EngagementRole.CONTRIBUTOR: "contribute_engagement",
}


def _percent_check(
    field: str, name: str, nullable: bool = False
) -> models.CheckConstraint:
    condition = Q(**{f"{field}__gte": 0}) & Q(**{f"{field}__lte": 100})
    if nullable:
        condition |= Q(**{f"{field}__isnull": True})
    return models.CheckConstraint(condition=condition, name=name)


class Client(TenantModel):
    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=120, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="client_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EngagementType(TenantModel):
    """A kind of engagement (e.g. "Client delivery", "Internal"), with the competency
    set its plans use unless the engagement names its own."""

    name = models.CharField(_("name"), max_length=120)
    competency_set = models.ForeignKey(
        "competencies.CompetencySet",
        verbose_name=_("competency set"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="engagement_types",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="engagement_type_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Engagement(TenantModel):
    """A client project that people are staffed on, each with their own plan."""

    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        related_name="engagements",
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    business_unit = models.ForeignKey(
        "organizations.BusinessUnit",
        verbose_name=_("business unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="engagements",
    )
    engagement_type = models.ForeignKey(
        EngagementType,
        verbose_name=_("engagement type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="engagements",
    )
    competency_set = models.ForeignKey(
        "competencies.CompetencySet",
        verbose_name=_("competency set"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="engagements",
        help_text=_("Leave empty to use the engagement type's set."),
    )
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=EngagementStatus.choices,
        default=EngagementStatus.PLANNED,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["-start_date", "name"]
        permissions = [
            ("plan_engagement", "Can write plans on this engagement"),
            ("review_engagement", "Can review plans on this engagement"),
            ("approve_engagement", "Can approve evaluations on this engagement"),
            ("contribute_engagement", "Can contribute to this engagement"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="engagement_unique_code"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")),
                name="engagement_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse(
            "engagements:engagement_detail", args=[self.organization.slug, self.pk]
        )


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
            _percent_check("general_weight", "cycle_general_weight_range"),
            _percent_check("csat_weight", "cycle_csat_weight_range"),
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
            _percent_check("goal_weight", "template_goal_weight_range"),
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
            _percent_check("allocation", "plan_allocation_range", nullable=True),
            _percent_check("goal_weight", "plan_goal_weight_range"),
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


class Goal(TenantModel):
    """A measurable goal on a plan."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="goals")
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
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["position", "pk"]
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
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="activities")
    title = models.CharField(_("title"), max_length=200)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["due_date", "pk"]
        verbose_name_plural = _("key activities")

    def __str__(self) -> str:
        return self.title


class GoalCheckIn(TenantModel):
    """A progress update on a goal by the employee or a planner."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="checkins")
    author = models.ForeignKey(
        "organizations.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), validators=PERCENT)
    actual_value = models.DecimalField(
        _("actual value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(_("status"), max_length=12, choices=GoalStatus.choices)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="checkin_progress_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.goal} · {self.progress}%"


class RoleAssignment(TenantModel):
    """An engagement role held by an employee; grants guardian object permissions."""

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="role_assignments"
    )
    employee = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="engagement_roles",
    )
    role = models.CharField(_("role"), max_length=12, choices=EngagementRole.choices)
    source = models.CharField(
        max_length=10, choices=AssignmentSource.choices, default=AssignmentSource.MANUAL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["role", "employee__full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["engagement", "employee", "role"], name="role_assignment_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee} · {self.get_role_display()} · {self.engagement}"


class RoleRule(TenantModel):
    """ "Every <job title> staffed on an engagement holds <role> on it"."""

    job_title = models.ForeignKey(
        "organizations.JobTitle",
        verbose_name=_("job title"),
        on_delete=models.CASCADE,
        related_name="role_rules",
    )
    role = models.CharField(_("role"), max_length=12, choices=EngagementRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["job_title__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "job_title", "role"], name="role_rule_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_title} → {self.get_role_display()}"


class PlanCompetency(TenantModel):
    """A competency expected on a plan, with its weight and expected level."""

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="competencies"
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
    position = models.PositiveIntegerField(default=0)

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
