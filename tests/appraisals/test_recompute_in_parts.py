"""Storing a whole cycle in parts through a database thread (``PARTS`` and
``PARTS_FROM`` in appraisals.score_store): the same figures as the reference on
randomised cycles, a fixed number of queries, and all or nothing when a part fails,
whether in the database or in Python."""

from __future__ import annotations

import random
from typing import Any, cast

import pytest
from django.db import DEFAULT_DB_ALIAS, DataError, connection, connections
from django.test.utils import CaptureQueriesContext

from appraisals import score_store, scores
from appraisals.models import Appraisal, Evaluation
from bench.review_cycle import seed_cycle
from engagements.models import ReviewCycle
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.appraisals.test_recompute_equality import (
    SEEDS,
    forget,
    randomise,
    reference,
    stored,
)
from tests.appraisals.test_recompute_set_based import lookups
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db
PARTS = 3


@pytest.fixture
def in_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Store in ``PARTS`` parts from 2 appraisals on, so that small cycles do."""
    monkeypatch.setattr(score_store, "PARTS_FROM", 2)
    monkeypatch.setattr(score_store, "PARTS", PARTS)


def nothing_stored(org: Organization, cycle: ReviewCycle) -> bool:
    with tenant_context(org):
        return not (
            Appraisal.objects.filter(cycle=cycle, final_score__isnull=False).exists()
            or Evaluation.objects.filter(
                appraisal__cycle=cycle, score__isnull=False
            ).exists()
        )


@pytest.mark.parametrize("seed", SEEDS)
def test_in_parts_stores_what_the_reference_computes(
    org: Organization, seed: int, in_parts: None
) -> None:
    rng = random.Random(seed)
    cycle = seed_cycle(org, 8, seed=seed, variety=True, goals=3, competencies=2)
    randomise(org, cycle, rng)
    expected = reference(org, cycle)
    forget(org, cycle)

    with tenant_context(org):
        assert scores.recompute_cycle(cycle) == 8

    assert stored(org, cycle) == expected


def test_in_parts_the_query_count_does_not_depend_on_the_size(in_parts: None) -> None:
    counts = {}
    for employees in (4, 40):
        org = cast(Organization, OrganizationFactory(slug=f"size-{employees}"))
        cycle = seed_cycle(org, employees)
        with tenant_context(org), CaptureQueriesContext(connection) as captured:
            assert scores.recompute_cycle(cycle) == employees
        counts[employees] = len(lookups(captured))

    # The lock, then per part its read and its write.
    assert counts == {4: 1 + 2 * PARTS, 40: 1 + 2 * PARTS}


def test_a_part_that_fails_in_the_database_rolls_the_whole_cycle_back(
    org: Organization, in_parts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cycle = seed_cycle(org, 9)
    written = []
    write = score_store._write

    def failing_second(database: Any, values: dict[str, Any]) -> None:
        written.append(values["appraisal_ids"])
        if len(written) == 2:
            with database.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")
        write(database, values)

    monkeypatch.setattr(score_store, "_write", failing_second)

    with tenant_context(org), pytest.raises(DataError):
        scores.recompute_cycle(cycle)

    # The first part was written, then undone; the third never ran.
    assert len(written) == 2
    assert nothing_stored(org, cycle)
    assert not connections[DEFAULT_DB_ALIAS].allow_thread_sharing


def test_a_part_that_fails_in_python_rolls_the_whole_cycle_back(
    org: Organization, in_parts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cycle = seed_cycle(org, 9)
    summed = []
    real = score_store._summed

    def failing_second(*args: Any) -> Any:
        summed.append(1)
        if len(summed) == 2:
            raise ArithmeticError("the second part cannot be computed")
        return real(*args)

    monkeypatch.setattr(score_store, "_summed", failing_second)

    with tenant_context(org), pytest.raises(ArithmeticError):
        scores.recompute_cycle(cycle)

    assert nothing_stored(org, cycle)
    assert not connections[DEFAULT_DB_ALIAS].allow_thread_sharing
    # The connection goes on working in this thread.
    with tenant_context(org):
        assert scores.recompute_cycle(cycle) == 9
    assert not nothing_stored(org, cycle)


def test_below_parts_from_a_recompute_runs_three_queries(org: Organization) -> None:
    cycle = seed_cycle(org, 5)

    with tenant_context(org), CaptureQueriesContext(connection) as captured:
        assert scores.recompute_cycle(cycle) == 5

    assert score_store.PARTS_FROM > 5
    assert len(lookups(captured)) == 3
