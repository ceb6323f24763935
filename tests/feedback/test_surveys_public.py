"""The public survey page: answering through the signed link, friendly pages for
unusable links, bad input, the rate limit, and that it reveals nothing about the
organisation beyond the engagement's name."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import signing
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from engagements.models import Engagement
from feedback.models import ClientSurvey, ClientSurveyRating
from feedback.selectors.surveys import SURVEY_SALT, survey_token
from feedback.views.surveys import rate_limit_key
from organizations.models import Employee, Organization
from organizations.tenancy import tenant_context
from tests.engagement_factories import (
    ClientFactory,
    EngagementFactory,
    PlanFactory,
    ReviewCycleFactory,
)
from tests.factories import EmployeeFactory, MembershipFactory, OrganizationFactory
from tests.feedback_factories import ClientSurveyFactory

pytestmark = pytest.mark.django_db

TEST_IPS = ("127.0.0.1", "10.0.0.7", "203.0.113.5", "198.51.100.9", "192.0.2.1")


@pytest.fixture(autouse=True)
def _clear_rate_limit() -> Iterator[None]:
    """The cache is shared (Redis db 15): start and end every test with no counters."""
    keys = [rate_limit_key(ip) for ip in TEST_IPS]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="zephyr", name="Zephyr Holdings")


@pytest.fixture
def engagement(org: Organization) -> Engagement:
    client = ClientFactory(
        organization=org, name="Quillon Bank", contact_email="buyer@quillon.test"
    )
    return EngagementFactory(
        organization=org, client=client, code="QX-77", name="Data platform rebuild"
    )


@pytest.fixture
def team(org: Organization, engagement: Engagement) -> list[Employee]:
    manager = EmployeeFactory(organization=org, full_name="Moira Lindqvist")
    people = [
        EmployeeFactory(
            organization=org, full_name=name, code=code, line_manager=manager
        )
        for name, code in (("Ada Brook", "EMP-ADA-1"), ("Ben Carver", "EMP-BEN-2"))
    ]
    cycle = ReviewCycleFactory(organization=org)
    for person in people:
        PlanFactory(
            organization=org, cycle=cycle, employee=person, engagement=engagement
        )
    return people


@pytest.fixture
def survey(engagement: Engagement, team: list[Employee]) -> ClientSurvey:
    return ClientSurveyFactory(
        organization=engagement.organization,
        engagement=engagement,
        contact_email="dana@quillon.test",
    )


def _url(survey: ClientSurvey) -> str:
    return reverse("survey:answer", args=[survey_token(survey)])


def _reason(response: Any) -> str | None:
    match = re.search(r'data-reason="([a-z_]+)"', response.content.decode())
    return match.group(1) if match else None


def _state(survey: ClientSurvey) -> tuple[Any, ...]:
    with tenant_context(survey.organization):
        survey.refresh_from_db()
        ratings = dict(
            ClientSurveyRating.objects.filter(survey=survey).values_list(
                "employee_id", "rating"
            )
        )
    return survey.answered_at is not None, survey.overall, survey.comment, ratings


def _answer(team: list[Employee], **extra: str) -> dict[str, str]:
    data = {
        "overall": "4",
        f"rating_{team[0].pk}": "5",
        "comment": "Sharp analysis <b>and</b> on time.",
    }
    data.update(extra)
    return data


# --- Answering ----------------------------------------------------------------------


def test_survey_page_shows_the_engagement_and_the_staffed_people(client, survey, team):
    response = client.get(_url(survey))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Data platform rebuild" in page
    assert [p.full_name in page for p in team] == [True, True]
    assert f'name="rating_{team[0].pk}"' in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_survey_page_reveals_nothing_of_the_organisation(
    client, org, engagement, survey, team
):
    reviewer = EmployeeFactory(organization=org, full_name="Rhea Reviewer")
    unstaffed = EmployeeFactory(organization=org, full_name="Uma Unstaffed")

    page = client.get(_url(survey)).content.decode()

    for secret in (
        org.name,
        org.slug,
        "Quillon Bank",
        "QX-77",
        "EMP-ADA-1",
        "EMP-BEN-2",
        team[0].email,
        team[0].job_title.name,
        "Moira Lindqvist",  # a line manager
        reviewer.full_name,
        unstaffed.full_name,
        "dana@quillon.test",
        "buyer@quillon.test",
        "Engagement HRMS",
    ):
        assert secret not in page, secret
    assert "<a " not in page  # no navigation, no login link
    assert "/o/" not in page
    assert "/accounts/" not in page


def test_survey_page_for_a_signed_in_member_shows_no_account_details(
    client_as, org, survey
):
    member = MembershipFactory(organization=org)

    page = client_as(member).get(_url(survey)).content.decode()

    assert org.name not in page
    assert member.user.email not in page
    assert "Log out" not in page


def test_survey_answer_records_it_and_thanks(client, survey, team):
    response = client.post(_url(survey), _answer(team))

    assert response.status_code == 200
    assert _reason(response) == "thanks"
    assert _state(survey) == (
        True,
        4,
        "Sharp analysis <b>and</b> on time.",
        {team[0].pk: 5},
    )


def test_survey_answer_twice_gets_the_already_answered_page(client, survey, team):
    client.post(_url(survey), _answer(team))

    again = client.post(_url(survey), _answer(team, overall="1", comment="Other"))
    reopened = client.get(_url(survey))

    assert (again.status_code, _reason(again)) == (410, "answered")
    assert (reopened.status_code, _reason(reopened)) == (410, "answered")
    assert _state(survey)[1:3] == (4, "Sharp analysis <b>and</b> on time.")


def test_survey_link_expired_gets_the_expired_page(client, engagement, team):
    expired = ClientSurveyFactory(
        organization=engagement.organization,
        engagement=engagement,
        expires_at=timezone.now() - timedelta(minutes=5),
    )

    shown = client.get(_url(expired))
    posted = client.post(_url(expired), _answer(team))

    assert (shown.status_code, _reason(shown)) == (410, "expired")
    assert (posted.status_code, _reason(posted)) == (410, "expired")
    assert _state(expired) == (False, None, "", {})
    assert "Data platform rebuild" not in shown.content.decode()


def _signed(payload: dict[str, Any]) -> str:
    return signing.dumps(payload, salt=SURVEY_SALT)


def test_survey_links_tampered_unknown_and_foreign_get_one_identical_page(
    client, org, survey, team
):
    other_org = OrganizationFactory(slug="elsewhere", name="Elsewhere Ltd")
    theirs = ClientSurveyFactory(organization=other_org)
    token = survey_token(survey)
    links = {
        "tampered": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "garbage": "nonsense",
        "unknown": _signed({"o": org.pk, "s": 987654, "n": survey.nonce.hex}),
        "foreign": _signed({"o": org.pk, "s": theirs.pk, "n": theirs.nonce.hex}),
    }

    responses = {
        name: client.get(reverse("survey:answer", args=[link]))
        for name, link in links.items()
    }
    posted = client.post(
        reverse("survey:answer", args=[links["foreign"]]), _answer(team)
    )

    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(
        links, 400
    )
    assert len({r.content for r in responses.values()}) == 1
    assert _reason(responses["foreign"]) == "tampered"
    assert posted.status_code == 400
    assert _state(survey) == (False, None, "", {})
    with tenant_context(other_org):
        theirs.refresh_from_db()
    assert theirs.answered_at is None


def test_survey_link_after_the_nonce_changed_is_tampered(client, survey):
    old_link = _url(survey)
    with tenant_context(survey.organization):
        ClientSurvey.objects.filter(pk=survey.pk).update(
            nonce="00000000-0000-4000-8000-000000000000"
        )

    response = client.get(old_link)

    assert (response.status_code, _reason(response)) == (400, "tampered")


# --- Bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"overall": None}, "Choose how satisfied you are overall, from 1 to 5."),
        ({"overall": "0"}, "Choose a rating from 1 to 5."),
        ({"overall": "6"}, "Choose a rating from 1 to 5."),
        ({"rating": "9"}, "Choose a rating from 1 to 5."),
        ({"stranger": "4"}, "Only the people listed in the survey can be rated."),
        ({"comment": "x" * 4001}, "Ensure this value has at most 4000 characters"),
    ],
)
def test_survey_bad_input_shows_a_message_and_saves_nothing(
    client, org, survey, team, change, message
):
    stranger = EmployeeFactory(organization=org)  # not staffed on the engagement
    data = _answer(team)
    if "overall" in change:
        data.pop("overall")
        if change["overall"] is not None:
            data["overall"] = change["overall"]
    if "rating" in change:
        data[f"rating_{team[0].pk}"] = change["rating"]
    if "stranger" in change:
        data[f"rating_{stranger.pk}"] = change["stranger"]
    if "comment" in change:
        data["comment"] = change["comment"]

    response = client.post(_url(survey), data)

    page = response.content.decode()
    assert response.status_code == 400
    assert message in page.replace("&#x27;", "'")
    assert "Nothing was saved" in page
    assert _state(survey) == (False, None, "", {})


def test_survey_bad_input_keeps_what_was_typed(client, survey, team):
    response = client.post(_url(survey), _answer(team, overall="9"))

    page = response.content.decode()
    assert "Sharp analysis &lt;b&gt;and&lt;/b&gt; on time." in page
    assert "<b>and</b>" not in page  # the comment is escaped, never rendered


def test_survey_rating_nobody_but_overall_is_accepted(client, survey, team):
    response = client.post(_url(survey), {"overall": "3"})

    assert response.status_code == 200
    assert _state(survey) == (True, 3, "", {})


# --- Rate limit ---------------------------------------------------------------------


def test_rate_limit_answers_429_after_the_limit(client, settings, survey):
    settings.SURVEY_RATE_LIMIT = 3
    url = _url(survey)

    statuses = [client.get(url).status_code for _ in range(4)]

    blocked = client.get(url)
    assert statuses == [200, 200, 200, 429]
    assert blocked.status_code == 429
    assert _reason(blocked) == "rate_limited"
    assert blocked["Retry-After"] == "60"


def test_rate_limit_counts_bad_links_too(client, settings, survey):
    settings.SURVEY_RATE_LIMIT = 2
    bad = reverse("survey:answer", args=["guess"])

    statuses = [client.get(bad).status_code for _ in range(2)]

    assert statuses == [400, 400]
    assert client.get(_url(survey)).status_code == 429


def test_rate_limit_is_per_address(client, settings, survey):
    settings.SURVEY_RATE_LIMIT = 2
    url = _url(survey)
    for _ in range(3):
        client.get(url)

    other = client.get(url, REMOTE_ADDR="10.0.0.7")

    assert client.get(url).status_code == 429
    assert other.status_code == 200


def test_rate_limit_recovers_after_the_window(client, settings, survey):
    settings.SURVEY_RATE_LIMIT = 2
    settings.SURVEY_RATE_WINDOW = 1
    url = _url(survey)
    statuses = [client.get(url).status_code for _ in range(3)]

    time.sleep(1.2)

    assert statuses == [200, 200, 429]
    assert client.get(url).status_code == 200


def test_rate_limit_ignores_forwarded_for_without_trusted_proxies(
    client, settings, survey
):
    settings.SURVEY_RATE_LIMIT = 2
    settings.TRUSTED_PROXY_COUNT = 0
    url = _url(survey)

    statuses = [
        client.get(url, HTTP_X_FORWARDED_FOR=ip).status_code
        for ip in ("10.0.0.7", "203.0.113.5", "198.51.100.9")
    ]

    assert statuses == [200, 200, 429]


def test_rate_limit_behind_a_trusted_proxy_uses_the_address_it_saw(
    client, settings, survey
):
    settings.SURVEY_RATE_LIMIT = 2
    settings.TRUSTED_PROXY_COUNT = 1
    url = _url(survey)

    # The client forges the left part; the proxy appended what it saw (203.0.113.5).
    forged = [
        client.get(url, HTTP_X_FORWARDED_FOR=f"{fake}, 203.0.113.5").status_code
        for fake in ("10.0.0.7", "198.51.100.9", "192.0.2.1")
    ]
    another_client = client.get(url, HTTP_X_FORWARDED_FOR="10.0.0.7")

    assert forged == [200, 200, 429]
    assert another_client.status_code == 200
