"""A person's whole page: the lazily loaded sections of other apps (plans, goals
and check-ins, engagements and roles, appraisals, feedback given, feedback requests), who reaches
each, what each shows to whom, and their query counts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from engagements.enums import CycleStatus, PlanKind
from feedback.enums import Visibility
from tests.appraisal_factories import AppraisalFactory, EvaluationFactory
from tests.engagement_factories import (
    EngagementFactory,
    GoalCheckInFactory,
    GoalFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.engagements.views.test_plans import (
    World,
    build_world,
    employee_of,
    lookups,
    page_text,
)
from tests.feedback_factories import FeedbackFactory, FeedbackRequestFactory

pytestmark = pytest.mark.django_db

SECTIONS = (
    "engagements:employee_plans",
    "engagements:employee_goals",
    "engagements:employee_engagements",
    "appraisals:employee_appraisals",
    "appraisals:employee_evaluations",
    "feedback:employee_given",
    "feedback:employee_requests",
)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


def _url(name: str, world: World, pk: int | None = None) -> str:
    return reverse(name, args=[world.org.slug, pk or employee_of(world.owner).pk])


def _section(client_as: Any, world: World, viewer: str, name: str) -> str:
    response = client_as(world.member(viewer)).get(_url(name, world), **HTMX)
    assert response.status_code == 200
    return page_text(response)


@pytest.mark.parametrize("name", SECTIONS)
@pytest.mark.parametrize(
    ("viewer", "status"),
    [("hr", 200), ("manager", 200), ("owner", 200), ("stranger", 404)],
)
def test_person_section_is_for_whoever_sees_the_person(
    world, client_as, name, viewer, status
):
    response = client_as(world.member(viewer)).get(_url(name, world), **HTMX)

    assert response.status_code == status


@pytest.mark.parametrize("name", SECTIONS)
def test_person_section_of_another_organisation_is_404(world, client_as, name):
    foreign = employee_of(world.outsider)

    response = client_as(world.hr).get(_url(name, world, foreign.pk), **HTMX)

    assert response.status_code == 404


@pytest.mark.parametrize("name", SECTIONS)
def test_person_section_without_htmx_is_a_page_of_its_own(world, client_as, name):
    response = client_as(world.manager).get(_url(name, world))

    assert response.status_code == 200
    assert "Back to the person" in page_text(response)
    assert response["Vary"].count("HX-Request") == 1


def test_person_page_loads_every_section(world, client_as):
    owner = employee_of(world.owner)

    response = client_as(world.manager).get(
        reverse("organizations:employee_detail", args=[world.org.slug, owner.pk])
    )

    text = page_text(response)
    for name in (*SECTIONS, "feedback:employee_feed"):
        assert f'hx-get="{_url(name, world)}"' in text


def test_plans_section_lists_every_cycle_with_links(world, client_as):
    closed = ReviewCycleFactory(
        organization=world.org, name="Old Cycle", status=CycleStatus.CLOSED
    )
    old = PlanFactory(
        organization=world.org,
        cycle=closed,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        employee=employee_of(world.owner),
    )

    text = _section(client_as, world, "manager", "engagements:employee_plans")

    for plan in (world.plan, world.general, old):
        assert (
            reverse("engagements:plan_detail", args=[world.org.slug, plan.pk]) in text
        )
    assert "Old Cycle" in text
    assert "Data Platform" in text


def test_goals_section_shows_open_cycles_goals_with_their_latest_check_in(
    world, client_as
):
    owner = employee_of(world.owner)
    goal = GoalFactory(plan=world.plan, title="Migrate the billing jobs")
    GoalCheckInFactory(goal=goal, author=world.manager.user)
    GoalFactory(plan=world.general, title="Mentor a new joiner")
    closed = ReviewCycleFactory(organization=world.org, status=CycleStatus.CLOSED)
    old_plan = PlanFactory(
        organization=world.org,
        cycle=closed,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
        employee=owner,
    )
    GoalFactory(plan=old_plan, title="Last year's goal")

    text = _section(client_as, world, "manager", "engagements:employee_goals")

    assert "Migrate the billing jobs" in text
    assert "Mentor a new joiner" in text
    assert "Last year's goal" not in text  # its cycle is closed
    assert reverse("engagements:goal_detail", args=[world.org.slug, goal.pk]) in text
    assert world.manager.user.full_name in text  # who wrote the check-in
    assert "Data Platform" in text


def test_evaluations_section_shows_each_reader_what_its_page_would(world, client_as):
    owner = employee_of(world.owner)
    appraisal = AppraisalFactory(
        cycle=world.cycle, employee=owner, status=AppraisalStatus.OPEN
    )
    review = EvaluationFactory(
        plan=world.general,
        appraisal=appraisal,
        reviewer=employee_of(world.manager),
        status=EvaluationStatus.SUBMITTED,
    )
    own = EvaluationFactory(
        plan=world.general,
        appraisal=appraisal,
        kind=EvaluationKind.SELF,
        reviewer=None,
        status=EvaluationStatus.DRAFT,
    )

    def links(viewer: str) -> set[int]:
        text = _section(client_as, world, viewer, "appraisals:employee_evaluations")
        return {
            e.pk
            for e in (review, own)
            if reverse("appraisals:evaluation_detail", args=[world.org.slug, e.pk])
            in text
        }

    # The line manager reads the review; the draft self-assessment is the
    # employee's until shared. The employee reads their own, not the open review.
    assert links("manager") == {review.pk}
    assert links("owner") == {own.pk}
    assert links("hr") == {review.pk}


def test_engagements_section_shows_staffing_and_roles(world, client_as):
    text = _section(client_as, world, "owner", "engagements:employee_engagements")

    assert "Data Platform" in text
    assert "Data engineer" in text
    assert "Mobile App" not in text


def test_appraisals_section_hides_open_scores_from_the_employee(world, client_as):
    AppraisalFactory(
        cycle=world.cycle,
        employee=employee_of(world.owner),
        status=AppraisalStatus.OPEN,
        final_score=Decimal("3.40"),
    )

    mine = _section(client_as, world, "owner", "appraisals:employee_appraisals")
    managers = _section(client_as, world, "manager", "appraisals:employee_appraisals")

    assert "3.40" not in mine
    assert "shown once finalised" in mine
    assert "3.40" in managers
    assert "provisional" in managers


def test_appraisals_section_shows_the_trend(world, client_as):
    earlier = ReviewCycleFactory(
        organization=world.org,
        name="Earlier",
        status=CycleStatus.CLOSED,
        start_date=world.cycle.start_date.replace(year=world.cycle.start_date.year - 1),
        end_date=world.cycle.end_date.replace(year=world.cycle.end_date.year - 1),
    )
    owner = employee_of(world.owner)
    AppraisalFactory(
        cycle=earlier,
        employee=owner,
        status=AppraisalStatus.ACKNOWLEDGED,
        final_score=Decimal("3.00"),
    )
    AppraisalFactory(
        cycle=world.cycle,
        employee=owner,
        status=AppraisalStatus.FINALIZED,
        final_score=Decimal("3.50"),
    )

    text = _section(client_as, world, "owner", "appraisals:employee_appraisals")

    assert "+0.50" in text


def test_feedback_given_follows_the_readers_rule(world, client_as):
    FeedbackFactory(
        organization=world.org,
        author=employee_of(world.owner),
        subject=employee_of(world.stranger),
        engagement=world.engagement,
        body="Owner about the stranger",
        visibility=Visibility.SHARED,
    )

    hr = _section(client_as, world, "hr", "feedback:employee_given")
    mine = _section(client_as, world, "owner", "feedback:employee_given")
    managers = _section(client_as, world, "manager", "feedback:employee_given")

    assert "Owner about the stranger" in hr
    assert "Owner about the stranger" in mine
    # The line manager reads feedback about their reports, not by them.
    assert "Owner about the stranger" not in managers


def test_feedback_requests_section_lists_requests_about_the_person(world, client_as):
    FeedbackRequestFactory(
        organization=world.org,
        requested_by=employee_of(world.manager),
        subject=employee_of(world.owner),
        engagement=world.engagement,
    )
    FeedbackRequestFactory(
        organization=world.org,
        requested_by=employee_of(world.stranger),
        engagement=world.other_engagement,
    )

    text = _section(client_as, world, "owner", "feedback:employee_requests")

    assert "Data Platform" in text
    assert "Mobile App" not in text


def _grow(world: World, count: int) -> None:
    """``count`` more rows of every section about the owner."""
    owner = employee_of(world.owner)
    for n in range(count):
        GoalCheckInFactory(goal=GoalFactory(plan=world.plan), author=world.owner.user)
        cycle = ReviewCycleFactory(organization=world.org, status=CycleStatus.CLOSED)
        engagement = EngagementFactory(organization=world.org)
        PlanFactory(
            organization=world.org, cycle=cycle, engagement=engagement, employee=owner
        )
        plan = PlanFactory(
            organization=world.org,
            cycle=cycle,
            kind=PlanKind.GENERAL,
            engagement=None,
            allocation=None,
            employee=owner,
        )
        appraisal = AppraisalFactory(
            cycle=cycle,
            employee=owner,
            status=AppraisalStatus.ACKNOWLEDGED,
            final_score=Decimal("3.00") + n,
        )
        EvaluationFactory(
            plan=plan, appraisal=appraisal, status=EvaluationStatus.APPROVED
        )
        FeedbackFactory(
            organization=world.org,
            author=owner,
            subject=employee_of(world.manager),
            engagement=engagement,
        )
        FeedbackRequestFactory(
            organization=world.org,
            requested_by=owner,
            subject=owner,
            engagement=engagement,
        )


@pytest.mark.parametrize("name", SECTIONS)
@pytest.mark.parametrize("viewer", ["hr", "manager"])
def test_person_section_query_count_is_flat(world, client_as, name, viewer):
    client = client_as(world.member(viewer))
    path = _url(name, world)
    _grow(world, 1)
    _, few = lookups(client, path)

    _grow(world, 3)
    response, many = lookups(client, path)

    assert response.status_code == 200
    assert len(many) == len(few)


def test_plans_to_write_lists_a_reports_general_plan_for_the_line_manager(
    world, client_as
):
    response = client_as(world.manager).get(
        reverse("organizations:home", args=[world.org.slug])
    )

    text = page_text(response)
    section = text[text.index('id="plans-to-write"') : text.index('id="my-roles"')]
    assert (
        reverse("engagements:plan_detail", args=[world.org.slug, world.general.pk])
        in section
    )
    assert "General plan" in section
