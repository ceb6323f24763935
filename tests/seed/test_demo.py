"""seed_demo gives the reports history: two closed half-years before the one in
review, every appraisal there finalised with a score (HR's own excepted), clients'
answers in every half-year, reviewers who rate differently, people whose scores
move both ways, finished report files, scheduled e-mails in every state with one
digest delivered, and a second run that adds nothing."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.db.models import Avg, Count
from django.test.utils import override_settings
from django.utils import timezone

from appraisals.enums import FINAL_STATUSES, AppraisalStatus, EvaluationKind
from appraisals.models import Appraisal, CompetencyRating
from demo.appraisals import previous_half_year
from demo.closed_cycles import closed_half_years
from demo.scale import delete_organization
from engagements.enums import CycleStatus, PlanKind
from engagements.models import Engagement, GoalCheckIn, Plan, ReviewCycle
from feedback.models import ClientSurvey, Feedback
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from reporting.enums import DeliveryStatus, EmailStatus, JobStatus
from reporting.models import (
    ReportDelivery,
    ReportEmail,
    ReportJob,
    ReportSubscription,
)
from tests.seed.world import MD5

pytestmark = pytest.mark.django_db


def _seed() -> None:
    with override_settings(PASSWORD_HASHERS=MD5):
        call_command("seed_demo", force=True, stdout=StringIO())


def _row_counts(organization: Organization) -> dict[str, int]:
    """Rows per tenant table of ``organization``."""
    with tenant_context(organization):
        return {
            model._meta.label: model._base_manager.filter(
                organization_id=organization.pk
            ).count()
            for model in apps.get_models()
            if any(f.column == "organization_id" for f in model._meta.concrete_fields)
        }


@pytest.fixture(scope="module")
def acme(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any
) -> Iterator[dict[str, Any]]:
    """The demo seeded twice, with acme's row counts after each run (removed after
    the module); its report files in a folder of the module's own."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    media.enable()
    with django_db_blocker.unblock():
        _seed()
        organization = Organization.objects.get(slug="acme")
        first = _row_counts(organization)
        _seed()
        second = _row_counts(organization)
    yield {"organization": organization, "first": first, "second": second}
    with django_db_blocker.unblock(), transaction.atomic():
        for slug in ("acme", "globex"):
            found = Organization.objects.filter(slug=slug).first()
            if found is not None:
                delete_organization(found)
    media.disable()


def test_demo_closed_cycles_come_before_the_cycle_in_review(acme):
    review = previous_half_year(timezone.localdate())
    expected = [name for name, _start, _end in closed_half_years(review[1])]

    with tenant_context(acme["organization"]):
        statuses = list(
            ReviewCycle.objects.filter(start_date__lte=review[1])
            .order_by("start_date")
            .values_list("name", "status")
        )

    assert statuses == [
        (expected[0], CycleStatus.CLOSED),
        (expected[1], CycleStatus.CLOSED),
        (review[0], CycleStatus.REVIEW),
    ]


def test_demo_closed_cycles_finalise_every_appraisal_but_hrs_own_with_a_score(acme):
    with tenant_context(acme["organization"]):
        closed = Appraisal.objects.filter(cycle__status=CycleStatus.CLOSED)
        open_ones = list(
            closed.filter(status=AppraisalStatus.OPEN).values_list(
                "employee__user__email", flat=True
            )
        )
        final = closed.filter(
            status__in=[AppraisalStatus.FINALIZED, AppraisalStatus.ACKNOWLEDGED]
        )
        per_cycle = dict(
            final.values_list("cycle__name").annotate(n=Count("pk")).order_by()
        )
        unscored = final.filter(final_score__isnull=True).count()
        unpercented = final.filter(percent__isnull=True).count()
        acknowledged = final.filter(status=AppraisalStatus.ACKNOWLEDGED).count()

    assert open_ones == ["hr@acme.test", "hr@acme.test"]
    assert len(per_cycle) == 2
    assert min(per_cycle.values()) >= 30
    assert (unscored, unpercented) == (0, 0)
    assert acknowledged > 0


def test_demo_scores_move_both_ways_between_the_closed_cycles(acme):
    with tenant_context(acme["organization"]):
        rows = Appraisal.objects.filter(
            cycle__status=CycleStatus.CLOSED, final_score__isnull=False
        ).values_list("employee_id", "cycle__start_date", "final_score")
        scores: dict[int, list[Any]] = {}
        for employee, _start, score in sorted(rows):
            scores.setdefault(employee, []).append(score)
    pairs = [s for s in scores.values() if len(s) == 2]

    assert sum(later > earlier for earlier, later in pairs) >= 5
    assert sum(later < earlier for earlier, later in pairs) >= 5


def test_demo_reviewers_rate_differently_in_the_closed_cycles(acme):
    with tenant_context(acme["organization"]):
        means = dict(
            CompetencyRating.objects.filter(
                evaluation__plan__cycle__status=CycleStatus.CLOSED,
                evaluation__kind=EvaluationKind.REVIEW,
                value__isnull=False,
            )
            .values_list("evaluation__reviewer__user__email")
            .annotate(mean=Avg("value"))
            .order_by()
        )

    assert means["manager@acme.test"] - means["reviewer@acme.test"] >= 0.5


def test_demo_surveys_are_answered_in_every_half_year_with_reviews(acme):
    with tenant_context(acme["organization"]):
        cycles = ReviewCycle.objects.exclude(status=CycleStatus.DRAFT)
        answered = {
            cycle.name: ClientSurvey.objects.filter(
                answered_at__date__gte=cycle.start_date,
                answered_at__date__lte=cycle.end_date,
            ).count()
            for cycle in cycles
        }
        unanswered = ClientSurvey.objects.filter(answered_at__isnull=True).count()

    assert len(answered) == 4
    assert min(answered.values()) > 0
    assert unanswered > 0


def test_demo_feedback_of_every_kind_in_the_closed_cycles(acme):
    with tenant_context(acme["organization"]):
        kinds = {
            (cycle.name, kind)
            for cycle in ReviewCycle.objects.filter(status=CycleStatus.CLOSED)
            for kind in Feedback.objects.filter(
                created_at__date__gte=cycle.start_date,
                created_at__date__lte=cycle.end_date,
            ).values_list("kind", flat=True)
        }

    assert len(kinds) == 6


def test_demo_second_run_adds_nothing(acme):
    assert acme["second"] == acme["first"]


def test_demo_has_a_finished_pdf_and_export_to_download(acme):
    organization = acme["organization"]
    with tenant_context(organization):
        jobs = {
            (job.file_format, job.status, job.requested_by.email): job
            for job in ReportJob.objects.select_related("requested_by")
        }
        pdf = jobs[("pdf", JobStatus.DONE, "employee@acme.test")]
        export = jobs[("xlsx", JobStatus.DONE, "hr@acme.test")]
        appraisal = Appraisal.objects.get(pk=pdf.parameters["appraisal"])

    with pdf.file.storage.open(pdf.file.name) as stored:
        start = stored.read(5)
    assert appraisal.status in FINAL_STATUSES
    assert start == b"%PDF-"
    assert export.row_count > 0


def test_demo_has_subscriptions_in_every_state_and_a_delivered_digest(acme):
    organization = acme["organization"]
    with tenant_context(organization):
        subscriptions = {
            s.title: s
            for s in ReportSubscription.objects.prefetch_related(
                "recipients__membership__user"
            )
        }
        digest = subscriptions["Monday cycle digest"]
        (delivery,) = ReportDelivery.objects.filter(subscription=digest)
        (email,) = ReportEmail.objects.filter(delivery=delivery)
        unsubscribed = [
            r.membership.user.email
            for s in subscriptions.values()
            for r in s.recipients.all()
            if r.unsubscribed_at is not None
        ]

    states = {(s.kind, s.frequency, s.is_active) for s in subscriptions.values()}
    assert states == {
        ("cycle_digest", "weekly", True),
        ("team_summary", "weekly", True),
        ("engagement_analytics", "monthly", False),
        ("my_appraisal", "cycle_event", True),
    }
    assert unsubscribed == ["reviewer@acme.test"]
    assert [r.membership.user.email for r in digest.recipients.all()] == [
        "approver@acme.test"
    ]
    assert digest.next_run_at is not None
    assert (delivery.status, email.status) == (DeliveryStatus.SENT, EmailStatus.SENT)
    with email.file.storage.open(email.file.name) as stored:
        assert stored.read(5) == b"%PDF-"


def test_demo_every_engagement_has_a_business_unit(acme):
    with tenant_context(acme["organization"]):
        total = Engagement.objects.count()
        without = list(
            Engagement.objects.filter(business_unit__isnull=True).values_list(
                "code", flat=True
            )
        )

    assert total > 0
    assert without == []


def test_demo_checkins_are_written_by_the_employee_or_a_manager_up_their_line(acme):
    with tenant_context(acme["organization"]):
        people = {
            pk: (user_id, manager_id)
            for pk, user_id, manager_id in Employee.objects.values_list(
                "pk", "user_id", "line_manager_id"
            )
        }
        hr_users = set(
            Membership.objects.filter(role=Role.HR_ADMIN).values_list(
                "user_id", flat=True
            )
        )
        checkins = list(
            GoalCheckIn.objects.values_list("author_id", "goal__plan__employee_id")
        )

    def line(employee_id: int | None) -> set[int | None]:
        users = set()
        while employee_id is not None:
            user_id, employee_id = people[employee_id]
            users.add(user_id)
        return users

    strangers = [
        (author, owner) for author, owner in checkins if author not in line(owner)
    ]
    by_hr_for_others = [
        (author, owner)
        for author, owner in checkins
        if author in hr_users and author != people[owner][0]
    ]
    assert len(checkins) > 0
    assert strangers == []
    assert by_hr_for_others == []


def test_demo_no_general_plan_enters_review_without_goals(acme):
    with tenant_context(acme["organization"]):
        empty = list(
            Plan.objects.filter(
                kind=PlanKind.GENERAL,
                cycle__status__in=[CycleStatus.REVIEW, CycleStatus.CLOSED],
            )
            .filter(goals__isnull=True)
            .values_list("cycle__name", "employee__full_name")
        )

    assert empty == []
