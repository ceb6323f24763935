"""Competencies on plans: which set a new plan's competencies come from, template
competencies, plan-level edits (add, re-weight, remove) with their rules, the review
lock, history, the rating scale of a cycle and the scale lock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from competencies.models import CompetencySet, RatingScale
from competencies.usage import scale_lock_reason
from engagements.enums import CycleStatus, PlanKind, PlanStatus
from engagements.models import (
    Engagement,
    EngagementType,
    Plan,
    PlanCompetency,
    ReviewCycle,
    TemplateCompetency,
)
from engagements.selectors.competencies import scale_for_cycle, scale_points
from engagements.selectors.history import plan_history
from engagements.services.clients import save_engagement_type
from engagements.services.competencies import (
    add_plan_competency,
    attach_missing_competencies,
    remove_plan_competency,
    update_plan_competency,
)
from engagements.services.cycles import create_general_plans, update_cycle
from engagements.services.staffing import staff_employees
from engagements.services.templates import apply_template
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.competency_factories import (
    CompetencyFactory,
    CompetencySetFactory,
    CompetencySetItemFactory,
    CompetencySetJobTitleFactory,
    DefaultScaleFactory,
    RatingScaleFactory,
)
from tests.engagement_factories import (
    EngagementFactory,
    PlanFactory,
    PlanTemplateFactory,
    ReviewCycleFactory,
    TemplateGoalFactory,
)
from tests.factories import (
    EmployeeFactory,
    JobTitleFactory,
    OrganizationFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db


# --- factories (plan-side competency rows) ---------------------------------------------


class PlanCompetencyFactory(TenantFactory):
    class Meta:
        model = PlanCompetency

    organization = factory.SubFactory(OrganizationFactory)
    plan = factory.SubFactory(
        PlanFactory, organization=factory.SelfAttribute("..organization")
    )
    competency = factory.SubFactory(
        CompetencyFactory, organization=factory.SelfAttribute("..organization")
    )
    weight = Decimal(1)
    expected_level = Decimal(3)
    position = factory.Sequence(lambda n: n)


class TemplateCompetencyFactory(TenantFactory):
    class Meta:
        model = TemplateCompetency

    organization = factory.SubFactory(OrganizationFactory)
    template = factory.SubFactory(
        PlanTemplateFactory, organization=factory.SelfAttribute("..organization")
    )
    competency = factory.SubFactory(
        CompetencyFactory, organization=factory.SelfAttribute("..organization")
    )
    weight = Decimal(2)
    expected_level = Decimal(4)


class EngagementTypeFactory(TenantFactory):
    class Meta:
        model = EngagementType

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Type {n:04d}")


# --- helpers -----------------------------------------------------------------------------


def competency_set(org: Organization, *items: tuple[str, str, str]) -> CompetencySet:
    """A set with items (name, weight, expected level)."""
    found = CompetencySetFactory(organization=org)
    for name, weight, level in items:
        CompetencySetItemFactory(
            organization=org,
            competency_set=found,
            competency=CompetencyFactory(organization=org, name=name),
            weight=Decimal(weight),
            expected_level=Decimal(level),
        )
    return found


def rows(plan: Plan) -> list[tuple[str, Decimal, Decimal]]:
    with tenant_context(plan.organization):
        return [
            (name, weight.normalize(), level.normalize())
            for name, weight, level in PlanCompetency.objects.filter(plan=plan)
            .order_by("position", "pk")
            .values_list("competency__name", "weight", "expected_level")
        ]


def table(org: Organization) -> list[dict[str, Any]]:
    with tenant_context(org):
        return list(PlanCompetency.objects.order_by("pk").values())


def employee_of(member: Membership) -> Employee:
    with tenant_context(member.organization):
        return Employee.objects.get(user=member.user)


@pytest.fixture
def scale(org: Organization) -> RatingScale:
    return DefaultScaleFactory(organization=org)


@pytest.fixture
def cycle(org: Organization, scale: RatingScale) -> ReviewCycle:
    return ReviewCycleFactory(
        organization=org, name="Main Cycle", status=CycleStatus.PLANNING
    )


# --- general plans: the job title's set -------------------------------------------------


def test_general_plans_get_the_competencies_of_the_job_title_set(org, hr_admin, cycle):
    title = JobTitleFactory(organization=org, name="Consultant")
    chosen = competency_set(org, ("Teamwork", "2", "3"), ("Analysis", "1.5", "4"))
    CompetencySetJobTitleFactory(
        organization=org, competency_set=chosen, job_title=title
    )
    consultant = EmployeeFactory(organization=org, job_title=title)

    with tenant_context(org):
        create_general_plans(cycle=cycle)
        plan = Plan.objects.get(employee=consultant, kind=PlanKind.GENERAL)

    assert rows(plan) == [
        ("Analysis", Decimal("1.5"), Decimal(4)),
        ("Teamwork", Decimal(2), Decimal(3)),
    ]


def test_general_plans_of_people_without_a_set_get_no_competencies(
    org, hr_admin, cycle
):
    competency_set(org, ("Teamwork", "1", "3"))  # linked to no job title
    untitled = EmployeeFactory(organization=org, job_title=None)
    other_title = EmployeeFactory(organization=org)

    with tenant_context(org):
        create_general_plans(cycle=cycle)
        plans = list(
            Plan.objects.filter(employee__in=[untitled, other_title], kind="general")
        )

    assert [rows(plan) for plan in plans] == [[], []]


def test_a_job_title_in_two_sets_uses_the_first_by_name(org, hr_admin, cycle):
    title = JobTitleFactory(organization=org)
    second = competency_set(org, ("Later", "1", "3"))
    first = competency_set(org, ("Sooner", "1", "3"))
    with tenant_context(org):
        CompetencySet.objects.filter(pk=second.pk).update(name="B set")
        CompetencySet.objects.filter(pk=first.pk).update(name="A set")
    CompetencySetJobTitleFactory(
        organization=org, competency_set=second, job_title=title
    )
    CompetencySetJobTitleFactory(
        organization=org, competency_set=first, job_title=title
    )
    person = EmployeeFactory(organization=org, job_title=title)

    with tenant_context(org):
        create_general_plans(cycle=cycle)
        plan = Plan.objects.get(employee=person)

    assert rows(plan) == [("Sooner", Decimal(1), Decimal(3))]


def _people_with_sets(org: Organization, count: int) -> None:
    titles = [JobTitleFactory(organization=org) for _ in range(3)]
    for title in titles:
        chosen = competency_set(
            org, (f"A {title.name}", "1", "3"), (f"B {title.name}", "2", "4")
        )
        CompetencySetJobTitleFactory(
            organization=org, competency_set=chosen, job_title=title
        )
    for number in range(count):
        EmployeeFactory(organization=org, job_title=titles[number % 3])


@pytest.mark.parametrize("people", [5, 50])
def test_create_general_plans_costs_the_same_queries_for_5_or_50_people(
    org, hr_admin, scale, people
):
    _people_with_sets(org, people)
    cycle = ReviewCycleFactory(organization=org)

    with tenant_context(org):
        cycle = ReviewCycle.objects.select_related("organization").get(pk=cycle.pk)
        with CaptureQueriesContext(connection) as captured:
            created = create_general_plans(cycle=cycle)
        attached = PlanCompetency.objects.filter(plan__cycle=cycle).count()

    statements = [
        q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]
    ]
    # Existing plans, people, plans and their history, the sets of the job titles,
    # their items, plan competencies and their history.
    assert len(statements) == 8
    # Everyone (the HR admin has no job title) gets a plan; the titled get 2 each.
    assert (created, attached) == (people + 1, people * 2)


# --- engagement plans: the engagement's set, else its type's -------------------------------


def _staff(actor: Membership, engagement: Engagement, cycle: ReviewCycle) -> Plan:
    person = EmployeeFactory(organization=actor.organization)
    with tenant_context(actor.organization):
        result = staff_employees(
            actor=actor,
            engagement=Engagement.objects.get(pk=engagement.pk),
            cycle=cycle,
            employees=[person],
            allocation=Decimal(50),
        )
    return result.plans[0]


def test_engagement_plans_get_the_competencies_of_the_engagement_type_set(
    org, hr_admin, cycle
):
    client_set = competency_set(org, ("Client focus", "3", "4"))
    kind = EngagementTypeFactory(organization=org, competency_set=client_set)
    engagement = EngagementFactory(organization=org, engagement_type=kind)

    plan = _staff(hr_admin, engagement, cycle)

    assert rows(plan) == [("Client focus", Decimal(3), Decimal(4))]


def test_the_engagement_own_set_overrides_its_type_set(org, hr_admin, cycle):
    kind = EngagementTypeFactory(
        organization=org, competency_set=competency_set(org, ("Typed", "1", "3"))
    )
    engagement = EngagementFactory(
        organization=org,
        engagement_type=kind,
        competency_set=competency_set(org, ("Own", "2", "5")),
    )

    plan = _staff(hr_admin, engagement, cycle)

    assert rows(plan) == [("Own", Decimal(2), Decimal(5))]


@pytest.mark.parametrize("typed", [False, True])
def test_engagement_plans_without_a_set_get_no_competencies(
    org, hr_admin, cycle, typed
):
    kind = EngagementTypeFactory(organization=org) if typed else None
    engagement = EngagementFactory(organization=org, engagement_type=kind)

    plan = _staff(hr_admin, engagement, cycle)

    assert rows(plan) == []


def test_attaching_missing_competencies_leaves_plans_with_some_alone(
    org, hr_admin, cycle
):
    engagement = EngagementFactory(organization=org)
    bare = _staff(hr_admin, engagement, cycle)
    kept = _staff(hr_admin, engagement, cycle)
    PlanCompetencyFactory(organization=org, plan=kept, competency__name="Kept")
    with tenant_context(org):
        Engagement.objects.filter(pk=engagement.pk).update(
            competency_set=competency_set(org, ("Late", "1", "2"))
        )

    with tenant_context(org):
        first = attach_missing_competencies(cycle=cycle)
        again = attach_missing_competencies(cycle=cycle)

    assert (first, again) == (1, 0)
    assert rows(bare) == [("Late", Decimal(1), Decimal(2))]
    assert rows(kept) == [("Kept", Decimal(1), Decimal(3))]


# --- templates ----------------------------------------------------------------------------


def test_applying_a_template_copies_its_competencies_and_skips_those_on_the_plan(
    org, hr_admin, cycle
):
    template = PlanTemplateFactory(organization=org)
    TemplateGoalFactory(organization=org, template=template)
    shared = CompetencyFactory(organization=org, name="Shared")
    TemplateCompetencyFactory(
        organization=org, template=template, competency=shared, weight=Decimal(5)
    )
    TemplateCompetencyFactory(
        organization=org, template=template, competency__name="New one"
    )
    plan = PlanFactory(organization=org, cycle=cycle)
    PlanCompetencyFactory(
        organization=org, plan=plan, competency=shared, weight=Decimal(1)
    )

    with tenant_context(org):
        apply_template(actor=hr_admin, template=template, plans=[plan])

    assert rows(plan) == [
        ("Shared", Decimal(1), Decimal(3)),
        ("New one", Decimal(2), Decimal(4)),
    ]


def test_a_template_with_only_competencies_can_be_applied(org, hr_admin, cycle):
    template = PlanTemplateFactory(organization=org)
    TemplateCompetencyFactory(
        organization=org, template=template, competency__name="Only"
    )
    plan = PlanFactory(organization=org, cycle=cycle)

    with tenant_context(org):
        created = apply_template(actor=hr_admin, template=template, plans=[plan])

    assert (created, rows(plan)) == (0, [("Only", Decimal(2), Decimal(4))])


# --- plan-level edits -----------------------------------------------------------------------


@pytest.fixture
def plan(org: Organization, cycle: ReviewCycle) -> Plan:
    return PlanFactory(organization=org, cycle=cycle)


def _fresh(plan: Plan) -> Plan:
    return Plan.objects.select_related("cycle").get(pk=plan.pk)


def test_add_plan_competency_appends_it_with_weight_and_level(org, hr_admin, plan):
    PlanCompetencyFactory(organization=org, plan=plan, competency__name="First")
    added = CompetencyFactory(organization=org, name="Second")

    with tenant_context(org):
        add_plan_competency(
            actor=hr_admin,
            plan=_fresh(plan),
            competency=added,
            weight=Decimal("2.5"),
            expected_level=Decimal(4),
        )

    assert rows(plan) == [
        ("First", Decimal(1), Decimal(3)),
        ("Second", Decimal("2.5"), Decimal(4)),
    ]


def _add_error(actor: Membership, plan: Plan, **overrides: Any) -> DomainError:
    data: dict[str, Any] = {
        "competency": CompetencyFactory(organization=plan.organization),
        "weight": Decimal(1),
        "expected_level": Decimal(3),
    }
    data.update(overrides)
    with tenant_context(plan.organization), pytest.raises(DomainError) as caught:
        add_plan_competency(actor=actor, plan=_fresh(plan), **data)
    return caught.value


def test_archived_competencies_cannot_be_added(org, hr_admin, plan):
    archived = CompetencyFactory(organization=org, name="Old skill", is_archived=True)

    error = _add_error(hr_admin, plan, competency=archived)

    assert (error.field, error.message) == (
        "competency",
        "Old skill is archived, so it cannot be added to plans. Choose another "
        "competency, or ask HR to restore it.",
    )
    assert table(org) == []


def test_a_competency_cannot_be_added_twice(org, hr_admin, plan):
    existing = PlanCompetencyFactory(organization=org, plan=plan)
    before = table(org)

    error = _add_error(hr_admin, plan, competency=existing.competency)

    assert error.field == "competency"
    assert table(org) == before


@pytest.mark.parametrize("level", [Decimal(0), Decimal("3.5"), Decimal(6)])
def test_the_expected_level_must_be_a_point_of_the_scale(org, hr_admin, plan, level):
    error = _add_error(hr_admin, plan, expected_level=level)

    assert (error.field, error.message) == (
        "expected_level",
        "Pick a point of the scale Standard 1–5 (1, 2, 3, 4, 5).",
    )
    assert table(org) == []


def test_the_cycle_own_scale_decides_the_points(org, hr_admin):
    half = RatingScaleFactory(
        organization=org, name="Half", max_value=Decimal(3), step=Decimal("0.5")
    )
    DefaultScaleFactory(organization=org)
    plan = PlanFactory(organization=org, cycle__rating_scale=half)

    with tenant_context(org):
        add_plan_competency(
            actor=hr_admin,
            plan=_fresh(plan),
            competency=CompetencyFactory(organization=org, name="Half-pointed"),
            expected_level=Decimal("2.5"),
        )
    error = _add_error(hr_admin, plan, expected_level=Decimal(4))

    assert rows(plan) == [("Half-pointed", Decimal(1), Decimal("2.5"))]
    assert error.message == "Pick a point of the scale Half (1, 1.5, 2, 2.5, 3)."


def test_without_any_scale_no_level_can_be_expected(org, hr_admin):
    plan = PlanFactory(organization=org)

    error = _add_error(hr_admin, plan)

    assert error.field == "expected_level"
    assert "no rating scale yet" in error.message


@pytest.mark.parametrize("weight", [Decimal(0), Decimal(-1)])
def test_the_weight_must_be_above_zero(org, hr_admin, plan, weight):
    error = _add_error(hr_admin, plan, weight=weight)

    assert (error.field, error.message) == ("weight", "The weight must be more than 0.")
    assert table(org) == []


def test_update_plan_competency_reweights_and_changes_the_level(org, hr_admin, plan):
    item = PlanCompetencyFactory(organization=org, plan=plan, competency__name="Skill")

    with tenant_context(org):
        update_plan_competency(
            actor=hr_admin,
            plan_competency=item,
            weight=Decimal(4),
            expected_level=Decimal(5),
        )

    assert rows(plan) == [("Skill", Decimal(4), Decimal(5))]


def test_update_plan_competency_refuses_a_level_off_the_scale(org, hr_admin, plan):
    item = PlanCompetencyFactory(organization=org, plan=plan)
    before = table(org)

    with tenant_context(org), pytest.raises(DomainError) as caught:
        update_plan_competency(
            actor=hr_admin,
            plan_competency=item,
            weight=Decimal(2),
            expected_level=Decimal(9),
        )

    assert caught.value.field == "expected_level"
    assert table(org) == before


def test_remove_plan_competency_deletes_it(org, hr_admin, plan):
    item = PlanCompetencyFactory(organization=org, plan=plan)
    kept = PlanCompetencyFactory(organization=org, plan=plan, competency__name="Kept")

    with tenant_context(org):
        remove_plan_competency(actor=hr_admin, plan_competency=item)

    assert [row["id"] for row in table(org)] == [kept.pk]


LOCKED = (
    "This plan is locked because the cycle Main Cycle is in review. Plans cannot "
    "change once reviewers rate them."
)


@pytest.mark.parametrize("change", ["add", "update", "remove"])
def test_competencies_of_a_locked_plan_cannot_change(org, hr_admin, plan, change):
    item = PlanCompetencyFactory(organization=org, plan=plan)
    with tenant_context(org):
        ReviewCycle.objects.filter(pk=plan.cycle_id).update(status=CycleStatus.REVIEW)
        Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.LOCKED)
    other = CompetencyFactory(organization=org)
    before = table(org)

    actions = {
        "add": lambda: add_plan_competency(
            actor=hr_admin,
            plan=_fresh(plan),
            competency=other,
            expected_level=Decimal(3),
        ),
        "update": lambda: update_plan_competency(
            actor=hr_admin,
            plan_competency=item,
            weight=Decimal(2),
            expected_level=Decimal(3),
        ),
        "remove": lambda: remove_plan_competency(actor=hr_admin, plan_competency=item),
    }

    with tenant_context(org), pytest.raises(DomainError) as caught:
        actions[change]()

    assert caught.value.message == LOCKED
    assert table(org) == before


# --- history ------------------------------------------------------------------------------


def test_plan_history_includes_competency_changes(org, hr_admin, plan):
    skill = CompetencyFactory(organization=org, name="Negotiation")
    with tenant_context(org):
        item = add_plan_competency(
            actor=hr_admin,
            plan=_fresh(plan),
            competency=skill,
            expected_level=Decimal(3),
        )
        update_plan_competency(
            actor=hr_admin,
            plan_competency=item,
            weight=Decimal(2),
            expected_level=Decimal(4),
        )
        remove_plan_competency(actor=hr_admin, plan_competency=item)
        entries = plan_history(plan)

    about = [
        (entry["subject"], entry["kind"])
        for entry in entries
        if entry["subject"] != "Plan"
    ]
    changed = next(e for e in entries if e["kind"] == "Changed")
    assert about == [
        ("Competency “Negotiation”", "Deleted"),
        ("Competency “Negotiation”", "Changed"),
        ("Competency “Negotiation”", "Created"),
    ]
    assert {(c["field"], c["old"], c["new"]) for c in changed["changes"]} == {
        ("weight", Decimal("1.00"), Decimal("2.00")),
        ("expected level", Decimal("3.0"), Decimal("4.0")),
    }


# --- cycles and their scale -------------------------------------------------------------------


def test_the_cycle_scale_is_its_own_or_else_the_default(org, scale):
    own = RatingScaleFactory(organization=org, name="Own")
    with_own = ReviewCycleFactory(organization=org, rating_scale=own)
    without = ReviewCycleFactory(organization=org)

    with tenant_context(org):
        found = (
            scale_for_cycle(with_own),
            scale_for_cycle(without),
        )
        labels = [p.text for p in scale_points(found[1])]

    assert found == (own, scale)
    assert labels[0] == "1 · Below expectations"


def test_the_scale_of_a_cycle_in_review_cannot_change(org, hr_admin, scale):
    other = RatingScaleFactory(organization=org)
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.REVIEW)

    with tenant_context(org), pytest.raises(DomainError) as caught:
        update_cycle(actor=hr_admin, cycle=cycle, rating_scale=other)

    assert caught.value.field == "rating_scale"
    with tenant_context(org):
        assert ReviewCycle.objects.get(pk=cycle.pk).rating_scale_id is None


def test_the_scale_of_a_cycle_in_planning_can_change(org, hr_admin, scale):
    other = RatingScaleFactory(organization=org)
    cycle = ReviewCycleFactory(organization=org, status=CycleStatus.PLANNING)

    with tenant_context(org):
        update_cycle(actor=hr_admin, cycle=cycle, rating_scale=other)
        assert ReviewCycle.objects.get(pk=cycle.pk).rating_scale_id == other.pk


@pytest.mark.parametrize(
    ("status", "locked"),
    [
        (CycleStatus.DRAFT, False),
        (CycleStatus.PLANNING, False),
        (CycleStatus.IN_PROGRESS, False),
        (CycleStatus.REVIEW, True),
        (CycleStatus.CLOSED, True),
    ],
)
def test_a_scale_is_locked_once_a_cycle_using_it_is_in_review(
    org, scale, status, locked
):
    own = RatingScaleFactory(organization=org, name="Own")
    unused = RatingScaleFactory(organization=org, name="Unused")
    ReviewCycleFactory(
        organization=org, name="Explicit", rating_scale=own, status=status
    )
    ReviewCycleFactory(organization=org, name="Defaulted", status=status)

    with tenant_context(org):
        reasons = [scale_lock_reason(s) for s in (own, scale, unused)]

    assert [reason is not None for reason in reasons] == [locked, locked, False]
    if locked:
        assert str(reasons[0]).startswith(
            "The review cycle Explicit rates on this scale"
        )


def test_a_default_scale_is_not_locked_by_cycles_with_a_scale_of_their_own(org, scale):
    own = RatingScaleFactory(organization=org)
    ReviewCycleFactory(organization=org, rating_scale=own, status=CycleStatus.CLOSED)

    with tenant_context(org):
        assert scale_lock_reason(scale) is None


def test_scale_lock_ignores_cycles_of_another_organisation(org, other_org, scale):
    ReviewCycleFactory(organization=other_org, status=CycleStatus.CLOSED)

    with tenant_context(org):
        assert scale_lock_reason(scale) is None


# --- engagement types -------------------------------------------------------------------------


def test_engagement_type_names_are_unique_whatever_the_case(org, hr_admin):
    EngagementTypeFactory(organization=org, name="Client delivery")

    with tenant_context(org), pytest.raises(DomainError) as caught:
        save_engagement_type(
            actor=hr_admin, name=" client DELIVERY ", competency_set=None
        )

    assert caught.value.field == "name"
    with tenant_context(org):
        assert EngagementType.objects.count() == 1


def test_an_engagement_type_cannot_use_another_organisation_set(
    org, other_org, hr_admin
):
    foreign = CompetencySetFactory(organization=other_org)

    with tenant_context(org), pytest.raises(DomainError) as caught:
        save_engagement_type(actor=hr_admin, name="Delivery", competency_set=foreign)

    assert caught.value.field == "competency_set"


def test_job_titles_with_the_same_name_in_two_organisations_do_not_mix(
    org, other_org, hr_admin, cycle
):
    foreign_title = JobTitleFactory(organization=other_org, name="Consultant")
    CompetencySetJobTitleFactory(
        organization=other_org,
        competency_set=competency_set(other_org, ("Foreign", "1", "3")),
        job_title=foreign_title,
    )
    mine = EmployeeFactory(
        organization=org, job_title=JobTitleFactory(organization=org, name="Consultant")
    )

    with tenant_context(org):
        create_general_plans(cycle=cycle)
        plan = Plan.objects.get(employee=mine)

    assert rows(plan) == []
