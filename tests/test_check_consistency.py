"""``manage.py check_consistency``: clean on the demo, and each kind of damage found,
named, and answered with a non-zero exit (CommandError)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from typing import Any, cast

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import remove_perm

from appraisals.consistency import check_scores, snapshot_differences
from appraisals.enums import AppraisalStatus
from appraisals.models import Appraisal, Evaluation, GoalRating
from appraisals.scores import recompute_appraisals
from bench.recompute import seed_cycle
from engagements.enums import EngagementRole, PlanStatus
from engagements.models import Client, Engagement, Goal, Plan, RoleAssignment
from engagements.services.roles import assign_role
from organizations.models import (
    Employee,
    Membership,
    Organization,
    SentEmail,
    User,
)
from organizations.tenancy import tenant_context
from reporting.management.commands.check_consistency import read_only
from tests.appraisals.test_scoring_rules import build_worked_example
from tests.check_command import check
from tests.engagement_factories import EngagementFactory, GoalFactory, PlanFactory
from tests.factories import MembershipFactory, OrganizationFactory

D = Decimal
Capture = Callable[..., Any]


# --- The demo ---------------------------------------------------------------------------


@pytest.mark.slow
def test_check_consistency_demo_is_clean_until_a_score_is_corrupted(
    db: None, django_capture_on_commit_callbacks: Capture
) -> None:
    # Committing runs the outbox's fast path, as after a real seed (tasks run eagerly).
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", force=True, stdout=StringIO())
    acme = Organization.objects.get(slug="acme")
    with tenant_context(acme):
        checked = (
            Appraisal.objects.filter(
                status=AppraisalStatus.OPEN, computed_at__isnull=False
            ).count(),
            Plan.objects.filter(status=PlanStatus.ACTIVE).count(),
            RoleAssignment.objects.filter(employee__user__isnull=False).count(),
            SentEmail.objects.count(),
        )

    clean = {slug: check("--org", slug) for slug in ("acme", "globex")}
    with tenant_context(acme):
        victim = (
            Appraisal.objects.filter(
                status=AppraisalStatus.OPEN, final_score__isnull=False
            )
            .select_related("employee", "cycle")
            .order_by("pk")
            .first()
        )
        assert victim is not None
        stored = cast(Decimal, victim.final_score)
        Appraisal.objects.filter(pk=victim.pk).update(final_score=stored + D("0.01"))
    broken = check("--org", "acme")

    assert all(count > 0 for count in checked), checked
    assert {slug: outcome.error for slug, outcome in clean.items()} == {
        "acme": None,
        "globex": None,
    }, clean["acme"].output + clean["globex"].output
    assert "No differences found in Acme" in clean["acme"].output
    assert (
        f'appraisal {victim.pk} ({victim.employee.full_name}, cycle "{victim.cycle.name}"): '
        f"expected final score {stored} (recomputed from its ratings), "
        f"found {stored + D('0.01')} stored"
    ) in broken.lines
    assert str(broken.error).startswith("Found 1 difference in Acme")


# --- Scores ---------------------------------------------------------------------------


@pytest.fixture
def worked(org: Organization) -> Appraisal:
    """The worked example of docs/scoring.md, its scores stored."""
    appraisal = build_worked_example(org)
    with tenant_context(org):
        recompute_appraisals([appraisal.pk])
        appraisal.refresh_from_db()
    return appraisal


def test_check_consistency_stored_scores_of_the_worked_example_are_clean(
    worked: Appraisal,
) -> None:
    outcome = check("--org", "acme-test")

    assert outcome.error is None, outcome.output
    assert worked.final_score == D("3.83")
    assert "Scores: no differences." in outcome.lines
    assert "No differences found in Acme Test (acme-test)." in outcome.lines


def test_check_consistency_corrupted_final_score_is_named(
    org: Organization, worked: Appraisal
) -> None:
    with tenant_context(org):
        Appraisal.objects.filter(pk=worked.pk).update(final_score=D("3.40"))

    outcome = check("--org", org.slug)

    assert outcome.error is not None
    assert (
        f'appraisal {worked.pk} (Ada Example, cycle "H1 2026"): expected final score '
        "3.83 (recomputed from its ratings), found 3.40 stored"
    ) in outcome.lines
    assert any(line.startswith("Scores: 1 difference.") for line in outcome.lines)
    assert str(outcome.error).startswith("Found 1 difference in Acme Test")


def test_check_scores_rating_changed_without_recompute_shows_every_stale_figure(
    org: Organization, worked: Appraisal
) -> None:
    with tenant_context(org):
        rating = GoalRating.objects.filter(
            evaluation__appraisal=worked, goal__plan__engagement__name="Engagement B"
        ).get()
        GoalRating.objects.filter(pk=rating.pk).update(value=D(5))

        found = {(d.expected, d.found) for d in check_scores()}

    # Engagement B's plan score goes 3 → 5: EC 3.846331… → 4.3484, final
    # 0.4·3.80 + 0.6·4.3484 = 4.12904, percent 78.226.
    assert {
        ("engagement composite 4.35 (recomputed from its ratings)", "3.85 stored"),
        ("final score 4.13 (recomputed from its ratings)", "3.83 stored"),
        ("percent 78.23 (recomputed from its ratings)", "70.69 stored"),
        ("goal score 5.00 (recomputed from its ratings)", "3.00 stored"),
        ("score 5.00 (recomputed from its ratings)", "3.00 stored"),
        (
            "snapshot plans[2].goals[0].rating 5.0 (recomputed from its ratings)",
            "3.0 stored",
        ),
    } <= found


def test_check_scores_corrupted_evaluation_score_is_named(
    org: Organization, worked: Appraisal
) -> None:
    with tenant_context(org):
        review = Evaluation.objects.get(
            appraisal=worked, plan__engagement__name="Engagement A"
        )
        Evaluation.objects.filter(pk=review.pk).update(score=D("4.12"))

        differences = check_scores()

    assert [str(d) for d in differences] == [
        f'review {review.pk} (Ada Example, engagement "Engagement A", cycle "H1 2026"): '
        "expected score 4.13 (recomputed from its ratings), found 4.12 stored"
    ]


def test_check_scores_finalised_appraisal_is_left_out(
    org: Organization, worked: Appraisal
) -> None:
    with tenant_context(org):
        Appraisal.objects.filter(pk=worked.pk).update(
            status=AppraisalStatus.FINALIZED,
            finalized_at=timezone.now(),
            final_score=D("1.00"),
        )

        differences = check_scores()

    assert differences == []


def test_check_scores_query_count_is_flat(org: Organization) -> None:
    other = cast(Organization, OrganizationFactory(slug="larger"))
    counts = []
    for organization, size in ((org, 2), (other, 12)):
        seed_cycle(organization, size)
        with tenant_context(organization):
            recompute_appraisals(Appraisal.objects.values_list("pk", flat=True))
            with CaptureQueriesContext(connection) as captured:
                differences = check_scores()
        assert differences == []
        counts.append(len(captured.captured_queries))

    assert counts[0] == counts[1]


def test_snapshot_differences_compares_figures_exactly_and_skips_words() -> None:
    stored = {
        "rules": "old",
        "general_weight": "40.00",
        "plans": [{"label": "Old name", "goals": [{"rating": "3.0"}]}],
    }
    recomputed = {
        "rules": "new",
        "general_weight": "40",
        "plans": [{"label": "New name", "goals": [{"rating": "3.5"}]}],
    }

    found = list(snapshot_differences(recomputed, stored))

    assert found == [("plans[0].goals[0].rating", "3.5", "3.0")]


# --- Reviewer permissions ------------------------------------------------------------


@pytest.fixture
def reviewer_role(org: Organization) -> RoleAssignment:
    reviewer = cast(
        Membership,
        MembershipFactory(organization=org, user__full_name="Rita Reviewer"),
    )
    engagement = cast(
        Engagement, EngagementFactory(organization=org, code="ENG-7", name="Apollo")
    )
    with tenant_context(org):
        employee = Employee.objects.get(user=reviewer.user)
        return assign_role(
            actor=None,
            engagement=engagement,
            employee=employee,
            role=EngagementRole.REVIEWER,
        )


def test_check_consistency_role_permissions_granted_are_clean(
    reviewer_role: RoleAssignment,
) -> None:
    outcome = check("--org", "acme-test")

    assert outcome.error is None, outcome.output
    assert "Reviewer permissions: no differences." in outcome.lines


def test_check_consistency_removed_reviewer_permission_is_named(
    org: Organization, reviewer_role: RoleAssignment
) -> None:
    with tenant_context(org):
        user = cast(User, reviewer_role.employee.user)
        engagement = Engagement.objects.get(pk=reviewer_role.engagement_id)
    remove_perm("engagements.review_engagement", user, engagement)

    outcome = check("--org", org.slug)

    assert outcome.error is not None
    assert (
        f'Rita Reviewer (Reviewer on engagement ENG-7 "Apollo", user {user.pk}): '
        "expected the object permission engagements.review_engagement, found no "
        "such permission on the engagement"
    ) in outcome.lines
    assert any(
        line.startswith("Reviewer permissions: 1 difference.") for line in outcome.lines
    )


# --- Plan weights ------------------------------------------------------------------------


def test_check_consistency_active_plan_with_broken_weights_is_named(
    org: Organization,
) -> None:
    plan = cast(Plan, PlanFactory(organization=org, status=PlanStatus.ACTIVE))
    first, _second = GoalFactory.create_batch(2, plan=plan, weight=D(50))
    draft = PlanFactory(organization=org, status=PlanStatus.DRAFT)
    GoalFactory(plan=draft, weight=D(30))
    before = check("--org", org.slug)

    with tenant_context(org):
        Goal.objects.filter(pk=first.pk).update(weight=D(40))
    after = check("--org", org.slug)

    assert before.error is None, before.output
    assert after.error is not None
    assert (
        f"active plan {plan.pk} ({plan.employee.full_name}, engagement "
        f'"{cast(Engagement, plan.engagement).name}", cycle "{plan.cycle.name}"): expected goal '
        "weights totalling 100, found goal weights totalling 90.00"
    ) in after.lines


def test_check_consistency_active_plan_without_goals_is_named(
    org: Organization,
) -> None:
    plan = cast(Plan, PlanFactory(organization=org, status=PlanStatus.ACTIVE))

    outcome = check("--org", org.slug)

    assert outcome.error is not None
    assert any(
        line.startswith(f"active plan {plan.pk} ") and line.endswith("found no goals")
        for line in outcome.lines
    )


# --- The command itself ----------------------------------------------------------------


def test_check_consistency_all_checks_every_organisation_and_names_the_broken_one(
    org: Organization, other_org: Organization
) -> None:
    PlanFactory(organization=other_org, status=PlanStatus.ACTIVE)

    outcome = check("--all")

    assert "No differences found in Acme Test (acme-test)." in outcome.lines
    assert "Checking Other Test (other-test):" in outcome.lines
    assert str(outcome.error).startswith("Found 1 difference in Other Test")


def test_check_consistency_unknown_organisation_says_how_to_name_one(db: None) -> None:
    with pytest.raises(CommandError, match="No organisation with the slug 'nope'"):
        call_command("check_consistency", "--org", "nope", stdout=StringIO())


def test_check_consistency_writes_nothing(org: Organization, worked: Appraisal) -> None:
    with tenant_context(org):
        Appraisal.objects.filter(pk=worked.pk).update(final_score=D("1.00"))
        before = list(Appraisal.objects.values_list("pk", "final_score", "computed_at"))

    check("--org", org.slug)

    with tenant_context(org):
        after = list(Appraisal.objects.values_list("pk", "final_score", "computed_at"))
    assert after == before


def test_read_only_refuses_writes_when_it_opens_the_transaction(
    transactional_db: None,
) -> None:
    organization = cast(Organization, OrganizationFactory(slug="read-only"))

    with (
        pytest.raises(DatabaseError, match="read-only transaction"),
        read_only(organization),
    ):
        Client.objects.create(organization=organization, name="Never stored")

    with tenant_context(organization):
        assert Client.objects.count() == 0


def test_check_consistency_in_its_own_transaction_finds_a_corrupted_score(
    transactional_db: None,
) -> None:
    organization = cast(Organization, OrganizationFactory(slug="own-transaction"))
    appraisal = build_worked_example(organization)
    with tenant_context(organization):
        recompute_appraisals([appraisal.pk])
        Appraisal.objects.filter(pk=appraisal.pk).update(percent=D("70.70"))

    outcome = check("--org", organization.slug)

    assert outcome.error is not None
    assert (
        f'appraisal {appraisal.pk} (Ada Example, cycle "H1 2026"): expected percent '
        "70.69 (recomputed from its ratings), found 70.70 stored"
    ) in outcome.lines
