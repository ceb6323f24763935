"""Calibration sessions and adjustments (docs/scoring.md, Calibration).

Keyword-only services taking the acting ``Membership``; each runs in one
transaction. Sessions are opened and closed by HR admins
(``services.calibration_sessions``, re-exported here). An adjustment δ is stored
per appraisal as a ``CalibrationAdjustment`` (who, when, why, suggested or manual,
and its inputs) and copied onto the appraisal with its calibrated figures; the one
in force is replaced by marking it removed ("Replaced by a new adjustment") and
creating a new one. Every write locks the session (so it cannot close meanwhile),
then the appraisal rows, and authorises each appraisal with
``selectors.calibration_scope.may_adjust``: never one's own score, never anyone
above oneself in one's line, a participating manager only their own line.

Rule violations raise ``DomainError`` with a message fit for the user (``field``
names the form field to blame); a caller without the role, or an appraisal they may
not adjust, raises ``PermissionDenied``; another organisation's session or
appraisal looks exactly like one they may not adjust.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from appraisals import calibration
from appraisals.enums import (
    AdjustmentKind,
    AppraisalStatus,
    SessionStatus,
)
from appraisals.models import (
    Appraisal,
    CalibrationAdjustment,
    CalibrationSession,
)
from appraisals.scores import calibrated_figures, sync_calibrated
from appraisals.selectors.calibration_inputs import cycle_leniency, shrinkage_constant
from appraisals.selectors.calibration_scope import (
    Viewer,
    chain_above,
    may_adjust,
    viewer_in,
    visible_appraisals,
    with_adjustable,
)
from appraisals.selectors.calibration_suggestions import SuggestionRow, suggestion_rows
from appraisals.services.calibration_sessions import (
    close_session,
    lock_session,
    open_session,
)
from engagements.enums import CycleStatus
from organizations.errors import DomainError
from organizations.history import record_author, record_reason
from organizations.models import Employee, Membership
from organizations.permissions import Access, require_hr_admin

__all__ = [
    "accept_all",
    "accept_suggestion",
    "close_session",
    "open_session",
    "remove_adjustment",
    "set_adjustment",
    "sync_calibrated",
]

# δ as stored: ``delta_field``'s 24 places, so what is kept is what is returned.
DELTA_PLACES = Decimal("1e-24")
ACCEPT_CHUNK = 1000
APPRAISAL_FIELDS = [
    "calibration_delta",
    "calibrated_score",
    "calibrated_percent",
    "version",
]
SOURCES = ("form", "nine_box")


def _replaced() -> str:
    return _("Replaced by a new adjustment")


def _employee_of(actor: Membership) -> Employee | None:
    """The actor's own employee record in their organisation, if any. One query."""
    return Employee.objects.filter(user_id=actor.user_id).first()


# --- Adjusting --------------------------------------------------------------------------


def _adjusting(
    actor: Membership, session: CalibrationSession
) -> tuple[CalibrationSession, Viewer]:
    """Lock ``session`` and check that adjusting in it is possible at all: a member
    who may open it (PermissionDenied), the session open and its cycle in review
    (DomainError). Four queries at most."""
    session = lock_session(actor, session)
    viewer = viewer_in(Access(actor), session, _employee_of(actor))
    if not viewer.may_open:
        raise PermissionDenied
    if session.status != SessionStatus.OPEN:
        raise DomainError(
            _(
                "This session is closed, so its scores can no longer be adjusted. "
                "Open a new session to calibrate again."
            )
        )
    if session.cycle.status != CycleStatus.REVIEW:
        raise DomainError(
            _(
                "%(cycle)s is no longer in review, so its scores can no longer be "
                "adjusted."
            )
            % {"cycle": session.cycle.name}
        )
    return session, viewer


def _lock_appraisal(
    actor: Membership,
    session: CalibrationSession,
    viewer: Viewer,
    appraisal: Appraisal,
) -> Appraisal:
    """``appraisal`` locked, with its employee, once ``viewer`` may adjust it in
    ``session`` (PermissionDenied otherwise; a finalised one they could adjust
    otherwise is a DomainError). Two queries."""
    if appraisal.organization_id != actor.organization_id:
        raise PermissionDenied
    locked = (
        Appraisal.objects.select_for_update(of=("self",))
        .select_related("employee")
        .filter(pk=appraisal.pk)
        .first()
    )
    if locked is None:
        raise PermissionDenied
    own = viewer.employee is not None and locked.employee_id == viewer.employee.pk
    if own or locked.employee_id in viewer.above:
        raise PermissionDenied
    if locked.status != AppraisalStatus.OPEN and viewer.is_hr:
        raise DomainError(
            _(
                "%(name)s's appraisal is finalised; its score stays as finalised. "
                "Reopen the appraisal to calibrate it."
            )
            % {"name": locked.employee.full_name}
        )
    if not may_adjust(session, viewer, locked):
        raise PermissionDenied
    return locked


def _retire_current(actor: Membership, appraisal: Appraisal, reason: str) -> None:
    """Mark the adjustment in force of ``appraisal`` removed with ``reason``, if it
    has one. One query to read, then an update and its history."""
    current = CalibrationAdjustment.objects.filter(
        appraisal=appraisal, removed_at__isnull=True
    ).first()
    if current is None:
        return
    current.removed_at = timezone.now()
    current.removed_by = actor.user
    current.removal_reason = reason
    record_author(current, actor.user)
    record_reason(current, reason)
    current.save(update_fields=["removed_at", "removed_by", "removal_reason"])


def _apply(
    actor: Membership,
    session: CalibrationSession,
    appraisal: Appraisal,
    *,
    delta: Decimal,
    kind: str,
    reason: str,
    inputs: dict[str, object],
) -> CalibrationAdjustment:
    """Replace the adjustment in force of the locked ``appraisal`` with δ =
    ``delta`` and copy it, with the calibrated figures, onto the appraisal (history
    on both)."""
    _retire_current(actor, appraisal, _replaced())
    adjustment = CalibrationAdjustment(
        organization_id=appraisal.organization_id,
        appraisal=appraisal,
        session=session,
        delta=delta,
        kind=kind,
        reason=reason,
        inputs=inputs,
        created_by=actor.user,
    )
    record_author(adjustment, actor.user)
    adjustment.save()
    score, percent = calibrated_figures(appraisal.snapshot or {}, delta)
    appraisal.calibration_delta = delta
    appraisal.calibrated_score = score
    appraisal.calibrated_percent = percent
    appraisal.version += 1
    record_author(appraisal, actor.user)
    record_reason(appraisal, reason)
    appraisal.save(update_fields=APPRAISAL_FIELDS)
    return adjustment


def _exact(delta: Decimal) -> Decimal:
    return delta.quantize(DELTA_PLACES)


def accept_suggestion(
    *, actor: Membership, session: CalibrationSession, appraisal: Appraisal
) -> CalibrationAdjustment:
    """Accept the suggestion for ``appraisal`` in ``session`` as it stands now
    (rule 3, recomputed from the cycle's ratings with the organisation's k): δ is
    stored exactly (``DELTA_PLACES``), with the suggestion's reason in words and its
    inputs; an adjustment in force is replaced. DomainError without a score or when
    the suggestion is 0; PermissionDenied when the actor may not adjust it. Queries:
    a fixed number (the leniency's two, the suggestion's three, the locks and
    writes)."""
    with transaction.atomic():
        session, viewer = _adjusting(actor, session)
        appraisal = _lock_appraisal(actor, session, viewer, appraisal)
        k = shrinkage_constant()
        leniencies = cycle_leniency(session.cycle_id, k)
        row = suggestion_rows([appraisal.pk], leniencies, k)[appraisal.pk]
        if row.suggestion is None:
            raise DomainError(
                _(
                    "%(name)s has no score yet, so there is nothing to calibrate. "
                    "Calibrate once their evaluations are approved."
                )
                % {"name": appraisal.employee.full_name}
            )
        delta = _exact(row.suggestion.delta)
        if delta == 0:
            raise DomainError(
                _(
                    "The suggestion for %(name)s is no change: none of their "
                    "reviewers needs a correction. Set a score by hand if it should "
                    "change."
                )
                % {"name": appraisal.employee.full_name}
            )
        return _apply(
            actor,
            session,
            appraisal,
            delta=delta,
            kind=AdjustmentKind.SUGGESTED,
            reason=row.reason,
            inputs=row.inputs(leniencies),
        )


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def accept_all(*, actor: Membership, session: CalibrationSession) -> int:
    """Accept every non-zero suggestion in ``session`` that the actor may adjust
    and that has no adjustment in force; returns how many were accepted.

    Set-based: the cycle's leniency once, then per ``ACCEPT_CHUNK`` appraisals the
    suggestions (three queries), one INSERT of the adjustments with their history
    and one UPDATE of the appraisals with theirs. DomainError when the session is
    closed or its cycle not in review; PermissionDenied for a member who may not
    adjust in it.
    """
    with transaction.atomic():
        session, viewer = _adjusting(actor, session)
        candidates = (
            with_adjustable(visible_appraisals(session, viewer), session, viewer)
            .filter(Q(adjustable=True), calibration_delta__isnull=True)
            .order_by("pk")
        )
        ids = list(
            candidates.select_for_update(of=("self",)).values_list("pk", flat=True)
        )
        if not ids:
            return 0
        k = shrinkage_constant()
        leniencies = cycle_leniency(session.cycle_id, k)
        accepted = 0
        for chunk in _chunks(ids, ACCEPT_CHUNK):
            rows = [
                row
                for row in suggestion_rows(chunk, leniencies, k).values()
                if row.suggestion is not None and _exact(row.delta) != 0
            ]
            accepted += _accept_rows(actor, session, rows, leniencies)
    return accepted


def _accept_rows(
    actor: Membership,
    session: CalibrationSession,
    rows: list[SuggestionRow],
    leniencies: dict[int, calibration.Leniency],
) -> int:
    """Store the suggestions ``rows`` of locked appraisals without an adjustment in
    force. Queries: 1 read, then the INSERTs and UPDATE with their history."""
    if not rows:
        return 0
    by_id = {row.appraisal_id: row for row in rows}
    # Whole rows: the history copies every field.
    appraisals = list(Appraisal.objects.filter(pk__in=list(by_id)))
    now = timezone.now()
    adjustments = []
    for appraisal in appraisals:
        row = by_id[appraisal.pk]
        delta = _exact(row.delta)
        adjustments.append(
            CalibrationAdjustment(
                organization_id=appraisal.organization_id,
                appraisal=appraisal,
                session=session,
                delta=delta,
                kind=AdjustmentKind.SUGGESTED,
                reason=row.reason,
                inputs=row.inputs(leniencies),
                created_by=actor.user,
                created_at=now,
            )
        )
        score, percent = calibrated_figures(appraisal.snapshot or {}, delta)
        appraisal.calibration_delta = delta
        appraisal.calibrated_score = score
        appraisal.calibrated_percent = percent
        appraisal.version += 1
    bulk_create_with_history(
        adjustments, CalibrationAdjustment, default_user=actor.user
    )
    bulk_update_with_history(
        appraisals,
        Appraisal,
        APPRAISAL_FIELDS,
        default_user=actor.user,
        default_change_reason=_("Calibration suggestion accepted"),
    )
    return len(appraisals)


def set_adjustment(
    *,
    actor: Membership,
    session: CalibrationSession,
    appraisal: Appraisal,
    calibrated_final: Decimal,
    reason: str,
    source: str = "form",
    box: str = "",
) -> CalibrationAdjustment:
    """Set ``appraisal``'s calibrated final by hand to ``calibrated_final`` (δ =
    target − unrounded final), with ``reason``; ``source`` is ``"form"`` or
    ``"nine_box"`` (then ``box`` names the box it was dropped on). An adjustment in
    force is replaced. DomainError on ``calibrated_final`` outside the scale or
    without a score, on ``reason`` when empty (nothing changed); PermissionDenied
    when the actor may not adjust it. Queries: a fixed number (the locks, one read,
    the writes)."""
    reason = reason.strip()
    if source not in SOURCES:
        raise ValueError(f"Unknown adjustment source: {source!r}")
    with transaction.atomic():
        session, viewer = _adjusting(actor, session)
        appraisal = _lock_appraisal(actor, session, viewer, appraisal)
        found = calibration.final_of(appraisal.snapshot or {})
        if found is None:
            raise DomainError(
                _(
                    "%(name)s has no score yet, so there is nothing to calibrate. "
                    "Calibrate once their evaluations are approved."
                )
                % {"name": appraisal.employee.full_name},
                field="calibrated_final",
            )
        final, smin, smax = found
        errors = {}
        if not smin <= calibrated_final <= smax:
            errors["calibrated_final"] = _(
                "Enter a score between %(low)s and %(high)s."
            ) % {"low": _point(smin), "high": _point(smax)}
        if not reason:
            errors["reason"] = _(
                "Say why the score is adjusted; the history keeps it and HR will "
                "see it."
            )
        if len(errors) == 1:
            field, message = next(iter(errors.items()))
            raise DomainError(message, field=field)
        if errors:
            raise DomainError(
                _("Correct the marked fields; nothing was changed."), errors=errors
            )
        inputs: dict[str, object] = {
            "final": str(final),
            "target": str(calibrated_final),
            "source": source,
        }
        if source == "nine_box":
            shown = calibration.clamp(
                final + (appraisal.calibration_delta or 0), smin, smax
            )
            inputs["from_box"] = calibration.box_of(shown, smin, smax)
            inputs["to_box"] = box
        return _apply(
            actor,
            session,
            appraisal,
            delta=_exact(calibrated_final - final),
            kind=AdjustmentKind.MANUAL,
            reason=reason,
            inputs=inputs,
        )


def _point(value: Decimal) -> str:
    """A scale point as people write it: 1, 5, 2.5."""
    return f"{value.normalize():f}"


def remove_adjustment(
    *,
    actor: Membership,
    appraisal: Appraisal,
    reason: str,
    session: CalibrationSession | None = None,
) -> None:
    """Remove the adjustment in force of ``appraisal`` with ``reason`` (kept in the
    history): the appraisal shows its computed final again.

    Without ``session``: HR admins only, on an open appraisal that is not their own
    nor above them in their line. With ``session``: whoever may adjust the appraisal
    in it (``may_adjust``). DomainError on ``reason`` when empty and when there is
    no adjustment in force; PermissionDenied otherwise. Queries: a fixed number.
    """
    reason = reason.strip()
    if session is None:
        require_hr_admin(actor)
    if not reason:
        raise DomainError(
            _("Say why the adjustment is removed; the history keeps it."),
            field="reason",
        )
    with transaction.atomic():
        if session is not None:
            session, viewer = _adjusting(actor, session)
            appraisal = _lock_appraisal(actor, session, viewer, appraisal)
        else:
            appraisal = _lock_for_hr(actor, appraisal)
        if appraisal.calibration_delta is None:
            raise DomainError(
                _("%(name)s's score has no calibration adjustment to remove.")
                % {"name": appraisal.employee.full_name}
            )
        _retire_current(actor, appraisal, reason)
        appraisal.calibration_delta = None
        appraisal.calibrated_score = None
        appraisal.calibrated_percent = None
        appraisal.version += 1
        record_author(appraisal, actor.user)
        record_reason(appraisal, reason)
        appraisal.save(update_fields=APPRAISAL_FIELDS)


def _lock_for_hr(actor: Membership, appraisal: Appraisal) -> Appraisal:
    """``appraisal`` locked for an HR admin acting outside a session: open, not
    their own, nobody above them in their line (PermissionDenied; a finalised one is
    a DomainError). Three queries."""
    if appraisal.organization_id != actor.organization_id:
        raise PermissionDenied
    locked = (
        Appraisal.objects.select_for_update(of=("self",))
        .select_related("employee")
        .filter(pk=appraisal.pk)
        .first()
    )
    if locked is None:
        raise PermissionDenied
    employee = _employee_of(actor)
    if employee is not None and (
        locked.employee_id == employee.pk or locked.employee_id in chain_above(employee)
    ):
        raise PermissionDenied
    if locked.status != AppraisalStatus.OPEN:
        raise DomainError(
            _(
                "%(name)s's appraisal is finalised; its score stays as finalised. "
                "Reopen the appraisal to change its calibration."
            )
            % {"name": locked.employee.full_name}
        )
    return locked
