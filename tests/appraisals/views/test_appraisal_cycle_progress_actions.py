"""HR's cycle progress page, its actions: finalising and reminding about every row
the filters select (with the number of rows the button showed), and the score
recomputation with its progress. The page itself (counts, lists, filters) is
test_appraisal_cycle_progress.py's."""

from __future__ import annotations

import pytest

from appraisals.enums import AppraisalStatus
from appraisals.models import RecomputeRun
from organizations.enums import Role
from organizations.tenancy import tenant_context
from tests.appraisals.test_finalisation_services import (
    employee_of,
    review_cycle,
    stored,
    worked_example,
)
from tests.appraisals.views.test_appraisal_cycle_progress import (
    _cycle_with_work,
    _ready,
    _url,
)
from tests.appraisals.views.test_appraisal_pages import _field_error, _text
from tests.engagement_factories import EngagementFactory

pytestmark = pytest.mark.django_db


# --- Bulk finalisation ------------------------------------------------------------------------


def _finalise(client, org, work, data):
    return client.post(_url("bulk_finalise", org, work["cycle"].pk), data)


def test_bulk_finalise_finalises_the_ready_appraisals_the_filters_select(
    client_as, org, hr_admin
):
    work = _cycle_with_work(org, count=3)
    client = client_as(hr_admin)

    response = _finalise(
        client, org, work, {"engagement": work["alpha"].pk, "expected": 3}
    )

    assert response.status_code == 302
    assert response["Location"] == _url(
        "cycle_progress", org, work["cycle"].pk, query=f"engagement={work['alpha'].pk}"
    )
    assert [stored(a)["status"] for a in work["ready"]] == [
        AppraisalStatus.FINALIZED
    ] * 3
    # Ready too, but on Gamma: not selected, not changed.
    assert stored(work["approved"].appraisal)["status"] == AppraisalStatus.OPEN
    page = client.get(response["Location"])
    assert "3 appraisals finalised; each employee was e-mailed." in _text(page)


def test_bulk_finalise_leaves_hrs_own_appraisal_and_says_why(client_as, org, hr_admin):
    work = _cycle_with_work(org)
    (own,) = _ready(
        org,
        work["cycle"],
        engagement=work["alpha"],
        reviewer=work["rita"],
        unit=work["north"],
        employee=employee_of(hr_admin),
    )
    client = client_as(hr_admin)

    response = _finalise(
        client, org, work, {"engagement": work["alpha"].pk, "expected": 2}
    )

    assert response.status_code == 302
    assert stored(work["ready"][0])["status"] == AppraisalStatus.FINALIZED
    assert stored(own)["status"] == AppraisalStatus.OPEN
    page = _text(client.get(response["Location"]))
    assert (
        "1 appraisal finalised; the employee was e-mailed. 1 skipped: your own "
        "appraisal (another HR admin must finalise it) (1)." in page
    )


def test_bulk_finalise_with_a_stale_count_changes_nothing(client_as, org, hr_admin):
    work = _cycle_with_work(org, count=2)

    response = _finalise(client_as(hr_admin), org, work, {"expected": 5})

    assert response.status_code == 400
    assert _field_error(response, "expected") == (
        "5 appraisals matched when you loaded the page; 3 match now. Nothing was "
        "finalised: check the list and press the button again."
    )
    assert "Finalise all 3 ready appraisals" in _text(response)
    assert 'name="expected" value="3"' in response.content.decode()
    assert {stored(a)["status"] for a in work["ready"]} == {AppraisalStatus.OPEN}


@pytest.mark.parametrize(
    "data", [{}, {"expected": "abc"}, {"expected": "0"}, {"expected": "-1"}]
)
def test_bulk_finalise_without_a_count_changes_nothing(client_as, org, hr_admin, data):
    work = _cycle_with_work(org)

    response = _finalise(client_as(hr_admin), org, work, data)

    assert response.status_code == 400
    assert _field_error(response, "expected")
    assert stored(work["ready"][0])["status"] == AppraisalStatus.OPEN


def test_bulk_finalise_with_a_foreign_filter_changes_nothing(
    client_as, org, other_org, hr_admin
):
    work = _cycle_with_work(org)
    foreign = EngagementFactory(organization=other_org)

    response = _finalise(
        client_as(hr_admin), org, work, {"engagement": foreign.pk, "expected": 2}
    )

    assert response.status_code == 400
    assert "These filters are not valid any more" in _field_error(response, "expected")
    assert _field_error(response, "engagement")
    assert stored(work["ready"][0])["status"] == AppraisalStatus.OPEN


# --- Bulk reminders -----------------------------------------------------------------------


def _remind(client, org, work, data):
    return client.post(_url("bulk_remind", org, work["cycle"].pk), data)


def test_bulk_remind_emails_the_reviewer_once_a_day(
    client_as,
    org,
    hr_admin,
    make_member,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    work = _cycle_with_work(org)
    reviewer = make_member(org, Role.MANAGER)
    with tenant_context(org):
        work["overdue"].reviewer = employee_of(reviewer)
        work["overdue"].save()
    client = client_as(hr_admin)
    data = {"state": "draft", "expected": 1}

    with django_capture_on_commit_callbacks(execute=True):
        first = _remind(client, org, work, data)
    with django_capture_on_commit_callbacks(execute=True):
        _remind(client, org, work, data)

    assert first.status_code == 302
    assert first["Location"] == _url(
        "cycle_progress_evaluations", org, work["cycle"].pk, query="state=draft"
    )
    assert [m.to for m in mailoutbox] == [[reviewer.user.email]]


def test_bulk_remind_reports_what_it_skipped(
    client_as, org, hr_admin, django_capture_on_commit_callbacks
):
    work = _cycle_with_work(org)
    with tenant_context(org):
        work["overdue"].reviewer = None
        work["overdue"].save()
    client = client_as(hr_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = _remind(client, org, work, {"state": "draft", "expected": 1})

    page = _text(client.get(response["Location"]))
    assert "No reminder was sent. 1 skipped: no reviewer assigned (1)." in page


def test_bulk_remind_with_a_stale_count_sends_nothing(
    client_as, org, hr_admin, mailoutbox, django_capture_on_commit_callbacks
):
    work = _cycle_with_work(org)

    with django_capture_on_commit_callbacks(execute=True):
        response = _remind(client_as(hr_admin), org, work, {"expected": 7})

    assert response.status_code == 400
    assert "No reminder was sent" in _field_error(response, "expected")
    assert "Remind about all 2 evaluations matching these filters" in _text(response)
    assert mailoutbox == []


# --- Recompute ------------------------------------------------------------------------------


def test_recompute_starts_a_run_and_shows_its_progress(
    client_as, org, hr_admin, make_member, django_capture_on_commit_callbacks
):
    cycle = review_cycle(org)
    example = worked_example(org, employee_of(make_member(org)), cycle=cycle)
    with tenant_context(org):
        type(example.appraisal).objects.filter(pk=example.appraisal.pk).update(
            final_score=None
        )
    client = client_as(hr_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url("cycle_recompute", org, cycle.pk))

    with tenant_context(org):
        run = RecomputeRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url("recompute_status", org, run.pk)
    assert run.status == RecomputeRun.Status.DONE
    assert stored(example.appraisal)["final_score"] is not None
    page = client.get(response["Location"])
    assert "Done: 1 appraisal recomputed" in _text(page)
    assert 'hx-trigger="every 2s"' not in page.content.decode()


def test_recompute_status_polls_while_running(client_as, org, hr_admin):
    cycle = review_cycle(org)
    with tenant_context(org):
        run = RecomputeRun.objects.create(
            organization=org,
            cycle=cycle,
            status=RecomputeRun.Status.RUNNING,
            total=10,
            done=4,
        )

    response = client_as(hr_admin).get(
        _url("recompute_status", org, run.pk), headers={"HX-Request": "true"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in page
    assert "<html" not in page
    assert "4 of 10" in _text(response)


def test_recompute_via_htmx_answers_with_the_progress_partial(client_as, org, hr_admin):
    cycle = review_cycle(org)

    response = client_as(hr_admin).post(
        _url("cycle_recompute", org, cycle.pk), headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert 'id="recompute-progress"' in response.content.decode()
    assert "<html" not in response.content.decode()


def test_recompute_while_one_runs_says_so(client_as, org, hr_admin):
    cycle = review_cycle(org)
    with tenant_context(org):
        RecomputeRun.objects.create(
            organization=org, cycle=cycle, status=RecomputeRun.Status.RUNNING
        )

    response = client_as(hr_admin).post(
        _url("cycle_recompute", org, cycle.pk), follow=True
    )

    assert "already being recomputed" in _text(response)
    with tenant_context(org):
        assert RecomputeRun.objects.count() == 1


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_recompute_status_is_403_for_other_roles(client_as, org, make_member, role):
    cycle = review_cycle(org)
    with tenant_context(org):
        run = RecomputeRun.objects.create(organization=org, cycle=cycle)

    response = client_as(make_member(org, role)).get(
        _url("recompute_status", org, run.pk)
    )

    assert response.status_code == 403


def test_recompute_status_of_another_organisation_is_404(
    client_as, org, other_org, hr_admin
):
    cycle = review_cycle(other_org)
    with tenant_context(other_org):
        run = RecomputeRun.objects.create(organization=other_org, cycle=cycle)

    response = client_as(hr_admin).get(_url("recompute_status", org, run.pk))

    assert response.status_code == 404
