"""Recompute jobs: queueing after commit, cycle runs with progress and failure, the
HR start and its refusals, the weight-change receivers and ``recompute_scores``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.utils import timezone

from appraisals import scores
from appraisals.enums import AppraisalStatus
from appraisals.models import Appraisal, GoalRating, RecomputeRun
from appraisals.services import recompute
from appraisals.tasks import recompute_appraisal_task, recompute_cycle_task
from bench.review_cycle import seed_cycle
from engagements.enums import CycleStatus, PlanStatus
from engagements.models import Plan, ReviewCycle
from engagements.services.cycles import update_cycle
from engagements.services.plans import update_plan
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Membership, Organization
from organizations.tenancy import tenant_context
from tests.appraisals.test_scoring_rules import build_worked_example

pytestmark = pytest.mark.django_db
D = Decimal
Capture = Callable[..., Any]


def computed_count(org: Organization, cycle: ReviewCycle) -> int:
    with tenant_context(org):
        return Appraisal.objects.filter(cycle=cycle, computed_at__isnull=False).count()


# --- queue_recompute ------------------------------------------------------------------


def test_queue_recompute_starts_one_task_per_appraisal_after_commit(
    org: Organization, django_capture_on_commit_callbacks: Capture
) -> None:
    cycle = seed_cycle(org, 2)
    with tenant_context(org):
        first, second = Appraisal.objects.filter(cycle=cycle).order_by("pk")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        tenant_context(org),
    ):
        for appraisal in (first, second, first, first):
            recompute.queue_recompute(appraisal)
        assert computed_count(org, cycle) == 0  # nothing before commit

    assert len(callbacks) == 1
    assert computed_count(org, cycle) == 2


def test_queue_recompute_after_a_rolled_back_transaction_still_queues(
    org: Organization, django_capture_on_commit_callbacks: Capture
) -> None:
    cycle = seed_cycle(org, 1)
    with tenant_context(org):
        appraisal = Appraisal.objects.get(cycle=cycle)

    def queue_then_fail() -> None:
        with tenant_context(org):
            recompute.queue_recompute(appraisal)
            raise RuntimeError("roll back")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            queue_then_fail()
        with tenant_context(org):
            recompute.queue_recompute(appraisal)

    assert len(callbacks) == 1
    assert computed_count(org, cycle) == 1


def test_appraisal_task_skips_a_finalised_appraisal(org: Organization) -> None:
    appraisal = build_worked_example(org)
    with tenant_context(org):
        Appraisal.objects.filter(pk=appraisal.pk).update(
            status=AppraisalStatus.FINALIZED, finalized_at=timezone.now()
        )

    updated = recompute_appraisal_task(
        organization_id=org.pk, appraisal_id=appraisal.pk
    )

    assert updated == 0
    with tenant_context(org):
        appraisal.refresh_from_db()
    assert appraisal.final_score is None


def test_appraisal_task_stores_the_score_and_is_safe_to_run_twice(
    org: Organization,
) -> None:
    appraisal = build_worked_example(org)

    results = [
        recompute_appraisal_task(organization_id=org.pk, appraisal_id=appraisal.pk)
        for _ in range(2)
    ]

    with tenant_context(org):
        appraisal.refresh_from_db()
    assert results == [1, 1]
    assert appraisal.final_score == D("3.83")


# --- cycle runs -----------------------------------------------------------------------


def test_hr_starts_a_cycle_run_that_finishes_after_commit(
    org: Organization,
    hr_admin: Membership,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    cycle = seed_cycle(org, 5)

    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        run = recompute.start_cycle_recompute(actor=hr_admin, cycle=cycle)
        assert run.status == RecomputeRun.Status.QUEUED

    with tenant_context(org):
        run.refresh_from_db()
    assert (run.status, run.total, run.done, run.progress) == ("done", 5, 5, 100)
    assert run.requested_by == hr_admin.user
    assert run.finished_at is not None
    assert computed_count(org, cycle) == 5


def test_cycle_run_commits_its_progress_chunk_by_chunk(
    org: Organization,
    hr_admin: Membership,
    django_capture_on_commit_callbacks: Capture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recompute, "RUN_CHUNK", 2)
    cycle = seed_cycle(org, 5)
    with django_capture_on_commit_callbacks(execute=False), tenant_context(org):
        run = recompute.start_cycle_recompute(actor=hr_admin, cycle=cycle)

    with django_capture_on_commit_callbacks(execute=False) as next_steps:
        recompute_cycle_task(organization_id=org.pk, run_id=run.pk)
    with tenant_context(org):
        run.refresh_from_db()
    assert (run.status, run.total, run.done, run.progress) == ("running", 5, 2, 40)
    assert computed_count(org, cycle) == 2
    assert len(next_steps) == 1

    with django_capture_on_commit_callbacks(execute=True):
        next_steps[0]()

    with tenant_context(org):
        run.refresh_from_db()
    assert (run.status, run.total, run.done) == ("done", 5, 5)
    assert computed_count(org, cycle) == 5


def test_a_finished_run_is_left_alone_when_its_task_runs_again(
    org: Organization,
    hr_admin: Membership,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    cycle = seed_cycle(org, 2)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        run = recompute.start_cycle_recompute(actor=hr_admin, cycle=cycle)
    with tenant_context(org):
        run.refresh_from_db()
        finished_at = run.finished_at
        Appraisal.objects.filter(cycle=cycle).update(computed_at=None)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        recompute_cycle_task(organization_id=org.pk, run_id=run.pk)

    with tenant_context(org):
        run.refresh_from_db()
    assert callbacks == []
    assert (run.status, run.finished_at) == ("done", finished_at)
    assert computed_count(org, cycle) == 0


def test_a_failing_run_is_marked_failed_and_writes_nothing(
    org: Organization,
    hr_admin: Membership,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    cycle = seed_cycle(org, 3)
    with tenant_context(org):
        # A rating far above the 1–5 scale gives a percent over 100, which the
        # database refuses: the run must fail without writing half its results.
        GoalRating.objects.filter(evaluation__appraisal__cycle=cycle).update(
            value=D(99)
        )

    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        run = recompute.start_cycle_recompute(actor=hr_admin, cycle=cycle)

    with tenant_context(org):
        run.refresh_from_db()
    assert run.status == RecomputeRun.Status.FAILED
    assert run.error.startswith("IntegrityError: ")
    assert "appraisal_percent_range" in run.error
    assert run.finished_at is not None
    assert computed_count(org, cycle) == 0


def test_starting_a_run_while_one_is_queued_is_refused(
    org: Organization, hr_admin: Membership
) -> None:
    cycle = seed_cycle(org, 1)
    with tenant_context(org):
        first = recompute.start_cycle_recompute(actor=hr_admin, cycle=cycle)

        with pytest.raises(DomainError, match="already being recomputed"):
            recompute.start_cycle_recompute(actor=hr_admin, cycle=cycle)

        runs = list(RecomputeRun.objects.filter(cycle=cycle))
    assert runs == [first]


def test_an_abandoned_run_no_longer_blocks_a_new_one(
    org: Organization, hr_admin: Membership
) -> None:
    cycle = seed_cycle(org, 1)
    with tenant_context(org):
        old = RecomputeRun.objects.create(
            organization=org,
            cycle=cycle,
            status=RecomputeRun.Status.RUNNING,
            created_at=timezone.now() - timedelta(hours=2),
        )

        new = recompute.start_cycle_recompute(actor=hr_admin, cycle=cycle)
        old.refresh_from_db()

    assert new.pk != old.pk
    assert new.status == RecomputeRun.Status.QUEUED
    assert old.status == RecomputeRun.Status.FAILED
    assert "replaced" in old.error


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_only_hr_admins_start_a_cycle_run(
    org: Organization, make_member: Callable[..., Membership], role: str
) -> None:
    cycle = seed_cycle(org, 1)
    member = make_member(org, role)

    with tenant_context(org):
        with pytest.raises(PermissionDenied):
            recompute.start_cycle_recompute(actor=member, cycle=cycle)
        assert not RecomputeRun.objects.exists()


def test_recompute_cycle_records_a_given_run_as_done(org: Organization) -> None:
    cycle = seed_cycle(org, 3)
    with tenant_context(org):
        run = RecomputeRun.objects.create(organization=org, cycle=cycle)

        updated = scores.recompute_cycle(cycle, run)
        run.refresh_from_db()

    assert updated == 3
    assert (run.status, run.total, run.done) == ("done", 3, 3)


# --- receivers ------------------------------------------------------------------------


def test_changing_beta_recomputes_the_cycle(
    org: Organization,
    hr_admin: Membership,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    appraisal = build_worked_example(org)
    with tenant_context(org):
        scores.recompute_appraisals([appraisal.pk])
        cycle = ReviewCycle.objects.get(pk=appraisal.cycle_id)

    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        update_cycle(actor=hr_admin, cycle=cycle, general_weight=D(100))

    with tenant_context(org):
        appraisal.refresh_from_db()
        run = RecomputeRun.objects.get(cycle=cycle)
    assert appraisal.final_score == D("3.80")  # β 100 %: the general score alone
    assert appraisal.snapshot["general_weight"] == "100.00"
    assert (run.status, run.requested_by) == ("done", None)


def test_renaming_a_cycle_recomputes_nothing(
    org: Organization,
    hr_admin: Membership,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    appraisal = build_worked_example(org)
    with tenant_context(org):
        cycle = ReviewCycle.objects.get(pk=appraisal.cycle_id)

    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        update_cycle(actor=hr_admin, cycle=cycle, name="H1")

    with tenant_context(org):
        assert not RecomputeRun.objects.exists()
    assert computed_count(org, cycle) == 0


def test_changing_a_plans_allocation_recomputes_its_appraisal(
    org: Organization,
    hr_admin: Membership,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    appraisal = build_worked_example(org)
    with tenant_context(org):
        ReviewCycle.objects.filter(pk=appraisal.cycle_id).update(
            status=CycleStatus.IN_PROGRESS
        )
        Plan.objects.update(status=PlanStatus.ACTIVE)
        plan_b = Plan.objects.get(engagement__name="Engagement B")
        scores.recompute_appraisals([appraisal.pk])

    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        update_plan(
            actor=hr_admin, plan=plan_b, version=plan_b.version, allocation=D(0)
        )

    with tenant_context(org):
        appraisal.refresh_from_db()
    # B weighs 0 now: EC = E_A = 4.13, final = 0.4 × 3.80 + 0.6 × 4.13 = 3.998.
    assert appraisal.engagement_score == D("4.13")
    assert appraisal.final_score == D("4.00")


# --- recompute_scores -----------------------------------------------------------------


def test_command_recomputes_every_cycle_and_prints_counts(org: Organization) -> None:
    first = seed_cycle(org, 3, name="First", seed=1)
    second = seed_cycle(org, 2, name="Second", seed=2)
    out = StringIO()

    call_command("recompute_scores", "--org", org.slug, stdout=out)

    lines = out.getvalue().splitlines()
    assert f"First (id {first.pk}): 3 appraisal(s) updated" in lines
    assert f"Second (id {second.pk}): 2 appraisal(s) updated" in lines
    assert lines[-1] == f"{org.name}: 5 appraisal(s) updated in 2 cycle(s)."
    assert computed_count(org, first) == 3
    assert computed_count(org, second) == 2


def test_command_recomputes_one_cycle(org: Organization) -> None:
    first = seed_cycle(org, 3, name="First", seed=1)
    second = seed_cycle(org, 2, name="Second", seed=2)
    out = StringIO()

    call_command(
        "recompute_scores", "--org", org.slug, "--cycle", str(second.pk), stdout=out
    )

    assert f"Second (id {second.pk}): 2 appraisal(s) updated" in out.getvalue()
    assert computed_count(org, first) == 0
    assert computed_count(org, second) == 2


def test_command_refuses_an_unknown_organisation(org: Organization) -> None:
    with pytest.raises(CommandError, match="No organisation with the slug 'nope'"):
        call_command("recompute_scores", "--org", "nope", stdout=StringIO())


def test_command_refuses_a_cycle_of_another_organisation(
    org: Organization, other_org: Organization
) -> None:
    foreign = seed_cycle(other_org, 1)

    with pytest.raises(CommandError, match="has no review cycle with id"):
        call_command(
            "recompute_scores",
            "--org",
            org.slug,
            "--cycle",
            str(foreign.pk),
            stdout=StringIO(),
        )

    assert computed_count(other_org, foreign) == 0
