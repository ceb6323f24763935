"""The PDF document kinds by name."""

from __future__ import annotations

from reporting.documents.appraisal import APPRAISAL_REPORT
from reporting.documents.base import Document
from reporting.documents.cycle import CYCLE_REPORT
from reporting.documents.engagement import ENGAGEMENT_REPORT

DOCUMENTS: dict[str, Document] = {
    d.kind: d for d in (APPRAISAL_REPORT, ENGAGEMENT_REPORT, CYCLE_REPORT)
}


def get_document(kind: str) -> Document | None:
    return DOCUMENTS.get(kind)
