"""Tables the database keeps from the rows of the others, never written by the
application: ``ApprovalFallback`` (the submitted reviews only HR may approve) and the
progress tallies. PostgreSQL statement-level triggers keep them in the transaction of
every write (migrations 0004 and 0005, docs/performance.md); on SQLite the pages
rebuild them from the rows (``appraisals.tallies``), and ``check_consistency``
recounts them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models.core import Appraisal, Evaluation
from organizations.tenancy import TenantModel


class ApprovalFallback(TenantModel):
    """A submitted review in an open appraisal that nobody qualifies to approve
    (``permissions.Authority.hr_fallback``: HR admins approve it) and whose approver
    capacity is not approved in its current submission yet.

    Derived data, never written by the application: database triggers (migration
    ``0004_queue``) keep it exact in the transaction of every change it depends on,
    bulk updates included. The evaluation queue counts and lists HR's share from it
    (``selectors.queues``) instead of judging every submitted review.
    """

    evaluation = models.OneToOneField(
        Evaluation,
        primary_key=True,
        # The triggers delete the row with the review, in the same statement; a
        # foreign key could not be validated against existing rows under row
        # security when the migration adds it.
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    submitted_at = models.DateTimeField(null=True)  # the review's, for the queue order

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "submitted_at", "evaluation"],
                name="approval_fallback_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id}"


# --- Progress tallies -----------------------------------------------------------------
#
# Counts of HR's cycle progress page, kept by PostgreSQL statement-level triggers in
# the same transaction as the rows they count (migration 0005,
# docs/performance.md), whichever code writes those rows. Never written by the
# application; ``consistency.check_progress_tallies`` recounts them. An evaluation
# counts in its plan's cycle and engagement (``GENERAL`` for general plans); only
# review evaluations are counted. A tally reaching zero is deleted.

# ``engagement_id`` of the general plans' tallies.
GENERAL = 0


def _cycle_field() -> models.ForeignKey:
    # No database constraint: the triggers delete a cycle's tallies with its last row.
    return models.ForeignKey(
        "engagements.ReviewCycle",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )


class CycleReviewTally(TenantModel):
    """How many review evaluations of ``cycle`` have ``status`` and ``due_date``."""

    cycle = _cycle_field()
    status = models.CharField(max_length=10, choices=EvaluationStatus.choices)
    due_date = models.DateField(null=True)
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "cycle", "status", "due_date"],
                nulls_distinct=False,
                name="cycle_review_tally_key",
            ),
        ]


class EngagementReviewTally(TenantModel):
    """How many review evaluations of the plans of ``engagement_id`` (``GENERAL``:
    the general plans) in ``cycle`` have ``status`` and ``due_date``."""

    cycle = _cycle_field()
    engagement_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=EvaluationStatus.choices)
    due_date = models.DateField(null=True)
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "cycle", "engagement_id", "status", "due_date"],
                nulls_distinct=False,
                name="engagement_review_tally_key",
            ),
        ]


class EngagementWorkload(TenantModel):
    """The review evaluations of the plans of ``engagement_id`` (``GENERAL``: the
    general plans) in ``cycle``: how many, how many approved, how many waiting."""

    cycle = _cycle_field()
    engagement_id = models.BigIntegerField()
    total = models.IntegerField()
    approved = models.IntegerField()
    waiting = models.GeneratedField(
        expression=F("total") - F("approved"),
        output_field=models.IntegerField(),
        db_persist=True,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "cycle", "engagement_id"],
                name="engagement_workload_key",
            ),
        ]
        indexes = [
            models.Index(
                "organization",
                "cycle",
                F("waiting").desc(),
                name="engagement_workload_busiest",
            ),
        ]


class AppraisalReviewTally(TenantModel):
    """How many review evaluations ``appraisal`` has, and how many are approved."""

    appraisal = models.OneToOneField(
        Appraisal,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="review_tally",
    )
    reviews = models.IntegerField()
    approved = models.IntegerField()

    class Meta:
        constraints = [
            # What the triggers look rows up by (migration 0005 explains why the
            # organisation as well as the appraisal).
            models.UniqueConstraint(
                fields=["organization", "appraisal"],
                name="appraisal_review_tally_tenant_key",
            ),
        ]


class CycleAppraisalTally(TenantModel):
    """How many appraisals of ``cycle`` have ``status``, and are ``ready`` to
    finalise or not (``selectors.appraisals.is_ready``)."""

    cycle = _cycle_field()
    status = models.CharField(max_length=12, choices=AppraisalStatus.choices)
    ready = models.BooleanField()
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "cycle", "status", "ready"],
                name="cycle_appraisal_tally_key",
            ),
        ]
