"""Calibration end to end, in a real browser, on the seed_demo data: last half-year's
cycle is in review, the manager login rates leniently and the reviewer login
harshly (``demo.calibration``).

HR opens a session over the whole organisation, reads the reviewer panel, accepts
two suggestions, moves one person on the nine-box grid by dragging their name,
closes the session and finalises the cycle's ready appraisals. The database is only
read, to name the cycle and to check the outcome.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from appraisals.enums import AdjustmentKind, AppraisalStatus
from appraisals.models import Appraisal, CalibrationAdjustment, CalibrationSession
from engagements.enums import CycleStatus
from engagements.models import ReviewCycle
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.browser.conftest import Journey

pytestmark = pytest.mark.browser

SESSION = "Half-year calibration"
MOVE_REASON = "Agreed in the session: carried the ERP roll-out."


def _navbar(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main navigation")


def _open_menu(page: Page, menu: str, item: str) -> None:
    navbar = _navbar(page)
    navbar.get_by_role("button", name=menu, exact=True).click()
    navbar.get_by_role("link", name=item, exact=True).click()


def _cycle_in_review() -> str:
    with tenant_context(Organization.objects.get(slug="acme")):
        return ReviewCycle.objects.get(status=CycleStatus.REVIEW).name


def _accept_first_suggestion(page: Page) -> str:
    """Accept the first suggestion of the table; the name of the person."""
    suggestions = page.get_by_role("region", name="Suggestions")
    row = (
        suggestions.get_by_role("row")
        .filter(has=page.get_by_role("button", name="Accept", exact=True))
        .first
    )
    name = row.get_by_role("rowheader").inner_text().strip()
    row.get_by_role("button", name="Accept", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text(
        f"Suggestion accepted for {name}."
    )
    return name


def _still(page: Page) -> None:
    """Wait until the page stops scrolling: Bootstrap scrolls smoothly to an anchor,
    and a drag that starts mid-scroll misses its target."""
    page.evaluate(
        """async () => {
          let last = -1, same = 0;
          while (same < 5) {
            await new Promise((done) => requestAnimationFrame(done));
            same = window.scrollY === last ? same + 1 : 0;
            last = window.scrollY;
          }
        }"""
    )


def test_hr_calibrates_a_cycle_and_finalises(journey: Journey) -> None:
    page = journey.page
    cycle = _cycle_in_review()

    # --- 1. HR opens a session ---------------------------------------------------------
    journey.log_in("hr@acme.test")
    _open_menu(page, "Appraisals", "Calibration sessions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Calibration sessions")
    page.get_by_test_id("open-session").click()
    page.get_by_label(re.compile(r"^Review cycle")).select_option(label=cycle)
    page.get_by_label(re.compile(r"^Name")).fill(SESSION)
    page.get_by_label("The whole organisation").check()
    journey.step("hr-open-session")
    page.get_by_role("button", name="Open the session").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SESSION)
    expect(page.get_by_test_id("session-status")).to_have_text("Open")

    # --- 2. The reviewer panel measures the lenient and the harsh reviewer ------------
    panel = page.get_by_role("region", name="Reviewer panel")
    expect(panel.get_by_test_id("reviewer-row").first).to_be_visible()
    raw = panel.get_by_test_id("reviewer-row").all_inner_texts()
    assert any("+" in text for text in raw), raw
    assert any("-" in text for text in raw), raw
    journey.step("hr-session-page", readme="calibration-session")

    # --- 3. Two suggestions accepted ----------------------------------------------------
    first = _accept_first_suggestion(page)
    second = _accept_first_suggestion(page)
    assert first != second
    journey.step("hr-suggestions-accepted")

    # --- 4. One person moved on the nine-box grid --------------------------------------
    grid = page.get_by_role("region", name="Nine-box grid")
    # Back at the top of the grid (the accepts left the page at the suggestions).
    page.get_by_role("link", name="Nine-box grid", exact=True).click()
    person = grid.locator("[data-move-url]").first
    moved = person.locator("a").first.inner_text().strip()
    source_box = person.locator("xpath=ancestor::*[@data-ninebox-box]")
    target = "low" if source_box.get_attribute("data-ninebox-box") != "low" else "high"
    _still(page)
    person.drag_to(grid.locator(f"[data-ninebox-box='{target}']").first)
    move = page.get_by_test_id("move-form")
    expect(move).to_be_visible()
    move.get_by_label(re.compile(r"^Reason")).fill(MOVE_REASON)
    journey.step("hr-nine-box-move")
    move.get_by_role("button", name="Set the calibrated score").click()
    expect(page.get_by_role("alert").first).to_contain_text(
        f"Calibrated score of {moved} set to"
    )

    # --- 5. The session is closed -------------------------------------------------------
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("close-session").click()
    expect(page.get_by_test_id("session-status")).to_have_text("Closed")
    expect(page.get_by_test_id("accept-all")).to_have_count(0)
    journey.step("hr-session-closed")

    # --- 6. The ready appraisals are finalised ------------------------------------------
    _open_menu(page, "Planning", "Review cycles")
    page.get_by_role("table").get_by_role("link", name=cycle, exact=True).click()
    page.get_by_role("link", name="Appraisal progress").click()
    page.get_by_role("link", name=re.compile(r"ready to finalise$")).click()
    page.get_by_role(
        "button", name=re.compile(r"^Finalise (the|all) \d+ ready")
    ).click()
    expect(page.get_by_role("alert").first).to_contain_text("finalised")
    journey.step("hr-finalised")

    with tenant_context(Organization.objects.get(slug="acme")):
        session = CalibrationSession.objects.get(name=SESSION)
        kinds = sorted(
            CalibrationAdjustment.objects.filter(
                session=session, removed_at__isnull=True
            ).values_list("appraisal__employee__full_name", "kind")
        )
        finalised = Appraisal.objects.filter(
            cycle__name=cycle, status=AppraisalStatus.FINALIZED
        ).exists()
    assert (first, AdjustmentKind.SUGGESTED) in kinds or (
        first,
        AdjustmentKind.MANUAL,
    ) in kinds
    assert (moved, AdjustmentKind.MANUAL) in kinds
    assert session.status == "closed"
    assert finalised
