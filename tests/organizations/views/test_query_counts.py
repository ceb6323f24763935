"""Query budgets: every organisation page is cheap, lists do not grow with their rows,
and the tenant middleware costs the session, the user and the membership, no more."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appraisals.models import Appraisal, Evaluation
from engagements.enums import CycleStatus, EngagementRole, PlanKind
from engagements.models import Plan, PlanCompetency
from engagements.services.cycles import transition_cycle
from engagements.services.roles import assign_role
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from reporting.models import ReportJob
from tests.appraisal_factories import RecomputeRunFactory
from tests.authz.engine import close_download
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
    MembershipFactory,
)
from tests.feedback_factories import (
    FeedbackAskFactory,
    FeedbackFactory,
    FeedbackRequestFactory,
)
from tests.reporting_factories import finished_report_job

pytestmark = pytest.mark.django_db

PAGE_BUDGET = 15
# Tests run inside a transaction, so atomic blocks issue SAVEPOINT / RELEASE SAVEPOINT
# (and ROLLBACK TO SAVEPOINT) statements that a production request does not; they are
# not lookups and are left out when counting what a page or the middleware costs.
SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b")
# Also test-only: under an outer transaction the middleware clears the row-security
# setting after the view (``set_row_security(None)``); at a real commit it ends by itself.
RLS_RESET = re.compile(r"^\s*SELECT set_config\(")


def _lookups(captured: list[dict[str, str]]) -> list[str]:
    """The SQL of the captured queries, without test-only transaction bookkeeping."""
    return [
        q["sql"]
        for q in captured
        if not SAVEPOINT.match(q["sql"]) and not RLS_RESET.match(q["sql"])
    ]


def _table(sql: str) -> str:
    match = re.search(r'\bFROM "(\w+)"', sql)
    return match.group(1) if match else sql


# Sections that only answer HTMX requests (a plain GET redirects to their page).
HTMX_ONLY = {"appraisals:home_appraisals"}


def _get(
    client: Client, url: str, htmx: bool = False
) -> tuple[Any, list[dict[str, str]]]:
    headers = {"HX-Request": "true"} if htmx else {}
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    if getattr(response, "streaming", False):
        close_download(response)  # a file download: its file is open until closed
    return response, queries.captured_queries


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
    a finished recomputation."""
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
    return {
        "report_job": {"pk": _report_job(admin).pk},
        "feedback": {"pk": feedback.pk},
        "feedback_request": {"pk": request.pk},
        "review_cycle": {"pk": cycle.pk},
        "review_plan": {"pk": review_plan.pk},
        "appraisal": {"pk": appraisal.pk},
        "evaluation": {"pk": evaluation.pk},
        "recompute_run": {"pk": run.pk},
    }


def _report_job(requester: Membership) -> ReportJob:
    """A finished export of ``requester``'s with its file stored."""
    name = default_storage.save(
        f"reports/{requester.organization.pk}/budget.csv", ContentFile(b"Employee\r\n")
    )
    return finished_report_job(requester, name)


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

    response, queries = _get(client, url, htmx=name in HTMX_ONLY)

    assert response.status_code == 200
    # What a production request runs: the test transaction's savepoints and the
    # row-security reset after the view are left out, as in the apps' own budgets.
    lookups = _lookups(queries)
    assert len(lookups) <= PAGE_BUDGET, "\n".join(lookups)


# --- (b) list pages: the same number of queries for 1, 3 and 30 rows ----------------------


@dataclass
class ListPage:
    name: str
    query: Callable[[dict[str, Any]], str]
    add_rows: Callable[[Organization, Membership, dict[str, Any], int], None]
    shown: Callable[[Any], int]
    # Rows listed besides the added ones: the admin's and the manager's directory
    # entries, or the unit or title the rows refer to.
    fixed: int = 0


def _add_people(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for i in range(count):
        # Every row has a login, a job title, a unit and a line manager to show.
        MembershipFactory(
            organization=org,
            role=Role.EMPLOYEE if i % 2 else Role.MANAGER,
            employee__job_title=refs["job_title"],
            employee__business_unit=refs["business_unit"],
            employee__line_manager=refs["manager"],
        )


def _add_units(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for _ in range(count):
        BusinessUnitFactory(organization=org, parent=refs["business_unit"])


def _add_titles(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    JobTitleFactory.create_batch(count, organization=org)


def _add_invitations(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for _ in range(count):
        InvitationFactory(
            organization=org,
            invited_by=admin.user,
            employee=EmployeeFactory(
                organization=org, job_title=None, business_unit=None
            ),
        )


def _add_cycles(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for _ in range(count):
        # Each with plans to count, so the list's plan column has work to do.
        cycle = ReviewCycleFactory(organization=org)
        PlanFactory.create_batch(2, organization=org, cycle=cycle)


def _add_clients(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for _ in range(count):
        EngagementFactory(organization=org, name="Ledger migration")


def _add_engagements(
    org: Organization, admin: Membership, refs: dict[str, Any], count: int
) -> None:
    for _ in range(count):
        engagement = EngagementFactory(
            organization=org,
            name="Ledger migration",
            business_unit=refs["business_unit"],
        )
        # A team of two to count, and an engagement that does not match the filters.
        PlanFactory.create_batch(2, organization=org, engagement=engagement)
        EngagementFactory(organization=org, name="Other work", status="closed")


def _paginated(response: Any) -> int:
    return response.context["paginator"].count


LIST_PAGES = {
    "people": ListPage(
        "organizations:people", lambda refs: "", _add_people, _paginated, fixed=2
    ),
    "people_filtered": ListPage(
        "organizations:people",
        lambda refs: (
            f"?q=Person&business_unit={refs['business_unit'].pk}"
            f"&job_title={refs['job_title'].pk}&line_manager={refs['manager'].pk}"
            "&is_active=true"
        ),
        _add_people,
        _paginated,
    ),
    "business_units": ListPage(
        "organizations:business_units", lambda refs: "", _add_units, _paginated, fixed=1
    ),
    "job_titles": ListPage(
        "organizations:job_titles", lambda refs: "", _add_titles, _paginated, fixed=1
    ),
    "invitations": ListPage(
        "organizations:invitations",
        lambda refs: "",
        _add_invitations,
        lambda response: len(response.context["pending"]),
    ),
    "cycles": ListPage("engagements:cycles", lambda refs: "", _add_cycles, _paginated),
    "clients": ListPage(
        "engagements:clients", lambda refs: "", _add_clients, _paginated
    ),
    # Each added row also adds a closed engagement: the total counts what matches.
    "engagements": ListPage(
        "engagements:engagements",
        lambda refs: "",
        _add_engagements,
        lambda response: response.context["paginator"].count // 2,
    ),
    "engagements_filtered": ListPage(
        "engagements:engagements",
        lambda refs: (
            f"?q=ledger&status=active&business_unit={refs['business_unit'].pk}"
            "&date_from=2025-01-01&date_to=2025-12-31"
        ),
        _add_engagements,
        _paginated,
    ),
}


@pytest.fixture
def list_setup(org, make_member) -> tuple[Membership, dict[str, Any]]:
    """An HR admin and the references rows point at: one unit, title and manager."""
    admin = make_member(
        org, Role.HR_ADMIN, employee__job_title=None, employee__business_unit=None
    )
    return admin, {
        "business_unit": BusinessUnitFactory(organization=org),
        "job_title": JobTitleFactory(organization=org),
        "manager": EmployeeFactory(
            organization=org, job_title=None, business_unit=None
        ),
    }


@pytest.mark.parametrize(("fewer", "more"), [(1, 3), (3, 30)])
@pytest.mark.parametrize("page", LIST_PAGES)
def test_list_page_query_count_does_not_grow_with_its_rows(
    org, list_setup, client_as, page, fewer, more
):
    admin, refs = list_setup
    spec = LIST_PAGES[page]
    client = client_as(admin)
    url = reverse(spec.name, args=[org.slug]) + spec.query(refs)
    spec.add_rows(org, admin, refs, fewer)
    client.get(url)  # warm up: per-process caches are not the page's cost
    few_response, few_queries = _get(client, url)
    spec.add_rows(org, admin, refs, more - fewer)

    many_response, many_queries = _get(client, url)

    assert (spec.shown(few_response), spec.shown(many_response)) == (
        fewer + spec.fixed,
        more + spec.fixed,
    )
    assert len(many_queries) == len(few_queries), _lookups(many_queries)


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

    response, queries = _get(client, url)

    assert response.status_code == 405
    assert [_table(sql) for sql in _lookups(queries)] == [
        "django_session",
        "organizations_user",
        "organizations_membership",
    ]


def test_tenant_middleware_lookups_come_before_the_home_view_body(
    client_as, bare_employee
):
    client = client_as(bare_employee)
    url = reverse("organizations:home", args=[bare_employee.organization.slug])

    response, queries = _get(client, url)

    assert response.status_code == 200
    assert [_table(sql) for sql in _lookups(queries)[:3]] == [
        "django_session",
        "organizations_user",
        "organizations_membership",
    ]
    # The membership lookup also sets the row-security setting: one query, not two.
    assert "set_config" in _lookups(queries)[2]
