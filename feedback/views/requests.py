"""Feedback requests: the list with its three tabs, asking, reading, answering,
declining and cancelling, and the lazy home-page section.

Access: a request is read through ``get_request_for`` (404 unless the caller is its
requester, subject, the subject's line manager, a reviewer or approver of the
engagement, or an HR admin); an ask is acted on through ``get_ask_for`` (404 for
everyone but its requestee); both in ``feedback.selectors.access``. Writes go through
``feedback.services.requests`` and ``feedback.services.asks``. Full-page forms with
errors answer 400 with the form re-rendered; nothing here is posted with HTMX.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from feedback.enums import ANONYMITY_THRESHOLD, AskStatus
from feedback.forms import AnswerForm, DeclineForm, RequestForm
from feedback.models import FeedbackAsk, FeedbackRequest
from feedback.permissions import Action, can
from feedback.selectors.access import get_ask_for, get_request_for
from feedback.selectors.requests import (
    asks_of,
    open_asks_of,
    request_detail_for,
    requests_about,
    requests_about_others,
    requests_by_or_about,
)
from feedback.services.asks import answer_request, decline_request
from feedback.services.requests import cancel_request, create_request
from organizations.errors import DomainError
from organizations.http import (
    TenantRequest,
    apply_service,
    form_response,
    page_or_partial,
)
from organizations.selectors import get_employee_for

PAGE_SIZE = 25
HOME_LIMIT = 5
TABS = ("asked", "mine", "team")


@require_GET
def request_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Asked of me (open first), my requests and those about me, and requests about
    people I manage or review (all of them for HR admins). Four queries plus the
    middleware's, whatever the number of rows."""
    membership = request.membership
    tab = request.GET.get("tab", "asked")
    if tab not in TABS:
        tab = "asked"
    rows: Any
    if tab == "asked":
        rows = asks_of(membership)
    elif tab == "mine":
        rows = requests_by_or_about(membership)
    else:
        rows = requests_about_others(membership)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "tab": tab,
        "page_obj": page,
        "rows": list(page),
        "open_asks": open_asks_of(membership).count(),
        "query_string": f"tab={tab}",
        "is_hr": membership.is_hr_admin,
    }
    return render(request, "feedback/requests/request_list.html", context)


def request_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Ask colleagues for feedback; ``?subject=&engagement=`` prefill the form."""
    membership = request.membership
    initial = {
        name: request.GET[name]
        for name in ("subject", "engagement")
        if request.GET.get(name, "").isdigit()
    }
    form = RequestForm(request.POST or None, membership=membership, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        outcome = apply_service(
            form,
            lambda: create_request(
                actor=membership,
                subject=data["subject"],
                engagement=data["engagement"],
                requestees=list(data["requestees"]),
                due_date=data["due_date"],
                message=data["message"],
                questions=data["questions"],
                anonymous=data["anonymous"],
            ),
        )
        if outcome.value is not None:
            messages.success(
                request,
                _("Your request was sent; everyone you asked gets an e-mail."),
            )
            return redirect("feedback:request_detail", org_slug, outcome.value.pk)
    return form_response(
        request,
        "feedback/requests/request_form.html",
        {"form": form, "threshold": ANONYMITY_THRESHOLD},
    )


@require_GET
def request_detail(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """A request: per requestee for named ones, counts only for anonymous ones, and
    the answers the caller may read."""
    found, access = get_request_for(request, pk)
    detail = request_detail_for(access, found)
    context = {
        "detail": detail,
        "feedback_request": found,
        "threshold": ANONYMITY_THRESHOLD,
        "can_cancel": can(access, Action.CANCEL_REQUEST, found)
        and found.cancelled_at is None
        and detail.counts["open"] > 0,
    }
    return render(request, "feedback/requests/request_detail.html", context)


@require_POST
def request_cancel(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Withdraw a request (its requester)."""
    found, _access = get_request_for(request, pk, perm="cancel")
    try:
        cancel_request(actor=request.membership, request=found)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The request was cancelled; the people who had not answered are told."),
        )
    return redirect("feedback:request_detail", org_slug, found.pk)


def _answer_page(
    request: TenantRequest,
    ask: FeedbackAsk,
    answer_form: AnswerForm | None = None,
    decline_form: DeclineForm | None = None,
    status: int = 200,
) -> HttpResponse:
    feedback_request: FeedbackRequest = ask.request
    is_open = ask.status == AskStatus.OPEN and feedback_request.cancelled_at is None
    context = {
        "ask": ask,
        "feedback_request": feedback_request,
        "is_open": is_open,
        "form": answer_form or AnswerForm(request=feedback_request),
        "decline_form": decline_form or DeclineForm(),
        "threshold": ANONYMITY_THRESHOLD,
    }
    return render(request, "feedback/requests/ask_answer.html", context, status=status)


def ask_answer(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Answer a request one was asked (its requestee only)."""
    ask = get_ask_for(request, pk)
    if request.method != "POST":
        return _answer_page(request, ask)
    form = AnswerForm(request.POST, request=ask.request)
    if form.is_valid():
        outcome = apply_service(
            form,
            lambda: answer_request(
                actor=request.membership,
                ask=ask,
                answers=form.answers(),
                kind=form.cleaned_data.get("kind", ""),
                visibility=form.cleaned_data.get("visibility", ""),
            ),
        )
        if outcome.ok:
            if ask.request.anonymous:
                messages.success(
                    request,
                    _(
                        "Thank you. Your answer was stored without your name; "
                        "nobody can trace it back to you, not even you."
                    ),
                )
            else:
                messages.success(
                    request,
                    _("Thank you. %(name)s can now read your feedback.")
                    % {"name": ask.request.requested_by.full_name},
                )
            return redirect("feedback:requests", org_slug)
    return _answer_page(request, ask, answer_form=form, status=400)


@require_POST
def ask_decline(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Decline a request one was asked, saying why."""
    ask = get_ask_for(request, pk)
    form = DeclineForm(request.POST)
    if form.is_valid():
        outcome = apply_service(
            form,
            lambda: decline_request(
                actor=request.membership, ask=ask, reason=form.cleaned_data["reason"]
            ),
        )
        if outcome.ok:
            messages.success(request, _("You declined the request."))
            return redirect("feedback:requests", org_slug)
    return _answer_page(request, ask, decline_form=form, status=400)


@require_GET
def home_requests(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The home page's "Feedback asked of you" content, loaded lazily. Two queries
    plus the middleware's."""
    asks = open_asks_of(request.membership)
    context = {
        "asks": list(asks[:HOME_LIMIT]),
        "open_asks": asks.count(),
    }
    return render(request, "feedback/requests/home_requests.html", context)


@require_GET
def employee_requests(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The feedback requests about a person the member may read
    (``requests_visible_to``): a section of the person's page, for whoever sees the
    person (404 for anyone else). The fragment for HTMX, else a page. Three
    queries."""
    employee = get_employee_for(request, pk)
    page = Paginator(requests_about(request.membership, employee), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    template = "feedback/requests/person_requests.html"
    context = {
        "employee": employee,
        "page_obj": page,
        "rows": list(page.object_list),
        "section_template": template,
        "section_title": _("Feedback requests"),
    }
    return page_or_partial(
        request, "partials/person_section_page.html", template, context
    )


urlpatterns: list[URLPattern] = [
    path("feedback/requests/", request_list, name="requests"),
    path("feedback/requests/new/", request_create, name="request_create"),
    path("feedback/requests/home/", home_requests, name="home_requests"),
    path("feedback/requests/<int:pk>/", request_detail, name="request_detail"),
    path(
        "people/<int:pk>/feedback-requests/",
        employee_requests,
        name="employee_requests",
    ),
    path("feedback/requests/<int:pk>/cancel/", request_cancel, name="request_cancel"),
    path("feedback/asks/<int:pk>/answer/", ask_answer, name="ask_answer"),
    path("feedback/asks/<int:pk>/decline/", ask_decline, name="ask_decline"),
]
