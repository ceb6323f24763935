"""The appraisal PDF end to end, in a real browser, on the seed_demo data.

The employee opens their appraisals, opens the latest finalised one and reads its
final score on the page; "Download PDF" makes a report job whose page offers the
file; the downloaded PDF names them and holds the score the page showed, with page
numbers (poppler's pdftotext). Its first page is drawn by pdftoppm into the
journey's artifacts, beside the screenshots, for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from appraisals.enums import FINAL_STATUSES
from appraisals.models import Appraisal
from organizations.models import Organization, User
from organizations.tenancy import tenant_context
from tests.browser.conftest import Journey

pytestmark = pytest.mark.browser

JOB_TIMEOUT_MS = 30_000


def _latest_final(email: str) -> Appraisal:
    """The member's latest finalised appraisal in the demo."""
    with tenant_context(Organization.objects.get(slug="acme")):
        user = User.objects.get(email=email)
        found = (
            Appraisal.objects.filter(employee__user=user, status__in=FINAL_STATUSES)
            .select_related("cycle", "employee")
            .order_by("-cycle__start_date")
            .first()
        )
        assert found is not None, "the demo finalises the employee's closed cycles"
        return found


def _run(*command: str) -> str:
    tool = shutil.which(command[0]) or command[0]
    return subprocess.run(  # noqa: S603 - poppler's tools on the journey's own files
        [tool, *command[1:]], check=True, capture_output=True, text=True
    ).stdout


def test_employee_downloads_their_finalised_appraisal_as_a_pdf(
    journey: Journey, tmp_path: Path
) -> None:
    page = journey.page
    appraisal = _latest_final("employee@acme.test")

    # --- 1. Their appraisals → the latest finalised one ------------------------------
    journey.log_in("employee@acme.test")
    journey.goto("/o/acme/appraisals/")
    page.get_by_role("link", name=appraisal.cycle.name, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/o/acme/appraisals/{appraisal.pk}/$"))
    final = page.locator(".score-figures .fw-semibold").first.inner_text().strip()
    assert final == str(appraisal.final_score), final
    journey.step("appraisal-page")

    # --- 2. Download PDF: a report job, then its file ----------------------------------
    page.get_by_role("button", name="Download PDF").click()
    expect(page).to_have_url(re.compile(r"/o/acme/reports/jobs/\d+/$"))
    progress = page.locator("#job-progress")
    download_link = progress.get_by_role("link", name="Download")
    expect(download_link).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(progress).to_contain_text("Ready: the PDF is made.")
    journey.step("pdf-job-done")

    with page.expect_download() as started:
        download_link.click()
    download = started.value
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    pdf = tmp_path / download.suggested_filename
    download.save_as(pdf)

    # --- 3. What it says, and what it looks like ----------------------------------------
    text = _run("pdftotext", "-layout", str(pdf), "-")
    assert appraisal.employee.full_name in text
    assert appraisal.cycle.name in text
    assert final in text
    assert "Page 1 of" in text
    assert "Provisional" not in text  # the employee never reads provisional figures
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
    shutil.copyfile(rendered, journey.folder / "pdf-page-1.png")
    assert rendered.stat().st_size > 10_000  # a drawn page, not a blank one
