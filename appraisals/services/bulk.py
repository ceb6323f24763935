"""The cycle progress page's bulk actions: finalise every ready appraisal, or remind
about every evaluation, that the page's filters select.

The caller passes the filtered queryset and the number of rows the member saw on the
button. The service counts the rows again and refuses, changing nothing, when the
number differs (the list changed since the page was loaded). Otherwise it authorises
every row itself, with the rules of the one-by-one actions, acts in batches of a fixed
size and reports what it did not do and why. HR admins only (PermissionDenied).

E-mails go through the outbox after commit (``appraisals.notifications``); each one is
one INSERT, the rest of a batch's cost is fixed whatever its size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy, ngettext

from appraisals import notifications
from appraisals.enums import ApprovalDecision, EvaluationKind, EvaluationStatus
from appraisals.models import Appraisal, Evaluation, EvaluationApproval
from appraisals.selectors.appraisals import with_evaluation_counts
from appraisals.selectors.approvals import approved_capacities, authorities_for
from appraisals.selectors.evaluations import evaluation_queryset
from appraisals.services.appraisals import (
    Refusal,
    calibrate_first,
    finalise_locked,
    finalise_refusal,
    uncalibrated_ids,
    with_calibration_required,
)
from engagements.models import ReviewCycle
from organizations.errors import DomainError
from organizations.models import Employee, Membership
from organizations.permissions import require_hr_admin

FINALISE_BATCH = 200
REMIND_BATCH = 500


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk action did: ``done`` rows acted on (``sent`` e-mails queued, for
    reminders) and the rows left alone, counted per reason (labels fit for the
    member, in a fixed order)."""

    done: int
    skipped: list[tuple[str, int]]
    sent: int = 0
    # What to do about the rows calibration blocked (``calibrate_first``), or "".
    advice: str = ""

    @property
    def skipped_total(self) -> int:
        return sum(n for _reason, n in self.skipped)

    def skipped_text(self) -> str:
        """ "3 skipped: not all evaluations approved (2), your own appraisal (1)", or
        "" when nothing was skipped; followed by the advice, if any."""
        if not self.skipped:
            return ""
        reasons = ", ".join(f"{reason} ({n})" for reason, n in self.skipped)
        total = self.skipped_total
        text = ngettext(
            "%(n)s skipped: %(reasons)s.", "%(n)s skipped: %(reasons)s.", total
        ) % {"n": total, "reasons": reasons}
        return f"{text} {self.advice}" if self.advice else text


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _changed(message: str, expected: int, found: int) -> DomainError:
    """The refusal of a selection whose size changed, on the ``expected`` field."""
    return DomainError(
        message % {"expected": expected, "found": found}, field="expected"
    )


def _skipped(
    counts: Counter[models.TextChoices], order: type[models.TextChoices]
) -> list[tuple[str, int]]:
    return [(str(reason.label), counts[reason]) for reason in order if counts[reason]]


# --- Finalisation -------------------------------------------------------------------


def finalise_matching(
    *,
    actor: Membership,
    cycle: ReviewCycle,
    appraisals: QuerySet[Appraisal],
    expected: int,
    batch_size: int = FINALISE_BATCH,
) -> BulkOutcome:
    """Finalise the appraisals of ``appraisals`` (the page's filtered selection of
    ready ones) that belong to ``cycle``.

    The rows are locked first (one query, ids only). When their number is not
    ``expected`` the whole action is refused (DomainError, nothing changed). Then,
    ``batch_size`` rows at a time, each row is authorised again under the lock with
    ``services.appraisals.finalise_refusal`` (not the actor's own, still open, every
    review evaluation approved, covered by a closed calibration session when the
    organisation requires one) and the others are finalised, recomputed and e-mailed
    like ``finalise_appraisals`` does. Rows refused are left unchanged and counted per
    reason in the outcome; those calibration blocks are named in its advice.

    Cost: one query, then per batch one query (two more when the organisation
    requires calibration) plus ``finalise_locked``'s fixed cost and one INSERT per
    e-mail.
    """
    require_hr_admin(actor)
    with transaction.atomic():
        ids = list(
            appraisals.filter(cycle=cycle)
            .order_by("pk")
            .select_for_update(of=("self",))
            .values_list("pk", flat=True)
        )
        if len(ids) != expected:
            raise _changed(
                ngettext(
                    "%(expected)s appraisal matched when you loaded the page; "
                    "%(found)s match now. Nothing was finalised: check the list and "
                    "press the button again.",
                    "%(expected)s appraisals matched when you loaded the page; "
                    "%(found)s match now. Nothing was finalised: check the list and "
                    "press the button again.",
                    expected,
                ),
                expected,
                len(ids),
            )
        done = 0
        refused: Counter[models.TextChoices] = Counter()
        blocked: list[str] = []
        for chunk in _chunks(ids, batch_size):
            rows = list(
                with_calibration_required(
                    with_evaluation_counts(
                        Appraisal.objects.filter(pk__in=chunk).select_related(
                            "employee"
                        )
                    )
                )
                .only("pk", "status", "employee__user", "employee__full_name")
                .order_by("employee__full_name", "pk")
            )
            uncalibrated = uncalibrated_ids(rows)
            allowed = []
            for appraisal in rows:
                refusal = finalise_refusal(actor, appraisal, uncalibrated)
                if refusal is None:
                    allowed.append(appraisal.pk)
                else:
                    refused[refusal] += 1
                if refusal == Refusal.UNCALIBRATED:
                    blocked.append(appraisal.employee.full_name)
            if allowed:
                done += len(finalise_locked(actor=actor, ids=allowed))
    advice = calibrate_first([cycle.name], blocked) if blocked else ""
    return BulkOutcome(done=done, skipped=_skipped(refused, Refusal), advice=advice)


# --- Reminders --------------------------------------------------------------------------


class NotReminded(models.TextChoices):
    """Why no reminder went out about an evaluation."""

    APPROVED = "approved", gettext_lazy("approved already")
    NO_REVIEWER = "no_reviewer", gettext_lazy("no reviewer assigned")
    NO_APPROVER = "no_approver", gettext_lazy("no approver other than HR")
    NO_LOGIN = "no_login", gettext_lazy("nobody to remind has a login")


def remind_matching(
    *,
    actor: Membership,
    cycle: ReviewCycle,
    evaluations: QuerySet[Evaluation],
    expected: int,
    today: date | None = None,
    batch_size: int = REMIND_BATCH,
) -> BulkOutcome:
    """Remind about the review evaluations of ``evaluations`` (the page's filtered
    selection) that belong to ``cycle``: the reviewer of a draft or returned one, the
    approvers still to decide on a submitted one, by e-mail (optional e-mail: members
    who opted out are skipped at delivery).

    When the number of rows is not ``expected`` nothing is sent (DomainError). Each
    recipient is reminded about an evaluation at most once per day (the organisation's
    date). Evaluations approved already, without a reviewer, whose only approver is
    HR (the fallback: the ones sending reminders) or whose people have no login are
    counted per reason. ``done`` counts the evaluations reminded about, ``sent`` the
    reminders queued.

    Cost: one query (ids), then per batch one query plus three for the approvers of
    submitted evaluations, and one INSERT per reminder.
    """
    require_hr_admin(actor)
    today = today or timezone.localdate()
    ids = list(
        evaluations.filter(appraisal__cycle=cycle, kind=EvaluationKind.REVIEW)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(ids) != expected:
        raise _changed(
            ngettext(
                "%(expected)s evaluation matched when you loaded the page; "
                "%(found)s match now. No reminder was sent: check the list and "
                "press the button again.",
                "%(expected)s evaluations matched when you loaded the page; "
                "%(found)s match now. No reminder was sent: check the list and "
                "press the button again.",
                expected,
            ),
            expected,
            len(ids),
        )
    done = sent = 0
    refused: Counter[models.TextChoices] = Counter()
    with transaction.atomic():
        for chunk in _chunks(ids, batch_size):
            rows = list(evaluation_queryset().filter(pk__in=chunk).order_by("pk"))
            approvers = _approvers(
                [e for e in rows if e.status == EvaluationStatus.SUBMITTED]
            )
            for evaluation in rows:
                reason, queued = _remind(actor, evaluation, approvers, today)
                if reason is not None:
                    refused[reason] += 1
                else:
                    done += 1
                    sent += queued
    return BulkOutcome(done=done, sent=sent, skipped=_skipped(refused, NotReminded))


def _remind(
    actor: Membership,
    evaluation: Evaluation,
    approvers: dict[int, list[Employee]],
    today: date,
) -> tuple[NotReminded | None, int]:
    """Queue the reminders about one evaluation: (why not, or None; how many)."""
    if evaluation.status == EvaluationStatus.APPROVED:
        return NotReminded.APPROVED, 0
    if evaluation.status == EvaluationStatus.SUBMITTED:
        recipients = approvers.get(evaluation.pk, [])
        template = "appraisals/email/appraisal_reminder_approve.txt"
        if not recipients:
            return NotReminded.NO_APPROVER, 0
    else:
        if evaluation.reviewer is None:
            return NotReminded.NO_REVIEWER, 0
        recipients = [evaluation.reviewer]
        template = "appraisals/email/appraisal_reminder_review.txt"
    queued = sum(
        notifications.mail_reminder(actor, evaluation, person, template, today)
        for person in recipients
    )
    if not queued:
        return NotReminded.NO_LOGIN, 0
    return None, queued


def _approvers(evaluations: list[Evaluation]) -> dict[int, list[Employee]]:
    """Who still has to decide on each submitted evaluation, by evaluation id: the
    people of its approval authority (the workflow's rules) who could approve the
    current submission now. HR admins acting as fallback approvers are not named.
    Three queries whatever the number of evaluations (none without any)."""
    if not evaluations:
        return {}
    authorities = authorities_for(evaluations)
    approvals: dict[int, list[EvaluationApproval]] = {}
    for approval in EvaluationApproval.objects.filter(
        evaluation_id__in=[e.pk for e in evaluations],
        decision=ApprovalDecision.APPROVED,
    ):
        approvals.setdefault(approval.evaluation_id, []).append(approval)
    pending: dict[int, list[Employee]] = {}
    for evaluation in evaluations:
        authority = authorities[evaluation.pk]
        approved = approved_capacities(evaluation, approvals.get(evaluation.pk, []))
        pending[evaluation.pk] = [
            person
            for person in authority.people()
            if authority.capacities_for(person.pk, is_hr=False, approved=approved)
        ]
    return pending
