"""The content of a scheduled report e-mail, computed for one recipient.

A subscription's report is never one document for everyone: ``compose`` computes it
as the recipient themselves may read it, with the same access functions as the pages
(``Document.subject`` of the PDF kind, ``ReportScope``), so a manager's digest counts
their line only and a recipient who lost access gets nothing (None).

| kind | the PDF | headline figures | the link |
|---|---|---|---|
| cycle digest | the cycle report (``cycle_pdf``) of the subscription's cycle, or the current one | the cycle's headlines (``reporting.headlines``) | the cycle overview |
| team summary | the cycle report as the recipient reads it, for members with someone in their line (HR admins read the organisation, as on their dashboards) | the same, for their line | the cycle overview |
| engagement analytics | the engagement report of ``filters["engagement"]`` | team, approved reviews, client satisfaction | the engagement's analytics |
| my appraisal | the recipient's latest finalised appraisal | cycle, status, final score | the appraisal page |

The cycle of a delivery queued by a cycle's move (period ``cycle-<id>-<status>``) is
that cycle, unless the subscription names one. A my-appraisal delivery (period
``appraisal-<id>-<finalised>``, ``appraisal_period``) is about that appraisal.

Everything runs inside the organisation's tenant context (the caller's), in its
language and time zone (entered here).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _

from appraisals.enums import FINAL_STATUSES
from appraisals.models import Appraisal
from engagements.models import Engagement, ReviewCycle
from organizations.models import Membership
from reporting.documents.base import Document
from reporting.documents.registry import get_document
from reporting.enums import SubscriptionKind
from reporting.figures.cycles import default_cycle
from reporting.figures.engagements import engagement_detail
from reporting.headlines import headlines
from reporting.models import ReportRecipient, ReportSubscription
from reporting.scope import ReportScope, may_read_surveys
from reporting.unsubscribe import unsubscribe_url

# The PDF document kinds the e-mails carry (``reporting.documents.registry``).
CYCLE_DOCUMENT = "cycle_pdf"
ENGAGEMENT_DOCUMENT = "engagement_pdf"
APPRAISAL_DOCUMENT = "appraisal_pdf"
# Periods of deliveries queued by a cycle's move, and of my-appraisal deliveries.
CYCLE_PERIOD = re.compile(r"cycle-(?P<cycle>\d+)-[a-z_]+")
APPRAISAL_PERIOD = re.compile(r"appraisal-(?P<appraisal>\d+)-\w+")

Rows = tuple[tuple[str, str], ...]


class NotAvailable(Exception):
    """The recipient may not have this report (any more); ``reason`` says why, for
    the delivery page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ReportMessage:
    """One recipient's e-mail: its subject and both bodies, the PDF to attach (None
    in a preview, or once ``linking`` replaced it by a link), the headline rows,
    the absolute links, and the document the PDF is (for a report job when it is
    too large to attach)."""

    subject: str
    text: str
    html: str
    pdf: bytes | None
    pdf_name: str
    headlines: Rows
    dashboard_url: str
    unsubscribe_url: str
    period: str  # what the content is about: a my-appraisal period, else ""
    document_kind: str
    document_params: Mapping[str, Any]
    file_url: str = ""  # the report job holding a PDF too large to attach
    context: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def linking(self, file_url: str) -> ReportMessage:
        """The same message with a link to ``file_url`` instead of the PDF."""
        context = {**self.context, "attached": False, "file_url": file_url}
        text, html = _bodies(context)
        return replace(
            self, text=text, html=html, pdf=None, file_url=file_url, context=context
        )


@dataclass(frozen=True)
class _Content:
    about: str  # the cycle, engagement or appraisal the report is about
    rows: Rows
    dashboard: str  # site-relative
    document: Document
    subject: Any  # what ``document`` is about, as its ``subject`` gave it
    params: Mapping[str, Any]
    period: str = ""


def compose(
    subscription: ReportSubscription,
    recipient: Membership,
    *,
    with_pdf: bool = True,
    period: str = "",
) -> ReportMessage | None:
    """The e-mail of ``subscription`` for ``recipient``, computed with their own
    access now, or None when they may not have it (an inactive membership or user,
    a lost scope: a manager without a line, an engagement they can no longer open,
    no finalised appraisal). ``period``: the delivery's (a cycle's move names the
    cycle, a my-appraisal period the appraisal). ``with_pdf`` False skips the
    rendering (a preview). Inside the organisation's tenant context."""
    try:
        return build(subscription, recipient, with_pdf=with_pdf, period=period)
    except NotAvailable:
        return None


def preview(
    subscription: ReportSubscription, membership: Membership
) -> ReportMessage | None:
    """What ``membership`` would receive now, without the PDF (no rendering)."""
    return compose(subscription, membership, with_pdf=False)


def build(
    subscription: ReportSubscription,
    recipient: Membership,
    *,
    with_pdf: bool = True,
    period: str = "",
) -> ReportMessage:
    """``compose``, raising NotAvailable with the reason instead of answering
    None (the delivery records it)."""
    if (
        not recipient.is_active
        or not recipient.user.is_active
        or recipient.organization_id != subscription.organization_id
    ):
        raise NotAvailable(_("The recipient is no longer an active member."))
    organization = subscription.organization
    with (
        translation.override(recipient.user.language_in(organization)),
        timezone.override(ZoneInfo(organization.timezone)),
    ):
        content = _content(subscription, recipient, period)
        pdf = None
        if with_pdf:
            pdf = _render(content, recipient)
        link = _unsubscribe_link(subscription, recipient)
        pdf_name = _file_name(content)
        dashboard_url = absolute(content.dashboard)
        context: dict[str, Any] = {
            "organization_name": organization.name,
            "title": subscription.title,
            "kind": subscription.get_kind_display(),
            "about": content.about,
            "recipient_name": recipient.user.full_name,
            "headlines": content.rows,
            "dashboard_url": dashboard_url,
            "unsubscribe_url": link,
            "attached": with_pdf,
            "file_url": "",
            "pdf_name": pdf_name,
            "generated_at": timezone.localtime(),
        }
        text, html = _bodies(context)
        return ReportMessage(
            subject=_("%(title)s: %(about)s")
            % {"title": subscription.title, "about": content.about},
            text=text,
            html=html,
            pdf=pdf,
            pdf_name=pdf_name,
            headlines=content.rows,
            dashboard_url=dashboard_url,
            unsubscribe_url=link,
            period=content.period,
            document_kind=content.document.kind,
            document_params=dict(content.params),
            context=context,
        )


def absolute(path: str) -> str:
    """``path`` (site-relative) as an absolute link (``SITE_URL``)."""
    return settings.SITE_URL.rstrip("/") + path


def appraisal_period(appraisal: Appraisal) -> str:
    """The period of a my-appraisal delivery: the appraisal and when it was
    finalised, so a reopened and finalised-again appraisal is sent again."""
    stamp = (
        appraisal.finalized_at.strftime("%Y%m%dT%H%M%S")
        if appraisal.finalized_at
        else "final"
    )
    return f"appraisal-{appraisal.pk}-{stamp}"


def latest_finalised(user_ids: list[int]) -> dict[int, Appraisal]:
    """Per user id, the latest finalised (or acknowledged) appraisal of their
    employee record. One query."""
    latest: dict[int, Appraisal] = {}
    for appraisal in (
        Appraisal.objects.filter(
            status__in=FINAL_STATUSES, employee__user_id__in=user_ids
        )
        .select_related("employee")
        .order_by("employee_id", "-finalized_at", "-pk")
    ):
        user_id = appraisal.employee.user_id
        if user_id is not None and user_id not in latest:
            latest[user_id] = appraisal
    return latest


# --- Per kind -------------------------------------------------------------------------


def _content(
    subscription: ReportSubscription, recipient: Membership, period: str
) -> _Content:
    kind = subscription.kind
    if kind in (SubscriptionKind.CYCLE_DIGEST, SubscriptionKind.TEAM_SUMMARY):
        if kind == SubscriptionKind.TEAM_SUMMARY and not _has_line(recipient):
            raise NotAvailable(_("The recipient has nobody in their line."))
        return _cycle_content(subscription, recipient, period)
    if kind == SubscriptionKind.ENGAGEMENT_ANALYTICS:
        return _engagement_content(subscription, recipient)
    if kind == SubscriptionKind.MY_APPRAISAL:
        return _appraisal_content(recipient, period)
    raise NotAvailable(_("This kind of report is not known."))


def _document(kind: str) -> Document:
    document = get_document(kind)
    if document is None:
        raise NotAvailable(_("This report cannot be made at the moment."))
    return document


def _has_line(recipient: Membership) -> bool:
    """Whether the recipient's reports may count anyone (``ReportScope.has_line``:
    HR admins, and members with someone in their line). One query, none for HR."""
    return ReportScope(recipient).has_line()


def _cycle_of(subscription: ReportSubscription, period: str) -> ReviewCycle | int:
    """The cycle the report is about: the subscription's, the one whose move queued
    the delivery, or the current one (its id when only the id is known)."""
    named: Any = (subscription.filters or {}).get("cycle")
    if named not in (None, ""):
        try:
            return int(named)
        except (TypeError, ValueError) as exc:
            raise NotAvailable(_("The subscription names no valid cycle.")) from exc
    moved = CYCLE_PERIOD.fullmatch(period)
    if moved:
        return int(moved["cycle"])
    cycle = default_cycle()
    if cycle is None:
        raise NotAvailable(_("There is no review cycle to report on yet."))
    return cycle


def _cycle_content(
    subscription: ReportSubscription, recipient: Membership, period: str
) -> _Content:
    document = _document(CYCLE_DOCUMENT)
    chosen = _cycle_of(subscription, period)
    pk = chosen if isinstance(chosen, int) else chosen.pk
    params = {"cycle": pk}
    cycle = document.subject(recipient, params)
    if cycle is None:
        raise NotAvailable(
            _("The recipient may not open this cycle's reports (any more).")
        )
    figures = headlines(ReportScope(recipient), cycle)
    rows = (
        (
            _("Reviews approved"),
            _of(figures.approved, figures.reviews)
            + (
                f" ({figures.approved_percent}%)"
                if figures.approved_percent is not None
                else ""
            ),
        ),
        (_("Reviews overdue"), str(figures.overdue)),
        (
            _("Appraisals finalised"),
            _of(figures.final, figures.appraisals),
        ),
    )
    slug = recipient.organization.slug
    dashboard = (
        reverse("reporting:overview", args=[slug]) + "?" + urlencode({"cycle": pk})
    )
    return _Content(
        about=cycle.name,
        rows=rows,
        dashboard=dashboard,
        document=document,
        subject=cycle,
        params=params,
    )


def _of(part: int, total: int) -> str:
    return _("%(part)s of %(total)s") % {"part": part, "total": total}


def _engagement_content(
    subscription: ReportSubscription, recipient: Membership
) -> _Content:
    document = _document(ENGAGEMENT_DOCUMENT)
    params = {"engagement": (subscription.filters or {}).get("engagement")}
    engagement = document.subject(recipient, params)
    if not isinstance(engagement, Engagement):
        raise NotAvailable(_("The recipient may not open this engagement (any more)."))
    scope = ReportScope(recipient)
    detail = engagement_detail(
        engagement,
        plans=scope.plans(),
        reviews=scope.reviews(),
        may_read_surveys=may_read_surveys(scope, engagement),
    )
    latest = detail.team[0].cycle if detail.team else ""
    team = [m for m in detail.team if m.cycle == latest]
    rows: list[tuple[str, str]] = [
        (
            _("Team in %(cycle)s") % {"cycle": latest} if latest else _("Team"),
            str(len(team)),
        ),
        (
            _("Reviews approved"),
            str(sum(1 for m in team if m.score is not None)),
        ),
    ]
    if detail.csat:
        point = detail.csat[-1]
        rows.append(
            (
                _("Client satisfaction in %(cycle)s") % {"cycle": point.cycle},
                _("%(mean)s (%(answered)s of %(sent)s answered)")
                % {
                    "mean": point.mean if point.mean is not None else "–",
                    "answered": point.answered,
                    "sent": point.sent,
                },
            )
        )
    slug = recipient.organization.slug
    return _Content(
        about=engagement.name,
        rows=tuple(rows),
        dashboard=reverse("reporting:engagement", args=[slug, engagement.pk]),
        document=document,
        subject=engagement,
        params={"engagement": engagement.pk},
    )


def _appraisal_content(recipient: Membership, period: str) -> _Content:
    document = _document(APPRAISAL_DOCUMENT)
    named = APPRAISAL_PERIOD.fullmatch(period)
    appraisal: Appraisal | None
    if named:
        appraisal = (
            Appraisal.objects.filter(
                pk=int(named["appraisal"]),
                status__in=FINAL_STATUSES,
                employee__user_id=recipient.user_id,
            )
            .select_related("employee")
            .first()
        )
    else:
        appraisal = latest_finalised([recipient.user_id]).get(recipient.user_id)
    if appraisal is None:
        raise NotAvailable(_("The recipient has no finalised appraisal to send."))
    params = {"appraisal": appraisal.pk}
    opened = document.subject(recipient, params)
    if not isinstance(opened, Appraisal):
        raise NotAvailable(_("The recipient may not open this appraisal (any more)."))
    rows = (
        (_("Cycle"), opened.cycle.name),
        (_("Status"), opened.get_status_display()),
        (
            _("Final score"),
            str(opened.final_score) if opened.final_score is not None else "–",
        ),
        (
            _("Percent"),
            f"{opened.percent}%" if opened.percent is not None else "–",
        ),
    )
    slug = recipient.organization.slug
    return _Content(
        about=opened.cycle.name,
        rows=rows,
        dashboard=reverse("appraisals:appraisal_detail", args=[slug, opened.pk]),
        document=document,
        subject=opened,
        params=params,
        period=appraisal_period(opened),
    )


# --- Rendering ------------------------------------------------------------------------


def _render(content: _Content, recipient: Membership) -> bytes:
    """The PDF of the content's document as ``recipient`` reads it."""
    # WeasyPrint only where a PDF is made (reporting.documents.jobs does the same).
    from reporting.pdf import render_pdf  # noqa: PLC0415

    return render_pdf(content.document.html(recipient, content.subject))


def _file_name(content: _Content) -> str:
    return f"{slugify(content.document.title(content.subject)) or 'report'}.pdf"


def _unsubscribe_link(subscription: ReportSubscription, recipient: Membership) -> str:
    """The recipient's one-click unsubscribe link ("" for a member who does not
    receive the subscription: a preview). One query."""
    if subscription.pk is None:  # a preview of a subscription not saved yet
        return ""
    row = ReportRecipient.objects.filter(
        subscription=subscription, membership=recipient
    ).first()
    return unsubscribe_url(row) if row is not None else ""


def _bodies(context: Mapping[str, Any]) -> tuple[str, str]:
    """The plain-text and HTML bodies (``templates/reporting/email/``)."""
    return (
        render_to_string("reporting/email/report.txt", dict(context)),
        render_to_string("reporting/email/report.html", dict(context)),
    )
