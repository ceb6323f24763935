"""The evaluation queue and its home-page summary: each tab's exact total, a page of
rows at a time, HR's "needs a reviewer" tab, nothing from another organisation, and a
query count that does not grow with the rows.

Who may approve what is held against the Python rule in
``tests/appraisals/test_queue_rule.py``; here the pages.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models import Evaluation
from organizations.enums import Role
from organizations.models import Employee, Membership
from tests.appraisal_factories import AppraisalFactory, EvaluationFactory
from tests.appraisals.test_workflow_opening import (
    World,
    build_world,
    employee_of,
    evaluation,
)
from tests.engagement_factories import PlanFactory
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 15
PAGE_SIZE = 25
BOOKKEEPING = re.compile(
    r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SELECT set_config\()"
)


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


def url(world: World, name: str = "queue", query: str = "") -> str:
    return reverse(f"appraisals:{name}", args=[world.org.slug]) + query


def lookups(client: Any, path: str) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, [
        q["sql"] for q in captured.captured_queries if not BOOKKEEPING.match(q["sql"])
    ]


def add_reviews(
    world: World,
    count: int,
    *,
    reviewer: Employee | None,
    status: str = EvaluationStatus.DRAFT,
    appraisal_status: str = AppraisalStatus.OPEN,
) -> list[Evaluation]:
    """``count`` reviews of new people's plans on the world's engagement (approved
    by its approver), oldest submission first."""
    now = timezone.now()
    found = []
    for n in range(count):
        plan = PlanFactory(
            organization=world.org, cycle=world.cycle, engagement=world.engagement
        )
        appraisal = AppraisalFactory(
            organization=world.org,
            cycle=world.cycle,
            employee=plan.employee,
            status=appraisal_status,
            finalized_at=None if appraisal_status == AppraisalStatus.OPEN else now,
        )
        found.append(
            EvaluationFactory(
                organization=world.org,
                plan=plan,
                appraisal=appraisal,
                reviewer=reviewer,
                status=status,
                submission=1 if status == EvaluationStatus.SUBMITTED else 0,
                submitted_at=now - timedelta(hours=count - n),
            )
        )
    return found


def shown(response: Any) -> list[int]:
    return [evaluation.pk for evaluation in response.context["rows"]]


# --- tabs, totals and pages ----------------------------------------------------------------


def test_write_tab_counts_every_review_and_shows_a_page_at_a_time(world, client_as):
    reviewer = world.employee("reviewer")
    mine = add_reviews(world, 27, reviewer=reviewer)
    # Not the reviewer's to write: finalised, already submitted, someone else's.
    add_reviews(world, 2, reviewer=reviewer, appraisal_status=AppraisalStatus.FINALIZED)
    add_reviews(world, 2, reviewer=reviewer, status=EvaluationStatus.SUBMITTED)
    add_reviews(world, 2, reviewer=world.employee("stranger"))
    client = client_as(world.reviewer)

    first = client.get(url(world))
    second = client.get(url(world, query="?tab=write&page=2"))

    # The world's own review of the owner's plan is the reviewer's too.
    total = len(mine) + 1
    assert (
        first.context["queue"].to_write,
        first.context["page_obj"].paginator.count,
    ) == (
        total,
        total,
    )
    assert (len(shown(first)), len(shown(second))) == (PAGE_SIZE, total - PAGE_SIZE)
    assert set(shown(first)) | set(shown(second)) == {e.pk for e in mine} | {
        evaluation(world, world.plan).pk
    }


def test_approve_tab_lists_the_approvers_reviews_oldest_first_a_page_at_a_time(
    world, client_as
):
    submitted = add_reviews(
        world,
        28,
        reviewer=world.employee("reviewer"),
        status=EvaluationStatus.SUBMITTED,
    )
    client = client_as(world.approver)

    first = client.get(url(world, query="?tab=approve"))
    second = client.get(url(world, query="?tab=approve&page=2"))

    assert first.context["queue"].to_approve == len(submitted)
    assert shown(first) + shown(second) == [e.pk for e in submitted]
    assert len(shown(first)) == PAGE_SIZE


def test_hr_lists_the_reviews_without_a_reviewer_in_their_own_tab(world, client_as):
    unassigned = add_reviews(world, 3, reviewer=None)

    hr = client_as(world.hr).get(url(world, query="?tab=unassigned"))
    manager = client_as(world.manager).get(url(world, query="?tab=unassigned"))

    assert (hr.context["tab"], hr.context["queue"].unassigned) == ("unassigned", 3)
    assert sorted(shown(hr)) == sorted(e.pk for e in unassigned)
    # Not a tab of anyone else's: their own reviews to write instead.
    assert (manager.context["tab"], manager.context["queue"].unassigned) == (
        "write",
        0,
    )


def test_a_page_past_the_end_shows_the_last_page(world, client_as):
    add_reviews(world, 3, reviewer=world.employee("reviewer"))

    response = client_as(world.reviewer).get(url(world, query="?tab=write&page=9"))

    assert (response.status_code, response.context["page_obj"].number) == (200, 1)
    assert len(shown(response)) == 4


def test_another_organisations_reviews_never_reach_the_queue(world, client_as):
    # The reviewer belongs to the other organisation too, with work to do there.
    elsewhere = MembershipFactory(
        organization=world.other_org, user=world.reviewer.user, role=Role.EMPLOYEE
    )
    other_reviewer = employee_of(elsewhere)
    hidden = EvaluationFactory(
        organization=world.other_org,
        plan=PlanFactory(organization=world.other_org),
        reviewer=other_reviewer,
    )

    response = client_as(world.reviewer).get(url(world))

    assert hidden.pk not in shown(response)
    assert response.context["queue"].to_write == 1


# --- query counts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "query"),
    [
        ("reviewer", ""),
        ("approver", "?tab=approve"),
        ("hr", "?tab=approve"),
        ("hr", "?tab=unassigned"),
        ("approver", "summary"),
        ("hr", "summary"),
    ],
)
def test_queue_query_count_does_not_grow_with_the_rows(world, client_as, who, query):
    reviewer = world.employee("reviewer")
    path = (
        url(world, "queue_summary") if query == "summary" else url(world, query=query)
    )
    client = client_as(getattr(world, who))
    add_reviews(world, 1, reviewer=reviewer)
    add_reviews(world, 1, reviewer=reviewer, status=EvaluationStatus.SUBMITTED)
    add_reviews(world, 1, reviewer=None)
    client.get(path)  # warm up: per-process caches are not the page's cost
    few, few_sql = lookups(client, path)
    add_reviews(world, 30, reviewer=reviewer)
    add_reviews(world, 30, reviewer=reviewer, status=EvaluationStatus.SUBMITTED)
    add_reviews(world, 30, reviewer=None)

    many, many_sql = lookups(client, path)

    assert (few.status_code, many.status_code) == (200, 200)
    assert len(many_sql) == len(few_sql), "\n".join(many_sql)
    assert len(many_sql) <= QUERY_BUDGET


# --- the home page's summary ---------------------------------------------------------------


def test_summary_shows_each_total_and_the_first_few(world, client_as):
    add_reviews(world, 6, reviewer=world.employee("reviewer"))
    add_reviews(
        world, 7, reviewer=world.employee("reviewer"), status=EvaluationStatus.SUBMITTED
    )

    reviewer = client_as(world.reviewer).get(url(world, "queue_summary"))
    approver = client_as(world.approver).get(url(world, "queue_summary"))

    assert (reviewer.context["queue"].to_write, len(reviewer.context["to_write"])) == (
        7,
        5,
    )
    assert (
        approver.context["queue"].to_approve,
        len(approver.context["to_approve"]),
    ) == (
        7,
        5,
    )


def test_member_without_a_directory_entry_has_an_empty_queue(
    org, make_member, client_as
):
    member: Membership = make_member(org, Role.MANAGER, employee=False)

    response = client_as(member).get(reverse("appraisals:queue", args=[org.slug]))

    queue = response.context["queue"]
    assert (queue.to_write, queue.to_approve, queue.unassigned) == (0, 0, 0)
