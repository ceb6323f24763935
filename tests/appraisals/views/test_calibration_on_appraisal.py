"""Calibration on the appraisal itself: both finals for HR and the line manager, the
calibrated final (and, by the organisation's setting, the adjustment) for the
employee, the calibration step in the explanation, adjustments in the timeline, the
lists and the PDF report; and the line manager's potential on the general
evaluation, which never moves a score.

Adjustments are plain ORM writes here (the row and the appraisal's three fields), as
the calibration services would leave them. The worked example of docs/scoring.md has
the unrounded final 0.4 × 3.80 + 0.6 × 55771.8 / 14500 = 3.827798620…; an adjustment
of −0.53 gives 3.297798620… → 3.30 and (3.297798620… − 1) / 4 × 100 = 57.44 %; one of
+1.50 gives 5.327… → clamped to 5.00, 100.00 %.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal as D
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from appraisals.calibration import calibrated, final_of
from appraisals.enums import AdjustmentKind, EvaluationKind, Potential, SessionStatus
from appraisals.explanation import explain
from appraisals.models import (
    Appraisal,
    AppraisalSettings,
    CalibrationAdjustment,
    CalibrationSession,
    Evaluation,
)
from appraisals.scoring import round2
from appraisals.services import appraisals as finalisation
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from reporting.documents.appraisal import appraisal_html
from tests.appraisals.test_finalisation_services import (
    Example,
    employee_of,
    worked_example,
)
from tests.appraisals.test_workflow_opening import World, build_world, evaluation

pytestmark = pytest.mark.django_db

BOOKKEEPING = re.compile(
    r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SELECT set_config\()"
)
REASON = "Rated by a lenient reviewer on every engagement."
LINE = (
    "Calibration: computed final 3.83 + adjustment \u22120.53 = calibrated final "
    "3.30, percent 57.44."
)
CLAMPED = (
    "Calibration: computed final 3.83 + adjustment +1.50, clamped to the scale = "
    "calibrated final 5.00, percent 100.00."
)


def _url(name: str, org: Organization, *args: Any) -> str:
    return reverse(f"appraisals:{name}", args=[org.slug, *args])


def _text(response: Any) -> str:
    """The page's text: tags dropped, entities decoded, whitespace collapsed."""
    body = response if isinstance(response, str) else response.content.decode()
    text = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", html.unescape(text))


def _score_section(response: Any) -> str:
    page = response.content.decode()
    start = page.index('aria-labelledby="score"')
    return _text(page[start : page.index("</section>", start)])


@pytest.fixture
def people(org, make_member) -> dict[str, Membership]:
    """The employee (with a login) and their line manager."""
    subject = make_member(org, user__full_name="Sol Subject")
    line_manager = make_member(org, Role.MANAGER, user__full_name="Lin Manager")
    with tenant_context(org):
        Employee.objects.filter(user=subject.user).update(
            line_manager=employee_of(line_manager)
        )
    return {"subject": subject, "line_manager": line_manager}


@pytest.fixture
def example(org, people) -> Example:
    return worked_example(org, employee_of(people["subject"]))


def _session(org: Organization, appraisal: Appraisal, hr: Membership):
    with tenant_context(org):
        return CalibrationSession.objects.create(
            organization=org,
            cycle_id=appraisal.cycle_id,
            name="Consulting calibration",
            opened_by=hr.user,
        )


def _adjust(
    org: Organization,
    appraisal: Appraisal,
    delta: D,
    by: Membership,
    *,
    session: CalibrationSession | None = None,
    kind: str = AdjustmentKind.MANUAL,
    reason: str = REASON,
) -> CalibrationAdjustment:
    """An adjustment in force, written as the calibration services would."""
    with tenant_context(org):
        appraisal.refresh_from_db()
        found = final_of(appraisal.snapshot)
        assert found is not None
        final, smin, smax = found
        result = calibrated(final, delta, smin, smax)
        adjustment = CalibrationAdjustment.objects.create(
            organization=org,
            appraisal=appraisal,
            session=session,
            delta=delta,
            kind=kind,
            reason=reason,
            inputs={"final": str(final)},
            created_by=by.user,
        )
        appraisal.calibration_delta = delta
        appraisal.calibrated_score = round2(result.score)
        appraisal.calibrated_percent = round2(result.percent)
        appraisal.save(
            update_fields=[
                "calibration_delta",
                "calibrated_score",
                "calibrated_percent",
            ]
        )
    return adjustment


def _remove(
    org: Organization,
    adjustment: CalibrationAdjustment,
    by: Membership,
    reason: str,
) -> None:
    with tenant_context(org):
        adjustment.removed_at = timezone.now()
        adjustment.removed_by = by.user
        adjustment.removal_reason = reason
        adjustment.save()
        Appraisal.objects.filter(pk=adjustment.appraisal_id).update(
            calibration_delta=None, calibrated_score=None, calibrated_percent=None
        )


def _finalise(org: Organization, hr: Membership, appraisal: Appraisal) -> None:
    with tenant_context(org):
        appraisal.refresh_from_db()
        finalisation.finalise_appraisal(actor=hr, appraisal=appraisal)


def _show_employees(org: Organization) -> None:
    with tenant_context(org):
        AppraisalSettings.objects.update_or_create(
            organization=org, defaults={"calibration_visible": True}
        )


# --- Both finals for HR and the line manager -------------------------------------------


@pytest.mark.parametrize("viewer", ["hr_admin", "line_manager"])
def test_hr_and_the_line_manager_see_both_finals_and_the_adjustment(
    client_as, org, hr_admin, people, example, viewer
):
    session = _session(org, example.appraisal, hr_admin)
    _adjust(
        org,
        example.appraisal,
        D("-0.53"),
        hr_admin,
        session=session,
        kind=AdjustmentKind.SUGGESTED,
    )
    member = hr_admin if viewer == "hr_admin" else people["line_manager"]

    response = client_as(member).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    score = _score_section(response)
    card = _text(response.content.decode().split('data-testid="calibration-card"')[1])
    assert response.status_code == 200
    assert "Computed final score 3.83" in score
    assert "Calibration adjustment \u22120.53" in score
    assert "Calibrated final score 3.30" in score
    assert "Percent of the scale 57.44 %" in score
    assert LINE in score
    assert "Suggestion accepted" in card
    assert REASON in card
    assert "Consulting calibration" in card
    assert str(hr_admin.user) in card


def test_employee_reads_the_calibrated_final_only_by_default(
    client_as, org, hr_admin, people, example
):
    _adjust(org, example.appraisal, D("-0.53"), hr_admin)
    _finalise(org, hr_admin, example.appraisal)

    response = client_as(people["subject"]).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    page = _text(response)
    score = _score_section(response)
    assert response.status_code == 200
    assert "Final score 3.30" in score
    assert "Percent of the scale 57.44 %" in score
    assert "3.83" not in score
    assert "Calibrat" not in page
    assert REASON not in page
    assert response.context["adjustment"] is None


def test_employee_sees_the_adjustment_and_why_when_the_organisation_says_so(
    client_as, org, hr_admin, people, example
):
    _show_employees(org)
    _adjust(org, example.appraisal, D("-0.53"), hr_admin)
    _finalise(org, hr_admin, example.appraisal)

    response = client_as(people["subject"]).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    score = _score_section(response)
    assert "Computed final score 3.83" in score
    assert "Calibrated final score 3.30" in score
    assert LINE in score
    assert REASON in _text(response)
    assert response.context["remove_adjustment_url"] is None


def test_without_an_adjustment_the_page_shows_one_final(
    client_as, org, hr_admin, example
):
    response = client_as(hr_admin).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    score = _score_section(response)
    assert "Final score 3.83" in score
    assert "Calibrat" not in score
    assert response.context["adjustment"] is None


def test_removing_is_offered_to_hr_in_the_adjustments_open_session(
    client_as, org, hr_admin, people, example
):
    session = _session(org, example.appraisal, hr_admin)
    _adjust(org, example.appraisal, D("-0.53"), hr_admin, session=session)
    try:
        expected = reverse(
            "appraisals:calibration_remove",
            args=[org.slug, session.pk, example.appraisal.pk],
        )
    except NoReverseMatch:  # the calibration pages are not installed
        expected = None

    hr_page = client_as(hr_admin).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )
    manager_page = client_as(people["line_manager"]).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    assert hr_page.context["remove_adjustment_url"] == expected
    assert ('data-testid="remove-adjustment"' in hr_page.content.decode()) == bool(
        expected
    )
    # Not a participant of the session: the line manager may not remove it.
    assert manager_page.context["remove_adjustment_url"] is None


def test_removing_is_not_offered_once_the_session_is_closed(
    client_as, org, hr_admin, example
):
    session = _session(org, example.appraisal, hr_admin)
    _adjust(org, example.appraisal, D("-0.53"), hr_admin, session=session)
    with tenant_context(org):
        CalibrationSession.objects.filter(pk=session.pk).update(
            status=SessionStatus.CLOSED, closed_at=timezone.now()
        )

    response = client_as(hr_admin).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    assert response.context["remove_adjustment_url"] is None
    assert 'data-testid="remove-adjustment"' not in response.content.decode()


# --- The explanation ---------------------------------------------------------------------


def test_explanation_ends_with_the_calibration_step_live_and_from_the_snapshot(
    org, hr_admin, example
):
    _adjust(org, example.appraisal, D("-0.53"), hr_admin)

    with tenant_context(org):
        appraisal = Appraisal.objects.get(pk=example.appraisal.pk)
        live = explain(appraisal)
        stored = explain(appraisal, stored=True)

    assert live.formula[-1] == LINE
    assert stored.formula[-1] == LINE
    assert stored.from_snapshot
    assert (live.final, live.calibrated, live.calibrated_percent) == (
        D("3.83"),
        D("3.30"),
        D("57.44"),
    )
    assert (stored.calibrated, stored.calibrated_percent) == (
        appraisal.calibrated_score,
        appraisal.calibrated_percent,
    )


def test_explanation_says_when_the_calibrated_final_is_clamped(org, hr_admin, example):
    _adjust(org, example.appraisal, D("1.5"), hr_admin)

    with tenant_context(org):
        explained = explain(Appraisal.objects.get(pk=example.appraisal.pk))

    assert explained.formula[-1] == CLAMPED
    assert (explained.calibrated, explained.calibrated_percent) == (
        D("5.00"),
        D("100.00"),
    )


# --- The timeline ----------------------------------------------------------------------------


def test_timeline_lists_adjustments_made_and_removed_in_order(
    client_as, org, hr_admin, example
):
    first = _adjust(org, example.appraisal, D("-0.53"), hr_admin)
    _remove(org, first, hr_admin, "Replaced by a new adjustment")
    _adjust(org, example.appraisal, D("0.25"), hr_admin, reason="Second look.")

    response = client_as(hr_admin).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    entries = [
        (e["kind"], e["subject"])
        for e in response.context["timeline"]
        if "Calibration" in str(e["kind"])
    ]
    assert entries == [
        ("Calibration adjustment made", "Reason: Second look."),
        ("Calibration adjustment removed", "Reason: Replaced by a new adjustment"),
        ("Calibration adjustment made", f"Reason: {REASON}"),
    ]
    history = _text(response).split("History", 1)[1]
    assert "Adjustment: +0.25" in history
    assert "Adjustment: \u22120.53" in history
    whens = [e["when"] for e in response.context["timeline"]]
    assert whens == sorted(whens, reverse=True)


def test_timeline_tells_the_employee_nothing_of_calibration_by_default(
    client_as, org, hr_admin, people, example
):
    _adjust(org, example.appraisal, D("-0.53"), hr_admin)
    _finalise(org, hr_admin, example.appraisal)

    response = client_as(people["subject"]).get(
        _url("appraisal_detail", org, example.appraisal.pk)
    )

    history = _text(response).split("History", 1)[1]
    assert "alibrat" not in history
    assert "Adjustment" not in history


# --- Lists and the PDF -------------------------------------------------------------------------


def test_my_appraisals_show_the_calibrated_final_to_the_employee(
    client_as, org, hr_admin, people, example
):
    _adjust(org, example.appraisal, D("-0.53"), hr_admin)
    _finalise(org, hr_admin, example.appraisal)

    hidden = _text(client_as(people["subject"]).get(_url("my_appraisals", org)))
    _show_employees(org)
    shown = _text(client_as(people["subject"]).get(_url("my_appraisals", org)))
    manager = _text(client_as(people["line_manager"]).get(_url("my_appraisals", org)))

    assert "3.30" in hidden
    assert "57.44 %" in hidden
    assert "3.83" not in hidden
    assert "calibrated; computed 3.83" in shown
    assert "3.30" in manager
    assert "calibrated; computed 3.83" in manager


def test_person_page_appraisals_show_both_finals_to_hr(
    client_as, org, hr_admin, people, example
):
    _adjust(org, example.appraisal, D("-0.53"), hr_admin)
    employee = employee_of(people["subject"])

    response = client_as(hr_admin).get(
        _url("employee_appraisals", org, employee.pk), headers={"HX-Request": "true"}
    )

    page = _text(response)
    assert "3.30" in page
    assert "calibrated; computed 3.83" in page
    assert response.context["rows"][0].score == D("3.30")


def test_team_page_shows_the_line_manager_both_finals(
    client_as, org, hr_admin, people, example
):
    _adjust(org, example.appraisal, D("-0.53"), hr_admin)

    response = client_as(people["line_manager"]).get(
        reverse("appraisals:my_team", args=[org.slug])
    )

    assert response.status_code == 200
    assert "3.30" in _text(response)
    assert "calibrated; computed 3.83" in _text(response)


def test_cycle_progress_shows_hr_both_finals(client_as, org, hr_admin, example):
    _adjust(org, example.appraisal, D("-0.53"), hr_admin)

    response = client_as(hr_admin).get(
        _url("cycle_progress", org, example.appraisal.cycle_id)
    )

    assert response.status_code == 200
    assert "3.30 calibrated; computed 3.83" in _text(response)


@pytest.mark.parametrize(
    ("reader", "shows_computed"), [("hr_admin", True), ("subject", False)]
)
def test_pdf_report_reads_the_calibrated_final(
    org, hr_admin, people, example, reader, shows_computed
):
    _adjust(org, example.appraisal, D("-0.53"), hr_admin)
    _finalise(org, hr_admin, example.appraisal)
    member = hr_admin if reader == "hr_admin" else people["subject"]

    with tenant_context(org):
        appraisal = Appraisal.objects.select_related(
            "cycle", "employee__line_manager"
        ).get(pk=example.appraisal.pk)
        text = _text(appraisal_html(member, appraisal))

    assert "3.30" in text
    assert ("Computed final score 3.83" in text) == shows_computed
    assert (REASON in text) == shows_computed
    assert ("Calibrat" in text) == shows_computed


def test_an_adjustment_costs_the_appraisal_page_one_query_at_most(
    client_as, org, hr_admin, example
):
    url = _url("appraisal_detail", org, example.appraisal.pk)
    client = client_as(hr_admin)
    client.get(url)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return sum(
            1 for q in queries.captured_queries if not BOOKKEEPING.match(q["sql"])
        )

    before = count()
    _adjust(org, example.appraisal, D("-0.53"), hr_admin)
    after = count()

    assert after <= before + 1


# --- Potential ---------------------------------------------------------------------------------


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


def _post(client: Any, world: World, review: Evaluation, **data: str) -> Any:
    with tenant_context(world.org):
        version = Evaluation.objects.get(pk=review.pk).version
    return client.post(
        reverse("appraisals:evaluation_detail", args=[world.org.slug, review.pk]),
        {"version": str(version), "comments": "Good half-year", "action": "save"}
        | data,
    )


def test_potential_is_asked_on_the_general_review_of_its_writer_only(client_as, world):
    general = evaluation(world, world.general)
    engagement = evaluation(world, world.plan)
    own = evaluation(world, world.general, EvaluationKind.SELF)

    writer = client_as(world.manager).get(general.get_absolute_url())
    hr = client_as(world.hr).get(general.get_absolute_url())
    engagement_page = client_as(world.reviewer).get(engagement.get_absolute_url())
    self_page = client_as(world.owner).get(own.get_absolute_url())

    assert "potential" in writer.context["form"].fields
    assert 'name="potential"' in writer.content.decode()
    assert hr.context["form"] is None
    assert "Potential" in _text(hr)
    assert "not rated" in _text(hr)
    assert 'name="potential"' not in engagement_page.content.decode()
    assert "potential" not in engagement_page.context["form"].fields
    assert "potential" not in self_page.context["form"].fields


def test_writer_saves_the_potential_and_others_read_it(client_as, world):
    review = evaluation(world, world.general)

    response = _post(client_as(world.manager), world, review, potential="high")
    page = _text(client_as(world.hr).get(review.get_absolute_url()))

    assert response.status_code == 302
    with tenant_context(world.org):
        assert Evaluation.objects.get(pk=review.pk).potential == Potential.HIGH
    assert "High" in page.split("Potential", 1)[1]


def test_bad_potential_is_refused_beside_the_field_and_nothing_changes(
    client_as, world
):
    review = evaluation(world, world.general)
    with tenant_context(world.org):
        before = Evaluation.objects.values("version", "potential", "comments").get(
            pk=review.pk
        )

    response = _post(client_as(world.manager), world, review, potential="stellar")

    page = response.content.decode()
    error = re.search(
        r'<div class="invalid-feedback d-block" id="id_potential-error">(.*?)</div>',
        page,
        re.S,
    )
    assert response.status_code == 400
    assert error is not None
    assert "Choose Low, Medium or High" in html.unescape(error.group(1))
    with tenant_context(world.org):
        after = Evaluation.objects.values("version", "potential", "comments").get(
            pk=review.pk
        )
    assert after == before


def test_potential_posted_on_an_engagement_review_changes_nothing(client_as, world):
    review = evaluation(world, world.plan)

    _post(client_as(world.reviewer), world, review, potential="high")

    with tenant_context(world.org):
        assert Evaluation.objects.get(pk=review.pk).potential == ""


@pytest.mark.parametrize("potential", [Potential.LOW, Potential.HIGH])
def test_potential_never_moves_a_score(org, example, potential):
    with tenant_context(org):
        appraisal = Appraisal.objects.get(pk=example.appraisal.pk)
        before = explain(appraisal)
        Evaluation.objects.filter(
            appraisal=appraisal, kind=EvaluationKind.REVIEW, plan__kind="general"
        ).update(potential=potential)
        after = explain(Appraisal.objects.get(pk=appraisal.pk))

    assert (after.general, after.engagement, after.final, after.percent) == (
        before.general,
        before.engagement,
        before.final,
        before.percent,
    )
    assert after.final == D("3.83")
