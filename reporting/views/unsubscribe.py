"""The public unsubscribe page of scheduled report e-mails (namespace
``reporting_public``, outside /o/<slug>/): the signed link is the credential.

GET shows what the link stops and a button; POST unsubscribes. The POST is also the
one-click unsubscribe of RFC 8058, which a mail client sends on its own (body
``List-Unsubscribe=One-Click``) without a CSRF token, so this view is exempt from
the CSRF check; it does nothing but stop the e-mails the signed link names. A
tampered or unknown link is 404, like another organisation's.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from reporting.unsubscribe import recipient_from_token, unsubscribe


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm (GET) and unsubscribe (POST, idempotent); 404 for a bad link."""
    recipient = recipient_from_token(token)
    if recipient is None:
        raise Http404("No such subscription.")
    if request.method == "POST":
        recipient = unsubscribe(recipient)
    return render(
        request,
        "reporting/unsubscribe/page.html",
        {
            "title": recipient.subscription.title,
            "organization_name": recipient.organization.name,
            "unsubscribed": recipient.unsubscribed_at is not None,
        },
    )


public_urlpatterns: list[URLPattern] = [
    path("unsubscribe/<str:token>/", unsubscribe_page, name="unsubscribe"),
]
