"""The export datasets of feedback and client surveys: counts of the feedback the
viewer may read about the people of their scope (never its text), and the client
surveys of the engagements whose surveys they read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from engagements.models import Engagement
from feedback.enums import ANONYMITY_THRESHOLD, FeedbackKind
from feedback.models import ClientSurvey
from feedback.selectors.access import feedback_visible_to, requests_visible_to
from reporting.exports.base import (
    CHUNK,
    Column,
    ColumnType,
    Dataset,
    Params,
    Row,
    choice_label,
    period_of,
)
from reporting.scope import ReportScope

# --- 5. Feedback counts -------------------------------------------------------------------


def _feedback(scope: ReportScope, params: Params) -> Any:
    """The feedback the viewer may read about the people of their scope, written
    during the cycle's period."""
    period = period_of(params)
    qs = feedback_visible_to(scope.membership)
    if not scope.is_hr:
        qs = qs.filter(subject_id__in=scope.employee_ids())
    if period is None:
        return qs.none()
    return qs.filter(created_at__date__range=period).order_by()


def _anonymous_requests(scope: ReportScope, params: Params) -> Any:
    """The anonymous requests the viewer may read about the people of their scope,
    with the answers given during the cycle's period (``answers``), only those with
    at least ``ANONYMITY_THRESHOLD`` answers: fewer are never shown, so never
    counted."""
    period = period_of(params)
    qs = requests_visible_to(scope.membership).filter(anonymous=True)
    if not scope.is_hr:
        qs = qs.filter(subject_id__in=scope.employee_ids())
    if period is None:
        return qs.none()
    return (
        qs.order_by()
        .annotate(
            answers=Count(
                "anonymous_answers",
                filter=Q(anonymous_answers__submitted_on__range=period),
            )
        )
        .filter(answers__gte=ANONYMITY_THRESHOLD)
    )


def _feedback_rows(scope: ReportScope, params: Params) -> Iterator[Row]:
    counts = (
        _feedback(scope, params)
        .values("subject__full_name", "subject_id", "kind")
        .annotate(n=Count("pk"))
        .order_by("subject__full_name", "subject_id", "kind")
        .values_list("subject__full_name", "kind", "n")
    )
    for name, kind, n in counts.iterator(chunk_size=CHUNK):
        yield (name, choice_label(FeedbackKind, kind), n)
    anonymous = (
        _anonymous_requests(scope, params)
        .values("subject__full_name", "subject_id", "answers")
        .order_by("subject__full_name", "subject_id")
        .values_list("subject__full_name", "subject_id", "answers")
    )
    label = gettext("Answers to anonymous requests")
    current: tuple[str, int] | None = None
    total = 0
    for name, subject, answers in anonymous.iterator(chunk_size=CHUNK):
        if current is not None and current[1] != subject:
            yield (current[0], label, total)
            total = 0
        current = (name, subject)
        total += answers
    if current is not None:
        yield (current[0], label, total)


FEEDBACK_COUNTS = Dataset(
    kind="feedback_counts",
    label=_("Feedback counts"),
    description=_(
        "How much feedback each person received during the cycle, by kind. "
        "Counts only, never the feedback itself; answers to anonymous requests "
        "count only where a request has at least three."
    ),
    columns=(
        Column("employee", _("Employee")),
        Column("kind", _("Kind")),
        Column("count", _("Count"), ColumnType.INTEGER),
    ),
    rows=_feedback_rows,
    available=lambda scope: scope.has_line(),
)


# --- 6. Client surveys ---------------------------------------------------------------------


def _surveys(scope: ReportScope, params: Params) -> Any:
    period = period_of(params)
    qs = ClientSurvey.objects.all()
    engagement_ids = scope.survey_engagement_ids()
    if engagement_ids is not None:
        qs = qs.filter(engagement_id__any=engagement_ids)
    if period is None:
        return qs.none()
    return qs.filter(sent_at__date__range=period).order_by()


def _survey_rows(scope: ReportScope, params: Params) -> Iterator[Row]:
    rows = (
        _surveys(scope, params)
        .order_by("engagement__code", "sent_at", "pk")
        .values_list(
            "engagement__code",
            "engagement__name",
            "engagement__client__name",
            "sent_at",
            "answered_at",
            "overall",
        )
    )
    for code, name, client, sent_at, answered_at, overall in rows.iterator(
        chunk_size=CHUNK
    ):
        yield (f"{code} · {name}", client, sent_at, answered_at, overall)


def _reads_surveys(scope: ReportScope) -> bool:
    # The ids may name another organisation's engagements (``ReportScope._facts``).
    engagement_ids = scope.survey_engagement_ids()
    return (
        engagement_ids is None
        or Engagement.objects.filter(pk__any=engagement_ids).exists()
    )


CLIENT_SURVEYS = Dataset(
    kind="client_surveys",
    label=_("Client survey results"),
    description=_(
        "One row per client survey sent during the cycle: when it was sent and "
        "answered, and the overall rating (1 to 5)."
    ),
    columns=(
        Column("engagement", _("Engagement")),
        Column("client", _("Client")),
        Column("sent_at", _("Sent"), ColumnType.DATETIME),
        Column("answered_at", _("Answered"), ColumnType.DATETIME),
        Column("overall", _("Overall rating"), ColumnType.INTEGER),
    ),
    rows=_survey_rows,
    count=lambda scope, params: _surveys(scope, params).count(),
    available=_reads_surveys,
)
