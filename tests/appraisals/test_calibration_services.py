"""Calibration services (``appraisals.services.calibration``): sessions, accepting
suggestions, manual adjustments and their removal, separation of duties, recomputes
that keep δ, and the finalisation gate of an organisation that requires calibration.

The world is the worked example of tests/appraisals/test_calibration_rules.py (its
module docstring computes every figure by hand): Lee is lenient (ŝ = 0.65625), Hart
harsh (ŝ = −0.61875), Ned below the minimum (ŝ = 0). Ada (managed by Lee): final
4.58, suggestion δ = +0.0975, calibrated 4.68 (91.94 %). Ben (managed by Ned):
final 4.135, δ = −0.2025, calibrated 3.93 (73.31 %). Cy (Lee's) and Dee (Ned's) have
scores and non-zero suggestions too; Eve (Lee's) has no approved review, so no score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appraisals import calibration, scores
from appraisals.enums import (
    AdjustmentKind,
    AppraisalStatus,
    CalibrationScope,
    SessionStatus,
)
from appraisals.models import (
    Appraisal,
    AppraisalSettings,
    CalibrationAdjustment,
    CalibrationParticipant,
    CalibrationSession,
    CompetencyRating,
)
from appraisals.selectors import calibration_inputs, calibration_suggestions
from appraisals.services import appraisals as finalisation
from appraisals.services import bulk
from appraisals.services import calibration as services
from engagements.enums import CycleStatus
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisal_factories import AppraisalFactory
from tests.appraisals.test_calibration_rules import HART, LEE, NED, World, build_world
from tests.engagement_factories import ReviewCycleFactory

pytestmark = pytest.mark.django_db

D = Decimal
MINUS = "\N{MINUS SIGN}"


@dataclass
class Calibration:
    """The worked example with an HR admin and the three reviewers as members."""

    org: Organization
    world: World
    hr: Membership
    lee: Membership
    ned: Membership
    hart: Membership

    def appraisal(self, name: str) -> Appraisal:
        with tenant_context(self.org):
            return Appraisal.objects.select_related("employee").get(
                cycle=self.world.cycle, employee__full_name=name
            )

    def employee(self, name: str) -> Employee:
        with tenant_context(self.org):
            return Employee.objects.get(full_name=name)

    def session(self, **kw: Any) -> CalibrationSession:
        """An open session over the whole organisation (or as ``kw`` say), opened
        by HR with Lee taking part."""
        fields: dict[str, Any] = {
            "name": "2026 H1 calibration",
            "scope": CalibrationScope.ORGANIZATION,
            "participants": [self.world.reviewers[LEE]],
        }
        fields.update(kw)
        with tenant_context(self.org):
            return services.open_session(
                actor=self.hr, cycle=self.world.cycle, **fields
            )


@pytest.fixture
def cal(org: Organization, make_member: Callable[..., Membership]) -> Calibration:
    world = build_world(org)
    members = {
        key: make_member(org, Role.MANAGER, employee=world.reviewers[key])
        for key in (LEE, NED, HART)
    }
    with tenant_context(org):
        scores.recompute_appraisals(
            Appraisal.objects.filter(cycle=world.cycle).values_list("pk", flat=True)
        )
    return Calibration(
        org=org,
        world=world,
        hr=make_member(org, Role.HR_ADMIN),
        lee=members[LEE],
        ned=members[NED],
        hart=members[HART],
    )


def _adjustments(org: Organization) -> list[tuple[str, Decimal, bool]]:
    with tenant_context(org):
        rows = CalibrationAdjustment.objects.order_by("pk").values_list(
            "appraisal__employee__full_name", "delta", "removed_at"
        )
        return [(name, delta, removed is None) for name, delta, removed in rows]


def _figures(appraisal: Appraisal) -> tuple[Any, Any, Any]:
    with tenant_context(appraisal.organization):
        appraisal.refresh_from_db()
    return (
        appraisal.calibration_delta,
        appraisal.calibrated_score,
        appraisal.calibrated_percent,
    )


# --- Sessions ----------------------------------------------------------------------------


def test_hr_opens_a_session_with_its_participants(cal):
    session = cal.session()

    with tenant_context(cal.org):
        participants = list(
            CalibrationParticipant.objects.filter(session=session).values_list(
                "employee__full_name", flat=True
            )
        )
    assert session.status == SessionStatus.OPEN
    assert session.opened_by == cal.hr.user
    assert participants == ["Bo Lee"]


def test_only_hr_opens_a_session(cal):
    with pytest.raises(PermissionDenied), tenant_context(cal.org):
        services.open_session(
            actor=cal.lee,
            cycle=cal.world.cycle,
            name="Mine",
            scope=CalibrationScope.ORGANIZATION,
        )


def test_a_session_needs_a_cycle_in_review(cal):
    with tenant_context(cal.org):
        planning = ReviewCycleFactory(
            organization=cal.org, name="2027 H1", status=CycleStatus.IN_PROGRESS
        )

    with (
        pytest.raises(DomainError, match="Calibration needs a cycle in review"),
        tenant_context(cal.org),
    ):
        services.open_session(
            actor=cal.hr,
            cycle=planning,
            name="Too early",
            scope=CalibrationScope.ORGANIZATION,
        )
    with tenant_context(cal.org):
        assert not CalibrationSession.objects.exists()


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        (CalibrationScope.BUSINESS_UNITS, "business_units"),
        (CalibrationScope.JOB_TITLES, "job_titles"),
        (CalibrationScope.MANAGER_LINE, "manager"),
    ],
)
def test_a_scope_needs_what_it_names(cal, scope, field):
    with pytest.raises(DomainError) as refused:
        cal.session(scope=scope)

    assert refused.value.field == field
    with tenant_context(cal.org):
        assert not CalibrationSession.objects.exists()


def test_participants_manage_someone_in_scope(cal):
    """Lee manages nobody below Ned: no participant of a session over Ned's line."""
    with pytest.raises(DomainError) as refused:
        cal.session(
            scope=CalibrationScope.MANAGER_LINE, manager=cal.world.reviewers[NED]
        )

    assert refused.value.field == "participants"
    assert "Bo Lee cannot take part" in str(refused.value)
    with tenant_context(cal.org):
        assert not CalibrationSession.objects.exists()


def test_participants_are_line_managers(cal):
    with pytest.raises(DomainError, match="Ada cannot take part") as refused:
        cal.session(participants=[cal.employee("Ada"), cal.world.reviewers[LEE]])

    assert refused.value.field == "participants"
    with tenant_context(cal.org):
        assert not CalibrationSession.objects.exists()


def test_hr_closes_a_session_once(cal):
    session = cal.session()

    with tenant_context(cal.org):
        closed = services.close_session(actor=cal.hr, session=session)
        with pytest.raises(DomainError, match="closed already"):
            services.close_session(actor=cal.hr, session=session)

    assert closed.status == SessionStatus.CLOSED
    assert closed.closed_by == cal.hr.user
    assert closed.closed_at is not None


def test_a_manager_cannot_close_a_session(cal):
    session = cal.session()

    with pytest.raises(PermissionDenied), tenant_context(cal.org):
        services.close_session(actor=cal.lee, session=session)


# --- Accepting suggestions ------------------------------------------------------------------


def test_accepting_stores_the_suggestion_exactly(cal):
    session = cal.session()
    ada = cal.appraisal("Ada")

    with tenant_context(cal.org):
        adjustment = services.accept_suggestion(
            actor=cal.hr, session=session, appraisal=ada
        )

    assert adjustment.kind == AdjustmentKind.SUGGESTED
    assert adjustment.delta == D("0.0975")
    assert _figures(ada) == (D("0.0975"), D("4.68"), D("91.94"))
    assert adjustment.reason.startswith(
        "Rated by Bo Lee (+0.66 lenient over 6 ratings) on "
    )
    assert f"; by Hal Hart ({MINUS}0.62 harsh over 6 ratings) on " in adjustment.reason
    inputs = adjustment.inputs
    assert (D(inputs["final"]), D(inputs["suggested"]), D(inputs["delta"])) == (
        D("4.58"),
        D("4.6775"),
        D("0.0975"),
    )
    assert [(p["reviewer"], D(p["corrected"])) for p in inputs["plans"]] == [
        ("Bo Lee", D("4.19375")),
        ("Hal Hart", D(5)),
    ]
    assert [
        (r["name"], D(r["shrunk"]), r["compared"], r["k"]) for r in inputs["reviewers"]
    ] == [
        ("Bo Lee", D("0.65625"), 6, 10),
        ("Hal Hart", D("-0.61875"), 6, 10),
    ]
    with tenant_context(cal.org):
        assert ada.history.first().history_user == cal.hr.user


def test_accepting_a_harsh_reviewers_suggestion_and_naming_a_reviewer_with_few_ratings(
    cal,
):
    session = cal.session()
    ben = cal.appraisal("Ben")

    with tenant_context(cal.org):
        adjustment = services.accept_suggestion(
            actor=cal.hr, session=session, appraisal=ben
        )

    assert _figures(ben) == (D("-0.2025"), D("3.93"), D("73.31"))
    assert "Nia Ned (too few ratings to correct: 4 compared ratings)" in (
        adjustment.reason
    )


def test_accepting_again_replaces_the_adjustment_in_force(cal):
    session = cal.session()
    ada = cal.appraisal("Ada")

    with tenant_context(cal.org):
        services.accept_suggestion(actor=cal.hr, session=session, appraisal=ada)
        services.accept_suggestion(actor=cal.hr, session=session, appraisal=ada)
        removed = CalibrationAdjustment.objects.filter(removed_at__isnull=False).get()

    assert _adjustments(cal.org) == [
        ("Ada", D("0.0975"), False),
        ("Ada", D("0.0975"), True),
    ]
    assert removed.removal_reason == "Replaced by a new adjustment"


def test_accepting_without_a_score_is_refused(cal):
    session = cal.session()

    with (
        pytest.raises(DomainError, match="Eve has no score yet"),
        tenant_context(cal.org),
    ):
        services.accept_suggestion(
            actor=cal.hr, session=session, appraisal=cal.appraisal("Eve")
        )
    assert _adjustments(cal.org) == []


def test_accept_all_accepts_every_non_zero_suggestion_once(cal):
    session = cal.session()

    with tenant_context(cal.org):
        first = services.accept_all(actor=cal.hr, session=session)
        again = services.accept_all(actor=cal.hr, session=session)

    assert (first, again) == (4, 0)
    assert sorted(name for name, _d, _f in _adjustments(cal.org)) == [
        "Ada",
        "Ben",
        "Cy",
        "Dee",
    ]
    assert _figures(cal.appraisal("Ada")) == (D("0.0975"), D("4.68"), D("91.94"))
    assert _figures(cal.appraisal("Ben")) == (D("-0.2025"), D("3.93"), D("73.31"))


def test_accept_all_by_a_participating_manager_covers_their_line_only(cal):
    session = cal.session()

    with tenant_context(cal.org):
        accepted = services.accept_all(actor=cal.lee, session=session)

    assert accepted == 2
    assert sorted(name for name, _d, _f in _adjustments(cal.org)) == ["Ada", "Cy"]


@pytest.mark.parametrize(
    ("line", "accepted"), [(False, 4), (True, 2)], ids=["everyone", "neds-line"]
)
def test_accept_all_query_count_does_not_grow_with_the_people(cal, line, accepted):
    scope = {
        "scope": CalibrationScope.MANAGER_LINE,
        "manager": cal.world.reviewers[NED],
        "participants": [],
    }
    session = cal.session(**(scope if line else {}))

    with tenant_context(cal.org), CaptureQueriesContext(connection) as queries:
        done = services.accept_all(actor=cal.hr, session=session)

    assert done == accepted
    # The same whatever the number: a savepoint and its release, the session and
    # viewer (4), the ids, k, the tallies, the suggestions (3), one read, the
    # adjustments and their history, the appraisals and their history.
    assert len(queries) == 17


# --- Manual adjustments ----------------------------------------------------------------------


def test_setting_a_calibrated_final_by_hand(cal):
    session = cal.session()
    ada = cal.appraisal("Ada")

    with tenant_context(cal.org):
        adjustment = services.set_adjustment(
            actor=cal.hr,
            session=session,
            appraisal=ada,
            calibrated_final=D("4.2"),
            reason="Agreed in the meeting: delivery slipped twice.",
            source="nine_box",
            box="medium",
        )

    assert adjustment.kind == AdjustmentKind.MANUAL
    assert _figures(ada) == (D("-0.38"), D("4.20"), D("80.00"))
    assert D(adjustment.inputs.pop("final")) == D("4.58")
    assert adjustment.inputs == {
        "target": "4.2",
        "source": "nine_box",
        "from_box": "high",
        "to_box": "medium",
    }


@pytest.mark.parametrize(
    ("target", "reason", "field", "message"),
    [
        (D("5.5"), "Too high", "calibrated_final", "Enter a score between 1 and 5."),
        (D("0.5"), "Too low", "calibrated_final", "Enter a score between 1 and 5."),
        (D("4"), "   ", "reason", "Say why the score is adjusted"),
    ],
)
def test_a_bad_manual_value_changes_nothing(cal, target, reason, field, message):
    session = cal.session()
    ada = cal.appraisal("Ada")

    with pytest.raises(DomainError) as refused, tenant_context(cal.org):
        services.set_adjustment(
            actor=cal.hr,
            session=session,
            appraisal=ada,
            calibrated_final=target,
            reason=reason,
        )

    assert refused.value.field == field
    assert refused.value.message.startswith(message)
    assert _figures(ada) == (None, None, None)
    assert _adjustments(cal.org) == []


def test_a_closed_session_takes_no_adjustment(cal):
    session = cal.session()
    with tenant_context(cal.org):
        services.close_session(actor=cal.hr, session=session)

    with (
        pytest.raises(DomainError, match="This session is closed"),
        tenant_context(cal.org),
    ):
        services.accept_suggestion(
            actor=cal.hr, session=session, appraisal=cal.appraisal("Ada")
        )


# --- Removal -----------------------------------------------------------------------------


def test_removing_needs_a_reason_and_clears_the_figures(cal):
    session = cal.session()
    ada = cal.appraisal("Ada")
    with tenant_context(cal.org):
        services.accept_suggestion(actor=cal.hr, session=session, appraisal=ada)

    with pytest.raises(DomainError) as refused, tenant_context(cal.org):
        services.remove_adjustment(actor=cal.hr, appraisal=ada, reason=" ")
    assert refused.value.field == "reason"
    assert _figures(ada) == (D("0.0975"), D("4.68"), D("91.94"))

    with tenant_context(cal.org):
        services.remove_adjustment(
            actor=cal.hr, appraisal=ada, reason="The panel changed its mind."
        )
        removed = CalibrationAdjustment.objects.get()

    assert _figures(ada) == (None, None, None)
    assert removed.removal_reason == "The panel changed its mind."
    assert removed.removed_by == cal.hr.user


def test_removing_without_an_adjustment_is_refused(cal):
    with (
        pytest.raises(DomainError, match="no calibration adjustment to remove"),
        tenant_context(cal.org),
    ):
        services.remove_adjustment(
            actor=cal.hr, appraisal=cal.appraisal("Ada"), reason="Tidy up"
        )


def test_a_manager_removes_only_in_a_session(cal):
    session = cal.session()
    ada = cal.appraisal("Ada")
    with tenant_context(cal.org):
        services.accept_suggestion(actor=cal.hr, session=session, appraisal=ada)

    with pytest.raises(PermissionDenied), tenant_context(cal.org):
        services.remove_adjustment(actor=cal.lee, appraisal=ada, reason="Mine")
    with tenant_context(cal.org):
        services.remove_adjustment(
            actor=cal.lee, appraisal=ada, reason="Too generous", session=session
        )

    assert _figures(ada) == (None, None, None)


# --- Separation of duties ------------------------------------------------------------------


def test_nobody_adjusts_their_own_score(cal, make_member):
    ada_member = make_member(cal.org, Role.HR_ADMIN, employee=cal.employee("Ada"))
    session = cal.session()

    with pytest.raises(PermissionDenied), tenant_context(cal.org):
        services.accept_suggestion(
            actor=ada_member, session=session, appraisal=cal.appraisal("Ada")
        )
    with pytest.raises(PermissionDenied), tenant_context(cal.org):
        services.remove_adjustment(
            actor=ada_member, appraisal=cal.appraisal("Ada"), reason="Mine"
        )
    assert _adjustments(cal.org) == []


def test_nobody_adjusts_their_own_line_managers_score(cal, make_member):
    # Cy reports to Lee; as an HR admin Cy still may not adjust Lee.
    cy_member = make_member(cal.org, Role.HR_ADMIN, employee=cal.employee("Cy"))
    with tenant_context(cal.org):
        lee_appraisal = AppraisalFactory(
            cycle=cal.world.cycle, employee=cal.world.reviewers[LEE]
        )
    session = cal.session()

    with pytest.raises(PermissionDenied), tenant_context(cal.org):
        services.set_adjustment(
            actor=cy_member,
            session=session,
            appraisal=lee_appraisal,
            calibrated_final=D(3),
            reason="Harsh on everyone",
        )
    # Another HR admin may.
    with pytest.raises(DomainError, match="no score yet"), tenant_context(cal.org):
        services.set_adjustment(
            actor=cal.hr,
            session=session,
            appraisal=lee_appraisal,
            calibrated_final=D(3),
            reason="Harsh on everyone",
        )


def test_a_participating_manager_adjusts_their_own_line_only(cal):
    session = cal.session()

    with pytest.raises(PermissionDenied), tenant_context(cal.org):
        services.accept_suggestion(
            actor=cal.lee, session=session, appraisal=cal.appraisal("Ben")
        )
    with tenant_context(cal.org):
        services.accept_suggestion(
            actor=cal.lee, session=session, appraisal=cal.appraisal("Ada")
        )

    assert _adjustments(cal.org) == [("Ada", D("0.0975"), True)]


def test_a_manager_who_does_not_take_part_adjusts_nobody(cal):
    session = cal.session()

    with pytest.raises(PermissionDenied), tenant_context(cal.org):
        services.accept_suggestion(
            actor=cal.ned, session=session, appraisal=cal.appraisal("Ben")
        )
    with pytest.raises(PermissionDenied), tenant_context(cal.org):
        services.accept_all(actor=cal.ned, session=session)


def test_a_session_outside_its_scope_adjusts_nobody(cal):
    session = cal.session(
        scope=CalibrationScope.MANAGER_LINE,
        manager=cal.world.reviewers[NED],
        participants=[],
    )

    with pytest.raises(PermissionDenied), tenant_context(cal.org):
        services.accept_suggestion(
            actor=cal.hr, session=session, appraisal=cal.appraisal("Ada")
        )
    with tenant_context(cal.org):
        accepted = services.accept_all(actor=cal.hr, session=session)

    assert accepted == 2  # Ben and Dee
    assert sorted(name for name, _d, _f in _adjustments(cal.org)) == ["Ben", "Dee"]


def test_another_organisations_member_adjusts_nothing(cal, other_org, make_member):
    stranger = make_member(other_org, Role.HR_ADMIN)
    session = cal.session()

    with pytest.raises(PermissionDenied), tenant_context(other_org):
        services.accept_suggestion(
            actor=stranger, session=session, appraisal=cal.appraisal("Ada")
        )
    with pytest.raises(PermissionDenied), tenant_context(other_org):
        services.close_session(actor=stranger, session=session)
    assert _adjustments(cal.org) == []


# --- Recomputing keeps δ ---------------------------------------------------------------------


def _rate_ada_x_c1(cal: Calibration, value: int) -> None:
    with tenant_context(cal.org):
        CompetencyRating.objects.filter(
            evaluation__plan=cal.world.plans["ada X"],
            plan_competency__competency_id=cal.world.competencies["c1"],
        ).update(value=D(value))


def test_a_recompute_keeps_delta_and_moves_the_calibrated_final(cal):
    session = cal.session()
    ada = cal.appraisal("Ada")
    with tenant_context(cal.org):
        services.accept_suggestion(actor=cal.hr, session=session, appraisal=ada)
    _rate_ada_x_c1(cal, 5)

    with tenant_context(cal.org):
        scores.recompute_appraisals([ada.pk])
        ada.refresh_from_db()

    # E(X) = 0.7 × 5 + 0.3 × 4 = 4.7; final 0.4 × 4.85 + 0.6 × 4.7 = 4.76;
    # calibrated 4.76 + 0.0975 = 4.8575 → 4.86, 3.8575 / 4 → 96.44 %.
    assert calibration.final_of(ada.snapshot) == (D("4.76"), D(1), D(5))
    assert ada.final_score == D("4.76")
    assert _figures(ada) == (D("0.0975"), D("4.86"), D("96.44"))


def test_a_cycle_recompute_keeps_delta(cal):
    session = cal.session()
    with tenant_context(cal.org):
        services.accept_all(actor=cal.hr, session=session)
    _rate_ada_x_c1(cal, 5)

    with tenant_context(cal.org):
        scores.recompute_cycle(cal.world.cycle)

    assert _figures(cal.appraisal("Ada")) == (D("0.0975"), D("4.86"), D("96.44"))
    assert _figures(cal.appraisal("Ben")) == (D("-0.2025"), D("3.93"), D("73.31"))


def test_finalising_and_reopening_keep_delta(cal):
    session = cal.session()
    ada = cal.appraisal("Ada")
    with tenant_context(cal.org):
        services.accept_suggestion(actor=cal.hr, session=session, appraisal=ada)
        finalisation.finalise_appraisals(actor=cal.hr, appraisals=[ada.pk])
    _rate_ada_x_c1(cal, 5)
    with tenant_context(cal.org):
        scores.recompute_appraisals([ada.pk])  # frozen: nothing moves
    assert _figures(ada) == (D("0.0975"), D("4.68"), D("91.94"))

    with tenant_context(cal.org):
        ada = finalisation.reopen_appraisal(
            actor=cal.hr, appraisal=ada, reason="A rating was wrong."
        )

    assert ada.status == AppraisalStatus.OPEN
    assert _figures(ada) == (D("0.0975"), D("4.86"), D("96.44"))


def test_adjusting_a_finalised_appraisal_is_refused(cal):
    session = cal.session()
    ada = cal.appraisal("Ada")
    with tenant_context(cal.org):
        finalisation.finalise_appraisals(actor=cal.hr, appraisals=[ada.pk])

    with (
        pytest.raises(DomainError, match="Reopen the appraisal"),
        tenant_context(cal.org),
    ):
        services.accept_suggestion(actor=cal.hr, session=session, appraisal=ada)


# --- The finalisation gate ---------------------------------------------------------------------


def _require_calibration(org: Organization) -> None:
    with tenant_context(org):
        AppraisalSettings.objects.update_or_create(
            organization=org, defaults={"calibration_required": True}
        )


def test_a_required_session_blocks_finalisation_with_whom_and_what_to_do(cal):
    _require_calibration(cal.org)
    cal.session()  # open, so it does not count yet
    ada = cal.appraisal("Ada")

    with pytest.raises(DomainError) as refused, tenant_context(cal.org):
        finalisation.finalise_appraisals(actor=cal.hr, appraisals=[ada.pk])

    assert refused.value.message == (
        f"Calibrate first: no closed calibration session of {cal.world.cycle.name} "
        "covers Ada. Close a session whose scope includes them (Calibration, in the "
        "cycle's menu), then finalise."
    )
    assert cal.appraisal("Ada").status == AppraisalStatus.OPEN


def test_a_closed_covering_session_lets_finalisation_through(cal):
    _require_calibration(cal.org)
    session = cal.session()
    with tenant_context(cal.org):
        services.close_session(actor=cal.hr, session=session)
        finalisation.finalise_appraisals(
            actor=cal.hr, appraisals=[cal.appraisal("Ada").pk]
        )

    assert cal.appraisal("Ada").status == AppraisalStatus.FINALIZED


def test_a_closed_session_of_another_scope_does_not_cover(cal):
    _require_calibration(cal.org)
    session = cal.session(
        scope=CalibrationScope.MANAGER_LINE,
        manager=cal.world.reviewers[NED],
        participants=[],
    )
    with tenant_context(cal.org):
        services.close_session(actor=cal.hr, session=session)
        finalisation.finalise_appraisals(
            actor=cal.hr, appraisals=[cal.appraisal("Ben").pk]
        )

    with pytest.raises(DomainError, match="Calibrate first"), tenant_context(cal.org):
        finalisation.finalise_appraisals(
            actor=cal.hr, appraisals=[cal.appraisal("Ada").pk]
        )


def test_a_required_session_blocks_bulk_finalisation(cal):
    _require_calibration(cal.org)
    session = cal.session(
        scope=CalibrationScope.MANAGER_LINE,
        manager=cal.world.reviewers[NED],
        participants=[],
    )
    with tenant_context(cal.org):
        services.close_session(actor=cal.hr, session=session)
        selection = Appraisal.objects.filter(
            employee__full_name__in=["Ada", "Ben", "Cy"]
        )
        outcome = bulk.finalise_matching(
            actor=cal.hr, cycle=cal.world.cycle, appraisals=selection, expected=3
        )

    assert outcome.done == 1  # Ben, whom Ned's closed session covers
    assert outcome.skipped == [("no closed calibration session covers it", 2)]
    assert outcome.skipped_text() == (
        "2 skipped: no closed calibration session covers it (2). Calibrate first: "
        f"no closed calibration session of {cal.world.cycle.name} covers Ada, Cy. "
        "Close a session whose scope includes them (Calibration, in the cycle's "
        "menu), then finalise."
    )
    assert cal.appraisal("Ada").status == AppraisalStatus.OPEN


def test_without_the_requirement_finalisation_needs_no_session(cal):
    with tenant_context(cal.org):
        finalisation.finalise_appraisals(
            actor=cal.hr, appraisals=[cal.appraisal("Ada").pk]
        )

    assert cal.appraisal("Ada").status == AppraisalStatus.FINALIZED


# --- Suggestion rows (the session page's table) ------------------------------------------


def test_suggestion_rows_take_three_queries_and_give_reasons_in_words(
    cal, django_assert_num_queries
):
    ids = [cal.appraisal(name).pk for name in ("Ada", "Ben", "Cy", "Dee", "Eve")]
    with tenant_context(cal.org):
        leniencies = calibration_inputs.cycle_leniency(cal.world.cycle.pk, k=10)

        with django_assert_num_queries(3):
            rows = calibration_suggestions.suggestion_rows(ids, leniencies, 10)

    ada, eve = rows[ids[0]], rows[ids[4]]
    assert ada.delta == D("0.0975")
    assert ada.reason.startswith("Rated by Bo Lee (+0.66 lenient over 6 ratings) on ")
    assert ada.reason.endswith(".")
    assert eve.suggestion is None
    assert eve.reason == "No score yet, so there is nothing to calibrate."
