"""``CyclePlanTally``, kept by the triggers of engagements' migration 0005: after
every kind of change to plans it equals a recount, and it counts one organisation's
plans only. The cycle list and the cycle page read it (tests/engagements/views/
test_cycles.py shows the figures)."""

from __future__ import annotations

import pytest
from django.db.models import Count

from engagements.enums import PlanStatus
from engagements.models import CyclePlanTally, Plan
from engagements.selectors.pages import cycle_plan_counts, cycles_overview
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.engagement_factories import PlanFactory, ReviewCycleFactory

pytestmark = pytest.mark.django_db


def _stored(org: Organization) -> dict:
    with tenant_context(org):
        return {
            (row.cycle_id, row.kind, row.status): row.n
            for row in CyclePlanTally.objects.all()
        }


def _recounted(org: Organization) -> dict:
    with tenant_context(org):
        return {
            (row["cycle_id"], row["kind"], row["status"]): row["n"]
            for row in Plan.objects.values("cycle_id", "kind", "status")
            .annotate(n=Count("*"))
            .order_by()
        }


def _plans(org: Organization, count: int = 3) -> list[Plan]:
    cycle = ReviewCycleFactory(organization=org)
    return [PlanFactory(organization=org, cycle=cycle) for _ in range(count)]


def test_plan_tally_counts_created_plans(org):
    plans = _plans(org)

    with tenant_context(org):
        overview = list(cycles_overview())

    assert _stored(org) == _recounted(org)
    assert [cycle.n_plans for cycle in overview] == [len(plans)]


def test_plan_tally_follows_status_changes_one_by_one_and_in_bulk(org):
    plans = _plans(org)

    with tenant_context(org):
        plans[0].status = PlanStatus.ACTIVE
        plans[0].save(update_fields=["status"])
        Plan.objects.filter(pk__in=[p.pk for p in plans[1:]]).update(
            status=PlanStatus.LOCKED
        )
        counts = cycle_plan_counts(plans[0].cycle)

    assert _stored(org) == _recounted(org)
    assert [row.counts for row in counts if row.total] == [[0, 1, 2]]


def test_plan_tally_follows_a_plan_moved_to_another_cycle_and_deleted_plans(org):
    plans = _plans(org)
    other = ReviewCycleFactory(organization=org)

    with tenant_context(org):
        Plan.objects.filter(pk=plans[0].pk).update(cycle=other)
        plans[1].delete()
        plans[2].delete()

    assert _stored(org) == _recounted(org)
    assert list(_stored(org).values()) == [1]


def test_plan_tally_counts_one_organisations_plans(org, other_org):
    _plans(org, count=2)
    _plans(other_org, count=4)

    assert _stored(org) == _recounted(org)
    assert sum(_stored(org).values()) == 2
    assert sum(_stored(other_org).values()) == 4
