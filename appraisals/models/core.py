"""Appraisals, evaluations per plan, ratings, approvals and the scoring settings.

An Appraisal is one employee's result in one review cycle. Each of their plans gets a
review Evaluation (written by its reviewer) and optionally a self-assessment (written by
the employee, shown beside the review, never scored). Scores follow docs/scoring.md
and are computed by ``appraisals.scoring``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from appraisals.enums import (
    AppraisalStatus,
    ApprovalCapacity,
    ApprovalDecision,
    EvaluationKind,
    EvaluationStatus,
    Potential,
)
from organizations.tenancy import TenantModel

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrOrPromise
else:
    StrOrPromise = str


def score_field(
    verbose_name: StrOrPromise,
) -> models.DecimalField[Decimal | None, Decimal | None]:
    """A stored score: 2 places (rounded half-up by the scoring module), empty until
    computed."""
    return models.DecimalField(
        verbose_name, max_digits=6, decimal_places=2, null=True, blank=True
    )


def delta_field(
    verbose_name: StrOrPromise,
) -> models.DecimalField[Decimal | None, Decimal | None]:
    """A calibration adjustment δ, kept exact: 24 places (the scoring module's
    ``Decimal`` arithmetic carries 28 significant digits), rounded only for
    display."""
    return models.DecimalField(
        verbose_name, max_digits=30, decimal_places=24, null=True, blank=True
    )


def rating_field(
    verbose_name: StrOrPromise,
) -> models.DecimalField[Decimal | None, Decimal | None]:
    """A point of a rating scale (whole or half points), or empty."""
    return models.DecimalField(
        verbose_name, max_digits=4, decimal_places=1, null=True, blank=True
    )


class AppraisalSettings(TenantModel):
    """The organisation's appraisal rules (one row per organisation)."""

    dual_approval = models.BooleanField(
        _("require the line manager's approval too"),
        default=False,
        help_text=_(
            "Evaluations need the employee's line manager's approval as well as the "
            "engagement approver's, in either order."
        ),
    )
    evaluation_days = models.PositiveSmallIntegerField(
        _("days to write an evaluation"),
        default=14,
        help_text=_("Evaluations are due this many days after they are assigned."),
    )

    calibration_required = models.BooleanField(
        _("require calibration before finalising"),
        default=False,
        help_text=_(
            "An appraisal can be finalised only once a closed calibration session "
            "of its cycle covers its employee."
        ),
    )
    calibration_shrinkage = models.PositiveSmallIntegerField(
        _("shrinkage constant k"),
        default=10,
        help_text=_(
            "A reviewer's measured leniency counts n / (n + k) of itself, n their "
            "compared ratings: the larger k, the more ratings a reviewer needs "
            "before their scores move."
        ),
    )
    calibration_guideline = models.CharField(
        _("guideline distribution"),
        max_length=120,
        default="10,20,40,20,10",
        help_text=_(
            "Target share of people per band of the rating scale, in percent from "
            "the lowest band to the highest, separated by commas; they add up to "
            "100."
        ),
    )
    calibration_tolerance = models.PositiveSmallIntegerField(
        _("tolerance (percentage points)"),
        default=5,
        help_text=_(
            "A band's share may differ from the guideline by this much before the "
            "session page flags it."
        ),
    )
    calibration_visible = models.BooleanField(
        _("show employees that their score was calibrated"),
        default=False,
        help_text=_(
            "Employees always see their calibrated score; with this on they also "
            "see the computed score, the adjustment and its reason."
        ),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = _("appraisal settings")
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], name="appraisal_settings_one_per_org"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Appraisal settings"))


class AttainmentBand(TenantModel):
    """Goal attainment from ``min_attainment`` % upwards suggests ``rating``.

    The band with the highest ``min_attainment`` not above a goal's attainment applies;
    e.g. 0 → 1, 70 → 2, 90 → 3, 100 → 4, 120 → 5.
    """

    min_attainment = models.DecimalField(
        _("from attainment (%)"), max_digits=6, decimal_places=1
    )
    rating = models.DecimalField(_("suggested rating"), max_digits=4, decimal_places=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["min_attainment"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "min_attainment"], name="band_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(min_attainment__gte=0), name="band_start_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"≥ {self.min_attainment} % → {self.rating}"


class Appraisal(TenantModel):
    """One employee's appraisal in one cycle, with its stored (approved-only) scores.

    ``snapshot`` holds every input of the last computation (scale, weights, allocations,
    day counts, each component's score) so a finalised score can be explained and
    reproduced even if weights change later.
    """

    cycle = models.ForeignKey(
        "engagements.ReviewCycle",
        verbose_name=_("cycle"),
        on_delete=models.PROTECT,
        related_name="appraisals",
    )
    employee = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("employee"),
        on_delete=models.PROTECT,
        related_name="appraisals",
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=AppraisalStatus.choices,
        default=AppraisalStatus.OPEN,
    )
    general_score = score_field(_("general score"))
    engagement_score = score_field(_("engagement composite"))
    final_score = score_field(_("final score"))
    percent = score_field(_("percent"))
    # The calibration adjustment in force (``CalibrationAdjustment``), exact, and the
    # calibrated figures: clamp(final + δ) on the scale, computed from the unrounded
    # final; empty without an adjustment (docs/scoring.md, Calibration).
    calibration_delta = delta_field(_("calibration adjustment"))
    calibrated_score = score_field(_("calibrated final score"))
    calibrated_percent = score_field(_("calibrated percent"))
    snapshot = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(_("score computed at"), null=True, blank=True)
    finalized_at = models.DateTimeField(_("finalised at"), null=True, blank=True)
    finalized_by = models.ForeignKey(
        "organizations.User",
        verbose_name=_("finalised by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledgement = models.TextField(
        _("employee's comment"), max_length=4000, blank=True
    )
    reopen_reason = models.TextField(_("reason for reopening"), blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(excluded_fields=["created_at", "snapshot"])

    class Meta:
        ordering = ["cycle", "employee__full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "employee"], name="appraisal_one_per_cycle"
            ),
            models.CheckConstraint(
                condition=Q(percent__isnull=True)
                | (Q(percent__gte=0) & Q(percent__lte=100)),
                name="appraisal_percent_range",
            ),
            models.CheckConstraint(
                condition=~Q(status=AppraisalStatus.OPEN)
                | Q(finalized_at__isnull=True),
                name="appraisal_open_not_finalized",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee} · {self.cycle}"

    def get_absolute_url(self) -> str:
        return reverse(
            "appraisals:appraisal_detail", args=[self.organization.slug, self.pk]
        )


class Evaluation(TenantModel):
    """The rating of one plan: by its reviewer (``review``) or by the employee (``self``).

    ``employee`` repeats the appraisal's employee so the database itself refuses a
    review evaluation written by the person it evaluates. ``submission`` counts
    submissions; approvals belong to one submission, so a returned and resubmitted
    evaluation needs fresh approvals.
    """

    appraisal = models.ForeignKey(
        Appraisal,
        verbose_name=_("appraisal"),
        on_delete=models.CASCADE,
        related_name="evaluations",
    )
    plan = models.ForeignKey(
        "engagements.Plan",
        verbose_name=_("plan"),
        on_delete=models.PROTECT,
        related_name="evaluations",
    )
    employee = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("evaluated person"),
        on_delete=models.PROTECT,
        related_name="evaluations_about",
    )
    kind = models.CharField(
        _("kind"),
        max_length=8,
        choices=EvaluationKind.choices,
        default=EvaluationKind.REVIEW,
    )
    reviewer = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="evaluations_to_write",
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=EvaluationStatus.choices,
        default=EvaluationStatus.DRAFT,
    )
    comments = models.TextField(_("overall comments"), max_length=8000, blank=True)
    potential = models.CharField(
        _("potential"),
        max_length=6,
        choices=Potential.choices,
        blank=True,
        help_text=_(
            "Optional, on the general evaluation only: the line manager's view of "
            "the person's potential. It places them on the calibration nine-box "
            "grid and never counts toward a score."
        ),
    )
    goal_score = score_field(_("goal score"))
    competency_score = score_field(_("competency score"))
    score = score_field(_("score"))
    due_date = models.DateField(_("due"), null=True, blank=True)
    submission = models.PositiveIntegerField(_("submission"), default=0)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    return_comment = models.TextField(_("why it was returned"), blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["appraisal", "plan__kind", "plan__start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "kind"], name="evaluation_one_per_plan_and_kind"
            ),
            # Segregation of duties: a review is never written by its subject, and a
            # self-assessment always is.
            models.CheckConstraint(
                condition=(Q(kind=EvaluationKind.REVIEW) & ~Q(reviewer=F("employee")))
                | (Q(kind=EvaluationKind.REVIEW) & Q(reviewer__isnull=True))
                | (Q(kind=EvaluationKind.SELF) & Q(reviewer=F("employee"))),
                name="evaluation_reviewer_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.plan}"

    def get_absolute_url(self) -> str:
        return reverse(
            "appraisals:evaluation_detail", args=[self.organization.slug, self.pk]
        )


class EvaluationApproval(TenantModel):
    """An approver's decision on one submission of an evaluation."""

    evaluation = models.ForeignKey(
        Evaluation,
        verbose_name=_("evaluation"),
        on_delete=models.CASCADE,
        related_name="approvals",
    )
    submission = models.PositiveIntegerField(_("submission"))
    approver = models.ForeignKey(
        "organizations.Employee",
        verbose_name=_("approver"),
        on_delete=models.PROTECT,
        related_name="approvals",
    )
    capacity = models.CharField(
        _("approving as"), max_length=14, choices=ApprovalCapacity.choices
    )
    decision = models.CharField(
        _("decision"), max_length=10, choices=ApprovalDecision.choices
    )
    comment = models.TextField(_("comment"), max_length=4000, blank=True)
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["decided_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "submission", "capacity"],
                condition=Q(decision=ApprovalDecision.APPROVED),
                name="approval_once_per_capacity",
            ),
            models.CheckConstraint(
                condition=~Q(decision=ApprovalDecision.RETURNED) | ~Q(comment=""),
                name="approval_return_has_comment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} · {self.evaluation}"


class _Rating(TenantModel):
    """A rating on the scale, or N/A (``not_applicable``), with a comment.

    Both empty means "not rated yet": allowed in a draft, refused on submit.
    """

    value = rating_field(_("rating"))
    not_applicable = models.BooleanField(_("N/A"), default=False)
    comment = models.TextField(_("comment"), max_length=4000, blank=True)

    class Meta:
        abstract = True

    @property
    def is_rated(self) -> bool:
        return self.not_applicable or self.value is not None


class GoalRating(_Rating):
    evaluation = models.ForeignKey(
        Evaluation,
        verbose_name=_("evaluation"),
        on_delete=models.CASCADE,
        related_name="goal_ratings",
    )
    goal = models.ForeignKey(
        "engagements.Goal",
        verbose_name=_("goal"),
        on_delete=models.PROTECT,
        related_name="ratings",
    )
    # The rating the attainment bands suggested when the form was saved; a different
    # ``value`` needs ``override_reason``.
    suggested = rating_field(_("suggested rating"))
    override_reason = models.TextField(
        _("reason for a different rating"), max_length=2000, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["goal__position", "goal__pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "goal"], name="goal_rating_unique"
            ),
            models.CheckConstraint(
                condition=Q(not_applicable=False) | Q(value__isnull=True),
                name="goal_rating_na_has_no_value",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.goal}: {self.value}"


class CompetencyRating(_Rating):
    evaluation = models.ForeignKey(
        Evaluation,
        verbose_name=_("evaluation"),
        on_delete=models.CASCADE,
        related_name="competency_ratings",
    )
    plan_competency = models.ForeignKey(
        "engagements.PlanCompetency",
        verbose_name=_("competency"),
        on_delete=models.PROTECT,
        related_name="ratings",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["plan_competency__position", "plan_competency__pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "plan_competency"],
                name="competency_rating_unique",
            ),
            models.CheckConstraint(
                condition=Q(not_applicable=False) | Q(value__isnull=True),
                name="competency_rating_na_has_no_value",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_competency}: {self.value}"


class RecomputeRun(TenantModel):
    """An HR-requested recomputation of a whole cycle's scores, with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    cycle = models.ForeignKey(
        "engagements.ReviewCycle", on_delete=models.CASCADE, related_name="recomputes"
    )
    requested_by = models.ForeignKey(
        "organizations.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.cycle} · {self.get_status_display()}"

    @property
    def progress(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0


DEFAULT_BANDS: list[tuple[Decimal, Decimal]] = [
    (Decimal(0), Decimal(1)),
    (Decimal(70), Decimal(2)),
    (Decimal(90), Decimal(3)),
    (Decimal(100), Decimal(4)),
    (Decimal(120), Decimal(5)),
]
