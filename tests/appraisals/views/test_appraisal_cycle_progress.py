"""HR's cycle progress page: counts, overdue evaluations, progress by engagement, bulk
finalisation and reminders, and the score recomputation with its progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models import RecomputeRun
from engagements.enums import EngagementRole
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.tenancy import tenant_context
from tests.appraisal_factories import EvaluationFactory
from tests.appraisals.test_finalisation_services import (
    employee_of,
    ready_appraisal,
    review_cycle,
    stored,
    worked_example,
)
from tests.appraisals.views.test_appraisal_pages import QUERY_BUDGET, _lookups, _text
from tests.engagement_factories import EngagementFactory, PlanFactory
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db


def _url(name, org, *args):
    return reverse(f"appraisals:{name}", args=[org.slug, *args])


def _cycle_with_work(org, count: int = 1):
    """A cycle with ``count`` ready appraisals and, on one engagement, a draft
    evaluation overdue, a submitted one and an approved one."""
    cycle = review_cycle(org)
    engagement = EngagementFactory(organization=org, name="Gamma audit")
    yesterday = timezone.localdate() - timedelta(days=1)
    ready = []
    for _ in range(count):
        employee = EmployeeFactory(organization=org)
        plan = PlanFactory(organization=org, cycle=cycle, employee=employee)
        ready.append(
            EvaluationFactory(plan=plan, status=EvaluationStatus.APPROVED).appraisal
        )
    overdue = EvaluationFactory(
        plan=PlanFactory(organization=org, cycle=cycle, engagement=engagement),
        status=EvaluationStatus.DRAFT,
        due_date=yesterday,
    )
    submitted = EvaluationFactory(
        plan=PlanFactory(organization=org, cycle=cycle, engagement=engagement),
        status=EvaluationStatus.SUBMITTED,
        due_date=yesterday,
        submission=1,
    )
    approved_late = EvaluationFactory(
        plan=PlanFactory(organization=org, cycle=cycle, engagement=engagement),
        status=EvaluationStatus.APPROVED,
        due_date=yesterday,
    )
    return {
        "cycle": cycle,
        "engagement": engagement,
        "ready": ready,
        "overdue": overdue,
        "submitted": submitted,
        "approved": approved_late,
    }


# --- Access -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("cycle_progress", "get"),
        ("bulk_finalise", "post"),
        ("bulk_remind", "post"),
        ("cycle_recompute", "post"),
    ],
)
def test_cycle_pages_are_403_for_other_roles_whatever_the_id(
    client_as, org, other_org, make_member, role, name, method
):
    mine = review_cycle(org)
    foreign = review_cycle(other_org)
    client = client_as(make_member(org, role))

    statuses = [
        getattr(client, method)(_url(name, org, pk)).status_code
        for pk in (mine.pk, foreign.pk, foreign.pk + 10_000)
    ]

    assert statuses == [403, 403, 403]


def test_cycle_progress_is_403_for_an_engagement_reviewer(client_as, org, make_member):
    reviewer = make_member(org)
    cycle = review_cycle(org)
    with tenant_context(org):
        assign_role(
            actor=None,
            engagement=EngagementFactory(organization=org),
            employee=employee_of(reviewer),
            role=EngagementRole.REVIEWER,
        )

    response = client_as(reviewer).get(_url("cycle_progress", org, cycle.pk))

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("cycle_progress", "get"),
        ("bulk_finalise", "post"),
        ("bulk_remind", "post"),
        ("cycle_recompute", "post"),
    ],
)
def test_another_organisations_cycle_is_404_for_hr(
    client_as, org, other_org, hr_admin, name, method
):
    foreign = review_cycle(other_org)

    response = getattr(client_as(hr_admin), method)(_url(name, org, foreign.pk))

    assert response.status_code == 404


def test_cycle_page_links_to_the_progress_page(client_as, org, hr_admin):
    cycle = review_cycle(org)

    response = client_as(hr_admin).get(
        reverse("engagements:cycle_detail", args=[org.slug, cycle.pk])
    )

    assert (
        f'href="{_url("cycle_progress", org, cycle.pk)}"' in response.content.decode()
    )


# --- What the page shows ----------------------------------------------------------------


def test_cycle_progress_counts_statuses_overdue_and_engagements(
    client_as, org, hr_admin
):
    work = _cycle_with_work(org, count=2)

    response = client_as(hr_admin).get(_url("cycle_progress", org, work["cycle"].pk))

    progress = response.context["progress"]
    assert response.status_code == 200
    assert dict(progress.appraisals_by_status) == {
        "Open": 5,
        "Finalised": 0,
        "Acknowledged": 0,
    }
    assert dict(progress.evaluations_by_status) == {
        "Draft": 1,
        "Submitted": 1,
        "Approved": 3,
        "Returned": 0,
    }
    # The approved one is late but done: only the draft and the submitted count.
    assert progress.overdue == 2
    gamma = next(r for r in progress.by_engagement if r.name == "Gamma audit")
    assert (gamma.total, gamma.approved, gamma.overdue) == (3, 1, 2)
    ready_ids = {a.pk for a in work["ready"]} | {work["approved"].appraisal_id}
    assert progress.ready_ids == ready_ids
    assert {e.pk for e in progress.open_evaluations} == {
        work["overdue"].pk,
        work["submitted"].pk,
    }
    page = response.content.decode()
    for appraisal in work["ready"]:
        assert f'name="appraisals" value="{appraisal.pk}"' in page
    assert f'name="appraisals" value="{work["overdue"].appraisal_id}"' not in page
    assert f'name="evaluations" value="{work["overdue"].pk}"' in page


def test_cycle_progress_offers_no_checkbox_for_hrs_own_appraisal(
    client_as, org, hr_admin
):
    own = ready_appraisal(org, employee_of(hr_admin))
    with tenant_context(org):
        cycle_id = own.cycle_id

    response = client_as(hr_admin).get(_url("cycle_progress", org, cycle_id))

    assert f'value="{own.pk}"' not in response.content.decode()


def _progress_queries(client_as, org, hr_admin, count: int) -> int:
    work = _cycle_with_work(org, count=count)
    response, queries = _lookups(
        client_as(hr_admin), _url("cycle_progress", org, work["cycle"].pk)
    )
    assert len(response.context["progress"].appraisals) == count + 3
    return queries


def test_cycle_progress_query_count_is_flat(client_as, org, hr_admin):
    small = _progress_queries(client_as, org, hr_admin, 5)
    large = _progress_queries(client_as, org, hr_admin, 25)

    assert small == large
    assert large <= QUERY_BUDGET


# --- Bulk finalisation ------------------------------------------------------------------


def test_bulk_finalise_finalises_the_ticked_appraisals(client_as, org, hr_admin):
    work = _cycle_with_work(org, count=3)
    ticked = work["ready"][:2]

    response = client_as(hr_admin).post(
        _url("bulk_finalise", org, work["cycle"].pk),
        {"appraisals": [a.pk for a in ticked]},
    )

    assert response.status_code == 302
    assert [stored(a)["status"] for a in work["ready"]] == [
        AppraisalStatus.FINALIZED,
        AppraisalStatus.FINALIZED,
        AppraisalStatus.OPEN,
    ]


def test_bulk_finalise_with_a_foreign_id_is_refused_whole(
    client_as, org, other_org, hr_admin
):
    work = _cycle_with_work(org)
    foreign = ready_appraisal(other_org)

    response = client_as(hr_admin).post(
        _url("bulk_finalise", org, work["cycle"].pk),
        {"appraisals": [work["ready"][0].pk, foreign.pk]},
    )

    assert response.status_code == 400
    assert "nothing was finalised" in _text(response)
    assert stored(work["ready"][0])["status"] == AppraisalStatus.OPEN
    assert stored(foreign)["status"] == AppraisalStatus.OPEN


def test_bulk_finalise_with_an_unready_appraisal_names_it(client_as, org, hr_admin):
    work = _cycle_with_work(org)
    unready = work["overdue"].appraisal

    response = client_as(hr_admin).post(
        _url("bulk_finalise", org, work["cycle"].pk),
        {"appraisals": [work["ready"][0].pk, unready.pk]},
    )

    assert response.status_code == 400
    assert "Not ready" in _text(response)
    assert stored(work["ready"][0])["status"] == AppraisalStatus.OPEN


@pytest.mark.parametrize("ids", [[], ["abc"]])
def test_bulk_finalise_with_no_or_bad_selection_is_refused(
    client_as, org, hr_admin, ids
):
    work = _cycle_with_work(org)

    response = client_as(hr_admin).post(
        _url("bulk_finalise", org, work["cycle"].pk), {"appraisals": ids}
    )

    assert response.status_code == 400
    assert "select" in _text(response).lower()
    assert stored(work["ready"][0])["status"] == AppraisalStatus.OPEN


# --- Bulk reminders -----------------------------------------------------------------------


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
    url = _url("bulk_remind", org, work["cycle"].pk)

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, {"evaluations": [work["overdue"].pk]})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"evaluations": [work["overdue"].pk]})

    assert first.status_code == 302
    assert [m.to for m in mailoutbox] == [[reviewer.user.email]]


def test_bulk_remind_with_a_foreign_id_sends_nothing(
    client_as,
    org,
    other_org,
    hr_admin,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    work = _cycle_with_work(org)
    foreign = EvaluationFactory(plan=PlanFactory(organization=other_org))

    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(hr_admin).post(
            _url("bulk_remind", org, work["cycle"].pk),
            {"evaluations": [work["overdue"].pk, foreign.pk]},
        )

    assert response.status_code == 400
    assert "no reminder was sent" in _text(response)
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
