"""``ApprovalFallback``, the reviews only HR admins may approve, kept by database
triggers: after every change it depends on (submit, approve, return, a reviewer
reassigned, a person deactivated or given another line manager, a plan's approver or
an engagement's approvers changed, an appraisal closed, dual approval), it holds
exactly the submitted reviews in open appraisals whose ``permissions.Authority``
falls back to HR and whose approver capacity is still open; HR's queue lists them
with a query count that does not grow with them.

The rule's SQL as a whole is held against ``Authority`` in ``test_queue_rule.py``.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from appraisals import permissions
from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.models import Appraisal, ApprovalFallback
from appraisals.selectors.approvals import approved_capacities, authorities_for
from appraisals.selectors.evaluations import evaluation_queryset
from appraisals.selectors.queues import Tab, approvable_ids, evaluation_queue
from appraisals.services import evaluations
from engagements.enums import EngagementRole
from engagements.models import Plan, RoleAssignment
from engagements.services.roles import revoke_role
from organizations.models import Employee
from organizations.services import set_employee_active, update_employee
from organizations.tenancy import tenant_context
from tests.appraisals.test_workflow_opening import World, build_world, evaluation
from tests.appraisals.test_workflow_transitions import approve, dual, give_back, submit
from tests.appraisals.views.test_evaluation_queue import add_reviews, lookups, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


def expected(world: World) -> dict[int, datetime | None]:
    """What ``Authority`` says: the submitted reviews in open appraisals that fall
    back to HR with their approver capacity still open."""
    with tenant_context(world.org):
        rows = list(
            evaluation_queryset().filter(
                appraisal__status=AppraisalStatus.OPEN,
                kind=EvaluationKind.REVIEW,
                status=EvaluationStatus.SUBMITTED,
            )
        )
        authorities = authorities_for(rows)
        return {
            e.pk: e.submitted_at
            for e in rows
            if authorities[e.pk].hr_fallback
            and permissions.APPROVER not in approved_capacities(e, e.approvals.all())
        }


def stored(world: World) -> dict[int, datetime | None]:
    with tenant_context(world.org):
        return dict(
            ApprovalFallback.objects.values_list("evaluation_id", "submitted_at")
        )


def held(world: World) -> set[int]:
    """The stored rows, checked against ``Authority`` first."""
    rows = stored(world)
    assert rows == expected(world)
    return set(rows)


def person(world: World, name: str) -> Employee:
    with tenant_context(world.org):
        return Employee.objects.get(pk=world.employee(name).pk)


def deactivate(world: World, name: str, *, active: bool = False) -> None:
    with tenant_context(world.org):
        set_employee_active(actor=world.hr, employee=person(world, name), active=active)


def set_plan_approver(world: World, plan: Plan, name: str | None) -> None:
    # Plans are locked in review: HR's data fixes (and bulk updates) go round the
    # plan service, and the triggers still see them.
    with tenant_context(world.org):
        Plan.objects.filter(pk=plan.pk).update(
            approver=person(world, name) if name else None
        )


def test_a_review_falls_back_to_hr_and_leaves_with_each_workflow_step(world):
    review = evaluation(world, world.plan)

    submit(world, world.reviewer, review)
    assert held(world) == set()  # the engagement's approver qualifies

    deactivate(world, "approver")
    assert held(world) == {review.pk}
    with tenant_context(world.org):
        assert approvable_ids(world.org.pk, world.hr.user_id, is_hr=True) == [review.pk]
        assert evaluation_queue(world.hr).to_approve == 1

    give_back(world, world.hr, review)
    assert held(world) == set()

    submit(world, world.reviewer, review)
    assert held(world) == {review.pk}

    approve(world, world.hr, review)
    assert held(world) == set()

    deactivate(world, "approver", active=True)
    assert held(world) == set()


def test_reactivating_the_approver_takes_the_review_back_from_hr(world):
    review = evaluation(world, world.plan)
    deactivate(world, "approver")
    submit(world, world.reviewer, review)
    assert held(world) == {review.pk}

    deactivate(world, "approver", active=True)

    assert held(world) == set()


def test_plan_approvers_engagement_approvers_and_reviewers_move_the_review(world):
    review = evaluation(world, world.plan)
    set_plan_approver(world, world.plan, "stranger")
    submit(world, world.reviewer, review)
    with tenant_context(world.org):
        revoke_role(
            actor=world.hr,
            assignment=RoleAssignment.objects.get(
                engagement=world.engagement, role=EngagementRole.APPROVER
            ),
        )
    assert held(world) == set()  # the plan's approver qualifies

    # The plan's approver becomes its reviewer: nobody else approves.
    give_back(world, world.stranger, review)
    with tenant_context(world.org):
        evaluations.assign_reviewer(
            actor=world.hr, evaluation=review, reviewer=person(world, "stranger")
        )
    assert held(world) == set()
    submit(world, world.stranger, review)
    assert held(world) == {review.pk}

    set_plan_approver(world, world.plan, "grand")
    assert held(world) == set()

    set_plan_approver(world, world.plan, None)
    assert held(world) == {review.pk}


def test_line_manager_changes_move_a_general_plans_review(world):
    review = evaluation(world, world.general)  # written by the line manager
    submit(world, world.manager, review, plan=world.general)
    assert held(world) == set()  # the line manager's line manager approves

    with tenant_context(world.org):
        update_employee(
            actor=world.hr, employee=person(world, "manager"), line_manager=None
        )
    assert held(world) == {review.pk}

    deactivate(world, "grand")
    with tenant_context(world.org):
        update_employee(
            actor=world.hr,
            employee=person(world, "manager"),
            line_manager=person(world, "grand"),
        )
    assert held(world) == {review.pk}  # inactive: still nobody

    deactivate(world, "grand", active=True)
    assert held(world) == set()


def test_dual_approval_keeps_the_review_with_hr_until_the_approver_capacity_is_filled(
    world,
):
    dual(world)
    review = evaluation(world, world.plan)
    deactivate(world, "approver")
    submit(world, world.reviewer, review)
    assert held(world) == {review.pk}

    approve(world, world.manager, review)  # the line manager's capacity
    assert held(world) == {review.pk}

    approve(world, world.hr, review)

    assert held(world) == set()
    with tenant_context(world.org):
        review.refresh_from_db()
    assert review.status == EvaluationStatus.APPROVED


def test_closing_the_appraisal_removes_its_reviews(world):
    review = evaluation(world, world.plan)
    deactivate(world, "approver")
    submit(world, world.reviewer, review)
    assert held(world) == {review.pk}

    with tenant_context(world.org):
        Appraisal.objects.filter(pk=review.appraisal_id).update(
            status=AppraisalStatus.FINALIZED, finalized_at=timezone.now()
        )

    assert held(world) == set()


def test_another_organisations_fallback_never_reaches_hr(world):
    # The outsider is HR of the other organisation, whose rows the triggers keep
    # apart: none of this organisation's reviews is theirs.
    review = evaluation(world, world.plan)
    deactivate(world, "approver")
    submit(world, world.reviewer, review)

    with tenant_context(world.other_org):
        queue = evaluation_queue(world.outsider)
        rows = list(ApprovalFallback.objects.all())

    assert (queue.to_approve, rows) == (0, [])
    assert held(world) == {review.pk}


@pytest.mark.parametrize("query", ["?tab=approve", "summary"])
def test_hr_queue_query_count_does_not_grow_with_the_reviews_hr_approves(
    world, client_as, query
):
    deactivate(world, "approver")  # every review of the engagement falls to HR
    path = (
        url(world, "queue_summary") if query == "summary" else url(world, query=query)
    )
    client = client_as(world.hr)
    add_reviews(
        world, 1, reviewer=world.employee("reviewer"), status=EvaluationStatus.SUBMITTED
    )
    client.get(path)  # warm up: per-process caches are not the page's cost
    _few, few_sql = lookups(client, path)
    added = add_reviews(
        world,
        30,
        reviewer=world.employee("reviewer"),
        status=EvaluationStatus.SUBMITTED,
    )

    many, many_sql = lookups(client, path)

    assert len(many_sql) == len(few_sql), "\n".join(many_sql)
    assert many.context["queue"].to_approve == 31
    assert held(world) >= {e.pk for e in added}
    if query != "summary":
        second = client.get(url(world, query=query + "&page=2"))
        with tenant_context(world.org):
            every = approvable_ids(world.org.pk, world.hr.user_id, is_hr=True)
            later = approvable_ids(
                world.org.pk, world.hr.user_id, is_hr=True, offset=25, limit=25
            )
        assert [e.pk for e in many.context["rows"]] == every[:25]
        assert [e.pk for e in second.context["rows"]] == later == every[25:]
        assert many.context["queue"].count(Tab.APPROVE) == len(every) == 31
