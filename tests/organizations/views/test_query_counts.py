"""Query budgets: every organisation page is cheap, and the tenant middleware costs
the session, the user and the membership, no more (lists whose count does not grow
with their rows: test_list_query_counts.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from appraisals.enums import CalibrationScope
from appraisals.models import Appraisal, Evaluation
from appraisals.services.calibration import open_session
from engagements.enums import CycleStatus, EngagementRole, PlanKind
from engagements.models import Plan, PlanCompetency
from engagements.services.cycles import transition_cycle
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from reporting.models import ReportJob
from tests.appraisal_factories import RecomputeRunFactory
from tests.authz.policy import ORG_KWARG, Actor, Outcome, Target
from tests.authz.routes import named_routes
from tests.authz.table import POLICY
from tests.competency_factories import (
    CompetencyDescriptorFactory,
    CompetencySetItemFactory,
    CompetencySetJobTitleFactory,
    DefaultScaleFactory,
    RatingScaleFactory,
)
from tests.engagement_factories import (
    EngagementFactory,
    GoalCheckInFactory,
    GoalFactory,
    KeyActivityFactory,
    PlanFactory,
    PlanTemplateFactory,
    ReviewCycleFactory,
    TemplateGoalFactory,
)
from tests.engagements.test_plan_competencies import (
    EngagementTypeFactory,
    PlanCompetencyFactory,
    TemplateCompetencyFactory,
)
from tests.factories import (
    BusinessUnitFactory,
    EmployeeFactory,
    InvitationFactory,
    JobTitleFactory,
)
from tests.feedback_factories import (
    FeedbackAskFactory,
    FeedbackFactory,
    FeedbackRequestFactory,
)
from tests.organizations.views.query_budget import (
    HTMX_ONLY,
    PAGE_BUDGET,
    get_counted,
    lookups,
    table_of,
)
from tests.reporting_factories import (
    finished_report_job,
    sent_delivery,
    subscription_for,
)

pytestmark = pytest.mark.django_db


# --- (a) every organisation page within the budget ----------------------------------------


@dataclass
class Directory:
    """A small but complete organisation: every page has something to show."""

    org: Organization
    admin: Membership
    # The URL kwargs (besides org_slug) of each target kind of the policy.
    objects: dict[str, dict[str, int]]


@pytest.fixture
def directory(org, make_member, settings, tmp_path) -> Directory:
    # The report job's file (``_report_job``) lives in a folder of this test's own.
    settings.MEDIA_ROOT = tmp_path / "media"
    admin = make_member(org, Role.HR_ADMIN)
    unit = BusinessUnitFactory(organization=org, name="Delivery")
    BusinessUnitFactory(organization=org, name="Delivery North", parent=unit)
    title = JobTitleFactory(organization=org, name="Consultant")
    boss = make_member(org, Role.MANAGER, employee__business_unit=unit)
    with tenant_context(org):
        boss_entry = Employee.objects.get(user=boss.user)
    person = make_member(
        org,
        Role.EMPLOYEE,
        employee__job_title=title,
        employee__business_unit=unit,
        employee__line_manager=boss_entry,
    )
    EmployeeFactory(organization=org, line_manager=boss_entry)
    with tenant_context(org):
        # History with changed references, so the detail page names them.
        subject = Employee.objects.get(user=person.user)
        subject.job_title = JobTitleFactory(organization=org, name="Senior Consultant")
        subject.business_unit = BusinessUnitFactory(organization=org, name="Advisory")
        subject.line_manager = Employee.objects.get(user=admin.user)
        subject.save()
    invitation = InvitationFactory(
        organization=org,
        invited_by=admin.user,
        employee=EmployeeFactory(organization=org),
    )
    return Directory(
        org=org,
        admin=admin,
        objects={
            "employee": {"pk": subject.pk},
            "invitation": {"pk": invitation.pk},
            "business_unit": {"pk": unit.pk},
            "job_title": {"pk": title.pk},
            "picker_source": {"source": "people"},
            **_engagement_objects(org, subject, boss_entry, title),
            **_feedback_and_appraisal_objects(org, admin, subject, boss_entry),
        },
    )


def _feedback_and_appraisal_objects(
    org: Organization, admin: Membership, subject: Employee, manager: Employee
) -> dict[str, dict[str, int]]:
    """The feedback and appraisals apps' side: feedback and a feedback request about
    ``subject`` on their engagement, and a second cycle moved to review (which opens
    ``subject``'s appraisal and evaluations) with goals and a competency to rate, and
    a finished recomputation and a calibration session over the organisation."""
    with tenant_context(org):
        plan = Plan.objects.select_related("engagement").get(employee=subject)
        competency = (
            PlanCompetency.objects.select_related("competency")
            .filter(plan=plan)
            .first()
        )
    feedback = FeedbackFactory(
        organization=org, author=manager, subject=subject, engagement=plan.engagement
    )
    request = FeedbackRequestFactory(
        organization=org,
        requested_by=subject,
        subject=subject,
        engagement=plan.engagement,
    )
    FeedbackAskFactory(request=request, requestee=manager)
    cycle = ReviewCycleFactory(
        organization=org, name="Review cycle", status=CycleStatus.IN_PROGRESS
    )
    review_plan = PlanFactory(
        organization=org, cycle=cycle, engagement=plan.engagement, employee=subject
    )
    GoalFactory(plan=review_plan)
    GoalFactory(plan=review_plan)
    if competency is not None:
        PlanCompetencyFactory(
            organization=org, plan=review_plan, competency=competency.competency
        )
    PlanFactory(
        organization=org,
        cycle=cycle,
        employee=subject,
        kind=PlanKind.GENERAL,
        engagement=None,
        allocation=None,
    )
    with tenant_context(org):
        transition_cycle(actor=admin, cycle=cycle, to=CycleStatus.REVIEW)
        appraisal = Appraisal.objects.get(cycle=cycle, employee=subject)
        evaluation = Evaluation.objects.get(plan=review_plan, kind="review")
    run = RecomputeRunFactory(cycle=cycle)
    with tenant_context(org):
        cycle.refresh_from_db()  # moved to review above
        session = open_session(
            actor=admin,
            cycle=cycle,
            name="Budget calibration",
            scope=CalibrationScope.ORGANIZATION,
        )
    return {
        "report_job": {"pk": _report_job(admin).pk},
        **_subscription_objects(admin),
        "feedback": {"pk": feedback.pk},
        "feedback_request": {"pk": request.pk},
        "review_cycle": {"pk": cycle.pk},
        "review_plan": {"pk": review_plan.pk},
        "appraisal": {"pk": appraisal.pk},
        "evaluation": {"pk": evaluation.pk},
        "recompute_run": {"pk": run.pk},
        "calibration_session": {"pk": session.pk},
        "calibration_entry": {"pk": session.pk, "appraisal_pk": appraisal.pk},
    }


def _report_job(requester: Membership) -> ReportJob:
    """A finished export of ``requester``'s with its file stored."""
    name = default_storage.save(
        f"reports/{requester.organization.pk}/budget.csv", ContentFile(b"Employee\r\n")
    )
    return finished_report_job(requester, name)


def _subscription_objects(admin: Membership) -> dict[str, dict[str, int]]:
    """A weekly cycle digest of ``admin``'s, with a sent delivery whose e-mail
    carried a stored PDF."""
    subscription = subscription_for(admin)
    name = default_storage.save(
        f"reports/{admin.organization.pk}/budget.pdf", ContentFile(b"%PDF-1.7\n")
    )
    delivery, email = sent_delivery(subscription, admin, file=name)
    ids = {"pk": subscription.pk, "delivery_pk": delivery.pk}
    return {
        "report_subscription": {"pk": subscription.pk},
        "report_delivery": ids,
        "report_email": {**ids, "email_pk": email.pk},
    }


def _engagement_objects(
    org: Organization, subject: Employee, planner: Employee, title: Any
) -> dict[str, dict[str, int]]:
    """The engagements and competencies apps' side of the directory: a rating scale,
    a competency set for ``title`` with a competency described on the scale, an
    engagement type, and ``subject`` staffed on an engagement (``planner`` its
    planner) with a plan holding a goal, a key activity, a check-in and the
    competency; a plan template with a goal and the competency."""
    scale = DefaultScaleFactory(organization=org)
    RatingScaleFactory(organization=org)
    item = CompetencySetItemFactory(
        competency_set__organization=org, competency__organization=org
    )
    competency, competency_set = item.competency, item.competency_set
    CompetencyDescriptorFactory(organization=org, competency=competency)
    CompetencySetJobTitleFactory(
        organization=org, competency_set=competency_set, job_title=title
    )
    engagement_type = EngagementTypeFactory(
        organization=org, competency_set=competency_set
    )
    cycle = ReviewCycleFactory(organization=org)
    engagement = EngagementFactory(organization=org, engagement_type=engagement_type)
    plan = PlanFactory(
        organization=org, cycle=cycle, engagement=engagement, employee=subject
    )
    goal = GoalFactory(plan=plan)
    KeyActivityFactory(goal=goal)
    GoalCheckInFactory(goal=goal)
    PlanCompetencyFactory(organization=org, plan=plan, competency=competency)
    template = PlanTemplateFactory(organization=org)
    TemplateGoalFactory(template=template)
    TemplateCompetencyFactory(
        organization=org, template=template, competency=competency
    )
    with tenant_context(org):
        assign_role(
            actor=None,
            engagement=engagement,
            employee=planner,
            role=EngagementRole.PLANNER,
        )
    return {
        "scale": {"pk": scale.pk},
        "competency": {"pk": competency.pk},
        "competency_set": {"pk": competency_set.pk},
        "engagement_type": {"pk": engagement_type.pk},
        "cycle": {"pk": cycle.pk},
        "client": {"pk": engagement.client_id},
        "engagement": {"pk": engagement.pk},
        "plan": {"pk": plan.pk},
        "goal": {"pk": goal.pk},
        "template": {"pk": template.pk},
    }


def _hr_admin_pages() -> list[str]:
    """Every URL under /o/<org_slug>/ that the policy lets an HR admin GET, with each
    query string the policy names for it (an engagement page's sections), as
    ``name`` or ``name?query``.

    The authorisation matrix (``tests/authz/``) fails when a URL has no policy
    entry, so a new page cannot slip past this budget.
    """
    return sorted(
        f"{name}?{query}" if query else name
        for name, route in named_routes().items()
        if ORG_KWARG in route.kwargs and name in POLICY
        for (method, target) in POLICY[name].rows
        if method == "GET"
        and target in (Target.NONE, Target.OWN)
        and POLICY[name].expected(method, target, Actor.HR_ADMIN) is Outcome.ALLOWED
        for query in POLICY[name].queries
    )


@pytest.mark.parametrize("page", _hr_admin_pages())
def test_organisation_page_renders_within_the_query_budget_for_hr_admin(
    directory, client_as, page
):
    name, _, query = page.partition("?")
    kwargs: dict[str, Any] = {ORG_KWARG: directory.org.slug}
    if POLICY[name].target_kind is not None:
        kwargs.update(directory.objects[POLICY[name].target_kind])
    client = client_as(directory.admin)
    url = reverse(name, kwargs=kwargs) + (f"?{query}" if query else "")

    response, queries = get_counted(client, url, htmx=name in HTMX_ONLY)

    assert response.status_code == 200
    # What a production request runs: the test transaction's savepoints and the
    # row-security reset after the view are left out, as in the apps' own budgets.
    counted = lookups(queries)
    assert len(counted) <= PAGE_BUDGET, "\n".join(counted)


# --- (c) the tenant middleware --------------------------------------------------------------


@pytest.fixture
def bare_employee(org, make_member) -> Membership:
    """A member with no directory entry: the home page has nothing of theirs to load."""
    return make_member(org, Role.EMPLOYEE, employee=False)


def test_tenant_middleware_costs_at_most_session_user_and_membership(
    client_as, bare_employee
):
    # A POST-only view answers GET with 405 before running a query of its own, so
    # every lookup of this request is the middleware's (and authentication's).
    url = reverse(
        "organizations:employee_set_active", args=[bare_employee.organization.slug, 1]
    )
    client = client_as(bare_employee)

    response, queries = get_counted(client, url)

    assert response.status_code == 405
    assert [table_of(sql) for sql in lookups(queries)] == [
        "django_session",
        "organizations_user",
        "organizations_membership",
    ]


def test_tenant_middleware_lookups_come_before_the_home_view_body(
    client_as, bare_employee
):
    client = client_as(bare_employee)
    url = reverse("organizations:home", args=[bare_employee.organization.slug])

    response, queries = get_counted(client, url)

    assert response.status_code == 200
    assert [table_of(sql) for sql in lookups(queries)[:3]] == [
        "django_session",
        "organizations_user",
        "organizations_membership",
    ]
    # The membership lookup also sets the row-security setting: one query, not two.
    assert "set_config" in lookups(queries)[2]
