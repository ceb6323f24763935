"""What the calibration pages show (docs/scoring.md, "Calibration sessions"): the
session gate, the sessions list, and the session page's sections (the score
distribution against the guideline, the nine-box grid, the reviewer panel and the
suggestions table), each loaded set-based so the page costs the same number of
queries for 100 or 10,000 people in scope.

Who sees and adjusts whom is ``calibration_scope``'s (this module only reads through
it); the rules themselves are ``appraisals.calibration``'s.

Bands and thirds, in words:

- A score's *band* is the labelled point of the cycle's scale nearest to it, halfway
  rounding up (``selectors.appraisals.band_label``): in SQL, the midpoints between
  neighbouring points are the band edges, a score on an edge goes up.
- The nine-box's *performance* is the calibrated final if any, else the final, in
  thirds of the scale [smin, smax]: low below smin + (smax − smin)/3, medium below
  smin + 2(smax − smin)/3, high from there. *Potential* is the line manager's rating
  on the general evaluation; people without one sit in a strip of their own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _

from appraisals.models import (
    Appraisal,
    AppraisalSettings,
    CalibrationAdjustment,
    CalibrationParticipant,
    CalibrationSession,
    CalibrationSessionJobTitle,
    CalibrationSessionUnit,
)
from appraisals.selectors.calibration_grid import (
    Distribution,
    NineBox,
    Scale,
    SessionSettings,
    cycle_scale,
    distribution,
    nine_box,
    place,
)
from appraisals.selectors.calibration_inputs import cycle_leniency
from appraisals.selectors.calibration_panel import (
    Names,
    ReviewerPanel,
    SuggestionLine,
    competency_ids,
    reviewer_panel,
    session_names,
    suggestion_lines,
)
from appraisals.selectors.calibration_scope import (
    Viewer,
    chain_above,
    may_adjust_in,
    session_appraisals,
    sessions_visible_to,
    visible_appraisals,
    with_adjustable,
)
from engagements.enums import CycleStatus
from engagements.models import ReviewCycle
from organizations.http import TenantRequest
from organizations.models import Employee
from organizations.permissions import Access, require_hr_admin

PAGE_SIZE = 50


def adjustable(appraisal: Appraisal) -> bool:
    """Whether ``appraisal`` (annotated by ``calibration_scope.with_adjustable``)
    may be adjusted by the viewer it was loaded for."""
    return bool(getattr(appraisal, "adjustable", False))


# --- The gate -------------------------------------------------------------------------


def _settings_value(name: str) -> Subquery:
    return Subquery(AppraisalSettings.objects.values(name)[:1])


def get_session_for(
    request: TenantRequest, pk: int, *, hr_only: bool = False
) -> tuple[CalibrationSession, Viewer, SessionSettings]:
    """The calibration session ``pk`` if the caller may open it (HR admins and its
    participants; 404 for anyone else, another organisation's and unknown ids), the
    caller as the session sees them, and the organisation's calibration settings.
    With ``hr_only`` other roles get 403 before the lookup. Three queries: the
    session with its cycle, manager, the caller's participation and the settings;
    the caller's directory entry (once per request); the chain of managers above
    them."""
    membership = request.membership
    if hr_only:
        require_hr_admin(membership)
    access = Access(membership)
    employee = request.employee
    participating: Any = Value(False)
    if employee is not None:
        participating = Exists(
            CalibrationParticipant.objects.filter(
                session=OuterRef("pk"), employee=employee
            )
        )
    session = (
        sessions_visible_to(access, employee)
        .select_related("cycle", "manager")
        .annotate(
            participating=participating,
            guideline=_settings_value("calibration_guideline"),
            tolerance=_settings_value("calibration_tolerance"),
            shrinkage=_settings_value("calibration_shrinkage"),
        )
        .filter(pk=pk)
        .first()
    )
    if session is None:
        raise Http404("No such calibration session.")
    viewer = Viewer(access, employee, chain_above(employee), session.participating)
    return session, viewer, _session_settings(session)


def _session_settings(session: Any) -> SessionSettings:
    defaults = {
        f.name: f.default
        for f in AppraisalSettings._meta.fields
        if f.name.startswith("calibration_")
    }
    text = session.guideline
    if text is None:
        text = defaults["calibration_guideline"]
    tolerance = session.tolerance
    shrinkage = session.shrinkage
    return SessionSettings(
        guideline=parse_guideline(text),
        guideline_text=text,
        tolerance=defaults["calibration_tolerance"] if tolerance is None else tolerance,
        shrinkage=defaults["calibration_shrinkage"] if shrinkage is None else shrinkage,
    )


def parse_guideline(text: str) -> tuple[int, ...] | None:
    """ "10,20,40,20,10" → (10, 20, 40, 20, 10); None when it is not whole numbers
    separated by commas. No query."""
    try:
        shares = tuple(int(part) for part in text.split(","))
    except ValueError:
        return None
    return shares or None


def get_session_appraisal_for(
    request: TenantRequest, session: CalibrationSession, viewer: Viewer, pk: int
) -> Appraisal:
    """Appraisal ``pk`` as ``viewer`` sees it in ``session`` (404 when the session
    does not show it to them), with ``adjustable``; PermissionDenied when they may
    not adjust it (``calibration_scope.may_adjust``'s rule). One query."""
    appraisal = (
        with_adjustable(visible_appraisals(session, viewer), session, viewer)
        .select_related("employee", "cycle")
        .filter(pk=pk)
        .first()
    )
    if appraisal is None:
        raise Http404("No such appraisal in this session.")
    if not adjustable(appraisal):
        raise PermissionDenied
    return appraisal


# --- The sessions list ----------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    session: CalibrationSession
    scope: str  # in words
    covered: int
    adjustments: int


def sessions_for(access: Access, employee: Employee | None) -> QuerySet[Any]:
    """The sessions the member may open (``sessions_visible_to``), newest first,
    each with ``adjustment_count`` (adjustments in force made in it). Builds a
    queryset only."""
    in_force = (
        CalibrationAdjustment.objects.filter(
            session=OuterRef("pk"), removed_at__isnull=True
        )
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        sessions_visible_to(access, employee)
        .select_related("cycle", "manager")
        .annotate(adjustment_count=Coalesce(Subquery(in_force), 0))
        .order_by("-opened_at", "-pk")
    )


def session_rows(sessions: Sequence[Any]) -> list[SessionRow]:
    """``sessions`` (of ``sessions_for``) with their scope in words and the people
    each covers. Two queries whatever their number (the people covered, as one
    UNION of counts; the names of their units and titles); none without
    sessions."""
    if not sessions:
        return []
    parts = [
        session_appraisals(s)
        .order_by()
        .values("cycle_id")
        .annotate(n=Count("pk"), session=Value(s.pk, IntegerField()))
        .values_list("session", "n")
        for s in sessions
    ]
    counts = dict(parts[0].union(*parts[1:], all=True))
    names = _scope_names([s.pk for s in sessions])
    return [
        SessionRow(
            s,
            scope_text(s, names.get(s.pk, [])),
            counts.get(s.pk, 0),
            s.adjustment_count,
        )
        for s in sessions
    ]


def _scope_names(session_ids: Sequence[int]) -> dict[int, list[str]]:
    """The names of the business units and job titles of the sessions. One query."""
    units = CalibrationSessionUnit.objects.filter(
        session_id__in=session_ids
    ).values_list("session_id", "business_unit__name")
    titles = CalibrationSessionJobTitle.objects.filter(
        session_id__in=session_ids
    ).values_list("session_id", "job_title__name")
    found: dict[int, list[str]] = defaultdict(list)
    for session_id, name in units.union(titles, all=True):
        found[session_id].append(name)
    return {pk: sorted(names, key=str.casefold) for pk, names in found.items()}


def scope_text(session: CalibrationSession, names: Sequence[str]) -> str:
    """The session's scope in words. No query when its manager is loaded."""
    if session.scope == "business_units":
        return _("Business units: %(names)s") % {"names": ", ".join(names) or "—"}
    if session.scope == "job_titles":
        return _("Job titles: %(names)s") % {"names": ", ".join(names) or "—"}
    if session.scope == "manager_line":
        manager = session.manager.full_name if session.manager else "—"
        return _("Everyone below %(name)s in the line") % {"name": manager}
    return _("The whole organisation")


def review_cycles() -> QuerySet[ReviewCycle]:
    """The cycles a session may be opened for: those in review. Builds only."""
    return ReviewCycle.objects.filter(status=CycleStatus.REVIEW).order_by(
        "-start_date", "name"
    )


# --- The page --------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionPage:
    session: CalibrationSession
    viewer: Viewer
    settings: SessionSettings
    scale: Scale | None
    names: Names
    distribution: Distribution | None
    grid: NineBox | None
    panel: ReviewerPanel
    lines: list[SuggestionLine]
    page_obj: Any
    may_adjust: bool
    scope_text: str
    cycle_in_review: bool


def session_page(
    session: CalibrationSession,
    viewer: Viewer,
    settings: SessionSettings,
    *,
    page: str | None,
    all_reviewers: bool,
) -> SessionPage:
    """Everything the session page shows to ``viewer``. Six queries, whatever the
    number of people in scope: the scale, the leniency tallies, the names, the scope
    placed in bands and boxes (``place``), one page of the suggestions table (its
    count comes from ``place``) and its approved reviews (``suggestion_lines``,
    which takes the page's snapshots and the reviewers' names from the others)."""
    seen = with_adjustable(visible_appraisals(session, viewer), session, viewer)
    scale = cycle_scale(session.cycle)
    found = place(seen, scale) if scale is not None else None
    leniencies = cycle_leniency(session.cycle_id, settings.shrinkage)
    names = session_names(session, leniencies, competency_ids(leniencies.values()))
    # People with a score first (the ones there is something to calibrate), then
    # by name.
    unscored = Case(When(final_score__isnull=True, then=1), default=0)
    rows = seen.select_related("employee").order_by(
        unscored, "employee__full_name", "pk"
    )
    paginator = Paginator(rows, PAGE_SIZE)
    if found is not None:
        paginator.count = found.total
    page_obj = paginator.get_page(page)
    lines = suggestion_lines(
        list(page_obj.object_list),
        leniencies,
        settings.shrinkage,
        scale,
        names.reviewers,
    )
    return SessionPage(
        session=session,
        viewer=viewer,
        settings=settings,
        scale=scale,
        names=names,
        distribution=distribution(found, scale, settings) if found and scale else None,
        grid=nine_box(found) if found else None,
        panel=reviewer_panel(leniencies, names, show_all=all_reviewers),
        lines=lines,
        page_obj=page_obj,
        may_adjust=may_adjust_in(session, viewer),
        scope_text=scope_text(session, names.scope),
        cycle_in_review=session.cycle.status == CycleStatus.REVIEW,
    )
