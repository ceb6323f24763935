"""The plan tally kept without triggers where there are none.

On PostgreSQL, statement-level triggers (migration 0005) keep ``CyclePlanTally``
exact in the transaction of every write to the plans. The embedded SQLite database of
``make run`` has none, so there the cycle pages call
``refresh_plan_tally_without_triggers()`` first, which counts the active
organisation's plans afresh; on PostgreSQL it does nothing.
"""

from __future__ import annotations

from django.db.models import Count

from engagements.models import CyclePlanTally, Plan
from organizations.tenancy import current_organization_id, is_postgresql


def plans_recounted() -> dict[tuple[int, str, str], int]:
    """The active organisation's plans per (cycle, kind, status). One query."""
    return {
        (row["cycle_id"], row["kind"], row["status"]): row["n"]
        for row in Plan.objects.values("cycle_id", "kind", "status")
        .annotate(n=Count("pk"))
        .order_by()
    }


def refresh_plan_tally_without_triggers() -> None:
    """Where no trigger keeps it (SQLite), rebuild the active organisation's plan
    tally from its plans. Nothing on PostgreSQL; three queries on SQLite."""
    if is_postgresql():
        return
    organization_id = current_organization_id()
    if organization_id is None:
        raise RuntimeError("Rebuilding tallies needs an active organisation scope.")
    CyclePlanTally.objects.all().delete()
    CyclePlanTally.objects.bulk_create(
        CyclePlanTally(
            organization_id=organization_id,
            cycle_id=cycle,
            kind=kind,
            status=status,
            n=n,
        )
        for (cycle, kind, status), n in plans_recounted().items()
    )
