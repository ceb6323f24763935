"""Invitations end to end: the HR page, the e-mail, and the signed single-use link."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from organizations import services
from organizations.enums import Role
from organizations.models import Employee, Invitation, Membership, User
from organizations.tenancy import tenant_context
from tests.factories import EmployeeFactory, InvitationFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Sturdy-Lantern-42"


def _invitations_url(org: Any) -> str:
    return reverse("organizations:invitations", args=[org.slug])


def _link_of(invitation: Invitation) -> str:
    return reverse("invitation_accept", args=[services.invitation_token(invitation)])


def _link_in(body: str) -> str:
    """The path of the invitation link in an e-mail body."""
    match = re.search(r"https?://\S+/accounts/invitations/\S+/", body)
    assert match is not None, body
    return urlsplit(match.group(0)).path


def _signed_in_the_past(invitation: Invitation, age: timedelta) -> str:
    """A correctly signed token for ``invitation`` whose signature is ``age`` old."""
    signer = signing.TimestampSigner(salt=services.INVITATION_SALT)
    stamp = int((timezone.now() - age).timestamp())
    signer.timestamp = lambda: signing.b62_encode(stamp)  # type: ignore[method-assign]  # freeze the signer clock
    return signer.sign_object({"i": invitation.pk, "o": invitation.organization_id})


def _new_account(full_name: str = "Jo Joiner") -> dict[str, str]:
    return {
        "full_name": full_name,
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }


def _reason(response: Any) -> str | None:
    match = re.search(r'data-reason="([a-z]+)"', response.content.decode())
    return match.group(1) if match else None


def _invite_through_the_page(
    client: Client, org: Any, capture: Any, **data: Any
) -> Any:
    payload = {"email": "joiner@example.test", "role": Role.EMPLOYEE, "employee": ""}
    payload.update(data)
    with capture(execute=True):
        return client.post(_invitations_url(org), payload)


# --- the HR page ---------------------------------------------------------------------


def test_invitations_page_sends_one_email_with_the_link(
    client_as, hr_admin, org, mailoutbox, django_capture_on_commit_callbacks
):
    response = _invite_through_the_page(
        client_as(hr_admin),
        org,
        django_capture_on_commit_callbacks,
        email="Joiner@Example.test",
        role=Role.MANAGER,
    )

    with tenant_context(org):
        invitation = Invitation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _invitations_url(org)
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "joiner@example.test",
        Role.MANAGER,
        hr_admin.user,
    )
    assert [m.to for m in mailoutbox] == [["joiner@example.test"]]
    assert mailoutbox[0].subject == (
        "You are invited to join Acme Test on Engagement HRMS"
    )
    assert services.load_invitation(_link_in(mailoutbox[0].body).split("/")[-2]) == (
        org,
        invitation.pk,
    )


def test_invitations_page_lists_pending_invitations(client_as, hr_admin, org):
    InvitationFactory(organization=org, email="waiting@example.test")
    InvitationFactory(
        organization=org, email="withdrawn@example.test", revoked_at=timezone.now()
    )

    response = client_as(hr_admin).get(_invitations_url(org))

    assert response.status_code == 200
    assert [i.email for i in response.context["pending"]] == ["waiting@example.test"]


def test_invitations_page_refuses_a_second_pending_invitation(
    client_as, hr_admin, org, mailoutbox, django_capture_on_commit_callbacks
):
    client = client_as(hr_admin)
    _invite_through_the_page(client, org, django_capture_on_commit_callbacks)

    response = _invite_through_the_page(
        client, org, django_capture_on_commit_callbacks, email="JOINER@example.test"
    )

    with tenant_context(org):
        invitations = Invitation.objects.count()
    assert response.status_code == 400
    assert "already has a pending invitation" in response.content.decode()
    assert (invitations, len(mailoutbox)) == (1, 1)


def test_invitations_page_refuses_an_active_member(
    client_as,
    hr_admin,
    employee_member,
    org,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    response = _invite_through_the_page(
        client_as(hr_admin),
        org,
        django_capture_on_commit_callbacks,
        email=employee_member.user.email,
    )

    assert response.status_code == 400
    assert "is already a member of this organisation" in response.content.decode()
    assert mailoutbox == []


def test_invitations_page_refuses_another_organizations_directory_entry(
    client_as, hr_admin, org, other_org, mailoutbox, django_capture_on_commit_callbacks
):
    foreign = EmployeeFactory(organization=other_org)

    response = _invite_through_the_page(
        client_as(hr_admin),
        org,
        django_capture_on_commit_callbacks,
        employee=foreign.pk,
    )

    with tenant_context(org):
        invitations = Invitation.objects.count()
    assert response.status_code == 400
    assert 'name="employee"' in response.content.decode()
    assert "Select a valid choice." in response.content.decode()
    assert (invitations, mailoutbox) == (0, [])


def test_invitations_page_links_an_own_directory_entry(
    client_as, hr_admin, org, django_capture_on_commit_callbacks
):
    entry = EmployeeFactory(organization=org)

    response = _invite_through_the_page(
        client_as(hr_admin), org, django_capture_on_commit_callbacks, employee=entry.pk
    )

    with tenant_context(org):
        invitation = Invitation.objects.get()
    assert response.status_code == 302
    assert invitation.employee_id == entry.pk


def test_invitations_page_is_forbidden_to_non_hr_members(
    client_as, manager, org, mailoutbox, django_capture_on_commit_callbacks
):
    response = _invite_through_the_page(
        client_as(manager), org, django_capture_on_commit_callbacks
    )

    with tenant_context(org):
        invitations = Invitation.objects.count()
    assert response.status_code == 403
    assert (invitations, mailoutbox) == (0, [])


# --- accepting through the link ----------------------------------------------------------


def test_invitation_link_lets_a_new_person_join(
    client_as, hr_admin, org, mailoutbox, django_capture_on_commit_callbacks
):
    entry = EmployeeFactory(organization=org, email="joiner@example.test")
    _invite_through_the_page(
        client_as(hr_admin), org, django_capture_on_commit_callbacks, role=Role.MANAGER
    )
    link = _link_in(mailoutbox[0].body)
    newcomer = Client()
    form_page = newcomer.get(link)

    response = newcomer.post(link, _new_account())

    home = newcomer.get(response["Location"])
    user = User.objects.get(email="joiner@example.test")
    with tenant_context(org):
        membership = Membership.objects.get(user=user)
        linked = Employee.objects.get(pk=entry.pk)
    assert form_page.status_code == 200
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/"
    assert home.status_code == 200
    assert int(newcomer.session["_auth_user_id"]) == user.pk
    assert (user.full_name, user.check_password(NEW_PASSWORD)) == ("Jo Joiner", True)
    assert (membership.role, membership.is_active) == (Role.MANAGER, True)
    assert (linked.user_id, linked.is_active) == (user.pk, True)


def test_invitation_link_creates_a_directory_entry_when_there_is_none(org):
    invitation = InvitationFactory(organization=org, email="nobody@example.test")

    response = Client().post(_link_of(invitation), _new_account("No Body"))

    with tenant_context(org):
        entry = Employee.objects.get(email="nobody@example.test")
    assert response.status_code == 302
    assert (entry.full_name, entry.user.email) == ("No Body", "nobody@example.test")


def test_invitation_link_refuses_differing_passwords(org):
    invitation = InvitationFactory(organization=org, email="typo@example.test")

    response = Client().post(
        _link_of(invitation),
        {"full_name": "Typo", "password1": NEW_PASSWORD, "password2": "Other-Pass-99"},
    )

    assert response.status_code == 200
    assert "The two passwords differ." in response.content.decode()
    assert User.objects.filter(email="typo@example.test").exists() is False


def test_invitation_link_used_twice_says_already_used(org):
    invitation = InvitationFactory(organization=org)
    link = _link_of(invitation)
    Client().post(link, _new_account())

    response = Client().get(link)

    assert response.status_code == 410
    assert _reason(response) == "used"
    assert "This invitation has already been used." in response.content.decode()


def test_invitation_link_submitted_twice_says_already_used(org):
    invitation = InvitationFactory(organization=org)
    link = _link_of(invitation)
    Client().post(link, _new_account())

    response = Client().post(link, _new_account("Second Try"))

    assert response.status_code == 410
    assert _reason(response) == "used"
    assert User.objects.filter(full_name="Second Try").exists() is False


def test_invitation_link_with_a_tampered_token_is_not_valid(org):
    invitation = InvitationFactory(organization=org)
    token = services.invitation_token(invitation)
    forged = signing.dumps({"i": invitation.pk, "o": org.pk}, salt="another.salt")

    responses = [
        Client().get(reverse("invitation_accept", args=[token[:-1] + "x"])),
        Client().get(reverse("invitation_accept", args=[forged])),
        Client().get(reverse("invitation_accept", args=["garbage"])),
    ]

    assert [(r.status_code, _reason(r)) for r in responses] == [
        (400, "tampered"),
        (400, "tampered"),
        (400, "tampered"),
    ]
    assert "This invitation link is not valid." in responses[0].content.decode()


def test_invitation_link_with_an_old_signature_has_expired(org):
    invitation = InvitationFactory(organization=org)
    token = _signed_in_the_past(invitation, timedelta(days=8))

    response = Client().post(reverse("invitation_accept", args=[token]), _new_account())

    assert response.status_code == 410
    assert _reason(response) == "expired"
    assert "This invitation has expired." in response.content.decode()
    assert User.objects.filter(email=invitation.email).exists() is False


def test_invitation_link_signed_recently_still_works(org):
    invitation = InvitationFactory(organization=org)
    token = _signed_in_the_past(invitation, timedelta(days=6))

    response = Client().get(reverse("invitation_accept", args=[token]))

    assert response.status_code == 200


def test_invitation_link_past_its_expiry_date_has_expired(org):
    invitation = InvitationFactory(
        organization=org, expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = Client().get(_link_of(invitation))

    assert response.status_code == 410
    assert _reason(response) == "expired"


def test_invitation_link_after_withdrawal_says_withdrawn(client_as, hr_admin, org):
    invitation = InvitationFactory(organization=org)
    revoke = client_as(hr_admin).post(
        reverse("organizations:invitation_revoke", args=[org.slug, invitation.pk])
    )

    response = Client().post(_link_of(invitation), _new_account())

    assert revoke.status_code == 302
    assert response.status_code == 410
    assert _reason(response) == "revoked"
    assert "This invitation was withdrawn." in response.content.decode()
    assert User.objects.filter(email=invitation.email).exists() is False


def test_invitation_revoke_of_another_organizations_invitation_is_404(
    client_as, hr_admin, org, other_org
):
    foreign = InvitationFactory(organization=other_org)

    response = client_as(hr_admin).post(
        reverse("organizations:invitation_revoke", args=[org.slug, foreign.pk])
    )

    with tenant_context(other_org):
        revoked_at = Invitation.objects.get(pk=foreign.pk).revoked_at
    assert response.status_code == 404
    assert revoked_at is None


def test_invitation_link_joins_a_logged_in_user_with_the_invited_address(
    client_as, org, other_org, make_member
):
    elsewhere = make_member(other_org, Role.HR_ADMIN)
    invitation = InvitationFactory(
        organization=org, email=elsewhere.user.email, role=Role.EMPLOYEE
    )
    client = client_as(elsewhere)
    page = client.get(_link_of(invitation))

    response = client.post(_link_of(invitation))

    with tenant_context(org):
        membership = Membership.objects.get(user=elsewhere.user)
    assert page.status_code == 200
    assert f"You are logged in as {elsewhere.user.email}." in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/"
    assert membership.role == Role.EMPLOYEE
    assert client.get(f"/o/{other_org.slug}/").status_code == 200
    assert client.get(f"/o/{org.slug}/").status_code == 200


def test_invitation_link_refuses_a_logged_in_user_with_another_address(
    client_as, org, other_org, make_member
):
    intruder = make_member(other_org, Role.HR_ADMIN)
    invitation = InvitationFactory(organization=org, email="meant@example.test")

    response = client_as(intruder).post(_link_of(invitation))

    with tenant_context(org):
        joined = Membership.objects.filter(user=intruder.user).exists()
        accepted_at = Invitation.objects.get(pk=invitation.pk).accepted_at
    assert response.status_code == 200
    assert (
        f"This invitation is for meant@example.test, but you are logged in as "
        f"{intruder.user.email}." in response.content.decode()
    )
    assert (joined, accepted_at) == (False, None)


def test_invitation_link_asks_an_existing_account_to_log_in_first(org):
    UserFactory(email="known@example.test")
    invitation = InvitationFactory(organization=org, email="known@example.test")

    response = Client().post(_link_of(invitation), _new_account())

    with tenant_context(org):
        accepted_at = Invitation.objects.get(pk=invitation.pk).accepted_at
    assert response.status_code == 200
    assert "Log in first, then open the invitation link again." in (
        response.content.decode()
    )
    assert accepted_at is None
