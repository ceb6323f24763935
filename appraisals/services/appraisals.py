"""Finalising, reopening and acknowledging appraisals.

Keyword-only services taking the acting ``Membership``; each runs in one transaction,
locks the appraisal rows it changes (``select_for_update(of=("self",))``) so it cannot
interleave with a score recomputation or another decision, records history through
django-simple-history and queues e-mails after commit. ``finalise_appraisals``
authorises every id and refuses the whole list when one id is unknown, foreign or not
eligible: nothing changes then (the cycle progress page's filtered bulk actions are
``services.bulk``'s). Rule violations raise ``DomainError`` with a message fit for the
user; a caller without the role raises ``PermissionDenied``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from simple_history.utils import bulk_update_with_history

from appraisals import notifications
from appraisals.enums import (
    FINAL_STATUSES,
    AppraisalStatus,
)
from appraisals.models import Appraisal, AppraisalSettings, Evaluation
from appraisals.scores import recompute_appraisals
from appraisals.selectors.appraisals import (
    is_ready,
    review_counts,
    with_evaluation_counts,
)
from appraisals.selectors.calibration_scope import uncovered
from engagements.models import ReviewCycle
from organizations.errors import DomainError
from organizations.history import check_version, record_author, record_reason
from organizations.models import Membership
from organizations.permissions import require_hr_admin

FINALISED_FIELDS = ["status", "finalized_at", "finalized_by", "version"]


def _ids(values: Iterable[int | Appraisal | Evaluation]) -> list[int]:
    """Distinct ids in the order given (objects or ids)."""
    ids = (v if isinstance(v, int) else v.pk for v in values)
    return list(dict.fromkeys(ids))


def _names(items: Iterable[Appraisal | Evaluation], limit: int = 5) -> str:
    names = [item.employee.full_name for item in items]
    shown = ", ".join(names[:limit])
    return shown + (" …" if len(names) > limit else "")


def _check_version(appraisal: Appraisal, version: int | None) -> None:
    """Refuse a stale form (EditConflict); forms that send no version skip this."""
    if version is not None:
        check_version(appraisal, version, advice=_("review the appraisal and resubmit"))


# --- Finalisation -------------------------------------------------------------------


def finalise_appraisals(
    *,
    actor: Membership,
    appraisals: Collection[int | Appraisal],
    cycle: ReviewCycle | None = None,
) -> list[Appraisal]:
    """Finalise every appraisal in ``appraisals`` (ids or objects), or none.

    HR admins only (PermissionDenied). The whole batch is refused (DomainError,
    nothing changed) when it is empty, when an id is unknown, another
    organisation's or (given ``cycle``) of another cycle, when an appraisal is not ready (open, with at least one review
    evaluation and every review evaluation approved), when it is the actor's own, or
    when the organisation requires calibration and no closed calibration session of
    its cycle covers it (the message names whom and what to do).
    The rows are locked, their scores recomputed one last time (set-based, so the
    stored scores and snapshot are what the employee reads), then marked finalised;
    each employee with a login gets one e-mail per finalisation. Query cost is fixed
    whatever the batch size.
    """
    require_hr_admin(actor)
    ids = _ids(appraisals)
    if not ids:
        raise DomainError(_("Select at least one appraisal to finalise."))
    with transaction.atomic():
        candidates = Appraisal.objects.filter(pk__in=ids)
        if cycle is not None:
            candidates = candidates.filter(cycle=cycle)
        locked = list(
            candidates.select_for_update(of=("self",)).order_by("pk").only("pk")
        )
        if len(locked) != len(ids):
            raise DomainError(
                _(
                    "Some selected appraisals could not be found here; nothing was "
                    "finalised. Reload the page and select again."
                )
            )
        rows = list(
            with_calibration_required(
                with_evaluation_counts(
                    Appraisal.objects.filter(pk__in=ids).select_related(
                        "employee", "cycle"
                    )
                )
            ).order_by("employee__full_name", "pk")
        )
        _refuse_unready(actor, rows, uncalibrated_ids(rows))
        return finalise_locked(actor=actor, ids=ids)


def finalise_locked(*, actor: Membership, ids: list[int]) -> list[Appraisal]:
    """Finalise the appraisals ``ids``, which the caller has locked and authorised
    (``finalise_refusal`` is None for each) in its transaction: their scores are
    recomputed one last time (set-based, so the stored scores and snapshot are what
    the employee reads), they are marked finalised with history, and each employee
    with a login gets one e-mail per finalisation. Returns the finalised rows.

    Cost: the recomputation's fixed number of queries, one SELECT, one UPDATE and one
    history INSERT whatever the number of ids, plus one outbox INSERT per e-mail.
    """
    recompute_appraisals(ids)
    now = timezone.now()
    fresh = list(
        Appraisal.objects.filter(pk__in=ids).select_related("employee__user", "cycle")
    )
    for appraisal in fresh:
        appraisal.status = AppraisalStatus.FINALIZED
        appraisal.finalized_at = now
        appraisal.finalized_by = actor.user
        appraisal.version += 1
    bulk_update_with_history(
        fresh, Appraisal, FINALISED_FIELDS, default_user=actor.user
    )
    for appraisal in fresh:
        notifications.mail_finalised(actor, appraisal)
    return fresh


class Refusal(models.TextChoices):
    """Why an appraisal cannot be finalised by the one acting."""

    OWN = "own", gettext_lazy("your own appraisal (another HR admin must finalise it)")
    FINAL = "final", gettext_lazy("finalised already")
    NO_REVIEWS = "no_reviews", gettext_lazy("no review evaluation")
    NOT_APPROVED = "not_approved", gettext_lazy("not all evaluations approved")
    UNCALIBRATED = (
        "uncalibrated",
        gettext_lazy("no closed calibration session covers it"),
    )


def finalise_refusal(
    actor: Membership, appraisal: Appraisal, uncalibrated: Collection[int] = ()
) -> Refusal | None:
    """Why ``actor`` may not finalise ``appraisal``, or None when they may (the HR
    role is checked by the caller). ``appraisal`` carries ``n_reviews`` and
    ``n_approved`` (``selectors.appraisals.with_evaluation_counts``) and its
    employee; ``uncalibrated`` holds the ids that calibration still blocks
    (``uncalibrated_ids``). No query."""
    n_reviews, _approved = review_counts(appraisal)
    if appraisal.employee.user_id == actor.user_id:
        return Refusal.OWN
    if appraisal.status in FINAL_STATUSES:
        return Refusal.FINAL
    if n_reviews == 0:
        return Refusal.NO_REVIEWS
    if not is_ready(appraisal):
        return Refusal.NOT_APPROVED
    if appraisal.pk in uncalibrated:
        return Refusal.UNCALIBRATED
    return None


def with_calibration_required(qs: QuerySet[Appraisal]) -> QuerySet[Appraisal]:
    """Annotate ``calibration_required``: does the appraisal's organisation require
    a closed calibration session before finalising (its appraisal settings)? A
    subquery, no query of its own."""
    return qs.annotate(
        calibration_required=Subquery(
            AppraisalSettings.objects.filter(
                organization_id=OuterRef("organization_id")
            ).values("calibration_required")[:1]
        )
    )


def uncalibrated_ids(rows: Iterable[Appraisal]) -> frozenset[int]:
    """The ids of those ``rows`` (annotated by ``with_calibration_required``) whose
    organisation requires calibration and that no closed calibration session of
    their cycle covers (``selectors.calibration_scope.uncovered``). Two queries when
    one of them requires calibration, none otherwise."""
    required = [a.pk for a in rows if vars(a).get("calibration_required")]
    if not required:
        return frozenset()
    blocked = uncovered(Appraisal.objects.filter(pk__in=required))
    return frozenset(blocked.values_list("pk", flat=True))


def calibrate_first(cycle_names: Sequence[str], names: Sequence[str]) -> str:
    """The refusal of appraisals that calibration blocks: which cycle, whom (up to
    five names) and what to do. No query."""
    shown = ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
    return ngettext(
        "Calibrate first: no closed calibration session of %(cycle)s covers "
        "%(names)s. Close a session whose scope includes them (Calibration, in the "
        "cycle's menu), then finalise.",
        "Calibrate first: no closed calibration session of %(cycle)s covers "
        "%(names)s. Close a session whose scope includes them (Calibration, in the "
        "cycle's menu), then finalise.",
        len(names),
    ) % {"cycle": ", ".join(dict.fromkeys(cycle_names)), "names": shown}


def _refuse_unready(
    actor: Membership, rows: list[Appraisal], uncalibrated: Collection[int] = ()
) -> None:
    refusals = {a.pk: finalise_refusal(actor, a, uncalibrated) for a in rows}
    if Refusal.OWN in refusals.values():
        raise DomainError(
            _(
                "You cannot finalise your own appraisal; another HR admin must. "
                "Nothing was finalised."
            )
        )
    done = [a for a in rows if refusals[a.pk] == Refusal.FINAL]
    if done:
        raise DomainError(
            ngettext(
                "Already finalised: %(names)s. Nothing was finalised.",
                "Already finalised: %(names)s. Nothing was finalised.",
                len(done),
            )
            % {"names": _names(done)}
        )
    unready = [a for a in rows if refusals[a.pk] not in (None, Refusal.UNCALIBRATED)]
    if unready:
        raise DomainError(
            ngettext(
                "Not ready: %(names)s still has review evaluations that are not "
                "approved (or none at all). Nothing was finalised; finalise it once "
                "every evaluation is approved.",
                "Not ready: %(names)s still have review evaluations that are not "
                "approved (or none at all). Nothing was finalised; finalise them "
                "once every evaluation is approved.",
                len(unready),
            )
            % {"names": _names(unready)}
        )
    blocked = [a for a in rows if refusals[a.pk] == Refusal.UNCALIBRATED]
    if blocked:
        raise DomainError(
            calibrate_first(
                [a.cycle.name for a in blocked],
                [a.employee.full_name for a in blocked],
            )
        )


def finalise_appraisal(*, actor: Membership, appraisal: Appraisal) -> Appraisal:
    """Finalise one appraisal; the rules and errors of ``finalise_appraisals``."""
    return finalise_appraisals(actor=actor, appraisals=[appraisal.pk])[0]


def reopen_appraisal(
    *,
    actor: Membership,
    appraisal: Appraisal,
    reason: str,
    version: int | None = None,
) -> Appraisal:
    """Reopen a finalised (or acknowledged) appraisal so evaluations can change.

    HR admins only (PermissionDenied), never their own appraisal. ``reason`` is
    required and kept in the history; an earlier acknowledgement is cleared (the
    employee acknowledges the next finalisation). The scores are recomputed from the
    approved evaluations. A stale ``version`` raises EditConflict.
    """
    require_hr_admin(actor)
    reason = reason.strip()
    if not reason:
        raise DomainError(
            _("Say why the appraisal is reopened; the employee and HR will see it."),
            field="reason",
        )
    with transaction.atomic():
        appraisal = _lock(appraisal)
        _check_version(appraisal, version)
        if appraisal.employee.user_id == actor.user_id:
            raise DomainError(
                _("You cannot reopen your own appraisal; another HR admin must.")
            )
        if appraisal.status not in FINAL_STATUSES:
            raise DomainError(
                _("This appraisal is open already; there is nothing to reopen.")
            )
        appraisal.status = AppraisalStatus.OPEN
        appraisal.finalized_at = None
        appraisal.finalized_by = None
        appraisal.acknowledged_at = None
        appraisal.acknowledgement = ""
        appraisal.reopen_reason = reason
        appraisal.version += 1
        record_author(appraisal, actor.user)
        record_reason(appraisal, reason)
        appraisal.save()
        recompute_appraisals([appraisal.pk])
        appraisal.refresh_from_db()
    return appraisal


def _lock(appraisal: Appraisal) -> Appraisal:
    return (
        Appraisal.objects.select_for_update(of=("self",))
        .select_related("employee", "cycle")
        .get(pk=appraisal.pk)
    )


# --- Acknowledgement --------------------------------------------------------------------


def acknowledge_appraisal(
    *,
    actor: Membership,
    appraisal: Appraisal,
    comment: str = "",
    version: int | None = None,
) -> Appraisal:
    """The employee confirms they have read their finalised appraisal, optionally with
    a comment. Only the employee (PermissionDenied for anyone else), only once and
    only when finalised (DomainError). A stale ``version`` raises EditConflict."""
    with transaction.atomic():
        appraisal = _lock(appraisal)
        if appraisal.employee.user_id != actor.user_id:
            raise PermissionDenied
        _check_version(appraisal, version)
        if appraisal.status == AppraisalStatus.ACKNOWLEDGED:
            raise DomainError(_("You have acknowledged this appraisal already."))
        if appraisal.status != AppraisalStatus.FINALIZED:
            raise DomainError(
                _("You can acknowledge your appraisal once HR has finalised it.")
            )
        appraisal.status = AppraisalStatus.ACKNOWLEDGED
        appraisal.acknowledged_at = timezone.now()
        appraisal.acknowledgement = comment.strip()
        appraisal.version += 1
        record_author(appraisal, actor.user)
        appraisal.save()
    return appraisal
