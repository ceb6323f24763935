"""Scheduled report e-mails: the subscriptions a member sees, the form that creates
or changes one, its page with "send now", a preview and its deliveries, and the PDF
each e-mail carried.

Who may do what is ``reporting.subscriptions``' (HR admins everything; other members
their own subscriptions, for themselves); the deliveries are
``reporting.dispatch``'s; the content of an e-mail is ``reporting.mailing``'s,
computed for each recipient.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from organizations.errors import DomainError
from organizations.http import TenantRequest, apply_service, form_response
from organizations.models import Employee
from reporting import dispatch, mailing
from reporting.enums import EmailStatus
from reporting.forms import SubscriptionForm
from reporting.models import ReportDelivery, ReportEmail, ReportSubscription
from reporting.subscriptions import (
    delete_subscription,
    get_subscription_for,
    kinds_for,
    may_manage,
    receives,
    recipients_of,
    save_subscription,
    schedule_label,
    set_active,
    subscriptions_visible_to,
    unsubscribe_member,
)

PAGE_SIZE = 25
DELIVERIES_PAGE_SIZE = 20


@require_GET
def subscription_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The subscriptions the member sees (HR admins: the organisation's), by name,
    with how many receive each. Three queries whatever the number of rows."""
    qs = (
        subscriptions_visible_to(request.membership)
        .annotate(
            receiving=Count("recipients", filter=Q(recipients__unsubscribed_at=None))
        )
        .order_by("title", "pk")
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reporting/subscriptions/list.html",
        {
            "page_obj": page,
            "paginator": page.paginator,
            "is_paginated": page.has_other_pages(),
            "rows": [(s, schedule_label(s)) for s in page],
            "show_creator": request.membership.is_hr_admin,
        },
    )


def _form_page(
    request: TenantRequest, subscription: ReportSubscription | None
) -> HttpResponse:
    membership = request.membership
    kinds = kinds_for(membership)
    instance = subscription or ReportSubscription(
        organization_id=request.organization.pk
    )
    if request.method == "POST":
        form = SubscriptionForm(
            request.POST, instance=instance, membership=membership, kinds=kinds
        )
        if form.is_valid():
            outcome = apply_service(
                form,
                lambda: save_subscription(
                    actor=membership,
                    subscription=form.prepared(),
                    recipients=form.chosen_recipients(),
                ),
            )
            if outcome.ok and outcome.value is not None:
                messages.success(
                    request,
                    _("Saved. %(schedule)s.")
                    % {"schedule": schedule_label(outcome.value)},
                )
                return redirect(
                    "reporting:subscription_detail",
                    request.organization.slug,
                    outcome.value.pk,
                )
    else:
        initial: dict[str, Any] = {}
        if subscription is not None and membership.is_hr_admin:
            users = [r.membership.user_id for r in recipients_of(subscription)]
            initial["recipients"] = list(Employee.objects.filter(user_id__in=users))
        form = SubscriptionForm(
            instance=instance, membership=membership, kinds=kinds, initial=initial
        )
    return form_response(
        request,
        "reporting/subscriptions/form.html",
        {"form": form, "subscription": subscription},
    )


@require_http_methods(["GET", "POST"])
def subscription_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    """A new subscription: HR admins for anyone, other members for themselves."""
    return _form_page(request, None)


def _managed(request: TenantRequest, pk: int) -> ReportSubscription:
    """Subscription ``pk`` if the member sees it (else 404) and may change it (else
    403)."""
    subscription = get_subscription_for(request.membership, pk)
    if not may_manage(request.membership, subscription):
        raise PermissionDenied(
            _("Only HR and the person who created it may change it.")
        )
    return subscription


@require_http_methods(["GET", "POST"])
def subscription_edit(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    return _form_page(request, _managed(request, pk))


@require_GET
def subscription_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """A subscription: its report, schedule and recipients, and its deliveries, newest
    first, with how many of their e-mails were sent and failed."""
    membership = request.membership
    subscription = get_subscription_for(membership, pk)
    recipients = recipients_of(subscription)
    deliveries = _deliveries(subscription)
    page = Paginator(deliveries, DELIVERIES_PAGE_SIZE).get_page(request.GET.get("page"))
    mine = next((r for r in recipients if r.membership_id == membership.pk), None)
    return render(
        request,
        "reporting/subscriptions/detail.html",
        {
            "subscription": subscription,
            "schedule": schedule_label(subscription),
            "recipients": recipients,
            "page_obj": page,
            "paginator": page.paginator,
            "is_paginated": page.has_other_pages(),
            "can_manage": may_manage(membership, subscription),
            "receiving": mine is not None and mine.unsubscribed_at is None,
        },
    )


def _deliveries(subscription: ReportSubscription) -> QuerySet[ReportDelivery]:
    return (
        ReportDelivery.objects.filter(subscription=subscription)
        .select_related("requested_by")
        .annotate(
            sent=Count("emails", filter=Q(emails__status=EmailStatus.SENT)),
            failed=Count("emails", filter=Q(emails__status=EmailStatus.FAILED)),
            skipped=Count("emails", filter=Q(emails__status=EmailStatus.SKIPPED)),
        )
        .order_by("-created_at", "-pk")
    )


@require_POST
def subscription_send_now(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Send the subscription to its recipients now, as a delivery of its own (the
    schedule is not moved)."""
    subscription = _managed(request, pk)
    try:
        delivery = dispatch.send_now(
            actor=request.membership, subscription=subscription
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("reporting:subscription_detail", org_slug, subscription.pk)
    messages.success(
        request,
        _("The report is on its way to its recipients; this page shows each e-mail."),
    )
    return redirect("reporting:delivery_detail", org_slug, subscription.pk, delivery.pk)


@require_POST
def subscription_toggle(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Pause an active subscription, or resume a paused one."""
    subscription = _managed(request, pk)
    active = not subscription.is_active
    set_active(actor=request.membership, subscription=subscription, active=active)
    messages.success(
        request,
        _("Resumed: it is sent again from its next time.")
        if active
        else _("Paused: nothing is sent until you resume it."),
    )
    return redirect("reporting:subscription_detail", org_slug, subscription.pk)


@require_POST
def subscription_delete(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Delete the subscription, its deliveries and the PDFs they carried."""
    subscription = _managed(request, pk)
    title = subscription.title
    delete_subscription(actor=request.membership, subscription=subscription)
    messages.success(request, _("“%(title)s” was deleted.") % {"title": title})
    return redirect("reporting:subscriptions", org_slug)


@require_POST
def subscription_unsubscribe(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """Stop sending the subscription to the member (the in-app twin of the
    e-mail's unsubscribe link)."""
    subscription = get_subscription_for(request.membership, pk)
    if not receives(request.membership, subscription):
        raise PermissionDenied(_("You are not among this report's recipients."))
    unsubscribe_member(membership=request.membership, subscription=subscription)
    messages.success(request, _("You will no longer receive this report."))
    return redirect("reporting:subscription_detail", org_slug, subscription.pk)


@require_GET
def subscription_preview(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """The e-mail as the member would receive it now (without rendering the PDF),
    or why they would receive nothing."""
    subscription = get_subscription_for(request.membership, pk)
    message = mailing.preview(subscription, request.membership)
    return render(
        request,
        "reporting/subscriptions/preview.html",
        {"subscription": subscription, "message": message},
    )


def _delivery_for(
    request: TenantRequest, pk: int, delivery_pk: int
) -> tuple[ReportSubscription, ReportDelivery]:
    subscription = get_subscription_for(request.membership, pk)
    delivery = (
        ReportDelivery.objects.filter(subscription=subscription, pk=delivery_pk)
        .select_related("requested_by")
        .first()
    )
    if delivery is None:
        raise Http404("No such delivery.")
    return subscription, delivery


def _emails_seen(
    request: TenantRequest, delivery: ReportDelivery
) -> QuerySet[ReportEmail]:
    """HR admins see every e-mail of a delivery; other members their own."""
    qs = (
        ReportEmail.objects.filter(delivery=delivery)
        .select_related("recipient__user")
        .order_by("recipient__user__full_name", "pk")
    )
    if request.membership.is_hr_admin:
        return qs
    return qs.filter(recipient=request.membership)


@require_GET
def delivery_detail(
    request: TenantRequest, org_slug: str, pk: int, delivery_pk: int
) -> HttpResponse:
    """One delivery: each e-mail's recipient, status, reason and attempts, with the
    PDF it carried. Refreshes itself (HTMX) while the delivery is queued."""
    subscription, delivery = _delivery_for(request, pk, delivery_pk)
    context = {
        "subscription": subscription,
        "delivery": delivery,
        "emails": list(_emails_seen(request, delivery)),
    }
    template = (
        "reporting/subscriptions/partials/delivery_status.html"
        if getattr(request, "htmx", False)
        else "reporting/subscriptions/delivery.html"
    )
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


@require_GET
def delivery_email_pdf(
    request: TenantRequest, org_slug: str, pk: int, delivery_pk: int, email_pk: int
) -> HttpResponseBase:
    """The PDF one e-mail carried: for HR admins and its recipient (404 for anyone
    else); 410 once it was deleted."""
    _subscription, delivery = _delivery_for(request, pk, delivery_pk)
    email = _emails_seen(request, delivery).filter(pk=email_pk).first()
    if email is None:
        raise Http404("No such e-mail.")
    storage = email.file.storage
    if not email.file.name or not storage.exists(email.file.name):
        return render(
            request,
            "reporting/subscriptions/pdf_gone.html",
            {"subscription": _subscription, "delivery": delivery},
            status=410,
        )
    return FileResponse(
        storage.open(email.file.name, "rb"),
        as_attachment=True,
        filename=f"report-{delivery.due_at:%Y-%m-%d}-{email.pk}.pdf",
        content_type="application/pdf",
    )


urlpatterns = [
    path("reports/subscriptions/", subscription_list, name="subscriptions"),
    path("reports/subscriptions/new/", subscription_create, name="subscription_create"),
    path(
        "reports/subscriptions/<int:pk>/",
        subscription_detail,
        name="subscription_detail",
    ),
    path(
        "reports/subscriptions/<int:pk>/edit/",
        subscription_edit,
        name="subscription_edit",
    ),
    path(
        "reports/subscriptions/<int:pk>/send/",
        subscription_send_now,
        name="subscription_send_now",
    ),
    path(
        "reports/subscriptions/<int:pk>/pause/",
        subscription_toggle,
        name="subscription_toggle",
    ),
    path(
        "reports/subscriptions/<int:pk>/delete/",
        subscription_delete,
        name="subscription_delete",
    ),
    path(
        "reports/subscriptions/<int:pk>/unsubscribe/",
        subscription_unsubscribe,
        name="subscription_unsubscribe",
    ),
    path(
        "reports/subscriptions/<int:pk>/preview/",
        subscription_preview,
        name="subscription_preview",
    ),
    path(
        "reports/subscriptions/<int:pk>/deliveries/<int:delivery_pk>/",
        delivery_detail,
        name="delivery_detail",
    ),
    path(
        "reports/subscriptions/<int:pk>/deliveries/<int:delivery_pk>/emails/"
        "<int:email_pk>/pdf/",
        delivery_email_pdf,
        name="delivery_email_pdf",
    ),
]
