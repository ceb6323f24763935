"""HR's cycle progress page: access, the counts, the busiest engagements, the
filtered and paginated appraisal list, and what a page costs. The evaluation list
is test_appraisal_cycle_progress_evaluations.py's; the bulk actions and the score
recomputation test_appraisal_cycle_progress_actions.py's; the tallies the counts
read, tests/appraisals/test_progress_tallies.py's."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models import Appraisal
from engagements.enums import EngagementRole
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.tenancy import tenant_context
from tests.appraisal_factories import EvaluationFactory
from tests.appraisals.test_finalisation_services import (
    employee_of,
    ready_appraisal,
    review_cycle,
)
from tests.appraisals.views.test_appraisal_pages import (
    QUERY_BUDGET,
    _field_error,
    _lookups,
    _text,
)
from tests.engagement_factories import EngagementFactory, PlanFactory
from tests.factories import BusinessUnitFactory, EmployeeFactory

pytestmark = pytest.mark.django_db

PAGES = ("cycle_progress", "cycle_progress_evaluations")


def _url(name, org, *args, query: str = ""):
    url = reverse(f"appraisals:{name}", args=[org.slug, *args])
    return f"{url}?{query}" if query else url


def _ready(org, cycle, *, engagement, reviewer, unit, count: int = 1, employee=None):
    """``count`` ready appraisals on ``engagement``, reviewed by ``reviewer``, of new
    employees of ``unit`` (or of ``employee``): the rows that grow while every
    filter's choices stay the same."""
    return [
        EvaluationFactory(
            plan=PlanFactory(
                organization=org,
                cycle=cycle,
                engagement=engagement,
                employee=employee
                or EmployeeFactory(
                    organization=org, business_unit=unit, job_title=None
                ),
            ),
            reviewer=reviewer,
            status=EvaluationStatus.APPROVED,
        ).appraisal
        for _ in range(count)
    ]


def _cycle_with_work(org, count: int = 1):
    """A cycle with ``count`` ready appraisals on engagement Alpha (business unit
    ``north``, reviewer Rita) and, on engagement Gamma (unit ``south``), a draft
    evaluation overdue, a submitted one overdue and an approved one overdue, each of
    its own employee."""
    cycle = review_cycle(org)
    alpha = EngagementFactory(organization=org, name="Alpha audit")
    gamma = EngagementFactory(organization=org, name="Gamma audit")
    north = BusinessUnitFactory(organization=org)
    south = BusinessUnitFactory(organization=org)
    rita = EmployeeFactory(organization=org, full_name="Rita Reviewer", job_title=None)
    yesterday = timezone.localdate() - timedelta(days=1)

    def gamma_evaluation(status, **extra):
        employee = EmployeeFactory(organization=org, business_unit=south)
        plan = PlanFactory(
            organization=org, cycle=cycle, engagement=gamma, employee=employee
        )
        return EvaluationFactory(plan=plan, status=status, due_date=yesterday, **extra)

    return {
        "cycle": cycle,
        "alpha": alpha,
        "gamma": gamma,
        "north": north,
        "south": south,
        "rita": rita,
        "ready": _ready(
            org, cycle, engagement=alpha, reviewer=rita, unit=north, count=count
        ),
        "overdue": gamma_evaluation(EvaluationStatus.DRAFT),
        "submitted": gamma_evaluation(EvaluationStatus.SUBMITTED, submission=1),
        "approved": gamma_evaluation(EvaluationStatus.APPROVED),
    }


def _listed(response) -> list[int]:
    return [row.pk for row in response.context["rows"]]


def _gamma(work) -> list[Appraisal]:
    return [
        work["overdue"].appraisal,
        work["submitted"].appraisal,
        work["approved"].appraisal,
    ]


# --- Access -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("cycle_progress", "get"),
        ("cycle_progress_evaluations", "get"),
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


@pytest.mark.parametrize("name", PAGES)
def test_cycle_progress_is_403_for_an_engagement_reviewer(
    client_as, org, make_member, name
):
    reviewer = make_member(org)
    cycle = review_cycle(org)
    with tenant_context(org):
        assign_role(
            actor=None,
            engagement=EngagementFactory(organization=org),
            employee=employee_of(reviewer),
            role=EngagementRole.REVIEWER,
        )

    response = client_as(reviewer).get(_url(name, org, cycle.pk))

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("cycle_progress", "get"),
        ("cycle_progress_evaluations", "get"),
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


# --- Counts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_cycle_progress_counts_statuses_overdue_and_engagements(
    client_as, org, hr_admin, name
):
    work = _cycle_with_work(org, count=2)
    with tenant_context(org):
        Appraisal.objects.filter(pk=work["ready"][0].pk).update(
            status=AppraisalStatus.FINALIZED, finalized_at=timezone.now()
        )
    # Two reviews, one approved: not ready.
    half = work["ready"][1]
    EvaluationFactory(
        plan=PlanFactory(
            organization=org,
            cycle=work["cycle"],
            engagement=work["gamma"],
            employee=half.employee,
        ),
        appraisal=half,
        reviewer=work["rita"],
    )

    response = client_as(hr_admin).get(_url(name, org, work["cycle"].pk))

    summary = response.context["summary"]
    assert response.status_code == 200
    assert summary.appraisals_by_status == [
        ("Open", 4),
        ("Finalised", 1),
        ("Acknowledged", 0),
    ]
    assert summary.appraisals_total == 5
    # Ready: only Gamma's approved one.
    assert summary.ready == 1
    assert summary.evaluations_by_status == [
        ("Draft", 2),
        ("Submitted", 1),
        ("Approved", 3),
        ("Returned", 0),
    ]
    # The approved one is late but done: only the draft and the submitted count.
    assert (summary.overdue, summary.waiting, summary.evaluations_total) == (2, 3, 6)
    assert [
        (r.name, r.total, r.approved, r.overdue)
        for r in response.context["engagements"].rows
    ] == [("Gamma audit", 4, 1, 2), ("Alpha audit", 2, 2, 0)]
    assert response.context["engagements"].more is False


def test_by_engagement_lists_the_busiest_ten_and_says_there_are_more(
    client_as, org, hr_admin
):
    cycle = review_cycle(org)
    for waiting in range(12):
        engagement = EngagementFactory(organization=org, name=f"Busy {waiting:02d}")
        for _ in range(waiting):
            EvaluationFactory(
                plan=PlanFactory(organization=org, cycle=cycle, engagement=engagement)
            )

    response = client_as(hr_admin).get(_url("cycle_progress", org, cycle.pk))

    engagements = response.context["engagements"]
    assert [r.name for r in engagements.rows] == [
        f"Busy {n:02d}" for n in range(11, 1, -1)
    ]
    assert engagements.more is True
    link = _url(
        "cycle_progress_evaluations",
        org,
        cycle.pk,
        query=f"engagement={engagements.rows[0].engagement_id}",
    )
    assert f'href="{link}"' in response.content.decode()


# --- The appraisal list ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "total"), [(PAGES[0], 5), (PAGES[1], 2)])
def test_unfiltered_lists_take_their_totals_from_the_counts(
    client_as, org, hr_admin, name, total
):
    work = _cycle_with_work(org, count=2)

    with CaptureQueriesContext(connection) as queries:
        response = client_as(hr_admin).get(_url(name, org, work["cycle"].pk))

    assert response.context["page_obj"].paginator.count == total
    counts = [q["sql"] for q in queries if "COUNT(*)" in q["sql"]]
    assert [sql for sql in counts if "appraisals_" in sql] == []


def test_appraisal_list_shows_fifty_a_page(client_as, org, hr_admin):
    work = _cycle_with_work(org, count=52)
    cycle = work["cycle"]
    client = client_as(hr_admin)

    first = client.get(_url("cycle_progress", org, cycle.pk))
    second = client.get(_url("cycle_progress", org, cycle.pk, query="page=2"))

    with tenant_context(org):
        by_name = list(
            Appraisal.objects.filter(cycle=cycle)
            .order_by("employee__full_name", "pk")
            .values_list("pk", flat=True)
        )
    assert _listed(first) == by_name[:50]
    assert _listed(second) == by_name[50:]
    assert "Page 2 of 2" in _text(second)
    assert "55 appraisals match these filters." in _text(first)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=ready", lambda w: [*w["ready"], w["approved"].appraisal]),
        ("status=open", lambda w: [*w["ready"], *_gamma(w)]),
        ("status=finalized", lambda w: []),
        ("engagement={gamma}", _gamma),
        ("reviewer={rita}", lambda w: w["ready"]),
        ("business_unit={north}", lambda w: w["ready"]),
        ("q={first_name}", lambda w: w["ready"][:1]),
    ],
)
def test_each_appraisal_filter_narrows_the_list(
    client_as, org, hr_admin, query, expected
):
    work = _cycle_with_work(org, count=2)
    with tenant_context(org):
        first_name = work["ready"][0].employee.full_name
    query = query.format(
        gamma=work["gamma"].pk,
        rita=work["rita"].pk,
        north=work["north"].pk,
        first_name=first_name,
    )

    response = client_as(hr_admin).get(
        _url("cycle_progress", org, work["cycle"].pk, query=query)
    )

    assert response.status_code == 200
    assert sorted(_listed(response)) == sorted(a.pk for a in expected(work))


def test_a_filter_naming_another_organisations_engagement_lists_nothing(
    client_as, org, other_org, hr_admin
):
    work = _cycle_with_work(org)
    foreign = EngagementFactory(organization=other_org)

    response = client_as(hr_admin).get(
        _url("cycle_progress", org, work["cycle"].pk, query=f"engagement={foreign.pk}")
    )

    assert response.status_code == 200
    assert _listed(response) == []
    assert _field_error(response, "engagement")
    assert response.context["bulk_count"] == 0
    assert re.search(
        r"<button [^>]*disabled[^>]*>.*No appraisal matching these filters is ready "
        r"to finalise</button>",
        response.content.decode(),
    )


def test_the_finalise_button_counts_the_ready_appraisals_matching_the_filters(
    client_as, org, hr_admin
):
    work = _cycle_with_work(org, count=3)
    url = _url("cycle_progress", org, work["cycle"].pk)
    client = client_as(hr_admin)

    everything = client.get(url)
    alpha = client.get(f"{url}?engagement={work['alpha'].pk}")

    assert "Finalise all 4 ready appraisals matching these filters" in _text(everything)
    assert "Finalise all 3 ready appraisals matching these filters" in _text(alpha)
    assert 'name="engagement" value="{}"'.format(work["alpha"].pk) in (
        alpha.content.decode()
    )


def test_hrs_own_appraisal_is_marked_as_their_own(client_as, org, hr_admin):
    own = ready_appraisal(org, employee_of(hr_admin))
    with tenant_context(org):
        cycle_id = own.cycle_id

    response = client_as(hr_admin).get(_url("cycle_progress", org, cycle_id))

    rows = re.findall(r"<tr>.*?</tr>", response.content.decode(), re.S)
    (row,) = [r for r in rows if f"/appraisals/{own.pk}/" in r]
    assert "your own" in row


# --- Cost and size --------------------------------------------------------------------------


def _page_costs(client, org, name, counts: tuple[int, int]) -> list[tuple[int, int]]:
    """(queries, bytes) of the page of a cycle of each size; both cycles are built
    first, so both pages offer the same filter choices."""
    cycles = [_cycle_with_work(org, count=count)["cycle"] for count in counts]
    costs = []
    for cycle in cycles:
        response, queries = _lookups(client, _url(name, org, cycle.pk))
        assert response.status_code == 200
        costs.append((queries, len(response.content)))
    return costs


@pytest.mark.parametrize("name", PAGES)
def test_cycle_progress_query_count_is_flat(client_as, org, hr_admin, name):
    (small, _), (large, _) = _page_costs(client_as(hr_admin), org, name, (5, 60))

    assert small == large
    assert large <= QUERY_BUDGET


def test_cycle_progress_page_size_does_not_grow_with_the_cycle(
    client_as, org, hr_admin
):
    costs = _page_costs(client_as(hr_admin), org, "cycle_progress", (60, 200))

    (_, small), (_, large) = costs
    # Both show 50 rows and the same choices; only the digits of the counts differ.
    assert abs(large - small) < small * 0.01
