"""The navbar at a fixed cost: the organisation's menu rendered once per process for
each role, language and active section; the organisation switcher's query only for
members of several organisations; templates compiled once per process."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.template import engines
from django.template.loaders.cached import Loader as CachedLoader
from django.templatetags.static import static
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


def _menu_items(page: str) -> list[str]:
    navbar = page[page.index("<nav") : page.index("</nav>")]
    return re.findall(r'class="dropdown-item"[^>]*>([^<]+)<', navbar)


@pytest.mark.parametrize(
    ("role", "appraisals_item"),
    [
        (Role.EMPLOYEE, "My appraisals"),
        (Role.MANAGER, "My and my team's appraisals"),
        (Role.HR_ADMIN, "All appraisals, by cycle"),
    ],
)
def test_menu_items_are_named_apart_from_their_menus(
    org, make_member, client_as, role, appraisals_item
):
    member = make_member(org, role)

    page = html.unescape(
        client_as(member)
        .get(reverse("organizations:home", args=[org.slug]))
        .content.decode()
    )

    items = _menu_items(page)
    assert "Feedback given and received" in items
    assert appraisals_item in items
    assert {"Feedback", "Appraisals"}.isdisjoint(items)
    assert ("All appraisals, by cycle" in items) == (role == Role.HR_ADMIN)


def test_pages_link_a_local_svg_favicon_the_csp_allows(hr_admin, client_as):
    response = client_as(hr_admin).get(
        reverse("organizations:home", args=[hr_admin.organization.slug])
    )

    page = response.content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert icon is not None
    assert icon.group(1) == static("img/favicon.svg")
    assert finders.find("img/favicon.svg") is not None
    assert "img-src 'self'" in response["Content-Security-Policy"]


def test_organisation_name_in_the_navbar_is_truncated_with_its_full_name_as_title(
    hr_admin, client_as
):
    org = hr_admin.organization

    page = client_as(hr_admin).get(reverse("organizations:home", args=[org.slug]))

    navbar = page.content.decode().split("<nav", 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'<span class="app-org-name" title="([^"]+)">', navbar) == [
        html.escape(org.name)
    ]
    css = Path(finders.find("css/app.css")).read_text()
    rule = css[css.index(".app-navbar .app-org-name {") :].split("}", 1)[0]
    assert "white-space: nowrap" in rule
    assert "text-overflow: ellipsis" in rule
