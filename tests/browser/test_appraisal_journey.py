"""Appraisals end to end, in a real browser, on the seed_demo data: last half-year's
cycle is in review with evaluations in every state.

The reviewer rates a goal of a draft evaluation and saves it, then resubmits one the
approver returned; the approver approves it. HR follows the cycle on its progress
page, reopens the employee's acknowledged appraisal and finalises it again; the
employee reads how their score was reached and acknowledges it. The database is only
read, to name the cycle and to check the outcome.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from appraisals.enums import AppraisalStatus, EvaluationStatus
from appraisals.models import Appraisal, Evaluation
from engagements.enums import CycleStatus
from engagements.models import ReviewCycle
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.browser.conftest import Journey

pytestmark = pytest.mark.browser

EMPLOYEE = "Daniel Fischer"  # employee@acme.test: finalised and acknowledged
DRAFTED = "Hugo Jensen"  # reviewer@acme.test's evaluation still in draft
RETURNED = "Elif Marsh"  # returned to reviewer@acme.test by the approver
ENGAGEMENT = "ERP roll-out"  # ENG-090, the past half-year's engagement
ACKNOWLEDGEMENT = "Read it with my line manager; the rework goal was fair."
REOPEN_REASON = "The client's late feedback on the ERP roll-out arrived."


def _navbar(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main navigation")


def _open_menu(page: Page, menu: str, item: str) -> None:
    navbar = _navbar(page)
    navbar.get_by_role("button", name=menu, exact=True).click()
    navbar.get_by_role("link", name=item, exact=True).click()


def _field(scope: Page | Locator, label: str) -> Locator:
    """The control labelled ``label``; a required field's label ends in " *"."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def _settle(page: Page) -> None:
    """Let the sections a page loads after itself (HTMX, on load) arrive: leaving
    the page earlier would abort their requests."""
    page.wait_for_load_state("networkidle")
    expect(page.locator(".htmx-request")).to_have_count(0)


def _log_in(journey: Journey, email: str) -> None:
    journey.log_in(email)
    _settle(journey.page)


def _log_out(journey: Journey, short_name: str) -> None:
    page = journey.page
    navbar = _navbar(page)
    navbar.get_by_role("button", name=short_name, exact=True).click()
    navbar.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.wait_for_load_state("load")
    page.evaluate("async () => { await document.fonts.ready; }")


def _queue_row(page: Page, tab: str, employee: str) -> Locator:
    """The evaluation of ``employee`` on the demo engagement in the queue's ``tab``."""
    page.get_by_role("link", name=re.compile(rf"^{tab}")).click()
    rows = (
        page.get_by_role("region", name=tab)
        .get_by_role("row")
        .filter(has=page.get_by_role("link", name=employee, exact=True))
        .filter(has_text=ENGAGEMENT)
    )
    expect(rows).to_have_count(1)
    return rows


def _cycle_in_review() -> str:
    """The name of the demo's previous half-year, the one cycle in review."""
    with tenant_context(Organization.objects.get(slug="acme")):
        return ReviewCycle.objects.get(status=CycleStatus.REVIEW).name


def _status_help(page: Page) -> Locator:
    return page.get_by_test_id("status-help")


def test_reviewer_rates_approver_approves_employee_acknowledges_hr_follows(
    journey: Journey,
) -> None:
    page = journey.page
    cycle = _cycle_in_review()

    # --- 1. The reviewer rates a draft and resubmits a returned evaluation -----------
    _log_in(journey, "reviewer@acme.test")
    _open_menu(page, "Appraisals", "Evaluations to write and approve")
    expect(page.get_by_role("heading", level=1)).to_have_text("Evaluations")
    draft = _queue_row(page, "To write", DRAFTED)
    expect(draft).to_contain_text(cycle)
    expect(draft).to_contain_text("Draft")
    journey.step("reviewer-queue")

    draft.get_by_role("link", name=DRAFTED).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(DRAFTED)
    expect(_status_help(page)).to_contain_text("Draft: save as often as you like")
    goal = page.get_by_role("region", name="Goals").locator("[id^='goal-']").first
    suggestion = goal.get_by_test_id(re.compile(r"^suggested-"))
    suggested = suggestion.get_attribute("data-value") or ""
    assert re.fullmatch(r"\d+(\.\d+)?", suggested), suggested
    expect(suggestion).to_contain_text(f"{suggested} · ")
    goal.get_by_label(re.compile(r"^Rating \(")).select_option(value=suggested)
    toggle = goal.get_by_test_id("comment-toggle")
    if toggle.count():  # an empty comment is folded; the demo's draft may hold one
        toggle.click()
    _field(goal, "Comment").fill("Every milestone landed; two a week early.")
    _settle(page)
    journey.step("reviewer-evaluation-form", readme="evaluation-form")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Draft saved. Nobody else sees changes until you submit."
    )
    expect(goal.get_by_label(re.compile(r"^Rating \("))).to_have_value(suggested)
    expect(_field(goal, "Comment")).to_have_value(
        "Every milestone landed; two a week early."
    )
    _settle(page)
    journey.step("reviewer-draft-saved")

    page.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name="Evaluations"
    ).click()
    returned = _queue_row(page, "To write", RETURNED)
    expect(returned).to_contain_text("Returned")
    returned.get_by_role("link", name=RETURNED).click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Please add examples from the client steering committee."
    )
    page.get_by_role("region", name="Overall comments").get_by_role("textbox").fill(
        "Examples added: the steering committee praised the data migration."
    )
    _settle(page)
    journey.step("reviewer-returned")
    page.get_by_role("button", name="Submit for approval").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Submitted. The approvers have been told by e-mail."
    )
    expect(_status_help(page)).to_have_text("Submitted: waiting for approval.")
    _settle(page)
    journey.step("reviewer-resubmitted")

    _log_out(journey, "Ben")

    # --- 2. The approver approves the resubmitted evaluation ---------------------------
    _log_in(journey, "approver@acme.test")
    _open_menu(page, "Appraisals", "Evaluations to write and approve")
    submitted = _queue_row(page, "To approve", RETURNED)
    expect(submitted).to_contain_text("Submitted")
    journey.step("approver-queue")

    submitted.get_by_role("link", name=RETURNED).click()
    approval = page.get_by_role("region", name="Approval")
    _field(approval, "Comment (optional)").fill("Thanks for the examples.")
    _settle(page)
    journey.step("approver-evaluation")
    approval.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Approved. The evaluation now counts."
    )
    expect(_status_help(page)).to_have_text(
        "Approved: it counts towards the appraisal."
    )
    expect(page.get_by_role("region", name="Approval")).to_contain_text(
        "approved by Morgan Hayes"
    )
    _settle(page)
    journey.step("approver-approved")

    _log_out(journey, "Morgan")

    # --- 3. The employee reads how their score was reached ----------------------------
    _log_in(journey, "employee@acme.test")
    _open_menu(page, "Appraisals", "My appraisals")
    own = page.get_by_role("region", name="Your appraisals")
    own.get_by_role("link", name=cycle).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Appraisal of {EMPLOYEE}"
    )
    finalisation = page.get_by_role("region", name="Finalisation")
    expect(finalisation).to_contain_text("Acknowledged by the employee:")
    expect(finalisation).to_contain_text("Thank you: a fair summary")
    score = page.get_by_role("region", name="Score")
    table = score.get_by_role("table")
    expect(table.locator("caption")).to_contain_text("Approved evaluations only")
    expect(table.get_by_role("columnheader")).to_contain_text(
        ["Component", "Goal score", "Competency score", "Plan score E"]
    )
    expect(table.locator("tbody tr")).to_have_count(3)  # general plan + 2 engagements
    expect(table).to_contain_text(ENGAGEMENT)
    expect(score.locator("dt", has_text="Final score")).to_be_visible()
    # The score, then the nearest labelled point of the scale ("3.37 · 3 · Meets
    # expectations").
    expect(score.locator("dt:text-is('Final score') + dd")).to_have_text(
        re.compile(r"^\d+(\.\d+)? · \d+ · \w.*$")
    )
    journey.step("employee-appraisal", readme="appraisal-score")

    _log_out(journey, "Daniel")

    # --- 4. HR follows the cycle, reopens and finalises the appraisal again -----------
    _log_in(journey, "hr@acme.test")
    _open_menu(page, "Planning", "Review cycles")
    page.get_by_role("table").get_by_role("link", name=cycle, exact=True).click()
    page.get_by_role("link", name="Appraisal progress").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Appraisal progress")
    by_status = page.get_by_role("region", name="Appraisals by status")
    expect(by_status).to_contain_text("Acknowledged")
    expect(page.get_by_role("region", name="By engagement")).to_contain_text(ENGAGEMENT)
    # The draft the reviewer saved still waits: the evaluations list, filtered to
    # the reviewer's drafts, offers to remind everyone it selects.
    page.get_by_role("link", name=re.compile(r"^Evaluations not approved yet")).click()
    waiting = page.get_by_role("region", name="Evaluations not approved yet")
    waiting.get_by_label("Status").select_option(label="Draft")
    _field(waiting, "Search").fill(DRAFTED)
    waiting.get_by_role("button", name="Filter", exact=True).click()
    row = (
        waiting.get_by_role("row").filter(has_text=DRAFTED).filter(has_text=ENGAGEMENT)
    )
    expect(row).to_contain_text("Draft")
    expect(
        waiting.get_by_role(
            "button", name=re.compile(r"^Remind about .* matching these filters$")
        )
    ).to_be_enabled()
    # The appraisals list, searched for the employee.
    page.get_by_role("link", name=re.compile(r"^Appraisals \d")).click()
    appraisals = page.get_by_role("region", name="Appraisals", exact=True)
    _field(appraisals, "Search").fill(EMPLOYEE)
    appraisals.get_by_role("button", name="Filter", exact=True).click()
    mine = appraisals.get_by_role("row").filter(
        has=page.get_by_role("link", name=EMPLOYEE, exact=True)
    )
    expect(mine).to_contain_text("Acknowledged")
    expect(appraisals).to_contain_text("1 appraisal matches these filters.")
    _settle(page)
    journey.step("hr-cycle-progress", readme="cycle-progress")

    mine.get_by_role("link", name=EMPLOYEE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Appraisal of {EMPLOYEE}"
    )
    reopen = page.get_by_role("region", name="Reopen")
    _field(reopen, "Reason for reopening").fill(REOPEN_REASON)
    reopen.get_by_role("button", name="Reopen the appraisal").click()
    expect(page.get_by_role("alert").first).to_contain_text(
        "The appraisal is open again; evaluations can be changed."
    )
    journey.step("hr-appraisal-reopened")

    page.get_by_role("button", name="Finalise").click()
    expect(page.get_by_role("alert").first).to_contain_text(
        f"The appraisal of {EMPLOYEE} is finalised; they were e-mailed."
    )
    expect(page.get_by_role("region", name="Finalisation")).to_contain_text(
        "Waiting for the employee's acknowledgement."
    )
    journey.step("hr-appraisal-finalised")

    _log_out(journey, "Harper")

    # --- 5. The employee acknowledges the finalised appraisal -------------------------
    _log_in(journey, "employee@acme.test")
    _open_menu(page, "Appraisals", "My appraisals")
    own = page.get_by_role("region", name="Your appraisals")
    row = own.get_by_role("row").filter(has=page.get_by_role("link", name=cycle))
    expect(row).to_contain_text("waiting for your acknowledgement")
    row.get_by_role("link", name=cycle).click()
    acknowledge = page.get_by_role("region", name="Acknowledge your appraisal")
    _field(acknowledge, "Your comment (optional)").fill(ACKNOWLEDGEMENT)
    journey.step("employee-acknowledge-form")
    acknowledge.get_by_role("button", name="Acknowledge").click()

    expect(page.get_by_role("alert").first).to_contain_text(
        "Thank you: your acknowledgement is recorded."
    )
    expect(page.get_by_role("region", name="Acknowledge your appraisal")).to_have_count(
        0
    )
    finalisation = page.get_by_role("region", name="Finalisation")
    expect(finalisation).to_contain_text("Acknowledged by the employee:")
    expect(finalisation).to_contain_text(ACKNOWLEDGEMENT)
    journey.step("employee-acknowledged")

    # --- The outcome, as stored ---------------------------------------------------------
    with tenant_context(Organization.objects.get(slug="acme")):
        evaluations = Evaluation.objects.filter(
            appraisal__cycle__name=cycle,
            kind="review",
            plan__engagement__name=ENGAGEMENT,
        )
        drafted = evaluations.get(employee__full_name=DRAFTED)
        assert drafted.status == EvaluationStatus.DRAFT
        assert drafted.version > 1
        resubmitted = evaluations.get(employee__full_name=RETURNED)
        assert resubmitted.status == EvaluationStatus.APPROVED
        assert resubmitted.submission == 2
        appraisal = Appraisal.objects.get(
            cycle__name=cycle, employee__full_name=EMPLOYEE
        )
        assert appraisal.status == AppraisalStatus.ACKNOWLEDGED
        assert appraisal.acknowledgement == ACKNOWLEDGEMENT
