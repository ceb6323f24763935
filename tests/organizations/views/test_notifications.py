"""The notifications page, the bell's unread count, marking read, and the in-app
switches on the preferences page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.enums import NotificationKind
from organizations.models import Notification, User
from organizations.tenancy import tenant_context


def add(member, count: int, *, read: bool = False, org=None) -> list[Notification]:
    organization = org or member.organization
    with tenant_context(organization):
        start = Notification.objects.filter(recipient=member.user).count()
        return [
            Notification.objects.create(
                organization=organization,
                recipient=member.user,
                kind=NotificationKind.REMINDER,
                key=f"test:{start + i}",
                title=f"Reminder {start + i}",
                path=reverse("organizations:home", args=[organization.slug]),
                read_at=organization.created_at if read else None,
            )
            for i in range(count)
        ]


def url(member, name: str = "notifications", *args: object) -> str:
    return reverse(f"organizations:{name}", args=[member.organization.slug, *args])


def bell(response) -> str:
    text = response.content.decode()
    start = text.index('data-testid="notification-bell"')
    return text[start : text.index("</a>", start)]


@pytest.mark.parametrize(("unread", "label"), [(0, ""), (3, ">3<"), (12, ">9+<")])
def test_bell_shows_the_unread_count(client_as, employee_member, unread, label):
    add(employee_member, 2, read=True)
    add(employee_member, unread)

    response = client_as(employee_member).get(url(employee_member, "home"))

    if label:
        assert label in bell(response)
    else:
        assert "badge" not in bell(response)


def test_bell_is_hidden_for_anonymous_visitors(client):
    response = client.get(reverse("login"))

    assert 'data-testid="notification-bell"' not in response.content.decode()


def test_list_shows_only_my_notifications_newest_first(
    client_as, employee_member, make_member, other_org
):
    colleague = make_member(employee_member.organization)
    add(colleague, 1)
    elsewhere = make_member(other_org, user=employee_member.user)
    add(elsewhere, 1)
    mine = add(employee_member, 2)

    response = client_as(employee_member).get(url(employee_member))

    assert response.status_code == 200
    assert [n.pk for n in response.context["rows"]] == [mine[1].pk, mine[0].pk]


def test_opening_one_marks_it_read_and_goes_to_its_target(client_as, employee_member):
    first, _second = add(employee_member, 2)
    client = client_as(employee_member)

    response = client.post(url(employee_member, "notification_open", first.pk))

    assert response.status_code == 302
    assert response["Location"] == first.path
    page = client.get(url(employee_member, "home"))
    assert ">1<" in bell(page)


def test_mark_all_read_clears_the_count(client_as, employee_member):
    add(employee_member, 3)
    client = client_as(employee_member)

    response = client.post(url(employee_member, "notification_read_all"))

    assert response.status_code == 302
    with tenant_context(employee_member.organization):
        unread = Notification.objects.filter(read_at__isnull=True).count()
    assert unread == 0
    assert "badge" not in bell(client.get(url(employee_member, "home")))


def test_mark_all_read_leaves_other_people_and_organisations_alone(
    client_as, employee_member, make_member, other_org
):
    colleague = make_member(employee_member.organization)
    add(colleague, 1)
    elsewhere = make_member(other_org, user=employee_member.user)
    add(elsewhere, 1)

    client_as(employee_member).post(url(employee_member, "notification_read_all"))

    for member in (colleague, elsewhere):
        with tenant_context(member.organization):
            assert Notification.objects.get().read_at is None


@pytest.mark.parametrize("whose", ["colleague", "other_org"])
def test_opening_someone_elses_notification_is_404(
    client_as, employee_member, make_member, other_org, whose
):
    if whose == "colleague":
        owner = make_member(employee_member.organization)
    else:
        owner = make_member(other_org, user=employee_member.user)
    (theirs,) = add(owner, 1)

    response = client_as(employee_member).post(
        url(employee_member, "notification_open", theirs.pk)
    )

    assert response.status_code == 404
    with tenant_context(owner.organization):
        assert Notification.objects.get().read_at is None


def test_marking_needs_post(client_as, employee_member):
    (one,) = add(employee_member, 1)
    client = client_as(employee_member)

    assert (
        client.get(url(employee_member, "notification_open", one.pk)).status_code == 405
    )
    assert client.get(url(employee_member, "notification_read_all")).status_code == 405


def test_list_query_count_is_flat_in_rows(client_as, employee_member):
    client = client_as(employee_member)
    add(employee_member, 1)
    client.get(url(employee_member))
    with CaptureQueriesContext(connection) as one:
        client.get(url(employee_member))
    add(employee_member, 20)
    with CaptureQueriesContext(connection) as many:
        client.get(url(employee_member))

    assert len(many.captured_queries) == len(one.captured_queries)


def test_preferences_switch_a_kind_off_in_app_and_keep_email(
    client_as, employee_member
):
    kept = [k for k in NotificationKind.values if k != NotificationKind.REMINDER]
    client = client_as(employee_member)

    page = client.get(
        reverse("feedback:preferences", args=[employee_member.organization.slug])
    )
    response = client.post(
        reverse("feedback:preferences", args=[employee_member.organization.slug]),
        {"optional_emails": "on", "in_app": kept},
    )

    assert 'name="in_app"' in page.content.decode()
    assert response.status_code == 302
    user = User.objects.get(pk=employee_member.user.pk)
    assert (user.optional_emails, user.muted_notification_kinds) == (
        True,
        [NotificationKind.REMINDER],
    )
