"""Smoke journeys through the demo organisation, in a real browser."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from organizations.models import Membership, Organization, OutboxMessage, SentEmail
from organizations.notifications import queue_email
from organizations.tenancy import tenant_context
from tests.browser.conftest import Journey
from tests.browser.test_planning_journey import _pick

pytestmark = pytest.mark.browser


def test_hr_admin_finds_a_person_through_the_directory(journey: Journey) -> None:
    page = journey.page

    journey.log_in("hr@acme.test", readme="login")

    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Harper")
    overview = page.get_by_role("region", name="Your organisation at a glance")
    expect(overview.locator(".stat-value")).to_have_text(["40", "0", "35", "0"])
    journey.step("home", readme="hr-home")

    navbar = page.get_by_role("navigation", name="Main navigation")
    navbar.get_by_role("button", name="People", exact=True).click()
    navbar.get_by_role("link", name="Directory", exact=True).click()

    expect(page).to_have_url(re.compile(r"/o/acme/people/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("People")
    directory = page.get_by_role("table")
    expect(directory.locator("caption")).to_have_text("40 people")
    expect(directory.locator("tbody tr")).to_have_count(25)
    expect(directory).to_contain_text("Morgan Hayes")
    journey.step("people", readme="people")

    page.get_by_role("searchbox", name="Search").fill("Fischer")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"[?&]q=Fischer"))
    expect(directory.locator("caption")).to_have_text("2 people")
    expect(directory.locator("tbody tr td:first-child a")).to_have_text(
        ["Bruno Fischer", "Daniel Fischer"]
    )
    journey.step("people-search")

    directory.get_by_role("link", name="Daniel Fischer").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Daniel Fischer")
    expect(
        page.get_by_text("Senior Consultant · Technology Consulting")
    ).to_be_visible()
    expect(page.locator("dl")).to_contain_text("daniel.fischer@acme.test")
    journey.step("employee")


def test_hr_admin_edit_shows_in_the_history_timeline(journey: Journey) -> None:
    page = journey.page
    journey.log_in("hr@acme.test")
    journey.goto("/o/acme/people/?q=Daniel+Fischer")
    page.get_by_role("table").get_by_role("link", name="Daniel Fischer").click()

    page.get_by_role("link", name="Edit").click()
    _pick(page, "Job title", "Engagement Manager")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Daniel Fischer")
    expect(page.get_by_role("alert")).to_contain_text(
        "Changes to Daniel Fischer saved."
    )
    latest = page.locator("ol.timeline > li").first
    expect(latest).to_contain_text("Harper Quinn · Changed")
    expect(latest).to_contain_text("Senior Consultant → Engagement Manager")
    journey.step("employee-saved")

    page.reload()

    expect(page.get_by_role("alert")).to_have_count(0)
    journey.step("employee-history", readme="employee")


def test_employee_has_no_people_link_and_the_directory_is_403(
    journey: Journey,
) -> None:
    page = journey.page

    journey.log_in("employee@acme.test")

    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Daniel")
    navbar = page.get_by_role("navigation", name="Main navigation")
    expect(navbar.get_by_role("link", name="Home", exact=True)).to_be_visible()
    expect(navbar.get_by_role("link", name="People", exact=True)).to_have_count(0)
    journey.step("home")

    journey.goto("/o/acme/people/", expect_status=403)

    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot do this")
    expect(page.get_by_role("table")).to_have_count(0)
    journey.step("forbidden")


def test_hr_admin_sees_failed_background_work_and_retries_it(journey: Journey) -> None:
    """Settings → Background work: the demo's e-mails are done; one e-mail that failed
    after every attempt is shown with its error, and HR's retry sends it."""
    acme = Organization.objects.get(slug="acme")
    with tenant_context(acme):
        hr = Membership.objects.select_related("user").get(user__email="hr@acme.test")
        queue_email(
            organization=acme,
            key="browser:failed-email",
            template="appraisals/email/appraisal_finalised.txt",
            context={"path": "/o/acme/"},
            user=hr.user,
            essential=True,
        )
    with tenant_context(acme):
        OutboxMessage.objects.filter(key="email:browser:failed-email").update(
            completed_at=None,
            attempts=8,
            failed_at=timezone.now(),
            last_error="SMTPServerDisconnected: Connection unexpectedly closed",
        )
        SentEmail.objects.filter(key="browser:failed-email").delete()
    page = journey.page
    journey.log_in("hr@acme.test")

    navbar = page.get_by_role("navigation", name="Main navigation")
    navbar.get_by_role("button", name="Settings", exact=True).click()
    navbar.get_by_role("link", name="Background work", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Background work")
    problems = page.get_by_role("table")
    expect(problems).to_contain_text("Notification e-mail")
    expect(problems).to_contain_text("SMTPServerDisconnected")
    journey.step("background-work-failed")

    page.get_by_role("button", name="Retry failed work").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "1 failed piece of work was queued again."
    )
    expect(
        page.get_by_text("Nothing is owed: all background work is done.")
    ).to_be_visible()
    journey.step("background-work-retried")
    with tenant_context(acme):
        assert SentEmail.objects.filter(key="browser:failed-email").count() == 1
