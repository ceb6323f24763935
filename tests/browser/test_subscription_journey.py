"""A scheduled report e-mail end to end, in a real browser, on the seed_demo data.

HR subscribes the managing director (Morgan Hayes) to the weekly cycle digest, presses
"Send now", sees the delivery as sent and downloads the PDF the e-mail carried from
the delivery page. The e-mail itself (the test's mail outbox) went to the managing
director alone, with its HTML and text parts, the PDF and the one-click unsubscribe
headers; the PDF's first page is drawn into the journey's artifacts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.browser.conftest import README_SCREENSHOTS, Journey
from tests.browser.test_planning_journey import _field, _pick

pytestmark = pytest.mark.browser

DIRECTOR = "Morgan Hayes"
DIRECTOR_EMAIL = "approver@acme.test"
TITLE = "Monday digest for the managing director"
SEND_TIMEOUT_MS = 60_000


def _run(*command: str) -> str:
    tool = shutil.which(command[0]) or command[0]
    return subprocess.run(  # noqa: S603 - poppler's tools on the journey's own files
        [tool, *command[1:]], check=True, capture_output=True, text=True
    ).stdout


def test_hr_subscribes_the_managing_director_to_the_weekly_digest(
    journey: Journey, tmp_path: Path
) -> None:
    page = journey.page
    mail.outbox.clear()

    # --- 1. Reports → Scheduled e-mails → New subscription ------------------------------
    journey.log_in("hr@acme.test")
    journey.goto("/o/acme/reports/subscriptions/")
    journey.step("subscriptions")
    page.get_by_role("link", name="New subscription").click()
    _field(page, "Name").fill(TITLE)
    page.get_by_label("Cycle digest").check()
    _pick(page, "Recipients", DIRECTOR)
    page.get_by_label("Weekly, on a weekday").check()
    _field(page, "Weekday").select_option(label="Monday")
    _field(page, "Time of day").fill("07:00")
    journey.step("subscription-form", readme="subscription-form")
    page.get_by_role("button", name="Save").click()

    # --- 2. Its page: the schedule and the recipient; Send now --------------------------
    expect(page).to_have_url(re.compile(r"/o/acme/reports/subscriptions/\d+/$"))
    expect(page.locator("body")).to_contain_text("Weekly on Monday at 07:00")
    expect(page.locator("body")).to_contain_text(DIRECTOR)
    journey.step("subscription-page")
    page.get_by_role("button", name="Send now").click()

    # --- 3. The delivery: sent to the director, with the PDF ----------------------------
    expect(page).to_have_url(
        re.compile(r"/o/acme/reports/subscriptions/\d+/deliveries/\d+/$")
    )
    status = page.locator("#delivery-status")
    expect(status.locator(".badge").first).to_have_text("Sent", timeout=SEND_TIMEOUT_MS)
    row = status.get_by_role("row").filter(has_text=DIRECTOR)
    expect(row).to_contain_text(DIRECTOR_EMAIL)
    journey.step("delivery-sent", readme="report-delivery")
    with page.expect_download() as started:
        row.get_by_role("link", name="Download the PDF").click()
    pdf = tmp_path / "digest.pdf"
    started.value.save_as(pdf)

    # --- 4. The e-mail and its PDF -------------------------------------------------------
    sent = [m for m in mail.outbox if DIRECTOR_EMAIL in m.to]
    assert len(sent) == 1, [m.to for m in mail.outbox]
    message = sent[0]
    assert message.to == [DIRECTOR_EMAIL]
    assert TITLE in message.subject
    assert [kind for _body, kind in message.alternatives] == ["text/html"]
    assert message.extra_headers["List-Unsubscribe-Post"] == (
        "List-Unsubscribe=One-Click"
    )
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    (attachment,) = message.attachments
    assert attachment[2] == "application/pdf"
    assert attachment[1] == pdf.read_bytes()

    text = _run("pdftotext", "-layout", str(pdf), "-")
    assert "Page 1 of" in text
    _run(
        "pdftoppm",
        "-r",
        "70",
        "-png",
        "-f",
        "1",
        "-l",
        "1",
        str(pdf),
        str(tmp_path / "page"),
    )
    rendered = next(tmp_path.glob("page*.png"))
    shutil.copyfile(rendered, journey.folder / "digest-page-1.png")
    if os.environ.get("HRMS_README_SCREENSHOTS") == "1":
        shutil.copyfile(rendered, README_SCREENSHOTS / "cycle-report-pdf.png")
    assert rendered.stat().st_size > 10_000
