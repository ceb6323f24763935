"""Accounts: login and its throttling, redirects, logout, session revocation, the
organisation switcher and password reset."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from organizations.enums import Role
from organizations.models import Membership
from organizations.tenancy import tenant_context
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"


def _login(client: Client, email: str, password: str, **extra: Any) -> Any:
    return client.post(
        reverse("login"), {"username": email, "password": password, **extra}
    )


def _logged_in_user_id(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


def _home(org: Any) -> str:
    return reverse("organizations:home", args=[org.slug])


# --- login -------------------------------------------------------------------------


def test_login_with_email_and_password_works(hr_admin):
    client = Client()

    response = _login(client, hr_admin.user.email, TEST_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _logged_in_user_id(client) == hr_admin.user_id


def test_login_with_a_wrong_password_is_refused(hr_admin):
    client = Client()

    response = _login(client, hr_admin.user.email, "not-the-password")

    assert response.status_code == 200
    assert "Please enter a correct e-mail address and password." in (
        response.content.decode()
    )
    assert _logged_in_user_id(client) is None


def test_login_of_a_deactivated_user_is_refused(hr_admin):
    hr_admin.user.is_active = False
    hr_admin.user.save(update_fields=["is_active"])
    client = Client()

    response = _login(client, hr_admin.user.email, TEST_PASSWORD)

    assert response.status_code == 200
    assert _logged_in_user_id(client) is None


def test_login_is_locked_after_five_failures_even_with_the_right_password(hr_admin):
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, hr_admin.user.email, "wrong-guess")

    response = _login(client, hr_admin.user.email, TEST_PASSWORD)

    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    assert "Too many failed log-in attempts" in response.content.decode()
    assert _logged_in_user_id(client) is None


def test_login_after_four_failures_still_works(hr_admin):
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, hr_admin.user.email, "wrong-guess")

    response = _login(client, hr_admin.user.email, TEST_PASSWORD)

    assert response.status_code == 302
    assert _logged_in_user_id(client) == hr_admin.user_id


def test_login_lockout_is_per_user_name_and_address(hr_admin, manager):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), hr_admin.user.email, "wrong-guess")
    same_address_other_user = Client()
    other_address_same_user = Client(REMOTE_ADDR="10.9.8.7")

    responses = [
        _login(same_address_other_user, manager.user.email, TEST_PASSWORD),
        _login(other_address_same_user, hr_admin.user.email, TEST_PASSWORD),
    ]

    assert [r.status_code for r in responses] == [302, 302]


def test_login_lockout_behind_a_trusted_proxy_counts_the_address_it_saw(
    hr_admin, settings
):
    """Behind one proxy every request comes from the proxy's address: the lockout
    must key on the client address the proxy appended, not on the proxy, and not on
    what the client claims to the left of it."""
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for forged in range(settings.AXES_FAILURE_LIMIT):
        attacker = Client(
            HTTP_X_FORWARDED_FOR=f"192.0.2.{forged}, 203.0.113.5", **proxy
        )
        _login(attacker, hr_admin.user.email, "wrong-guess")
    attacker_again = Client(HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.5", **proxy)
    colleague_via_same_proxy = Client(HTTP_X_FORWARDED_FOR="203.0.113.77", **proxy)

    locked = _login(attacker_again, hr_admin.user.email, TEST_PASSWORD)
    other = _login(colleague_via_same_proxy, hr_admin.user.email, TEST_PASSWORD)

    assert locked.status_code == 429
    assert other.status_code == 302


def test_login_without_trusted_proxies_ignores_forwarded_for(hr_admin, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for forged in range(settings.AXES_FAILURE_LIMIT):
        _login(
            Client(HTTP_X_FORWARDED_FOR=f"192.0.2.{forged}"),
            hr_admin.user.email,
            "wrong-guess",
        )

    response = _login(
        Client(HTTP_X_FORWARDED_FOR="198.51.100.1"), hr_admin.user.email, TEST_PASSWORD
    )

    assert response.status_code == 429


def test_login_cool_off_is_finite_and_short():
    cool_off = settings.AXES_COOLOFF_TIME

    assert isinstance(cool_off, timedelta)
    assert timedelta(0) < cool_off <= timedelta(hours=1)


def test_login_lockout_ends_after_the_cool_off(hr_admin):
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, hr_admin.user.email, "wrong-guess")
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )

    response = _login(client, hr_admin.user.email, TEST_PASSWORD)

    assert response.status_code == 302
    assert _logged_in_user_id(client) == hr_admin.user_id


def test_login_lockout_still_holds_just_before_the_cool_off_ends(hr_admin):
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, hr_admin.user.email, "wrong-guess")
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME + timedelta(minutes=1)
    )

    response = _login(client, hr_admin.user.email, TEST_PASSWORD)

    assert response.status_code == 429


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
    ],
)
def test_login_refuses_an_offsite_next(hr_admin, target):
    response = _login(Client(), hr_admin.user.email, TEST_PASSWORD, next=target)

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_follows_a_local_next(hr_admin):
    target = reverse("organizations:people", args=[hr_admin.organization.slug])

    response = _login(Client(), hr_admin.user.email, TEST_PASSWORD, next=target)

    assert response["Location"] == target


def test_login_page_does_not_echo_an_offsite_next(db):
    response = Client().get(reverse("login"), {"next": "https://evil.example/"})

    assert response.status_code == 200
    assert "evil.example" not in response.content.decode()


def test_tenant_page_sends_anonymous_visitors_to_login_and_back(hr_admin):
    client = Client()
    people = reverse("organizations:people", args=[hr_admin.organization.slug])

    first = client.get(people)
    login = _login(client, hr_admin.user.email, TEST_PASSWORD, next=people)

    assert first.status_code == 302
    assert first["Location"] == f"{LOGIN_URL}?next={people}"
    assert login["Location"] == people
    assert client.get(people).status_code == 200


# --- logout and revoked access ----------------------------------------------------------


def test_logout_by_get_is_refused(client_as, hr_admin):
    client = client_as(hr_admin)

    response = client.get(reverse("logout"))

    assert response.status_code == 405
    assert _logged_in_user_id(client) == hr_admin.user_id


def test_logout_by_post_ends_the_session(client_as, hr_admin):
    client = client_as(hr_admin)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert _logged_in_user_id(client) is None
    assert client.get(_home(hr_admin.organization)).status_code == 302


def test_deactivated_user_is_logged_out_on_the_next_request(client_as, hr_admin):
    client = client_as(hr_admin)
    assert client.get(_home(hr_admin.organization)).status_code == 200
    hr_admin.user.is_active = False
    hr_admin.user.save(update_fields=["is_active"])

    response = client.get(_home(hr_admin.organization))
    root = client.get("/")

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == LOGIN_URL
    assert (root.status_code, urlsplit(root["Location"]).path) == (302, LOGIN_URL)


def test_inactive_membership_is_404_on_the_next_request_other_orgs_still_work(
    client_as, org, other_org, make_member
):
    here = make_member(org, Role.MANAGER)
    make_member(other_org, Role.EMPLOYEE, user=here.user)
    client = client_as(here)
    assert client.get(_home(org)).status_code == 200
    with tenant_context(org):
        Membership.objects.filter(pk=here.pk).update(is_active=False)

    responses = [client.get(_home(org)), client.get(_home(other_org))]

    assert [r.status_code for r in responses] == [404, 200]


def test_removed_membership_is_404_on_the_next_request_other_orgs_still_work(
    client_as, org, other_org, make_member
):
    here = make_member(org, Role.MANAGER, employee=False)
    make_member(other_org, Role.EMPLOYEE, user=here.user)
    client = client_as(here)
    assert client.get(_home(org)).status_code == 200
    with tenant_context(org):
        Membership.objects.filter(pk=here.pk).delete()

    responses = [client.get(_home(org)), client.get(_home(other_org))]

    assert [r.status_code for r in responses] == [404, 200]


def test_organization_without_membership_is_404(client_as, hr_admin, other_org):
    response = client_as(hr_admin).get(_home(other_org))

    assert response.status_code == 404


def test_unknown_organization_is_404(client_as, hr_admin):
    response = client_as(hr_admin).get("/o/no-such-org/")

    assert response.status_code == 404


# --- organisation switcher --------------------------------------------------------------


def test_switcher_sends_a_member_of_one_organization_straight_there(
    client_as, hr_admin
):
    response = client_as(hr_admin).get("/")

    assert response.status_code == 302
    assert response["Location"] == _home(hr_admin.organization)


def test_switcher_lists_both_organizations_and_each_opens(
    client_as, org, other_org, make_member
):
    here = make_member(org, Role.HR_ADMIN)
    make_member(other_org, Role.EMPLOYEE, user=here.user)
    client = client_as(here)

    response = client.get("/")

    links = re.findall(r'href="(/o/[^"]+/)"', response.content.decode())
    assert response.status_code == 200
    assert [m.organization for m in response.context["choices"]] == [org, other_org]
    assert sorted(set(links)) == sorted([_home(org), _home(other_org)])
    assert [client.get(link).status_code for link in sorted(set(links))] == [200, 200]


def test_switcher_leaves_out_inactive_memberships(
    client_as, org, other_org, make_member
):
    here = make_member(org, Role.HR_ADMIN)
    make_member(other_org, Role.EMPLOYEE, user=here.user, is_active=False)

    response = client_as(here).get("/")

    assert response.status_code == 302
    assert response["Location"] == _home(org)


def test_switcher_explains_when_there_is_no_organization(db):
    user = UserFactory()
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get("/")

    assert response.status_code == 200
    assert "No organisation yet" in response.content.decode()


# --- password reset ----------------------------------------------------------------


def test_password_reset_sends_an_email_to_a_known_address(hr_admin, mailoutbox):
    response = Client().post(reverse("password_reset"), {"email": hr_admin.user.email})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert [m.to for m in mailoutbox] == [[hr_admin.user.email]]
    assert "/accounts/password/reset/" in mailoutbox[0].body


def test_password_reset_shows_the_same_page_for_an_unknown_address(
    hr_admin, mailoutbox
):
    client = Client()

    response = client.post(
        reverse("password_reset"), {"email": "stranger@example.test"}
    )
    page = client.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mailoutbox == []
    assert page.status_code == 200
    assert "Check your e-mail" in page.content.decode()


def test_password_reset_link_sets_a_new_password(hr_admin, mailoutbox):
    client = Client()
    client.post(reverse("password_reset"), {"email": hr_admin.user.email})
    link = re.search(r"https?://\S+/accounts/password/reset/\S+/", mailoutbox[0].body)
    assert link is not None
    form_url = client.get(urlsplit(link.group(0)).path)["Location"]

    response = client.post(
        form_url,
        {"new_password1": "Fresh-Harbour-77", "new_password2": "Fresh-Harbour-77"},
    )

    hr_admin.user.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_complete")
    assert hr_admin.user.check_password("Fresh-Harbour-77") is True
