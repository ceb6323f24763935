"""The organisation's survey pages: who may list, send and see CSAT figures (every
engagement role, the staffed employee, their line manager, an unrelated colleague,
another organisation), sending through the page, bad input, the slots and query
counts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements.enums import EngagementRole
from engagements.models import Engagement
from engagements.services.roles import assign_role
from feedback.models import ClientSurvey
from feedback.services.surveys import answer_survey
from feedback.views.surveys import rate_limit_key
from organizations.enums import Role
from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import EmployeeFactory, MembershipFactory, OrganizationFactory
from tests.feedback_factories import ClientSurveyFactory

pytestmark = pytest.mark.django_db

ClientAs = Callable[[Membership | None], Client]
PAGE_BUDGET = 15
# Test-only transaction bookkeeping, left out of query counts (see
# tests/organizations/views/test_query_counts.py).
BOOKKEEPING = re.compile(
    r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SELECT set_config\()"
)


@dataclass
class World:
    org: Organization
    engagement: Engagement
    other_engagement: Engagement
    members: dict[str, Membership]
    staffed: Employee  # the "self" actor's directory entry
    teammate: Employee  # staffed too, without a login


def _employee(member: Membership) -> Employee:
    with tenant_context(member.organization):
        return Employee.objects.get(user=member.user)


@pytest.fixture
def world(org: Organization, hr_admin: Membership) -> World:
    client = ClientFactory(organization=org, contact_email="buyer@client.test")
    engagement = EngagementFactory(
        organization=org, client=client, name="Data platform"
    )
    other_engagement = EngagementFactory(organization=org)
    cycle = ReviewCycleFactory(organization=org)
    line_manager = MembershipFactory(organization=org, role=Role.MANAGER)
    members = {
        "hr": hr_admin,
        "line_manager": line_manager,
        "self": MembershipFactory(organization=org),
        "peer": MembershipFactory(organization=org),
        "other_manager": MembershipFactory(organization=org, role=Role.MANAGER),
    }
    staffed = _employee(members["self"])
    teammate = EmployeeFactory(organization=org, full_name="Tess Teammate")
    with tenant_context(org):
        staffed.line_manager = _employee(line_manager)
        staffed.save()
        for person, where in (
            (staffed, engagement),
            (teammate, engagement),
            (_employee(members["peer"]), other_engagement),
        ):
            PlanFactory(
                organization=org, cycle=cycle, employee=person, engagement=where
            )
        for role in EngagementRole.values:
            member = MembershipFactory(organization=org, role=Role.MANAGER)
            assign_role(
                actor=None, engagement=engagement, employee=_employee(member), role=role
            )
            members[role] = member
    outsider_org = OrganizationFactory(slug="outside", name="Outside Org")
    members["outsider"] = MembershipFactory(
        organization=outsider_org, role=Role.HR_ADMIN
    )
    return World(org, engagement, other_engagement, members, staffed, teammate)


def _url(name: str, org: Organization, pk: int) -> str:
    return reverse(f"feedback:{name}", args=[org.slug, pk])


def _survey_count(org: Organization) -> int:
    with tenant_context(org):
        return ClientSurvey.objects.count()


ACTORS = [
    "hr",
    "reviewer",
    "approver",
    "planner",
    "contributor",
    "self",
    "line_manager",
    "peer",
    "other_manager",
    "outsider",
]


def _expect(allowed: set[str], forbidden: set[str]) -> list[tuple[str, int]]:
    return [
        (a, 200 if a in allowed else 403 if a in forbidden else 404) for a in ACTORS
    ]


ENGAGEMENT_ROLES_AND_TEAM = {"planner", "contributor", "self", "line_manager"}


# --- Permissions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "status"),
    _expect({"hr", "reviewer", "approver"}, ENGAGEMENT_ROLES_AND_TEAM),
)
def test_survey_list_access(client_as: ClientAs, world: World, actor, status):
    response = client_as(world.members[actor]).get(
        _url("survey_list", world.org, world.engagement.pk)
    )

    assert response.status_code == status


@pytest.mark.parametrize(
    ("actor", "status"),
    _expect({"hr", "reviewer"}, ENGAGEMENT_ROLES_AND_TEAM | {"approver"}),
)
def test_survey_send_page_access(client_as: ClientAs, world: World, actor, status):
    response = client_as(world.members[actor]).get(
        _url("survey_send", world.org, world.engagement.pk)
    )

    assert response.status_code == status


@pytest.mark.parametrize(
    ("actor", "status"),
    _expect({"hr", "reviewer"}, ENGAGEMENT_ROLES_AND_TEAM | {"approver"}),
)
def test_survey_send_post_access_and_refusals_change_nothing(
    client_as: ClientAs,
    world: World,
    actor,
    status,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(world.members[actor]).post(
            _url("survey_send", world.org, world.engagement.pk),
            {"contact_email": "c@client.test", "contact_name": "", "days_valid": "14"},
        )

    assert response.status_code == (302 if status == 200 else status)
    assert _survey_count(world.org) == (1 if status == 200 else 0)
    assert len(mailoutbox) == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    ("actor", "status"),
    _expect({"hr", "reviewer", "approver"} | ENGAGEMENT_ROLES_AND_TEAM, set()),
)
def test_engagement_csat_access(client_as: ClientAs, world: World, actor, status):
    response = client_as(world.members[actor]).get(
        _url("engagement_csat", world.org, world.engagement.pk), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == status


@pytest.mark.parametrize(
    ("actor", "status"), _expect({"hr", "self", "line_manager"}, set())
)
def test_employee_csat_access(client_as: ClientAs, world: World, actor, status):
    response = client_as(world.members[actor]).get(
        _url("employee_csat", world.org, world.staffed.pk), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == status


@pytest.mark.parametrize(
    "name", ["survey_list", "survey_send", "engagement_csat", "employee_csat"]
)
def test_survey_pages_for_another_organisations_object_are_404(
    client_as: ClientAs, world: World, other_org, name
):
    foreign = (
        EmployeeFactory(organization=other_org)
        if name == "employee_csat"
        else EngagementFactory(organization=other_org)
    )

    as_hr = client_as(world.members["hr"])
    response = as_hr.get(_url(name, world.org, foreign.pk))
    missing = as_hr.get(_url(name, world.org, 987654))

    assert response.status_code == 404
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "name", ["survey_list", "survey_send", "engagement_csat", "employee_csat"]
)
def test_survey_pages_send_anonymous_callers_to_the_login_page(
    client: Client, world: World, name
):
    pk = world.staffed.pk if name == "employee_csat" else world.engagement.pk

    response = client.get(_url(name, world.org, pk))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["survey_list", "engagement_csat", "employee_csat"])
def test_survey_read_pages_refuse_post(client_as: ClientAs, world: World, name):
    pk = world.staffed.pk if name == "employee_csat" else world.engagement.pk

    response = client_as(world.members["hr"]).post(_url(name, world.org, pk))

    assert response.status_code == 405


# --- Sending through the page -------------------------------------------------------


def test_survey_send_page_offers_the_clients_contact(client_as: ClientAs, world: World):
    page = (
        client_as(world.members["reviewer"])
        .get(_url("survey_send", world.org, world.engagement.pk))
        .content.decode()
    )

    assert 'value="buyer@client.test"' in page


def test_survey_send_emails_a_working_link_once(
    client_as: ClientAs,
    client: Client,
    world: World,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    cache.delete(rate_limit_key("127.0.0.1"))  # the public page is rate-limited
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(world.members["reviewer"]).post(
            _url("survey_send", world.org, world.engagement.pk),
            {
                "contact_email": "dana@client.test",
                "contact_name": "Dana",
                "days_valid": "7",
            },
            follow=True,
        )

    assert response.redirect_chain[-1][0] == _url(
        "survey_list", world.org, world.engagement.pk
    )
    assert "Survey sent to dana@client.test" in response.content.decode()
    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+(/survey/\S+/)", mailoutbox[0].body)
    assert link is not None
    answered_page = client.get(link.group(1))
    assert answered_page.status_code == 200
    assert "Data platform" in answered_page.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"contact_email": "nope", "days_valid": "14"},
            "contact_email",
            "Enter a valid email address.",
        ),
        ({"contact_email": "", "days_valid": "14"}, "contact_email", "required"),
        (
            {"contact_email": "a@client.test", "days_valid": "0"},
            "days_valid",
            "Choose at least 1 day.",
        ),
        (
            {"contact_email": "a@client.test", "days_valid": "61"},
            "days_valid",
            "Choose at most 60 days.",
        ),
    ],
)
def test_survey_send_bad_input_shows_the_message_and_saves_nothing(
    client_as: ClientAs,
    world: World,
    mailoutbox,
    django_capture_on_commit_callbacks,
    data,
    field,
    message,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(world.members["hr"]).post(
            _url("survey_send", world.org, world.engagement.pk), data
        )

    error = re.search(
        rf'id="id_{field}-error">(.*?)</div>', response.content.decode(), re.S
    )
    assert response.status_code == 400
    assert error is not None
    assert message in error.group(1)
    assert _survey_count(world.org) == 0
    assert mailoutbox == []


def test_survey_send_to_an_address_with_an_open_survey_is_refused(
    client_as: ClientAs, world: World, mailoutbox, django_capture_on_commit_callbacks
):
    ClientSurveyFactory(
        organization=world.org,
        engagement=world.engagement,
        contact_email="dana@client.test",
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(world.members["hr"]).post(
            _url("survey_send", world.org, world.engagement.pk),
            {"contact_email": "dana@client.test", "days_valid": "14"},
        )

    assert response.status_code == 400
    assert "already has an open survey" in response.content.decode()
    assert _survey_count(world.org) == 1
    assert mailoutbox == []


# --- What the pages show ------------------------------------------------------------


def _answered(world: World, overall: int, **ratings: int) -> ClientSurvey:
    survey = ClientSurveyFactory(organization=world.org, engagement=world.engagement)
    people = {"staffed": world.staffed, "teammate": world.teammate}
    with tenant_context(world.org):
        answer_survey(
            survey,
            overall=overall,
            ratings={people[k].pk: v for k, v in ratings.items()},
            comment=f"Comment <i>{overall}</i>",
        )
    return survey


def test_survey_list_shows_status_answers_and_ratings(
    client_as: ClientAs, world: World
):
    answered = _answered(world, 5, staffed=4, teammate=3)
    ClientSurveyFactory(
        organization=world.org, engagement=world.engagement, contact_name="Open Olga"
    )

    page = (
        client_as(world.members["approver"])
        .get(_url("survey_list", world.org, world.engagement.pk))
        .content.decode()
    )

    assert page.count('data-status="answered"') == 1
    assert page.count('data-status="sent"') == 1
    assert "Open Olga" in page
    assert f"{world.staffed.full_name}: <span" in page
    assert "Tess Teammate: <span" in page
    assert "Comment &lt;i&gt;5&lt;/i&gt;" in page
    assert answered.contact_email in page
    assert (
        reverse("feedback:survey_send", args=[world.org.slug, world.engagement.pk])
        not in page
    )


def test_engagement_csat_shows_figures_and_links_by_role(
    client_as: ClientAs, world: World
):
    _answered(world, 5)
    _answered(world, 4)
    ClientSurveyFactory(organization=world.org, engagement=world.engagement)
    url = _url("engagement_csat", world.org, world.engagement.pk)
    list_url = _url("survey_list", world.org, world.engagement.pk)
    send_url = _url("survey_send", world.org, world.engagement.pk)

    pages = {
        actor: client_as(world.members[actor])
        .get(url, HTTP_HX_REQUEST="true")
        .content.decode()
        for actor in ("reviewer", "approver", "self")
    }

    assert 'data-csat="average">4.50<' in pages["self"]
    assert 'data-csat="answered">2<' in pages["self"]
    assert 'data-csat="pending">1<' in pages["self"]
    assert [list_url in pages[a] for a in pages] == [True, True, False]
    assert [send_url in pages[a] for a in pages] == [True, False, False]
    assert "<html" not in pages["self"]  # a fragment for HTMX


def test_engagement_csat_without_htmx_is_a_page(client_as: ClientAs, world: World):
    response = client_as(world.members["hr"]).get(
        _url("engagement_csat", world.org, world.engagement.pk)
    )

    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_employee_csat_shows_average_and_engagements(client_as: ClientAs, world: World):
    _answered(world, 5, staffed=5)
    _answered(world, 4, staffed=2, teammate=1)

    page = (
        client_as(world.members["self"])
        .get(_url("employee_csat", world.org, world.staffed.pk), HTTP_HX_REQUEST="true")
        .content.decode()
    )

    assert 'data-csat="average">3.50<' in page
    assert "2 ratings" in page
    assert "Data platform" in page


def test_employee_csat_without_ratings_says_so(client_as: ClientAs, world: World):
    page = (
        client_as(world.members["line_manager"])
        .get(_url("employee_csat", world.org, world.staffed.pk), HTTP_HX_REQUEST="true")
        .content.decode()
    )

    assert 'data-csat="none"' in page


# --- Slots and query counts ---------------------------------------------------------


def _render_slot(template: str, **context: Any) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        html = render_to_string(template, context)
    return html, len(captured.captured_queries)


def test_slots_cost_no_query_and_load_lazily(world: World):
    org = world.org
    engagement_html, engagement_queries = _render_slot(
        "feedback/slots/engagement_csat.html",
        organization=org,
        engagement=world.engagement,
    )
    employee_html, employee_queries = _render_slot(
        "feedback/slots/employee_csat.html", organization=org, employee=world.staffed
    )

    assert (engagement_queries, employee_queries) == (0, 0)
    assert (
        f'hx-get="{_url("engagement_csat", org, world.engagement.pk)}"'
        in engagement_html
    )
    assert f'hx-get="{_url("employee_csat", org, world.staffed.pk)}"' in employee_html
    assert 'hx-trigger="load"' in employee_html


def test_engagement_and_employee_pages_include_the_slots(
    client_as: ClientAs, world: World
):
    as_hr = client_as(world.members["hr"])

    engagement_page = as_hr.get(world.engagement.get_absolute_url()).content.decode()
    employee_page = as_hr.get(
        reverse(
            "organizations:employee_detail", args=[world.org.slug, world.staffed.pk]
        )
    ).content.decode()

    assert _url("engagement_csat", world.org, world.engagement.pk) in engagement_page
    assert _url("employee_csat", world.org, world.staffed.pk) in employee_page


def _lookups(client: Client, url: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(
        [q for q in captured.captured_queries if not BOOKKEEPING.match(q["sql"])]
    )


@pytest.mark.parametrize("actor", ["hr", "reviewer"])
def test_survey_list_query_count_is_flat(client_as: ClientAs, world: World, actor):
    url = _url("survey_list", world.org, world.engagement.pk)
    as_actor = client_as(world.members[actor])
    _answered(world, 4, staffed=4)
    one = _lookups(as_actor, url)

    for overall in (1, 2, 3, 5):
        _answered(world, overall, staffed=overall, teammate=overall)
    many = _lookups(as_actor, url)

    assert one == many
    assert many <= PAGE_BUDGET


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("engagement_csat", "engagement"),
        ("employee_csat", "staffed"),
        ("survey_send", "engagement"),
    ],
)
def test_survey_pages_stay_within_the_query_budget(
    client_as: ClientAs, world: World, name, target
):
    for overall in (3, 4, 5):
        _answered(world, overall, staffed=overall, teammate=2)
    pk = getattr(world, target).pk
    as_hr = client_as(world.members["hr"])

    fragment = _lookups(as_hr, _url(name, world.org, pk), HTTP_HX_REQUEST="true")
    page = _lookups(as_hr, _url(name, world.org, pk))

    assert fragment <= PAGE_BUDGET
    assert page <= PAGE_BUDGET
