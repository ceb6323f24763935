"""Feedback requests: the list with its three tabs, asking, reading, answering,
declining and cancelling, and the lazy home-page section.

Access: a request is read through ``requests.get_request_for`` (404 unless the caller
is its requester, subject, the subject's line manager, a reviewer or approver of the
engagement, or an HR admin); an ask is acted on through ``requests.get_ask_for``
(404 for everyone but its requestee). Writes go through the services in
``feedback.requests``. Full-page forms with errors answer 400 with the form
re-rendered; nothing here is posted with HTMX.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from feedback import requests as svc
from feedback.enums import AskStatus
from feedback.models import FeedbackAsk, FeedbackRequest
from feedback.request_forms import AnswerForm, DeclineForm, RequestForm
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Membership

PAGE_SIZE = 25
HOME_LIMIT = 5
TABS = ("asked", "mine", "team")


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _add_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Show a domain error beside its field, or above the form when it has none."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@require_GET
def request_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Asked of me (open first), my requests and those about me, and requests about
    people I manage or review (all of them for HR admins). Four queries plus the
    middleware's, whatever the number of rows."""
    membership = _membership(request)
    tab = request.GET.get("tab", "asked")
    if tab not in TABS:
        tab = "asked"
    rows: Any
    if tab == "asked":
        rows = svc.asks_of(membership)
    elif tab == "mine":
        rows = svc.requests_by_or_about(membership)
    else:
        rows = svc.requests_about_others(membership)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "tab": tab,
        "page_obj": page,
        "rows": list(page),
        "open_asks": svc.open_asks_of(membership).count(),
        "query_string": f"tab={tab}",
        "is_hr": membership.role == Role.HR_ADMIN,
    }
    return render(request, "feedback/requests/request_list.html", context)


def request_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Ask colleagues for feedback; ``?subject=&engagement=`` prefill the form."""
    membership = _membership(request)
    initial = {
        name: request.GET[name]
        for name in ("subject", "engagement")
        if request.GET.get(name, "").isdigit()
    }
    form = RequestForm(request.POST or None, membership=membership, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = svc.create_request(
                actor=membership,
                subject=data["subject"],
                engagement=data["engagement"],
                requestees=list(data["requestees"]),
                due_date=data["due_date"],
                message=data["message"],
                questions=data["questions"],
                anonymous=data["anonymous"],
            )
        except DomainError as exc:
            _add_error(form, exc)
        else:
            messages.success(
                request,
                _("Your request was sent; everyone you asked gets an e-mail."),
            )
            return redirect("feedback:request_detail", org_slug, created.pk)
    return render(
        request,
        "feedback/requests/request_form.html",
        {"form": form, "threshold": svc.ANONYMITY_THRESHOLD},
        status=400 if form.errors else 200,
    )


@require_GET
def request_detail(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """A request: per requestee for named ones, counts only for anonymous ones, and
    the answers the caller may read."""
    membership = _membership(request)
    found, access = svc.get_request_for(request, pk)
    detail = svc.request_detail(membership, access, found)
    context = {
        "detail": detail,
        "feedback_request": found,
        "threshold": svc.ANONYMITY_THRESHOLD,
        "can_cancel": found.requested_by.user_id == membership.user_id
        and found.cancelled_at is None
        and detail.counts["open"] > 0,
    }
    return render(request, "feedback/requests/request_detail.html", context)


@require_POST
def request_cancel(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Withdraw a request (its requester)."""
    found, _access = svc.get_request_for(request, pk, perm="cancel")
    try:
        svc.cancel_request(actor=_membership(request), request=found)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The request was cancelled; the people who had not answered are told."),
        )
    return redirect("feedback:request_detail", org_slug, found.pk)


def _answer_page(
    request: HttpRequest,
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
        "threshold": svc.ANONYMITY_THRESHOLD,
    }
    return render(request, "feedback/requests/ask_answer.html", context, status=status)


def ask_answer(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Answer a request one was asked (its requestee only)."""
    ask = svc.get_ask_for(request, pk)
    if request.method != "POST":
        return _answer_page(request, ask)
    form = AnswerForm(request.POST, request=ask.request)
    if form.is_valid():
        try:
            svc.answer_request(
                actor=_membership(request),
                ask=ask,
                answers=form.answers(),
                kind=form.cleaned_data.get("kind", ""),
                visibility=form.cleaned_data.get("visibility", ""),
            )
        except DomainError as exc:
            _add_error(form, exc)
        else:
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
def ask_decline(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Decline a request one was asked, saying why."""
    ask = svc.get_ask_for(request, pk)
    form = DeclineForm(request.POST)
    if form.is_valid():
        try:
            svc.decline_request(
                actor=_membership(request), ask=ask, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("You declined the request."))
            return redirect("feedback:requests", org_slug)
    return _answer_page(request, ask, decline_form=form, status=400)


@require_GET
def home_requests(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The home page's "Feedback asked of you" content, loaded lazily. Two queries
    plus the middleware's."""
    asks = svc.open_asks_of(_membership(request))
    context = {
        "asks": list(asks[:HOME_LIMIT]),
        "open_asks": asks.count(),
    }
    return render(request, "feedback/requests/home_requests.html", context)


urlpatterns = [
    path("feedback/requests/", request_list, name="requests"),
    path("feedback/requests/new/", request_create, name="request_create"),
    path("feedback/requests/home/", home_requests, name="home_requests"),
    path("feedback/requests/<int:pk>/", request_detail, name="request_detail"),
    path("feedback/requests/<int:pk>/cancel/", request_cancel, name="request_cancel"),
    path("feedback/asks/<int:pk>/answer/", ask_answer, name="ask_answer"),
    path("feedback/asks/<int:pk>/decline/", ask_decline, name="ask_decline"),
]
