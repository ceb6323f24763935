"""Anonymous feedback requests: nobody — the subject, the requester, managers,
reviewers, HR admins, nor the author later — can tell who wrote which answer.

Each rule of the issue has its own test, asserted on what leaves the server (raw
HTML, e-mails) and on what is stored: no author or ask on an answer, no data-* or id
hints near answers, answers ordered by their random id and never by time, day-only
dates, nothing shown below three answers, counts instead of a per-person ask list."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from feedback.enums import ANONYMITY_THRESHOLD, AskStatus
from feedback.models import Feedback, FeedbackAnswer, FeedbackAsk, FeedbackRequest
from feedback.services.asks import decline_request
from organizations.enums import Role
from organizations.models import Membership, Organization, SentEmail
from organizations.tenancy import tenant_context
from tests.feedback.test_requests_services import MakeMember, RequestWorld, build_world

pytestmark = pytest.mark.django_db

ClientAs = Callable[[Membership | None], Client]
# Distinctive names, so that a leak anywhere in a page would be found.
NAMES = (
    "Quentin Zephyrwood",
    "Rhiannon Xanthos",
    "Severin Vellacourt",
    "Tamsin Ulverby",
)
READERS = ["boss", "subject", "hr", "reviewer", "approver"]


@pytest.fixture
def world(org: Organization, make_member: MakeMember) -> RequestWorld:
    return build_world(org, make_member, peer_names=NAMES)


def _anonymous(world: RequestWorld, **kwargs: Any) -> FeedbackRequest:
    kwargs.setdefault("requestees", [world.employee(p) for p in world.peers[:4]])
    return world.create(actor=world.boss, anonymous=True, **kwargs)


def _page(client_as: ClientAs, member: Membership, world: RequestWorld, pk: int) -> str:
    url = reverse("feedback:request_detail", args=[world.org.slug, pk])
    response = client_as(member).get(url)
    assert response.status_code == 200
    return response.content.decode()


def _answers_section(page: str) -> str:
    start = page.index('id="anon-answers"')
    return page[start : page.index("</section>", start)]


def test_anonymous_answer_stores_no_author_and_no_link_to_its_ask(
    world: RequestWorld,
) -> None:
    created = _anonymous(world, questions="Keep doing?\nChange?")

    answer = world.answer(created, world.peers[0], "Listening", "Nothing")

    assert {f.name for f in FeedbackAnswer._meta.concrete_fields} == {
        "id",
        "organization",
        "request",
        "answers",
        "submitted_on",
    }
    assert isinstance(answer.pk, uuid.UUID)
    assert answer.answers == [
        {"question": "Keep doing?", "answer": "Listening"},
        {"question": "Change?", "answer": "Nothing"},
    ]
    ask = world.ask_of(created, world.peers[0])
    assert (ask.status, ask.closed_on) == (AskStatus.ANSWERED, world.today())
    with tenant_context(world.org):
        # Neither the ask nor the request changed in a way that names the answer.
        assert not Feedback.objects.filter(ask=ask).exists()
        assert FeedbackRequest.history.filter(id=created.pk).count() == 1


def test_anonymous_answers_are_dated_to_the_day_only(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = _anonymous(world)
    for peer in world.peers[:3]:
        world.answer(created, peer, "Fine")

    section = _answers_section(_page(client_as, world.boss, world, created.pk))

    with tenant_context(world.org):
        days = set(FeedbackAnswer.objects.values_list("submitted_on", flat=True))
    assert days == {world.today()}
    assert FeedbackAnswer._meta.get_field("submitted_on").get_internal_type() == (
        "DateField"
    )
    assert not re.search(r"\d{1,2}:\d{2}", section)  # no time of day anywhere


def test_answers_are_hidden_until_three_exist(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = _anonymous(world)
    world.answer(created, world.peers[0], "Answer text one")
    world.answer(created, world.peers[1], "Answer text two")

    below = {
        who: _page(client_as, getattr(world, who), world, created.pk) for who in READERS
    }
    world.answer(created, world.peers[2], "Answer text three")
    at = _page(client_as, world.subject, world, created.pk)

    for page in below.values():
        assert "2 answers so far; they are shown once at least 3 exist." in page
        assert "Answer text" not in page
    for text in ("Answer text one", "Answer text two", "Answer text three"):
        assert text in at
    assert ANONYMITY_THRESHOLD == 3


@pytest.mark.parametrize("who", READERS)
def test_no_page_names_or_points_at_who_answered_or_declined(
    client_as: ClientAs, world: RequestWorld, who: str
) -> None:
    created = _anonymous(world)
    world.answer(created, world.peers[0], "First answer")
    world.answer(created, world.peers[1], "Second answer")
    world.answer(created, world.peers[2], "Third answer")
    with tenant_context(world.org):
        decline_request(
            actor=world.peers[3],
            ask=world.ask_of(created, world.peers[3]),
            reason="Zebra: not on the team",
        )
        asks = list(FeedbackAsk.objects.filter(request=created))
        requestee_ids = [a.requestee_id for a in asks]

    page = _page(client_as, getattr(world, who), world, created.pk)

    for name in NAMES:
        assert name not in page
    section = _answers_section(page)
    assert "data-" not in section
    assert not re.search(r'\sid="', section.split(">", 1)[1])  # no element ids
    for ask in asks:
        assert f"/asks/{ask.pk}/" not in page
    for pk in requestee_ids:
        assert f"/people/{pk}/" not in page
    with tenant_context(world.org):
        for answer in FeedbackAnswer.objects.all():
            assert str(answer.pk) not in page  # not even the random key
    assert "3 answered · 1 declined · 0 still open" in page
    assert "Zebra: not on the team" in page


def test_answers_are_ordered_by_their_random_key_never_by_time(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = _anonymous(world)
    # Written in time order with keys in reverse order.
    keys = ["f" * 32, "8" * 32, "1" * 32]
    with tenant_context(world.org):
        for index, key in enumerate(keys):
            FeedbackAnswer.objects.create(
                organization=world.org,
                request=created,
                id=uuid.UUID(key),
                answers=[{"question": "", "answer": f"Written as number {index}"}],
                submitted_on=world.today() - timedelta(days=2 - index),
            )

    section = _answers_section(_page(client_as, world.hr, world, created.pk))

    positions = [section.index(f"Written as number {n}") for n in (2, 1, 0)]
    assert positions == sorted(positions)


def test_decline_reasons_are_sorted_and_carry_no_name(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = _anonymous(world)
    with tenant_context(world.org):
        # The first requestee by name gives the reason that sorts last.
        for peer, reason in zip(
            world.peers[:2], ["Zulu reason", "Alpha reason"], strict=True
        ):
            decline_request(actor=peer, ask=world.ask_of(created, peer), reason=reason)

    page = _page(client_as, world.hr, world, created.pk)

    assert page.index("Alpha reason") < page.index("Zulu reason")
    for name in NAMES:
        assert name not in page


def test_requester_is_emailed_once_when_the_threshold_is_reached_without_names(
    world: RequestWorld,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    created = _anonymous(world)
    mailoutbox.clear()

    for peer in world.peers[:2]:
        with django_capture_on_commit_callbacks(execute=True):
            world.answer(created, peer, "Early")
    after_two = len(mailoutbox)
    for peer in world.peers[2:4]:
        with django_capture_on_commit_callbacks(execute=True):
            world.answer(created, peer, "Later")

    assert after_two == 0
    assert [m.to for m in mailoutbox] == [[world.boss.user.email]]
    message = mailoutbox[0]
    assert message.subject.startswith("3 anonymous answers about")
    assert "3 answers are ready to read" in message.body
    for name in NAMES:
        assert name not in message.subject + message.body
    with tenant_context(world.org):
        ready = SentEmail.objects.filter(key__startswith="feedback.request_ready").get()
    # The key names the request and the recipient, and so no answer (no ask id),
    # whatever ids the answers happen to have.
    assert ready.key == f"feedback.request_ready:{created.pk}:{world.boss.user_id}"


def test_declining_an_anonymous_request_emails_nobody(
    world: RequestWorld,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    created = _anonymous(world)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.org):
        decline_request(
            actor=world.peers[0], ask=world.ask_of(created, world.peers[0]), reason="No"
        )

    assert mailoutbox == []


def test_the_author_is_warned_before_and_cannot_see_their_answer_after(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = _anonymous(world)
    ask = world.ask_of(created, world.peers[0])
    url = reverse("feedback:ask_answer", args=[world.org.slug, ask.pk])
    before = client_as(world.peers[0]).get(url).content.decode()

    client_as(world.peers[0]).post(url, {"answer_0": "My secret words"})
    after = client_as(world.peers[0]).get(url).content.decode()
    detail = client_as(world.peers[0]).get(
        reverse("feedback:request_detail", args=[world.org.slug, created.pk])
    )

    assert "not even you — can trace it back to you" in before
    assert 'name="kind"' not in before  # no named-feedback choices
    assert "My secret words" not in after
    assert "cannot be shown to you either" in after
    assert detail.status_code == 404
    with tenant_context(world.org):
        assert FeedbackAnswer.objects.get().answers == [
            {"question": "", "answer": "My secret words"}
        ]


def test_hr_admin_sees_counts_not_the_list_of_requestees(
    client_as: ClientAs, world: RequestWorld, make_member: MakeMember
) -> None:
    created = _anonymous(world)
    for peer in world.peers[:3]:
        world.answer(created, peer, "Fine")
    other_hr = make_member(world.org, Role.HR_ADMIN)

    page = _page(client_as, other_hr, world, created.pk)

    assert "3 answered · 0 declined · 1 still open" in page
    assert "Closed on" not in page
    for name in NAMES:
        assert name not in page


def test_anonymous_request_list_rows_show_counts_only(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = _anonymous(world)
    world.answer(created, world.peers[0], "Fine")
    url = reverse("feedback:requests", args=[world.org.slug])

    page = client_as(world.boss).get(f"{url}?tab=mine").content.decode()

    assert "1 answered · 0 declined · 3 open" in page
    for name in NAMES:
        assert name not in page
