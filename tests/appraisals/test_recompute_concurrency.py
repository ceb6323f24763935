"""Two recomputations of one appraisal cannot interleave: the first holds the row lock
until it commits; the second waits, then computes from the ratings committed by then.

These tests commit for real (``transaction=True``) and use a second thread, hence a
second database connection.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import cast

import pytest
from django.db import OperationalError, connection

from appraisals import scores
from appraisals.models import Appraisal, GoalRating
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.appraisals.test_scoring_rules import build_worked_example
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def in_other_connection(org: Organization, work: object) -> dict[str, object]:
    """Start ``work()`` inside ``org``'s tenant context on a new thread (so a new
    database connection); the returned dict fills in with its result or error."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            with tenant_context(org):
                outcome["result"] = work()  # type: ignore[operator]  # values of a plain dict shared with the thread
        except Exception as exc:  # noqa: BLE001  (handed to the test thread)
            outcome["error"] = exc
        finally:
            outcome["finished_at"] = time.monotonic()
            connection.close()

    thread = threading.Thread(target=target)
    outcome["thread"] = thread
    thread.start()
    return outcome


def test_a_recompute_holds_the_appraisal_row_lock_until_it_commits() -> None:
    org = cast(Organization, OrganizationFactory(slug="locking"))
    appraisal = build_worked_example(org)

    with tenant_context(org):
        scores.recompute_appraisals([appraisal.pk])
        probe = in_other_connection(
            org,
            lambda: (
                Appraisal.objects.select_for_update(nowait=True)
                .filter(pk=appraisal.pk)
                .first()
            ),
        )
        probe["thread"].join(10)  # type: ignore[attr-defined]  # values of a plain dict shared with the thread

    after = in_other_connection(
        org,
        lambda: (
            Appraisal.objects.select_for_update(nowait=True)
            .filter(pk=appraisal.pk)
            .first()
        ),
    )
    after["thread"].join(10)  # type: ignore[attr-defined]  # values of a plain dict shared with the thread
    assert isinstance(probe.get("error"), OperationalError)
    assert "lock" in str(probe["error"])
    assert after.get("result") == appraisal


def test_a_waiting_recompute_uses_the_ratings_committed_before_it_got_the_lock() -> (
    None
):
    org = cast(Organization, OrganizationFactory(slug="waiting"))
    appraisal = build_worked_example(org)

    with tenant_context(org):
        scores.recompute_appraisals([appraisal.pk])
        second = in_other_connection(
            org, lambda: scores.recompute_appraisals([appraisal.pk])
        )
        time.sleep(0.5)
        waited = "finished_at" not in second
        # The first transaction changes a rating after computing: engagement B's
        # only goal goes from 3 to 5.
        GoalRating.objects.filter(
            evaluation__plan__engagement__name="Engagement B"
        ).update(value=D(5))
        committed_at = time.monotonic()
    second["thread"].join(10)  # type: ignore[attr-defined]  # values of a plain dict shared with the thread

    with tenant_context(org):
        appraisal.refresh_from_db()
    assert waited
    assert second.get("result") == 1
    assert second["finished_at"] >= committed_at  # type: ignore[operator]  # values of a plain dict shared with the thread
    ec = (D(60) * 181 * D("4.13") + D(40) * 91 * D(5)) / (D(60) * 181 + D(40) * 91)
    assert appraisal.engagement_score == ec.quantize(D("0.01"))
    assert appraisal.snapshot["components"][2]["score"] == "5.00"
