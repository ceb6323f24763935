"""Writing a PDF document's file for its report job (``reporting.services.
run_report_job`` calls ``write_document`` inside the job's savepoint, in the
organisation's time zone and language)."""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile

from organizations.models import Membership
from reporting.documents.base import Document
from reporting.models import ReportJob

logger = logging.getLogger(__name__)


def write_document(job: ReportJob, document: Document, membership: Membership) -> int:
    """Render the job's document as ``membership`` reads it and store the PDF; sets
    ``job.file`` (not saved). Returns 1, the documents written. LookupError when the
    member may no longer open what it is about (the caller checked just before)."""
    # WeasyPrint (and the system libraries it loads) only where a PDF is made: a
    # web process that never renders one starts without them.
    from reporting.pdf import StaticOnlyFetcher, render_pdf  # noqa: PLC0415

    subject = document.subject(membership, job.parameters)
    if subject is None:
        raise LookupError(f"{job.kind}: nothing to render for job {job.pk}")
    fetcher = StaticOnlyFetcher()
    pdf = render_pdf(document.html(membership, subject), fetcher=fetcher)
    if fetcher.refused:
        logger.warning(
            "Report job %s: the document asked for %s resources outside the "
            "application's static files; none was fetched",
            job.pk,
            len(fetcher.refused),
        )
    job.file.save("report.pdf", ContentFile(pdf), save=False)
    return 1
