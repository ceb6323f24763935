"""seed_scale builds a whole world: every table the product shows has rows, in states
the workflow could have produced, for three logins who can sign in."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from guardian.models import UserObjectPermission

from appraisals.enums import (
    AppraisalStatus,
    ApprovalDecision,
    EvaluationKind,
    EvaluationStatus,
)
from appraisals.models import Appraisal, Evaluation, EvaluationApproval
from appraisals.scores import recompute_cycle
from appraisals.selectors.access import load_access
from appraisals.selectors.approvals import authorities_for
from appraisals.selectors.evaluations import evaluation_queryset
from engagements.consistency import check_plan_weights, check_role_permissions
from engagements.enums import CycleStatus, EngagementRole, PlanKind
from engagements.models import (
    Engagement,
    Goal,
    Plan,
    ReviewCycle,
    RoleAssignment,
)
from engagements.permissions import load_access as engagement_access
from feedback.enums import Visibility
from feedback.models import ClientSurvey, Feedback, FeedbackRequest
from feedback.selectors.access import feedback_visible_to
from organizations.models import Employee, Membership
from organizations.tenancy import tenant_context
from tests.seed.world import (
    PASSWORD,
    SLUG,
    WORLD_MODELS,
    employee_of,
    review_cycle,
)

pytestmark = pytest.mark.django_db


def test_world_fills_every_table_of_the_product(world):
    with tenant_context(world):
        empty = [m._meta.label for m in WORLD_MODELS if not m.objects.exists()]
        history_gaps = [
            m._meta.label
            for m in WORLD_MODELS
            if hasattr(m, "history") and m.history.count() != m.objects.count()
        ]
        cycles = sorted(ReviewCycle.objects.values_list("status", flat=True))
        roles = set(RoleAssignment.objects.values_list("role", flat=True))
        anonymous = set(FeedbackRequest.objects.values_list("anonymous", flat=True))
        appraisal_states = set(Appraisal.objects.values_list("status", flat=True))
        answered = ClientSurvey.objects.filter(answered_at__isnull=False).count()
        users = list(Membership.objects.values_list("user_id", flat=True))
    grants = UserObjectPermission.objects.filter(user_id__in=users).count()

    assert empty == []
    assert history_gaps == []
    assert cycles == [CycleStatus.CLOSED, CycleStatus.CLOSED, CycleStatus.REVIEW]
    assert roles >= {
        EngagementRole.PLANNER,
        EngagementRole.REVIEWER,
        EngagementRole.APPROVER,
    }
    assert anonymous == {True, False}
    assert appraisal_states == set(AppraisalStatus.values)
    assert answered > 0
    assert grants > 0


def test_world_reviews_in_review_cover_every_status_and_some_are_overdue(world):
    today = timezone.localdate()

    with tenant_context(world):
        reviews = Evaluation.objects.filter(
            appraisal__cycle=review_cycle(), kind=EvaluationKind.REVIEW
        )
        statuses = set(reviews.values_list("status", flat=True))
        overdue = reviews.filter(
            status__in=[EvaluationStatus.DRAFT, EvaluationStatus.RETURNED],
            due_date__lt=today,
        ).count()
        not_yet_due = reviews.filter(
            status=EvaluationStatus.DRAFT, due_date__gte=today
        ).count()
        partly_rated = (
            reviews.filter(status=EvaluationStatus.DRAFT, goal_ratings__isnull=False)
            .distinct()
            .count()
        )
        closed_unapproved = (
            Evaluation.objects.filter(
                appraisal__cycle__status=CycleStatus.CLOSED, kind=EvaluationKind.REVIEW
            )
            .exclude(status=EvaluationStatus.APPROVED)
            .count()
        )

    assert statuses == set(EvaluationStatus.values)
    assert overdue > 0
    assert not_yet_due > 0
    assert partly_rated > 0
    assert closed_unapproved == 0


@pytest.mark.parametrize("login", ["hr", "manager", "employee"])
def test_world_logins_sign_in_and_open_their_home_page(world, login):
    client = Client()

    signed_in = client.post(
        "/accounts/login/",
        {"username": f"{login}@{SLUG}.test", "password": PASSWORD},
    )
    home = client.get(reverse("organizations:home", args=[SLUG]))

    assert signed_in.status_code == 302
    assert home.status_code == 200


def test_world_other_accounts_cannot_sign_in(world):
    with tenant_context(world):
        usable = sorted(
            m.user.email
            for m in Membership.objects.select_related("user")
            if m.user.has_usable_password()
        )

    assert usable == [f"{name}@{SLUG}.test" for name in ("employee", "hr", "manager")]


def test_world_manager_leads_three_levels_and_the_employee_is_in_their_line(world):
    with tenant_context(world):
        manager = employee_of(f"manager@{SLUG}.test")
        employee = employee_of(f"employee@{SLUG}.test")
        boss_of = dict(Employee.objects.values_list("pk", "line_manager_id"))
        title = manager.job_title.name
    depth: dict[int, int] = {}
    for pk in boss_of:
        steps, current = 0, pk
        while current is not None and current != manager.pk:
            current, steps = boss_of[current], steps + 1
        if current == manager.pk:
            depth[pk] = steps
    chain = []
    current = employee.pk
    while current is not None:
        chain.append(current)
        current = boss_of[current]

    assert title == "Practice Director"
    assert max(depth.values()) >= 3
    assert manager.pk in chain
    assert depth[employee.pk] >= 3


def test_world_manager_reads_feedback_about_themselves_and_asked_for_some(world):
    """At every size, so that the manager's "about me" and "mine" pages run the same
    queries whatever the organisation's size (bench/pages.py compares them)."""
    with tenant_context(world):
        manager = employee_of(f"manager@{SLUG}.test")
        membership = Membership.objects.get(user=manager.user)
        about = feedback_visible_to(membership).filter(subject=manager)
        asked = FeedbackRequest.objects.filter(requested_by=manager)
        reports = set(
            Employee.objects.filter(line_manager=manager).values_list("pk", flat=True)
        )
        subjects = set(asked.values_list("subject_id", flat=True))

        assert about.filter(visibility=Visibility.SHARED).exists()
        assert subjects
        assert subjects <= reports


def test_world_employee_is_staffed_on_two_engagements_with_everything(world):
    with tenant_context(world):
        employee = employee_of(f"employee@{SLUG}.test")
        cycles = list(ReviewCycle.objects.order_by("start_date"))
        staffed = [
            Plan.objects.filter(
                cycle=cycle, employee=employee, kind=PlanKind.ENGAGEMENT
            ).count()
            for cycle in cycles
        ]
        goals = Goal.objects.filter(plan__employee=employee).count()
        evaluations = Evaluation.objects.filter(employee=employee).count()
        received = Feedback.objects.filter(subject=employee).count()
        given = Feedback.objects.filter(author=employee).count()
        appraisals = dict(
            Appraisal.objects.filter(employee=employee).values_list(
                "cycle__status", "status"
            )
        )
        states = list(
            Appraisal.objects.filter(employee=employee)
            .order_by("cycle__start_date")
            .values_list("status", flat=True)
        )

    assert staffed == [2, 2, 2]
    assert goals > 0
    assert evaluations == 2 * 3 * 3
    assert received >= 3
    assert given >= 1
    assert appraisals[CycleStatus.REVIEW] == AppraisalStatus.OPEN
    assert states == [
        AppraisalStatus.ACKNOWLEDGED,
        AppraisalStatus.FINALIZED,
        AppraisalStatus.OPEN,
    ]


def test_world_guardian_permissions_are_those_assign_role_grants(world):
    with tenant_context(world):
        differences = check_role_permissions()
        weights = check_plan_weights()
        manager = Membership.objects.select_related("user").get(
            user__email=f"manager@{SLUG}.test"
        )
        reviewed = list(
            Engagement.objects.filter(
                role_assignments__role=EngagementRole.REVIEWER,
                role_assignments__employee__user=manager.user,
            )
        )
        access = engagement_access(manager, reviewed)

    assert differences == []
    assert weights == []
    assert reviewed != []
    assert all(
        {"review_engagement", "view_engagement"} <= access.on(e.pk) for e in reviewed
    )


def test_world_manager_opens_an_evaluation_they_review(world):
    client = Client()
    client.post(
        "/accounts/login/",
        {"username": f"manager@{SLUG}.test", "password": PASSWORD},
    )
    with tenant_context(world):
        manager = Membership.objects.select_related("user").get(
            user__email=f"manager@{SLUG}.test"
        )
        evaluation = Evaluation.objects.filter(
            kind=EvaluationKind.REVIEW,
            reviewer__user=manager.user,
            plan__kind=PlanKind.ENGAGEMENT,
            appraisal__cycle__status=CycleStatus.REVIEW,
        ).first()
        access = load_access(manager, evaluation.pk)

    response = client.get(evaluation.get_absolute_url())

    assert access is not None
    assert access.is_writer
    assert response.status_code == 200


def test_world_employee_cannot_open_another_employees_appraisal(world):
    client = Client()
    client.post(
        "/accounts/login/",
        {"username": f"employee@{SLUG}.test", "password": PASSWORD},
    )
    with tenant_context(world):
        own = Appraisal.objects.filter(
            employee__user__email=f"employee@{SLUG}.test",
            status=AppraisalStatus.FINALIZED,
        ).first()
        other = Appraisal.objects.exclude(
            employee__user__email=f"employee@{SLUG}.test"
        ).first()

    mine = client.get(own.get_absolute_url())
    theirs = client.get(other.get_absolute_url())

    assert mine.status_code == 200
    assert theirs.status_code == 404


def test_world_approvals_come_from_people_the_workflow_accepts(world):
    with tenant_context(world):
        hr_admins = set(
            Employee.objects.filter(user__memberships__role="hr_admin").values_list(
                "pk", flat=True
            )
        )
        approvals = list(
            EvaluationApproval.objects.filter(decision=ApprovalDecision.APPROVED)
        )
        evaluations = list(
            evaluation_queryset().filter(pk__in={a.evaluation_id for a in approvals})
        )
        authority = authorities_for(evaluations)
    refused = [
        a.pk
        for a in approvals
        if a.approver_id not in authority[a.evaluation_id].approver_ids
        and not (authority[a.evaluation_id].hr_fallback and a.approver_id in hr_admins)
    ]

    assert approvals != []
    assert refused == []


def test_world_scores_are_what_the_recompute_stores(world):
    def figures() -> dict[int, tuple]:
        return {
            a.pk: (a.general_score, a.engagement_score, a.final_score, a.percent)
            for a in Appraisal.objects.all()
        } | {
            -e.pk: (e.goal_score, e.competency_score, e.score)
            for e in Evaluation.objects.all()
        }

    with tenant_context(world):
        stored = figures()
        # Reopen the finalised ones too (rolled back with the test), so the recompute
        # checks every stored figure.
        Appraisal.objects.update(
            status=AppraisalStatus.OPEN, finalized_at=None, acknowledged_at=None
        )
        for cycle in ReviewCycle.objects.all():
            recompute_cycle(cycle)
        again = figures()
        scored = Appraisal.objects.filter(final_score__isnull=False).count()

    assert scored > 0
    assert again == stored


def test_world_is_invisible_from_another_organisation(world, other_org):
    with tenant_context(other_org):
        visible = {m._meta.label: m.objects.count() for m in WORLD_MODELS}
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM engagements_plan")
            raw = cursor.fetchone()[0]

    assert set(visible.values()) == {0}
    assert raw == 0


def test_world_cycle_in_review_ended_before_today(world):
    with tenant_context(world):
        cycle = review_cycle()
        closed = list(
            ReviewCycle.objects.filter(status=CycleStatus.CLOSED).order_by("end_date")
        )

    assert cycle.end_date < timezone.localdate()
    assert [c.end_date < cycle.start_date for c in closed] == [True, True]
    assert isinstance(cycle.start_date, date)


def test_world_closed_cycles_have_finalised_scored_appraisals_for_trends(world):
    with tenant_context(world):
        closed = Appraisal.objects.filter(cycle__status=CycleStatus.CLOSED)
        final = closed.filter(
            status__in=[AppraisalStatus.FINALIZED, AppraisalStatus.ACKNOWLEDGED]
        )
        per_cycle = {
            name: final.filter(cycle__name=name).count()
            for name in ReviewCycle.objects.filter(
                status=CycleStatus.CLOSED
            ).values_list("name", flat=True)
        }
        unscored = final.filter(final_score__isnull=True).count()

    assert len(per_cycle) == 2
    assert min(per_cycle.values()) > 0
    assert unscored == 0


def test_world_surveys_are_answered_in_every_cycle(world):
    with tenant_context(world):
        answered = {
            cycle.name: ClientSurvey.objects.filter(
                engagement__plans__cycle=cycle, answered_at__isnull=False
            )
            .distinct()
            .count()
            for cycle in ReviewCycle.objects.all()
        }

    assert len(answered) == 3
    assert min(answered.values()) > 0
