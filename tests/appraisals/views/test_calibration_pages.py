"""The calibration pages: the sessions list, opening a session, the session page
(distribution, nine-box grid, reviewer panel, suggestions) and its actions (close,
accept one or all, set by hand or by a nine-box move, remove). Who may see and do
what, the figures shown against the worked example of
tests/appraisals/test_calibration_rules.py, bad input refused with nothing changed,
and a query count that does not grow with the people in scope.

The world (``build_world``): scale 1–5; reviewers Bo Lee (lenient: raw +1.75,
shrunk +0.65625 over 6 ratings), Hal Hart (harsh: −1.65, −0.61875) and Nia Ned (too
few ratings: 4); Ada (manager Lee) final 4.58, suggested 4.6775 (δ +0.0975); Ben
(manager Ned) final 4.135 → 4.14, suggested 3.9325 (δ −0.2025); Cy, Dee and Eve.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal as D
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appraisals import scores
from appraisals.enums import AdjustmentKind, CalibrationScope, Potential, SessionStatus
from appraisals.models import (
    Appraisal,
    AppraisalSettings,
    CalibrationAdjustment,
    CalibrationSession,
    Evaluation,
)
from appraisals.selectors import calibration_panel
from appraisals.services import calibration as services
from engagements.enums import CycleStatus, PlanKind
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisal_factories import AppraisalFactory
from tests.appraisals.test_calibration_rules import LEE, NED, World, build_world
from tests.engagement_factories import ReviewCycleFactory
from tests.factories import (
    BusinessUnitFactory,
    EmployeeFactory,
    MembershipFactory,
)
from tests.organizations.views.query_budget import PAGE_BUDGET, lookups

pytestmark = pytest.mark.django_db


def _url(name: str, org: Organization, *args: Any) -> str:
    return reverse(f"appraisals:{name}", args=[org.slug, *args])


def _text(response: Any) -> str:
    """The page's text: tags dropped, entities decoded, whitespace collapsed."""
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(text))


def _field_error(response: Any, name: str) -> str | None:
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}-error">(.*?)</div>',
        response.content.decode(),
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def _recompute(world: World) -> None:
    with tenant_context(world.cycle.organization):
        scores.recompute_appraisals(
            list(
                Appraisal.objects.filter(cycle=world.cycle).values_list("pk", flat=True)
            )
        )


def _member_for(org: Organization, employee: Any, role: str = Role.MANAGER):
    return MembershipFactory(organization=org, role=role, employee=employee)


def _open(hr: Membership, world: World, **kwargs: Any) -> CalibrationSession:
    fields: dict[str, Any] = {
        "name": "Delivery calibration",
        "scope": CalibrationScope.ORGANIZATION,
    }
    fields.update(kwargs)
    with tenant_context(hr.organization):
        return services.open_session(actor=hr, cycle=world.cycle, **fields)


def _appraisal(world: World, name: str) -> Appraisal:
    with tenant_context(world.cycle.organization):
        return Appraisal.objects.select_related("employee").get(
            cycle=world.cycle, employee__full_name=name
        )


def _in_force(appraisal: Appraisal) -> CalibrationAdjustment | None:
    with tenant_context(appraisal.organization):
        return CalibrationAdjustment.objects.filter(
            appraisal=appraisal, removed_at__isnull=True
        ).first()


@pytest.fixture
def world(org) -> World:
    built = build_world(org)
    _recompute(built)
    return built


@pytest.fixture
def lee(org, world) -> Membership:
    """Bo Lee, the lenient reviewer, signed in as a manager (Ada's, Cy's, Eve's)."""
    return _member_for(org, world.reviewers[LEE])


@pytest.fixture
def ned(org, world) -> Membership:
    return _member_for(org, world.reviewers[NED])


@pytest.fixture
def session(hr_admin, world, lee) -> CalibrationSession:
    return _open(hr_admin, world, participants=[world.reviewers[LEE]])


# --- The sessions list --------------------------------------------------------------


def test_sessions_list_shows_hr_every_session_with_its_figures(
    client_as, hr_admin, world, session, lee
):
    other = _open(hr_admin, world, name="Only HR")

    response = client_as(hr_admin).get(
        _url("calibration_sessions", hr_admin.organization)
    )

    assert response.status_code == 200
    text = _text(response)
    assert "Open a session" in text
    assert "Delivery calibration" in text
    assert other.name in text
    # Ada, Ben, Cy, Dee and Eve: five appraisals in the cycle, none adjusted yet.
    assert "The whole organisation 5 0" in text


def test_sessions_list_shows_a_manager_only_the_sessions_they_take_part_in(
    client_as, hr_admin, world, session, lee, ned
):
    _open(hr_admin, world, name="Ned's session", participants=[world.reviewers[NED]])

    response = client_as(lee).get(_url("calibration_sessions", lee.organization))

    assert response.status_code == 200
    text = _text(response)
    assert "Delivery calibration" in text
    assert "Ned's session" not in text
    assert "Open a session" not in text


def test_sessions_list_says_so_to_an_employee_without_sessions(
    client_as, org, session, employee_member
):
    response = client_as(employee_member).get(_url("calibration_sessions", org))

    assert response.status_code == 200
    assert "Delivery calibration" not in _text(response)
    assert "You take part in no calibration session" in _text(response)


# --- Opening a session --------------------------------------------------------------


def test_open_session_form_is_hr_only(client_as, org, world, lee):
    response = client_as(lee).get(_url("calibration_session_new", org))

    assert response.status_code == 403


def _unit_of_lees_reports(org, world):
    """A business unit "Advisory" holding Lee's reports, so Lee, a participant,
    manages someone in a session over it."""
    unit = BusinessUnitFactory(organization=org, name="Advisory")
    with tenant_context(org):
        Employee.objects.filter(line_manager=world.reviewers[LEE]).update(
            business_unit=unit
        )
    return unit


def test_open_session_creates_it_and_goes_to_its_page(client_as, hr_admin, world, lee):
    unit = _unit_of_lees_reports(hr_admin.organization, world)

    response = client_as(hr_admin).post(
        _url("calibration_session_new", hr_admin.organization),
        {
            "cycle": world.cycle.pk,
            "name": "Advisory round",
            "scope": CalibrationScope.BUSINESS_UNITS,
            "business_units": [unit.pk],
            "participants": [world.reviewers[LEE].pk],
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    with tenant_context(hr_admin.organization):
        created = CalibrationSession.objects.get()
        units = list(created.business_units.values_list("name", flat=True))
        participants = list(created.participants.values_list("pk", flat=True))
    assert response.status_code == 302
    assert response["Location"] == created.get_absolute_url()
    assert (created.name, created.scope, created.status) == (
        "Advisory round",
        CalibrationScope.BUSINESS_UNITS,
        SessionStatus.OPEN,
    )
    assert units == ["Advisory"]
    assert participants == [world.reviewers[LEE].pk]


def test_open_session_without_the_scopes_units_is_refused_beside_the_field(
    client_as, hr_admin, world
):
    response = client_as(hr_admin).post(
        _url("calibration_session_new", hr_admin.organization),
        {
            "cycle": world.cycle.pk,
            "name": "Advisory round",
            "scope": CalibrationScope.BUSINESS_UNITS,
        },
    )

    assert response.status_code == 400
    assert _field_error(response, "business_units") == (
        "Choose at least one business unit for this scope."
    )
    with tenant_context(hr_admin.organization):
        assert not CalibrationSession.objects.exists()


def test_open_session_for_a_cycle_not_in_review_is_refused(client_as, hr_admin, world):
    running = ReviewCycleFactory(
        organization=hr_admin.organization, status=CycleStatus.IN_PROGRESS
    )

    response = client_as(hr_admin).post(
        _url("calibration_session_new", hr_admin.organization),
        {
            "cycle": running.pk,
            "name": "Too early",
            "scope": CalibrationScope.ORGANIZATION,
        },
    )

    assert response.status_code == 400
    assert "Choose a cycle that is in review" in (_field_error(response, "cycle") or "")
    with tenant_context(hr_admin.organization):
        assert not CalibrationSession.objects.exists()


# --- The session page: who sees it ----------------------------------------------------


def test_session_page_shows_hr_every_section(client_as, hr_admin, session):
    response = client_as(hr_admin).get(session.get_absolute_url())

    assert response.status_code == 200
    text = _text(response)
    for heading in ("Distribution", "Nine-box grid", "Reviewer panel", "Suggestions"):
        assert heading in text
    assert "Close session" in text
    assert "Bo Lee" in text  # a participant, and a reviewer


def test_session_page_is_not_found_for_a_manager_who_does_not_take_part(
    client_as, session, ned
):
    response = client_as(ned).get(session.get_absolute_url())

    assert response.status_code == 404


def test_session_page_is_not_found_for_an_employee(client_as, org, session):
    ada = _appraisal_member(org, session)

    response = client_as(ada).get(session.get_absolute_url())

    assert response.status_code == 404


def _appraisal_member(org: Organization, session: CalibrationSession) -> Membership:
    with tenant_context(org):
        ada = Appraisal.objects.get(
            cycle_id=session.cycle_id, employee__full_name="Ada"
        ).employee
    return _member_for(org, ada, Role.EMPLOYEE)


def test_another_organisations_session_is_not_found(
    client_as, hr_admin, other_org, make_member
):
    foreign_hr = make_member(other_org, Role.HR_ADMIN)
    foreign = _open(foreign_hr, build_world(other_org))

    response = client_as(hr_admin).get(
        _url("calibration_session", hr_admin.organization, foreign.pk)
    )

    assert response.status_code == 404


def test_a_participant_never_sees_their_own_appraisal_nor_their_managers(
    client_as, org, hr_admin, world, lee
):
    boss = EmployeeFactory(organization=org, full_name="Zed Boss")
    with tenant_context(org):
        world.reviewers[LEE].line_manager = boss
        world.reviewers[LEE].save()
    AppraisalFactory(organization=org, cycle=world.cycle, employee=world.reviewers[LEE])
    AppraisalFactory(organization=org, cycle=world.cycle, employee=boss)
    session = _open(hr_admin, world, participants=[world.reviewers[LEE]])

    lee_page = client_as(lee).get(session.get_absolute_url())
    hr_page = client_as(hr_admin).get(session.get_absolute_url())

    def people(response: Any) -> set[str]:
        return {
            line.appraisal.employee.full_name for line in response.context["page"].lines
        }

    assert people(hr_page) == {"Ada", "Ben", "Cy", "Dee", "Eve", "Bo Lee", "Zed Boss"}
    assert people(lee_page) == {"Ada", "Ben", "Cy", "Dee", "Eve"}
    assert "Zed Boss" not in _text(lee_page)


# --- The session page: its figures ----------------------------------------------------


def test_distribution_counts_each_band_against_the_guideline(
    client_as, hr_admin, session
):
    with tenant_context(hr_admin.organization):
        AppraisalSettings.objects.create(
            organization=hr_admin.organization,
            calibration_guideline="10,20,40,20,10",
            calibration_tolerance=5,
        )

    response = client_as(hr_admin).get(session.get_absolute_url())

    distribution = response.context["page"].distribution
    figures = [
        (b.count, b.share, b.target, b.deviation, b.flagged) for b in distribution.bands
    ]
    assert (distribution.scored, distribution.unscored) == (4, 1)  # Eve: none yet
    assert figures == FIGURES
    assert "beyond tolerance" in _section(response, "distribution")


# Ada 4.58 (band 5: 4.5 and up), Ben 4.14 and Cy 4 (band 4), Dee 2.8 (band 3), of
# 4 scored: shares 0, 0, 25, 50, 25 % against 10, 20, 40, 20, 10 (tolerance 5).
FIGURES = [
    (0, D("0.00"), 10, D("-10.00"), True),
    (0, D("0.00"), 20, D("-20.00"), True),
    (1, D("25.00"), 40, D("-15.00"), True),
    (2, D("50.00"), 20, D("30.00"), True),
    (1, D("25.00"), 10, D("15.00"), True),
]


def _section(response: Any, testid: str) -> str:
    content = response.content.decode()
    start = content.index(f'data-testid="{testid}"')
    end = content.find("</section>", start)
    return content[start:end]


def test_a_guideline_without_a_share_per_band_is_named_and_the_distribution_shown_alone(
    client_as, hr_admin, session
):
    with tenant_context(hr_admin.organization):
        AppraisalSettings.objects.create(
            organization=hr_admin.organization, calibration_guideline="30,40,30"
        )

    response = client_as(hr_admin).get(session.get_absolute_url())

    section = _section(response, "distribution")
    assert 'data-testid="guideline-mismatch"' in section
    assert "Guideline" not in re.sub(r"<[^>]+>", " ", section.split("<table", 1)[1])


def test_distribution_and_nine_box_read_the_calibrated_score(
    client_as, hr_admin, world, session
):
    ada = _appraisal(world, "Ada")
    with tenant_context(hr_admin.organization):
        services.set_adjustment(
            actor=hr_admin,
            session=session,
            appraisal=ada,
            calibrated_final=D("2.00"),
            reason="Agreed in the session.",
        )

    response = client_as(hr_admin).get(session.get_absolute_url())

    page = response.context["page"]
    grid = {b.key: b for _p, row in page.grid.rows for b in row}
    grid |= {b.key: b for b in page.grid.unrated}
    located = {
        key
        for key, box in grid.items()
        if any(e.person.full_name == "Ada" for e in box.people)
    }
    assert located == {"low-unrated"}  # 2.00 < 1 + 4/3: low; no potential rated
    assert page.distribution.adjusted == 1


def test_nine_box_places_people_by_the_general_evaluations_potential(
    client_as, hr_admin, world, session
):
    with tenant_context(hr_admin.organization):
        Evaluation.objects.filter(
            appraisal__employee__full_name="Ada", plan__kind=PlanKind.GENERAL
        ).update(potential=Potential.HIGH)

    response = client_as(hr_admin).get(session.get_absolute_url())

    box = _section(response, "ninebox")
    high_high = box.split('data-testid="box-high-high"', 1)[1].split("ninebox-cell", 1)[
        0
    ]
    assert "Ada" in high_high  # 4.58 ≥ 1 + 8/3: high performance
    assert 'data-testid="potential-not-rated"' in box


def test_reviewer_panel_shows_raw_and_shrunk_leniency_and_what_drives_it(
    client_as, hr_admin, session
):
    response = client_as(hr_admin).get(session.get_absolute_url())

    rows = [
        re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", row)))
        for row in re.findall(
            r'<tr data-testid="reviewer-row">(.*?)</tr>',
            response.content.decode(),
            re.S,
        )
    ]
    lee, hart, ned = rows  # the largest |shrunk| first: 0.66, 0.62, 0
    assert lee.split()[:2] == ["Bo", "Lee"]
    assert "+1.75" in lee
    assert "+0.66" in lee
    assert "Communication" in lee
    assert "-1.65" in hart
    assert "-0.62" in hart
    assert "too few ratings (n = 4 < 5): not corrected" in ned


def test_reviewer_panel_shows_the_first_25_and_links_to_all(
    client_as, hr_admin, session, monkeypatch
):
    monkeypatch.setattr(calibration_panel, "PANEL_SIZE", 2)

    shown = client_as(hr_admin).get(session.get_absolute_url())
    everything = client_as(hr_admin).get(session.get_absolute_url() + "?reviewers=all")

    assert len(shown.context["page"].panel.rows) == 2
    assert 'data-testid="all-reviewers"' in shown.content.decode()
    assert len(everything.context["page"].panel.rows) == 3


def test_suggestions_table_shows_the_suggestion_and_its_reason(
    client_as, hr_admin, world, session
):
    response = client_as(hr_admin).get(session.get_absolute_url())

    lines = {
        line.appraisal.employee.full_name: line
        for line in response.context["page"].lines
    }
    assert (lines["Ada"].calibrated, lines["Ada"].delta) == (D("4.68"), D("0.10"))
    assert (lines["Ben"].calibrated, lines["Ben"].delta) == (D("3.93"), D("-0.20"))
    assert "Rated by Bo Lee (+0.66 lenient over 6 ratings)" in lines["Ada"].reason
    assert lines["Ada"].adjustable
    assert lines["Ada"].has_suggestion


# --- Actions ---------------------------------------------------------------------------


def test_accepting_a_suggestion_sets_the_calibrated_final(
    client_as, hr_admin, world, session
):
    ada = _appraisal(world, "Ada")

    response = client_as(hr_admin).post(
        _url("calibration_accept", hr_admin.organization, session.pk, ada.pk)
    )

    assert response.status_code == 302
    assert response["Location"].endswith("#suggestions")
    with tenant_context(hr_admin.organization):
        ada.refresh_from_db()
    assert (ada.calibrated_score, ada.calibrated_percent) == (D("4.68"), D("91.94"))
    adjustment = _in_force(ada)
    assert adjustment is not None
    assert (adjustment.kind, adjustment.delta) == (
        AdjustmentKind.SUGGESTED,
        D("0.0975"),
    )


def test_accept_all_accepts_every_suggestion_the_viewer_may_make(
    client_as, hr_admin, world, session
):
    response = client_as(hr_admin).post(
        _url("calibration_accept_all", hr_admin.organization, session.pk), follow=True
    )

    with tenant_context(hr_admin.organization):
        adjusted = set(
            Appraisal.objects.filter(calibration_delta__isnull=False).values_list(
                "employee__full_name", flat=True
            )
        )
    assert response.status_code == 200
    assert {"Ada", "Ben"} <= adjusted
    assert "suggestions accepted" in _text(response)


def test_move_form_offers_the_middle_of_the_target_third(
    client_as, hr_admin, world, session
):
    ben = _appraisal(world, "Ben")

    response = client_as(hr_admin).get(
        _url("calibration_move", hr_admin.organization, session.pk, ben.pk)
        + "?box=high"
    )

    assert response.status_code == 200
    form = response.context["form"]
    # The high third of 1–5 runs from 1 + 8/3; its middle is 1 + 4 × 5/6 = 4.33.
    assert form.initial == {"box": "high", "calibrated_final": D("4.33")}


def test_a_nine_box_move_records_a_manual_adjustment_from_the_box(
    client_as, hr_admin, world, session
):
    ben = _appraisal(world, "Ben")

    response = client_as(hr_admin).post(
        _url("calibration_move", hr_admin.organization, session.pk, ben.pk),
        {"calibrated_final": "4.33", "reason": "Carried the Y launch.", "box": "high"},
    )

    assert response.status_code == 302
    assert response["Location"].endswith("#ninebox")
    adjustment = _in_force(ben)
    assert adjustment is not None
    assert adjustment.kind == AdjustmentKind.MANUAL
    assert adjustment.reason == "Carried the Y launch."
    assert (adjustment.inputs["source"], adjustment.inputs["to_box"]) == (
        "nine_box",
        "high",
    )


def test_a_move_without_a_reason_or_off_the_scale_changes_nothing(
    client_as, hr_admin, world, session
):
    ben = _appraisal(world, "Ben")
    url = _url("calibration_move", hr_admin.organization, session.pk, ben.pk)

    no_reason = client_as(hr_admin).post(url, {"calibrated_final": "4.00"})
    off_scale = client_as(hr_admin).post(
        url, {"calibrated_final": "5.50", "reason": "Too generous"}
    )

    assert no_reason.status_code == 400
    assert "Say why the score is calibrated" in (
        _field_error(no_reason, "reason") or ""
    )
    assert off_scale.status_code == 400
    assert (
        _field_error(off_scale, "calibrated_final") == "Enter a score between 1 and 5."
    )
    assert _in_force(ben) is None


def test_removing_an_adjustment_needs_a_reason(client_as, hr_admin, world, session):
    ada = _appraisal(world, "Ada")
    with tenant_context(hr_admin.organization):
        services.accept_suggestion(actor=hr_admin, session=session, appraisal=ada)
    url = _url("calibration_remove", hr_admin.organization, session.pk, ada.pk)

    refused = client_as(hr_admin).post(url, {"reason": ""})
    still = _in_force(ada)
    removed = client_as(hr_admin).post(
        url, {"reason": "Agreed to keep the computed score."}
    )

    assert refused.status_code == 400
    assert still is not None
    assert removed.status_code == 302
    assert _in_force(ada) is None
    with tenant_context(hr_admin.organization):
        ada.refresh_from_db()
    assert ada.calibrated_score is None


def test_a_participating_manager_adjusts_only_people_below_them(
    client_as, world, session, lee
):
    ada, ben = _appraisal(world, "Ada"), _appraisal(world, "Ben")

    below = client_as(lee).post(
        _url("calibration_accept", lee.organization, session.pk, ada.pk)
    )
    elsewhere = client_as(lee).post(
        _url("calibration_accept", lee.organization, session.pk, ben.pk)
    )

    assert below.status_code == 302
    assert _in_force(ada) is not None
    assert elsewhere.status_code == 403
    assert _in_force(ben) is None


def test_the_page_shows_no_actions_on_rows_the_viewer_may_not_adjust(
    client_as, world, session, lee
):
    response = client_as(lee).get(session.get_absolute_url())

    lines = {
        line.appraisal.employee.full_name: line
        for line in response.context["page"].lines
    }
    assert lines["Ada"].adjustable
    assert not lines["Ben"].adjustable
    ben_row = response.content.decode().split(
        f'data-appraisal="{lines["Ben"].appraisal.pk}"'
    )[1]
    assert "Accept</button>" not in ben_row.split("</tr>", 1)[0]


def test_nobody_adjusts_their_own_score_in_a_session(
    client_as, org, hr_admin, world, lee
):
    own = AppraisalFactory(
        organization=org, cycle=world.cycle, employee=world.reviewers[LEE]
    )
    session = _open(hr_admin, world, participants=[world.reviewers[LEE]])

    response = client_as(lee).post(_url("calibration_accept", org, session.pk, own.pk))

    assert response.status_code == 404  # the session does not show them their own
    assert _in_force(own) is None


def test_only_hr_closes_a_session(client_as, hr_admin, session, lee):
    url = _url("calibration_close", hr_admin.organization, session.pk)

    refused = client_as(lee).post(url)
    closed = client_as(hr_admin).post(url)

    assert refused.status_code == 403
    assert closed.status_code == 302
    with tenant_context(hr_admin.organization):
        session.refresh_from_db()
    assert session.status == SessionStatus.CLOSED


def test_a_closed_session_offers_no_adjustment(client_as, hr_admin, world, session):
    with tenant_context(hr_admin.organization):
        services.close_session(actor=hr_admin, session=session)
    ada = _appraisal(world, "Ada")

    page = client_as(hr_admin).get(session.get_absolute_url())
    accept = client_as(hr_admin).post(
        _url("calibration_accept", hr_admin.organization, session.pk, ada.pk)
    )

    assert 'data-testid="accept-all"' not in page.content.decode()
    assert "Close session" not in _text(page)
    assert accept.status_code == 403
    assert _in_force(ada) is None


# --- Query budget -------------------------------------------------------------------------


def _page_queries(client: Any, url: str) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return response, lookups(captured.captured_queries)


@pytest.mark.parametrize("viewer", ["hr", "participant"])
def test_session_page_query_count_is_flat_in_the_people_in_scope(
    client_as, org, hr_admin, world, session, lee, viewer
):
    client = client_as(hr_admin if viewer == "hr" else lee)
    url = session.get_absolute_url()

    def add_people(n: int) -> None:
        for _ in range(n):
            person = EmployeeFactory(
                organization=org, line_manager=world.reviewers[LEE]
            )
            AppraisalFactory(organization=org, cycle=world.cycle, employee=person)

    add_people(3)
    small, few = _page_queries(client, url)
    add_people(27)
    large, many = _page_queries(client, url)

    assert small.status_code == large.status_code == 200
    assert len(few) == len(many), "\n".join(many)
    assert len(many) <= PAGE_BUDGET, "\n".join(many)


@pytest.mark.parametrize("viewer", ["hr", "participant"])
def test_sessions_list_query_count_is_flat_in_its_sessions(
    client_as, org, hr_admin, world, lee, viewer
):
    client = client_as(hr_admin if viewer == "hr" else lee)
    url = _url("calibration_sessions", org)
    unit = _unit_of_lees_reports(org, world)

    def open_sessions(n: int) -> None:
        for i in range(n):
            _open(
                hr_admin,
                world,
                name=f"Round {i}",
                scope=CalibrationScope.BUSINESS_UNITS,
                business_units=[unit],
                participants=[world.reviewers[LEE]],
            )

    open_sessions(1)
    client.get(url)  # warm up: per-process caches are not the page's cost
    few, few_queries = _page_queries(client, url)
    open_sessions(9)
    many, many_queries = _page_queries(client, url)

    assert (len(few.context["rows"]), len(many.context["rows"])) == (1, 10)
    assert len(few_queries) == len(many_queries), "\n".join(many_queries)


def test_a_drop_on_the_grid_gets_the_move_form_alone(
    client_as, hr_admin, world, session
):
    ben = _appraisal(world, "Ben")
    url = _url("calibration_move", hr_admin.organization, session.pk, ben.pk)

    dropped = client_as(hr_admin).get(f"{url}?box=low", headers={"HX-Request": "true"})
    plain = client_as(hr_admin).get(url)

    assert dropped.status_code == 200
    assert "<html" not in dropped.content.decode()
    assert 'data-testid="move-form"' in dropped.content.decode()
    assert dropped.context["form"].initial["calibrated_final"] == D("1.67")
    # Without JavaScript, the form offers the three thirds to move to.
    assert 'data-testid="move-to-high"' in plain.content.decode()
    assert "<html" in plain.content.decode()
