"""Feedback end to end, in a real browser, on the seed_demo data.

The engagement's reviewer opens the engagement: its feedback card loads after the page
(HTMX); they praise a teammate through the in-page form and the new item joins the
feed in place, without a page load. The teammate finds it on their feedback page. The
reviewer, asked about themselves anonymously, reads the answers without any names. The
database is only read, to name who was asked and to check the outcome.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from engagements.models import Engagement
from feedback.enums import FeedbackKind, Visibility
from feedback.models import Feedback, FeedbackAsk, FeedbackRequest
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.browser.conftest import Journey

pytestmark = pytest.mark.browser

ENGAGEMENT = "Cloud migration"  # ENG-101: manager@acme.test plans and reviews it
REVIEWER = "Ava Archer"  # manager@acme.test
EMPLOYEE = "Daniel Fischer"  # employee@acme.test, staffed on ENG-101
PRAISE = (
    "You kept the cut-over rehearsal calm and on schedule; the client's DBAs asked "
    "to work with you again."
)

# A page-local marker: still there after an action means no full page load happened.
_SET_MARKER = """() => {
  const marker = document.createElement("div");
  marker.id = "journey-marker";
  marker.hidden = true;
  document.body.append(marker);
}"""


def _navbar(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main navigation")


def _open_menu(page: Page, menu: str, item: str) -> None:
    navbar = _navbar(page)
    navbar.get_by_role("button", name=menu, exact=True).click()
    navbar.get_by_role("link", name=item, exact=True).click()


def _field(scope: Page | Locator, label: str) -> Locator:
    """The control labelled ``label``; a required field's label ends in " *"."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def _log_out(journey: Journey, short_name: str) -> None:
    page = journey.page
    navbar = _navbar(page)
    navbar.get_by_role("button", name=short_name, exact=True).click()
    navbar.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.wait_for_load_state("load")
    page.evaluate("async () => { await document.fonts.ready; }")


def _settle(page: Page) -> None:
    """Let the sections a page loads after itself (HTMX, on load) arrive: leaving
    the page earlier would abort their requests."""
    page.wait_for_load_state("networkidle")
    expect(page.locator(".htmx-request")).to_have_count(0)


def _log_in(journey: Journey, email: str) -> None:
    journey.log_in(email)
    _settle(journey.page)


def _wait_for_engagement_sections(page: Page) -> None:
    """Every lazily loaded card of the engagement page has replaced its fallback link."""
    for fallback in (
        "Show the latest check-ins",
        "Show the history of this engagement",
        "Show client satisfaction",
        "Show the feedback on this engagement, and give some",
    ):
        expect(page.get_by_role("link", name=fallback)).to_have_count(0)


def _anonymous_request_about_reviewer() -> tuple[int, list[str]]:
    """The demo's anonymous request about the reviewer, and everyone asked in it."""
    with tenant_context(Organization.objects.get(slug="acme")):
        request = FeedbackRequest.objects.get(
            anonymous=True, subject__user__email="manager@acme.test"
        )
        asked = list(
            FeedbackAsk.objects.filter(request=request).values_list(
                "requestee__full_name", flat=True
            )
        )
    assert len(asked) >= 3, asked
    return request.pk, asked


def test_reviewer_praises_a_teammate_in_place_and_reads_anonymous_answers(
    journey: Journey,
) -> None:
    page = journey.page
    request_pk, asked = _anonymous_request_about_reviewer()

    # --- 1. The reviewer gives feedback from the engagement page ---------------------
    _log_in(journey, "manager@acme.test")
    _navbar(page).get_by_role("link", name="Engagements", exact=True).click()
    page.get_by_role("table").get_by_role("link", name=ENGAGEMENT).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ENGAGEMENT)

    card = page.get_by_role("region", name="Feedback", exact=True)
    feed = card.locator("#feedback-feed")
    expect(feed).to_be_visible()  # swapped in after the page loaded
    feed.get_by_test_id("feedback-form-toggle").click()  # the form is folded
    form = feed.locator("#feedback-form")
    expect(form.get_by_role("heading", name="Give feedback")).to_be_visible()
    # The demo's shared improvement note about the employee is there already.
    expect(feed).to_contain_text("Status reports reach me a day late.")
    items = feed.locator("li[id^='feedback-']")
    before = items.count()
    _wait_for_engagement_sections(page)
    journey.step("engagement-feedback")

    page.evaluate(_SET_MARKER)
    url = page.url
    _field(form, "About").select_option(label=EMPLOYEE)
    _field(form, "Kind").select_option(label="Praise")
    _field(form, "Feedback").fill(PRAISE)
    _field(form, "Who can read it").select_option(label="Shared with the employee")
    journey.step("engagement-feedback-form")
    form.get_by_role("button", name="Send feedback").click()

    expect(feed.get_by_role("alert")).to_contain_text(
        f"Your feedback about {EMPLOYEE} was saved."
    )
    expect(items).to_have_count(before + 1)
    newest = items.first
    expect(newest).to_contain_text(PRAISE)
    expect(newest).to_contain_text(f"{REVIEWER} about {EMPLOYEE}")
    expect(newest).to_contain_text("Praise")
    expect(newest.get_by_role("link", name="Edit")).to_be_visible()
    expect(newest.get_by_role("button", name="Withdraw")).to_be_visible()
    # A fresh, empty form is back for the next piece of feedback.
    expect(_field(feed.locator("#feedback-form"), "Feedback")).to_have_value("")
    # Swapped in place: same URL, and the page-local marker survived.
    assert page.url == url
    expect(page.locator("#journey-marker")).to_have_count(1)
    journey.step("engagement-feedback-given", readme="feedback-feed")

    # --- 2. The reviewer reads the anonymous answers about themselves ----------------
    _open_menu(page, "Feedback", "Feedback requests")
    expect(page.get_by_role("heading", level=1)).to_have_text("Feedback requests")
    page.get_by_role("link", name="Yours and about you").click()
    row = (
        page.get_by_role("table")
        .get_by_role("row")
        .filter(has_text="anonymous")
        .filter(has=page.get_by_role("link", name=REVIEWER))
    )
    expect(row).to_have_count(1)
    expect(row).to_contain_text("3 answered")
    journey.step("reviewer-requests")

    row.get_by_role("link", name=REVIEWER).click()
    expect(page).to_have_url(re.compile(rf"/feedback/requests/{request_pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"Feedback about {REVIEWER}"
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("anonymous")
    answers = page.get_by_role("region", name="Answers")
    expect(answers.get_by_role("article")).to_have_count(3)
    expect(answers.get_by_role("article").first).to_contain_text("Anonymous ·")
    expect(answers).to_contain_text("Clear priorities every Monday.")
    expect(answers).to_contain_text("Delegate the status reports.")
    status = page.get_by_role("region", name="Where it stands")
    expect(status).to_contain_text("3 answered")
    # Nobody asked is named anywhere on the page (the reviewer is the subject).
    main = page.get_by_role("main")
    for name in asked:
        expect(main).not_to_contain_text(name)
    journey.step("reviewer-anonymous-answers")

    _log_out(journey, "Ava")

    # --- 3. The employee finds the praise on their feedback page ----------------------
    _log_in(journey, "employee@acme.test")
    _open_menu(page, "Feedback", "Feedback given and received")
    expect(page.get_by_role("heading", level=1)).to_have_text("Feedback")
    expect(page.get_by_role("link", name="About me")).to_have_attribute(
        "aria-current", "page"
    )
    mine = page.get_by_role("region", name="Feedback")
    first = mine.locator("li[id^='feedback-']").first
    expect(first).to_contain_text(PRAISE)
    expect(first).to_contain_text(f"{REVIEWER} about {EMPLOYEE}")
    expect(first).to_contain_text(ENGAGEMENT)
    # The line manager's managers-only note on the engagement stays hidden.
    expect(mine).not_to_contain_text("Ready to lead the next workstream")
    journey.step("employee-feedback")

    # --- The outcome, as stored ---------------------------------------------------------
    with tenant_context(Organization.objects.get(slug="acme")):
        stored = Feedback.objects.select_related("author", "subject").get(body=PRAISE)
        assert stored.author.full_name == REVIEWER
        assert stored.subject.full_name == EMPLOYEE
        assert stored.engagement == Engagement.objects.get(code="ENG-101")
        assert stored.kind == FeedbackKind.PRAISE
        assert stored.visibility == Visibility.SHARED
