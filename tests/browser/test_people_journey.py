"""A line manager's day and a German-speaking employee, in a real browser, on the
seed_demo data.

The manager opens My team, follows a report to their page, opens the report's plan
from the page's plans section and gives feedback about them on the plan, in place.
The employee switches their language to German in Preferences: the confirmation, the
navigation and their pages speak German from then on, with German dates.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Journey
from tests.browser.test_feedback_journey import _field, _log_in, _navbar, _settle

pytestmark = pytest.mark.browser

MANAGER_NAME = "Ava Archer"  # manager@acme.test
REPORT = "Daniel Fischer"  # employee@acme.test, a direct report of the manager
NOTE = (
    "Your status reports this week were crisp; the client quoted them in the steerco."
)


def _person_sections_loaded(page: Page) -> None:
    _settle(page)
    expect(page.locator("#person-plans")).to_be_visible()


def test_manager_goes_from_my_team_to_a_reports_plan_and_gives_feedback(
    journey: Journey,
) -> None:
    page = journey.page
    _log_in(journey, "manager@acme.test")

    # --- 1. My team: one row per report, the report links to their page -------------
    _navbar(page).get_by_role("link", name="My team", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My team")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=REPORT))
    expect(row).to_have_count(1)
    journey.step("my-team", readme="my-team")
    row.get_by_role("link", name=REPORT).click()

    # --- 2. The person's page: plans of every cycle, loaded after the page -----------
    expect(page.get_by_role("heading", level=1)).to_have_text(REPORT)
    _person_sections_loaded(page)
    plans = page.locator("#person-plans")
    expect(plans.get_by_role("link", name="General plan").first).to_be_visible()
    journey.step("person-page", readme="person-page")
    plans.get_by_role("link", name="General plan").first.click()

    # --- 3. Their plan; the manager (its planner) gives feedback in place -------------
    expect(page.get_by_role("heading", level=1)).to_contain_text(REPORT)
    _settle(page)
    feed = page.locator("#feedback-feed")
    expect(feed).to_be_visible()
    # The form waits behind its button, so the feed comes first on a long page.
    feed.get_by_role("button", name=f"Give feedback about {REPORT}").click()
    form = feed.locator("#feedback-form")
    expect(
        form.get_by_role("heading", name=f"Give feedback about {REPORT}")
    ).to_be_visible()
    items = feed.locator("li[id^='feedback-']")
    before = items.count()
    _field(form, "Kind").select_option(label="Praise")
    _field(form, "Feedback").fill(NOTE)
    _field(form, "Who can read it").select_option(label="Shared with the employee")
    journey.step("plan-feedback-form")
    form.get_by_role("button", name="Send feedback").click()

    expect(feed.get_by_role("alert")).to_contain_text(
        f"Your feedback about {REPORT} was saved."
    )
    expect(items).to_have_count(before + 1)
    expect(items.first).to_contain_text(NOTE)
    expect(items.first).to_contain_text(f"{MANAGER_NAME} about {REPORT}")
    # The names link to the people's pages (both open to their line manager).
    expect(items.first.get_by_role("link", name=REPORT, exact=True)).to_have_attribute(
        "href", re.compile(r"/o/acme/people/\d+/$")
    )
    journey.step("plan-feedback-given")


def test_employee_switches_to_german_and_the_product_speaks_german(
    journey: Journey,
) -> None:
    page = journey.page
    _log_in(journey, "employee@acme.test")
    expect(page.locator("html")).to_have_attribute("lang", "en-gb")

    # --- 1. Preferences → Language: Deutsch --------------------------------------------
    journey.goto("/o/acme/preferences/")
    _field(page, "Language").select_option(label="Deutsch")
    journey.step("preferences-language")
    page.get_by_role("button", name="Save preferences").click()

    # --- 2. The confirmation, the page and the navigation in German ------------------
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("alert").first).to_contain_text("Gespeichert")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Persönliche Einstellungen"
    )
    expect(_field(page, "Sprache")).to_have_value("de")
    journey.step("preferences-saved-in-german", readme="german")

    # --- 3. Their home page: German words, German dates ---------------------------------
    journey.goto("/o/acme/")
    _settle(page)
    main = page.get_by_role("main")
    expect(main).not_to_contain_text("Plans to write")
    expect(page.get_by_role("navigation", name="Hauptnavigation")).to_be_visible()
    text = main.inner_text()
    assert not re.search(
        r"\b(January|February|March|April|June|July|August|September|October|"
        r"November|December)\b",
        text,
    ), text
    journey.step("home-in-german")


def test_manager_finds_a_report_from_the_keyboard(journey: Journey) -> None:
    page = journey.page
    _log_in(journey, "manager@acme.test")

    # "/" jumps to the search box; results arrive under it as the manager types.
    page.locator("main").click()
    page.keyboard.press("/")
    box = page.get_by_test_id("nav-search")
    expect(box).to_be_focused()
    box.press_sequentially("Daniel Fi")
    results = page.locator("#nav-search-results")
    option = results.get_by_role("option", name=re.compile(REPORT))
    expect(option.first).to_be_visible()
    expect(results).to_contain_text("People")
    journey.step("search-dropdown", readme="search")

    # The arrow keys move through the results; Enter opens the chosen one.
    box.press("ArrowDown")
    box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(REPORT)
    _settle(page)
