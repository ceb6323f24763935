"""The navbar at a fixed cost: the organisation's menu rendered once per process for
each role, language and active section; the organisation switcher's query only for
members of several organisations; templates compiled once per process."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.db import connection
from django.template import engines
from django.template.loaders.cached import Loader as CachedLoader
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.context_processors import active_section, org_menu
from organizations.enums import Role
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

MENU = "partials/org_menu.html"


@pytest.fixture(autouse=True)
def fresh_menu_cache():
    org_menu.cache_clear()
    yield
    org_menu.cache_clear()


def _page(client: Any, path: str) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, [q["sql"] for q in captured.captured_queries]


def _memberships_queries(sql: list[str]) -> int:
    return sum(1 for q in sql if re.search(r'\bFROM "organizations_membership"', q))


def _active_links(page: str) -> list[str]:
    """The labels of the navbar's links marked active (the page's own tabs aside)."""
    navbar = page[page.index("<nav") : page.index("</nav>")]
    return re.findall(
        r'class="nav-link(?: dropdown-toggle)? active"[^>]*>([^<]+)<', navbar
    )


def test_menu_is_rendered_once_for_every_page_of_the_same_section(hr_admin, client_as):
    client = client_as(hr_admin)
    queue = reverse("appraisals:queue", args=[hr_admin.organization.slug])

    first = client.get(queue)
    second = client.get(queue + "?tab=approve")

    rendered = [[t.name for t in r.templates].count(MENU) for r in (first, second)]
    assert rendered == [1, 0]
    assert _active_links(html.unescape(second.content.decode())) == ["Appraisals"]


def test_menu_follows_the_role_and_the_section(org, make_member, client_as):
    hr, employee = make_member(org, Role.HR_ADMIN), make_member(org, Role.EMPLOYEE)
    home = reverse("organizations:home", args=[org.slug])
    engagements = reverse("engagements:engagements", args=[org.slug])

    hr_home = html.unescape(client_as(hr).get(home).content.decode())
    employee_list = html.unescape(client_as(employee).get(engagements).content.decode())

    assert ("Review cycles" in hr_home, "Review cycles" in employee_list) == (
        True,
        False,
    )
    assert ('aria-current="page"' in hr_home, _active_links(hr_home)) == (
        True,
        ["Home"],
    )
    assert _active_links(employee_list) == ["Engagements"]


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/o/acme/", "home"),
        ("/o/acme/engagements/4/", "engagements"),
        ("/o/acme/feedback/requests/", "feedback"),
        ("/o/acme/evaluations/7/", "appraisals"),
        ("/o/acme/appraisals/", "appraisals"),
        ("/o/acme/people/12/", "people"),
        ("/o/acme/plans/3/", ""),
    ],
)
def test_active_section_of_a_path(path, section):
    assert active_section(path, "acme") == section


def test_member_of_one_organisation_costs_no_switcher_query(employee_member, client_as):
    url = reverse("organizations:home", args=[employee_member.organization.slug])
    client = client_as(employee_member)

    response, sql = _page(client, url)

    assert response.status_code == 200
    assert "org-switcher" not in response.content.decode()
    # The tenant middleware's lookup only: it also counts the user's organisations.
    assert _memberships_queries(sql) == 1


def test_member_of_two_organisations_gets_the_switcher(employee_member, client_as):
    second = OrganizationFactory(slug="second-test", name="Second Test")
    MembershipFactory(organization=second, user=employee_member.user)
    url = reverse("organizations:home", args=[employee_member.organization.slug])

    response, sql = _page(client_as(employee_member), url)

    page = response.content.decode()
    assert ("org-switcher" in page, "Second Test" in page) == (True, True)
    assert _memberships_queries(sql) == 2


def test_templates_are_compiled_once_per_process():
    engine = engines["django"].engine

    assert [type(loader) for loader in engine.template_loaders] == [CachedLoader]
