"""German, complete: a member who chose German (or whose organisation speaks it) sees
no English sentence of the catalogue on any page, numbers and dates follow the
locale, and what reaches them in the background (e-mails, notifications) speaks
their language. See docs/translation.md."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

from organizations.enums import Role
from organizations.models import Notification
from organizations.notifications import queue_email
from organizations.tenancy import tenant_context
from tests.authz.engine import close_download
from tests.authz.policy import ORG_KWARG
from tests.authz.table import POLICY
from tests.engagement_factories import GoalFactory, PlanFactory
from tests.factories import TEST_PASSWORD, EmployeeFactory
from tests.organizations.views.query_budget import HTMX_ONLY
from tests.organizations.views.test_query_counts import _hr_admin_pages

pytestmark = pytest.mark.django_db

MO_FILE = settings.BASE_DIR / "locale" / "de" / "LC_MESSAGES" / "django.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|%[sdf]|\{\w*\}|%%|<[^>]+>")
ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}


class _Visible(HTMLParser):
    """The text a reader sees or hears: data outside scripts and styles, and the
    attributes that label things."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "template"}:
            self._hidden += 1
        self.parts.extend(v for k, v in attrs if k in ATTRIBUTES and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "template"} and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def english_sentences() -> list[str]:
    """Pieces of three words or more of every catalogue entry whose German differs:
    what must never show on a German page. Placeholders and tags split a msgid."""
    catalog = trans_real.translation("de")._catalog  # the merged catalogue
    pieces: set[str] = set()
    for msgid, msgstr in catalog.items():
        if not isinstance(msgid, str) or not msgid or msgid == msgstr:
            continue
        for piece in PLACEHOLDER.split(html.unescape(msgid)):
            piece = " ".join(piece.split()).strip(" .,:;·()“”\"'")
            if len(piece.split()) >= 3 and piece not in msgstr:
                pieces.add(piece)
    return sorted(pieces)


def english_on(text: str, sentences: list[str]) -> list[str]:
    """The sentences that stand in ``text`` as whole words ("on Engagement HRMS" is
    not in "Hauptnavigation Engagement HRMS")."""
    return [
        sentence
        for sentence in sentences
        if sentence in text and re.search(rf"(?<!\w){re.escape(sentence)}(?!\w)", text)
    ]


@pytest.fixture
def german_catalogue() -> list[str]:
    assert MO_FILE.exists(), "Compile the catalogues first: make compile-messages"
    sentences = english_sentences()
    assert len(sentences) > 500
    return sentences


def _page_urls(world: Any) -> list[tuple[str, str, bool]]:
    urls = []
    for page in _hr_admin_pages():
        name, _, query = page.partition("?")
        kwargs: dict[str, Any] = {ORG_KWARG: world.org.slug}
        if POLICY[name].target_kind is not None:
            kwargs.update(world.objects[POLICY[name].target_kind])
        url = reverse(name, kwargs=kwargs) + (f"?{query}" if query else "")
        urls.append((name, url, name in HTMX_ONLY))
    return urls


def _walk(client: Any, urls: list[tuple[str, str, bool]], sentences: list[str]):
    found: dict[str, list[str]] = {}
    walked = 0
    for name, url, htmx in urls:
        response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
        if getattr(response, "streaming", False):
            close_download(response)  # a file download: not a page
            continue
        if response.status_code != 200 or "text/html" not in response.get(
            "Content-Type", ""
        ):
            continue
        walked += 1
        english = english_on(visible_text(response.content.decode()), sentences)
        if english:
            found[name] = english
    return walked, found


def test_hr_pages_in_german_show_no_english_sentence(
    directory, client_as, german_catalogue
):
    directory.admin.user.language = "de"
    directory.admin.user.save(update_fields=["language"])
    client = client_as(directory.admin)

    # Notification titles are written when the event happens, in the language the
    # recipient had then (test_a_notification_reaches_its_recipient_in_their_language).
    urls = [
        url for url in _page_urls(directory) if url[0] != "organizations:notifications"
    ]
    walked, found = _walk(client, urls, german_catalogue)

    assert walked > 100
    assert found == {}


def test_employee_pages_in_the_organisations_german_show_no_english_sentence(
    directory, make_member, client_as, german_catalogue
):
    directory.org.language = "de"
    directory.org.save(update_fields=["language"])
    member = make_member(directory.org, Role.EMPLOYEE)
    slug = {ORG_KWARG: directory.org.slug}
    urls = [
        (name, reverse(name, kwargs=slug), False)
        for name in (
            "organizations:home",
            "feedback:my_feedback",
            "feedback:preferences",
            "appraisals:my_appraisals",
            "organizations:notifications",
        )
    ]

    walked, found = _walk(client_as(member), urls, german_catalogue)

    assert walked == len(urls)
    assert found == {}


def test_the_check_finds_english_on_an_english_page(
    directory, client_as, german_catalogue
):
    page = client_as(directory.admin).get(
        reverse("organizations:home", kwargs={ORG_KWARG: directory.org.slug})
    )
    assert english_on(visible_text(page.content.decode()), german_catalogue)


def test_a_german_page_says_german_and_formats_numbers_the_german_way(
    org, make_member, client_as
):
    hr = make_member(org, Role.HR_ADMIN, user__language="de")
    plan = PlanFactory(organization=org, employee=EmployeeFactory(organization=org))
    goal = GoalFactory(
        plan=plan,
        target_value=Decimal("150000"),
        actual_value=Decimal("1234.5"),
        unit="EUR",
    )
    url = reverse(
        "engagements:goal_detail", kwargs={ORG_KWARG: org.slug, "pk": goal.pk}
    )

    german = client_as(hr).get(url)
    hr.user.language = "en-gb"
    hr.user.save(update_fields=["language"])
    english = client_as(hr).get(url)

    assert german.status_code == english.status_code == 200
    assert 'lang="de"' in german.content.decode()
    assert "150.000 EUR" in german.content.decode()
    assert "1.234,50 EUR" in german.content.decode()
    assert "150,000 EUR" in english.content.decode()
    assert "1,234.50 EUR" in english.content.decode()


def test_the_member_language_wins_over_the_organisations(org, make_member):
    org.language = "de"
    chooser = make_member(org, user__language="en-gb")
    follower = make_member(org)

    assert chooser.user.language_in(org) == "en-gb"
    assert follower.user.language_in(org) == "de"


def test_preferences_switch_the_language_and_refuse_an_unknown_one(
    org, make_member, client_as
):
    member = make_member(org)
    client = client_as(member)
    url = reverse("feedback:preferences", kwargs={ORG_KWARG: org.slug})

    refused = client.post(url, {"language": "xx", "optional_emails": "on"})
    member.user.refresh_from_db()
    assert refused.status_code == 400
    assert "xx is not one of the available choices" in refused.content.decode()
    assert member.user.language == ""

    saved = client.post(url, {"language": "de", "optional_emails": "on"}, follow=True)
    member.user.refresh_from_db()
    assert member.user.language == "de"
    assert "Gespeichert" in saved.content.decode()
    assert 'lang="de"' in saved.content.decode()
    assert saved["Content-Language"] == "de"
    # Pages outside the organisation follow (the language cookie).
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    password_page = client.get(reverse("password_change"))
    assert 'lang="de"' in password_page.content.decode()

    client.post(url, {"language": "", "optional_emails": "on"})
    member.user.refresh_from_db()
    assert member.user.language == ""
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""


def test_signing_in_brings_the_members_language_to_pages_outside_organisations(
    org, make_member, client
):
    member = make_member(org, user__language="de")

    response = client.post(
        reverse("login"), {"username": member.user.email, "password": TEST_PASSWORD}
    )

    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert 'lang="de"' in client.get(reverse("password_change")).content.decode()


def test_a_notification_reaches_its_recipient_in_their_language(
    org, make_member, django_capture_on_commit_callbacks
):
    german = make_member(org, user__language="de")
    english = make_member(org)
    with tenant_context(org), translation.override("en-gb"):
        with django_capture_on_commit_callbacks(execute=True):
            for member in (german, english):
                queue_email(
                    organization=org,
                    key=f"feedback.shared:1:{member.user.pk}",
                    template="feedback/email/feedback_shared.txt",
                    context={"path": "/", "author": "Alex", "engagement": "Audit"},
                    user=member.user,
                )
        titles = {
            n.recipient_id: n.title
            for n in _notifications_of(org, [german.user.pk, english.user.pk])
        }

    by_address = {m.to[0]: m.subject for m in mail.outbox}
    assert by_address[german.user.email] == titles[german.user.pk]
    assert by_address[english.user.email] == titles[english.user.pk]
    assert titles[german.user.pk] != titles[english.user.pk]


def _notifications_of(org: Any, user_ids: list[int]) -> list[Any]:
    return list(Notification.objects.filter(recipient_id__in=user_ids))


def test_every_language_is_offered_in_its_own_name():
    assert dict(settings.LANGUAGES) == {"en-gb": "English", "de": "Deutsch"}
