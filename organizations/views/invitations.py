"""Invitations: the HR page that sends and lists them, withdrawing one, and the signed
link through which a person joins."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from organizations import selectors, services
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.forms import AcceptInvitationForm, InvitationForm
from organizations.http import TenantRequest, apply_service, form_response
from organizations.models import Invitation, Organization, User
from organizations.permissions import role_required
from organizations.tenancy import tenant_context
from organizations.views.base import run_action


@role_required(Role.HR_ADMIN)
def invitations(request: TenantRequest, org_slug: str) -> HttpResponse:
    """List pending invitations and send new ones."""
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = apply_service(
            form,
            lambda: services.invite_member(
                actor=request.membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                employee=form.cleaned_data.get("employee"),
            ),
        )
        if outcome.value is not None:
            messages.success(
                request,
                _("Invitation sent to %(email)s. The link works for %(days)s days.")
                % {
                    "email": outcome.value.email,
                    "days": settings.INVITATION_MAX_AGE.days,
                },
            )
            return redirect("organizations:invitations", org_slug)
    return form_response(
        request,
        "organizations/invitations.html",
        {
            "form": form,
            "pending": list(selectors.pending_invitations()),
            "invitation_days": settings.INVITATION_MAX_AGE.days,
        },
    )


@require_POST
@role_required(Role.HR_ADMIN)
def invitation_revoke(request: TenantRequest, org_slug: str, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.all(), pk=pk)
    run_action(
        request,
        lambda: services.revoke_invitation(
            actor=request.membership, invitation=invitation
        ),
        _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email},
    )
    return redirect("organizations:invitations", org_slug)


# --- The link (outside any organisation) ---------------------------------------------


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Join an organisation through a signed, expiring, single-use invitation link.

    An unusable link answers 400 (tampered) or 410 (expired, used, revoked). A refused
    submission (an invalid form, an existing account, another address) shows the page
    again with 200 and the reason.
    """
    try:
        organization, invitation = _usable_invitation(token)
    except services.InvitationError as exc:
        return _invitation_invalid(request, exc)
    user = request.user if isinstance(request.user, User) else None
    form = None
    if user is None:
        form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    error = None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            _join(request, organization, invitation, user=user, form=form)
        except services.InvitationError as exc:
            return _invitation_invalid(request, exc, status=410)
        except DomainError as exc:
            error = exc.message
        else:
            return redirect("organizations:home", organization.slug)
    context = {"form": form, "invitation": invitation, "invited_org": organization}
    return render(
        request, "organizations/invitation_accept.html", {**context, "error": error}
    )


def _usable_invitation(token: str) -> tuple[Organization, Invitation]:
    """The organisation and invitation a link names, while the invitation can still
    be used; InvitationError otherwise."""
    organization, invitation_id = services.load_invitation(token)
    with tenant_context(organization):
        invitation = services.check_invitation_usable(
            Invitation.objects.filter(pk=invitation_id).first()
        )
    return organization, invitation


def _join(
    request: HttpRequest,
    organization: Organization,
    invitation: Invitation,
    *,
    user: User | None,
    form: AcceptInvitationForm | None,
) -> None:
    """Accept ``invitation`` as the signed-in ``user``, or, without one, as the new
    account described by ``form``, which is then signed in; then say welcome."""
    if form is None:
        services.accept_invitation(
            organization=organization, invitation_id=invitation.pk, user=user
        )
    else:
        membership = services.accept_invitation(
            organization=organization,
            invitation_id=invitation.pk,
            full_name=form.cleaned_data["full_name"],
            password=form.cleaned_data["password1"],
        )
        login(
            request,
            membership.user,
            backend="django.contrib.auth.backends.ModelBackend",
        )
    messages.success(request, _("Welcome to %(org)s.") % {"org": organization.name})


def _invitation_invalid(
    request: HttpRequest, exc: services.InvitationError, status: int | None = None
) -> HttpResponse:
    """The page saying why a link cannot be used: by default 400 for a tampered link
    and 410 (gone) for one that could be used once."""
    if status is None:
        status = 400 if exc.reason == "tampered" else 410
    return render(
        request,
        "organizations/invitation_invalid.html",
        {"message": exc.message, "reason": exc.reason},
        status=status,
    )
