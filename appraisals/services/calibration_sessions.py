"""Calibration sessions: HR opens one over a cycle in review and a scope, with the
managers taking part, and closes it (docs/scoring.md, "Calibration sessions").
Keyword-only services taking the acting ``Membership``, each in one transaction;
refusals are ``DomainError`` on the field to blame (nothing is created), callers
without the role get ``PermissionDenied``. Adjusting scores in a session is
``services.calibration``'s.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, Model, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from simple_history.utils import bulk_create_with_history

from appraisals.enums import (
    CalibrationScope,
    SessionStatus,
)
from appraisals.models import (
    CalibrationParticipant,
    CalibrationSession,
    CalibrationSessionJobTitle,
    CalibrationSessionUnit,
)
from appraisals.selectors.calibration_scope import (
    scope_q,
)
from engagements.enums import CycleStatus
from engagements.models import ReviewCycle
from organizations.errors import DomainError
from organizations.history import record_author
from organizations.models import BusinessUnit, Employee, JobTitle, Membership
from organizations.permissions import require_hr_admin


def _ids(values: Iterable[Model | int]) -> list[int]:
    """Distinct ids in the order given (model instances or ids)."""
    return list(dict.fromkeys(v if isinstance(v, int) else v.pk for v in values))


# --- Sessions ---------------------------------------------------------------------------


def open_session(
    *,
    actor: Membership,
    cycle: ReviewCycle,
    name: str,
    scope: str,
    business_units: Iterable[BusinessUnit | int] = (),
    job_titles: Iterable[JobTitle | int] = (),
    manager: Employee | None = None,
    participants: Iterable[Employee | int] = (),
) -> CalibrationSession:
    """Open a calibration session over ``cycle`` and a scope (HR admins only,
    PermissionDenied otherwise).

    The cycle must be in review; a scope of business units or job titles names at
    least one, a manager's line names the manager; participants are active line
    managers (at least one active direct report) with a login; HR admins always take
    part and are not listed. Every refusal is a DomainError on the field to blame,
    and nothing is created. Queries: a fixed number (about 10).
    """
    require_hr_admin(actor)
    if cycle.organization_id != actor.organization_id:
        raise PermissionDenied
    name = name.strip()
    if not name:
        raise DomainError(
            _("Give the session a name, e.g. the cycle and the people it covers."),
            field="name",
        )
    if cycle.status != CycleStatus.REVIEW:
        raise DomainError(
            _(
                "Calibration needs a cycle in review; %(cycle)s is not. Calibrate "
                "once its evaluations are being reviewed."
            )
            % {"cycle": cycle.name}
        )
    if scope not in CalibrationScope.values:
        raise DomainError(_("Choose whose appraisals the session covers."), "scope")
    unit_ids = _ids(business_units) if scope == CalibrationScope.BUSINESS_UNITS else []
    title_ids = _ids(job_titles) if scope == CalibrationScope.JOB_TITLES else []
    with transaction.atomic():
        units = _existing(BusinessUnit, unit_ids, "business_units")
        titles = _existing(JobTitle, title_ids, "job_titles")
        if scope == CalibrationScope.BUSINESS_UNITS and not units:
            raise DomainError(
                _("Choose at least one business unit for the session."),
                field="business_units",
            )
        if scope == CalibrationScope.JOB_TITLES and not titles:
            raise DomainError(
                _("Choose at least one job title for the session."),
                field="job_titles",
            )
        line_manager = None
        if scope == CalibrationScope.MANAGER_LINE:
            if manager is None or manager.organization_id != actor.organization_id:
                raise DomainError(
                    _("Choose the manager whose line the session calibrates."),
                    field="manager",
                )
            line_manager = manager
        session = CalibrationSession(
            organization=actor.organization,
            cycle=cycle,
            name=name,
            scope=scope,
            manager=line_manager,
            opened_by=actor.user,
        )
        record_author(session, actor.user)
        session.save()
        org = actor.organization
        CalibrationSessionUnit.objects.bulk_create(
            [
                CalibrationSessionUnit(
                    organization=org, session=session, business_unit_id=u
                )
                for u in units
            ]
        )
        CalibrationSessionJobTitle.objects.bulk_create(
            [
                CalibrationSessionJobTitle(
                    organization=org, session=session, job_title_id=t
                )
                for t in titles
            ]
        )
        people = _participants(_ids(participants), session)
        bulk_create_with_history(
            [
                CalibrationParticipant(organization=org, session=session, employee=p)
                for p in people
            ],
            CalibrationParticipant,
            default_user=actor.user,
        )
    return session


def _existing(
    model: type[BusinessUnit] | type[JobTitle], ids: list[int], field: str
) -> list[int]:
    """``ids``, once each is a row of ``model`` in this organisation; a DomainError
    on ``field`` otherwise. One query (none without ids)."""
    if ids and model.objects.filter(pk__in=ids).count() != len(ids):
        raise DomainError(
            _("Some of the chosen entries no longer exist. Reload and choose again."),
            field=field,
        )
    return ids


def _participants(ids: list[int], session: CalibrationSession) -> list[Employee]:
    """The employees ``ids`` if each is an active line manager with a login who
    manages someone ``session`` covers (its scope links saved already); a
    DomainError on ``participants`` naming the others (the caller's transaction
    then undoes the session). Two queries at most."""
    if not ids:
        return []
    in_scope = Employee.objects.filter(
        scope_q(session, prefix=""), line_manager=OuterRef("pk"), is_active=True
    )
    managers = list(
        Employee.objects.filter(pk__in=ids, is_active=True, user__isnull=False)
        .filter(Exists(in_scope))
        .order_by("full_name", "pk")
    )
    found = {m.pk for m in managers}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        names = list(
            Employee.objects.filter(pk__in=missing)
            .order_by("full_name")
            .values_list("full_name", flat=True)
        )
        raise DomainError(
            ngettext(
                "%(names)s cannot take part: participants are active line managers "
                "with a login who manage someone in the session's scope. Choose "
                "managers of the people being calibrated.",
                "%(names)s cannot take part: participants are active line managers "
                "with a login who manage someone in the session's scope. Choose "
                "managers of the people being calibrated.",
                len(missing),
            )
            % {"names": ", ".join(names) or _("someone unknown")},
            field="participants",
        )
    return managers


def close_session(
    *, actor: Membership, session: CalibrationSession
) -> CalibrationSession:
    """Close an open session (HR admins only, PermissionDenied otherwise): no more
    adjustments in it, and it now counts as covering its scope for finalisation.
    A closed session raises DomainError. Queries: 2 (lock, update) and history."""
    require_hr_admin(actor)
    with transaction.atomic():
        session = lock_session(actor, session)
        if session.status != SessionStatus.OPEN:
            raise DomainError(_("This session is closed already."))
        session.status = SessionStatus.CLOSED
        session.closed_by = actor.user
        session.closed_at = timezone.now()
        session.version += 1
        record_author(session, actor.user)
        session.save()
    return session


def lock_session(actor: Membership, session: CalibrationSession) -> CalibrationSession:
    """``session`` locked, with its cycle; PermissionDenied when it is not of the
    actor's organisation. One query."""
    if session.organization_id != actor.organization_id:
        raise PermissionDenied
    locked = (
        CalibrationSession.objects.select_for_update(of=("self",))
        .select_related("cycle", "organization")
        .filter(pk=session.pk)
        .first()
    )
    if locked is None:
        raise PermissionDenied
    return locked
