"""Client satisfaction surveys: the organisation's pages and the public answer page.

Tenant pages (``urlpatterns``, under /o/<slug>/): the survey list (HR admins, the
engagement's reviewers and approvers), sending a survey (HR admins and reviewers), and
two lazy partials: the engagement's CSAT (anyone who sees the engagement) and a
person's client ratings (anyone who sees the person: HR, the person, their line
manager). Visibility comes from the engagements and organizations access gates: an
invisible engagement or person is 404, a visible one the caller may not use is 403.

The public page (``public_urlpatterns``, namespace ``survey``) needs no account: the
signed link is the credential. It is rate-limited per client address, enters the
survey's tenant itself (the tenant middleware only handles /o/<slug>/), and shows the
engagement's name and the staffed people's names, nothing else of the organisation.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from engagements.selectors.access import get_engagement_for
from feedback.forms import SendSurveyForm, SurveyAnswerForm
from feedback.permissions import Action, can
from feedback.selectors.surveys import (
    ANSWERED,
    EXPIRED,
    TAMPERED,
    VALID,
    employee_csat,
    employee_csat_by_engagement,
    engagement_csat,
    engagement_surveys,
    staffed_employees,
    survey_from_token,
    survey_status,
)
from feedback.services.surveys import SurveyClosed, answer_survey, send_survey
from organizations import ratelimit
from organizations.errors import DomainError
from organizations.http import (
    TenantRequest,
    add_domain_error,
    apply_service,
    client_ip,
    form_response,
    page_or_partial,
)
from organizations.selectors import get_employee_for
from organizations.tenancy import tenant_context

PAGE_SIZE = 25
# Public page: at most RATE_LIMIT requests per client address in RATE_WINDOW seconds.
# Settings SURVEY_RATE_LIMIT / SURVEY_RATE_WINDOW override them (read per request).
RATE_LIMIT = 20
RATE_WINDOW = 60
RATE_SCOPE = "survey"


# --- Rate limit of the public page ---------------------------------------------------


def rate_limit_key(ip: str) -> str:
    """The counter's key of one client address (the cache key, and the database
    row's key while the cache is unavailable)."""
    return ratelimit.counter_key(RATE_SCOPE, ip)


def _rate_window() -> int:
    return int(getattr(settings, "SURVEY_RATE_WINDOW", RATE_WINDOW))


def over_rate_limit(request: HttpRequest) -> bool:
    """Count this request against its address; True once the address made more than
    the limit within the window (a fixed window from its first request).

    The counter lives in the cache (Redis in production, so every web process shares
    it) and, while the cache cannot count, in the database: the limit never fails
    open (``organizations.ratelimit``).
    """
    return ratelimit.hit(
        RATE_SCOPE,
        client_ip(request) or "unknown",
        limit=int(getattr(settings, "SURVEY_RATE_LIMIT", RATE_LIMIT)),
        window=_rate_window(),
    )


# --- Public answer page --------------------------------------------------------------

_CLOSED_STATUS = {TAMPERED: 400, EXPIRED: 410, ANSWERED: 410}


def _closed(request: HttpRequest, reason: str) -> HttpResponse:
    """The friendly page for an unusable link; tampered, unknown and another
    organisation's links look exactly alike."""
    text = {
        TAMPERED: _(
            "This survey link is not valid. Check that you opened the whole link from "
            "the e-mail. If it still does not work, reply to that e-mail and ask for "
            "a new link."
        ),
        EXPIRED: _(
            "This survey link has expired. If you would still like to give feedback, "
            "reply to the e-mail you received and ask for a new link."
        ),
        ANSWERED: _(
            "This survey has already been answered. Thank you for your feedback."
        ),
    }[reason]
    return render(
        request,
        "feedback/surveys/public_closed.html",
        {"reason": reason, "text": text},
        status=_CLOSED_STATUS[reason],
    )


@never_cache
@require_http_methods(["GET", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The client's survey: overall satisfaction, a rating per staffed person and a
    comment; one answer per link. 429 over the rate limit, 400 for a tampered link,
    410 for an expired or answered one, 400 with the form for bad input."""
    if over_rate_limit(request):
        response = render(
            request, "feedback/surveys/public_rate_limited.html", status=429
        )
        response["Retry-After"] = str(_rate_window())
        return response
    status, survey = survey_from_token(token)
    if status != VALID or survey is None:
        return _closed(request, status)
    with tenant_context(survey.organization):
        employees = list(staffed_employees(survey.engagement_id))
        form = SurveyAnswerForm(
            request.POST if request.method == "POST" else None, employees=employees
        )
        if request.method == "POST" and form.is_valid():
            try:
                answer_survey(
                    survey,
                    overall=int(form.cleaned_data["overall"]),
                    ratings=form.ratings(),
                    comment=form.cleaned_data["comment"],
                )
            except SurveyClosed as exc:
                # Closed meanwhile: the same page as for a closed link, not a form
                # error (so not through ``apply_service``).
                return _closed(request, exc.reason)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                return render(request, "feedback/surveys/public_thanks.html")
        return form_response(
            request,
            "feedback/surveys/public_answer.html",
            {"engagement_name": survey.engagement.name, "form": form},
        )


public_urlpatterns: list[URLPattern] = [
    path("<str:token>/", survey_answer, name="answer"),
]


# --- Organisation pages --------------------------------------------------------------


@require_GET
def survey_list(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """The engagement's surveys with their answers (HR, reviewers, approvers)."""
    engagement, access = get_engagement_for(request, pk)
    if not can(access, Action.VIEW_SURVEYS, engagement):
        raise PermissionDenied
    page = Paginator(engagement_surveys(engagement), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    context = {
        "engagement": engagement,
        "page_obj": page,
        "rows": [(s, survey_status(s, now)) for s in page.object_list],
        "can_send": can(access, Action.SEND_SURVEYS, engagement),
    }
    return render(request, "feedback/surveys/survey_list.html", context)


@require_http_methods(["GET", "POST"])
def survey_send(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """Send a survey to a client contact (HR admins and the engagement's reviewers)."""
    engagement, access = get_engagement_for(request, pk)
    if not can(access, Action.SEND_SURVEYS, engagement):
        raise PermissionDenied
    form = SendSurveyForm(
        request.POST if request.method == "POST" else None,
        initial={"contact_email": engagement.client.contact_email},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        outcome = apply_service(
            form,
            lambda: send_survey(
                actor=request.membership,
                engagement=engagement,
                contact_email=data["contact_email"],
                contact_name=data["contact_name"],
                days_valid=data["days_valid"],
            ),
        )
        if outcome.value is not None:
            messages.success(
                request,
                _("Survey sent to %(email)s. The link works for %(days)d days.")
                % {"email": outcome.value.contact_email, "days": data["days_valid"]},
            )
            return redirect("feedback:survey_list", org_slug, engagement.pk)
    return form_response(
        request,
        "feedback/surveys/survey_send.html",
        {"engagement": engagement, "form": form},
    )


@require_GET
def engagement_csat_part(
    request: TenantRequest, org_slug: str, pk: int
) -> HttpResponse:
    """The engagement's CSAT: average, answers, open surveys (anyone who sees it).
    The fragment for HTMX, else a page of its own (the no-JavaScript fallback)."""
    engagement, access = get_engagement_for(request, pk)
    context = {
        "engagement": engagement,
        "csat": engagement_csat(engagement),
        "can_see_surveys": can(access, Action.VIEW_SURVEYS, engagement),
        "can_send": can(access, Action.SEND_SURVEYS, engagement),
    }
    return page_or_partial(
        request,
        "feedback/surveys/engagement_csat_page.html",
        "feedback/surveys/engagement_csat.html",
        context,
    )


@require_GET
def employee_csat_part(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    """A person's client ratings, overall and per engagement (HR, the person, their
    line manager: whoever sees the person). The fragment for HTMX, else a page."""
    employee = get_employee_for(request, pk)
    context = {
        "employee": employee,
        "csat": employee_csat(employee),
        "by_engagement": employee_csat_by_engagement(employee),
    }
    return page_or_partial(
        request,
        "feedback/surveys/employee_csat_page.html",
        "feedback/surveys/employee_csat.html",
        context,
    )


urlpatterns: list[URLPattern] = [
    path("engagements/<int:pk>/surveys/", survey_list, name="survey_list"),
    path("engagements/<int:pk>/surveys/new/", survey_send, name="survey_send"),
    path("engagements/<int:pk>/csat/", engagement_csat_part, name="engagement_csat"),
    path("people/<int:pk>/csat/", employee_csat_part, name="employee_csat"),
]
