"""Feedback request pages: who may open and post what (another tenant's ids are 404),
bad input answered 400 beside the field with nothing saved, and flat query counts."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from feedback.enums import AskStatus
from feedback.models import Feedback, FeedbackAsk, FeedbackRequest
from feedback.receivers import feedback_asked_section
from organizations.enums import Role
from organizations.models import Membership, Organization
from organizations.tenancy import tenant_context
from tests.feedback.test_requests_services import (
    MakeMember,
    RequestWorld,
    build_world,
)

pytestmark = pytest.mark.django_db

ClientAs = Callable[[Membership | None], Client]
SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b")
RLS_RESET = re.compile(r"^\s*SELECT set_config\(")
PAGE_BUDGET = 15


@pytest.fixture
def world(org: Organization, make_member: MakeMember) -> RequestWorld:
    return build_world(org, make_member)


def _url(world: RequestWorld, name: str, *args: int) -> str:
    return reverse(f"feedback:{name}", args=[world.org.slug, *args])


def _field_error(page: str, auto_id: str) -> str | None:
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="{auto_id}-error">(.*?)</div>',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else None


def _lookups(client: Client, url: str) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    sql = [
        q["sql"]
        for q in queries.captured_queries
        if not SAVEPOINT.match(q["sql"]) and not RLS_RESET.match(q["sql"])
    ]
    return response, len(sql)


def _state(world: RequestWorld) -> tuple[Any, ...]:
    with tenant_context(world.org):
        return (
            list(FeedbackRequest.objects.values_list("pk", "cancelled_at")),
            list(FeedbackAsk.objects.values_list("pk", "status", "decline_reason")),
            Feedback.objects.count(),
        )


# --- reading a request -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("boss", 200),  # the requester and the subject's line manager
        ("subject", 200),
        ("reviewer", 200),
        ("approver", 200),
        ("hr", 200),
        ("other_manager", 404),
        ("unrelated", 404),
        ("planner", 404),
        ("contributor", 404),
        ("peer", 404),  # a requestee answers through the ask, not the request
    ],
)
def test_request_detail_is_readable_only_by_those_entitled(
    client_as: ClientAs, world: RequestWorld, who: str, status: int
) -> None:
    created = world.create(actor=world.boss)
    actor = world.peers[0] if who == "peer" else getattr(world, who)

    response = client_as(actor).get(_url(world, "request_detail", created.pk))

    assert response.status_code == status


def test_request_detail_of_another_organization_is_404(
    client_as: ClientAs,
    world: RequestWorld,
    other_org: Organization,
    make_member: MakeMember,
) -> None:
    foreign = build_world(other_org, make_member, peer_names=("A B", "C D", "E F"))
    theirs = foreign.create(actor=foreign.boss)
    outsider = make_member(other_org, Role.HR_ADMIN)

    mine = client_as(world.hr).get(_url(world, "request_detail", theirs.pk))
    missing = client_as(world.hr).get(_url(world, "request_detail", theirs.pk + 999))
    created = world.create(actor=world.boss)
    as_outsider = client_as(outsider).get(_url(world, "request_detail", created.pk))

    assert (mine.status_code, missing.status_code, as_outsider.status_code) == (
        404,
        404,
        404,
    )


def test_named_request_shows_answers_by_their_visibility(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = world.create(actor=world.subject)
    world.answer(created, world.peers[0], "Shared <b>praise</b> text")
    world.answer(
        created, world.peers[1], "Managers only remark", visibility="managers_only"
    )

    as_subject = client_as(world.subject).get(_url(world, "request_detail", created.pk))
    as_boss = client_as(world.boss).get(_url(world, "request_detail", created.pk))

    subject_page = as_subject.content.decode()
    assert "Shared &lt;b&gt;praise&lt;/b&gt; text" in subject_page
    assert "Managers only remark" not in subject_page
    assert "This answer is for managers and reviewers only." in subject_page
    assert "Managers only remark" in as_boss.content.decode()
    assert "Peer Colleague 3" in subject_page  # named requests list each requestee


# --- cancelling ------------------------------------------------------------------------------


def test_request_cancel_by_the_requester(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = world.create(actor=world.boss)

    response = client_as(world.boss).post(_url(world, "request_cancel", created.pk))

    assert response.status_code == 302
    with tenant_context(world.org):
        assert set(created.asks.values_list("status", flat=True)) == {
            AskStatus.CANCELLED
        }


@pytest.mark.parametrize(
    ("who", "status"), [("subject", 403), ("hr", 403), ("unrelated", 404)]
)
def test_request_cancel_by_others_is_refused_and_changes_nothing(
    client_as: ClientAs, world: RequestWorld, who: str, status: int
) -> None:
    created = world.create(actor=world.boss)
    before = _state(world)

    response = client_as(getattr(world, who)).post(
        _url(world, "request_cancel", created.pk)
    )

    assert response.status_code == status
    assert _state(world) == before


def test_request_cancel_answers_get_with_405(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = world.create(actor=world.boss)

    response = client_as(world.boss).get(_url(world, "request_cancel", created.pk))

    assert response.status_code == 405


# --- answering and declining ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["boss", "subject", "hr", "reviewer", "peer2"])
def test_ask_pages_are_404_for_everyone_but_the_requestee(
    client_as: ClientAs, world: RequestWorld, who: str
) -> None:
    created = world.create(actor=world.boss)
    ask = world.ask_of(created, world.peers[0])
    actor = world.peers[1] if who == "peer2" else getattr(world, who)
    before = _state(world)

    page = client_as(actor).get(_url(world, "ask_answer", ask.pk))
    answer = client_as(actor).post(
        _url(world, "ask_answer", ask.pk),
        {"answer_0": "x", "kind": "praise", "visibility": "shared"},
    )
    decline = client_as(actor).post(_url(world, "ask_decline", ask.pk), {"reason": "x"})

    assert (page.status_code, answer.status_code, decline.status_code) == (
        404,
        404,
        404,
    )
    assert _state(world) == before


def test_answer_page_posts_named_feedback(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = world.create(actor=world.boss)
    ask = world.ask_of(created, world.peers[0])
    page = client_as(world.peers[0]).get(_url(world, "ask_answer", ask.pk))

    response = client_as(world.peers[0]).post(
        _url(world, "ask_answer", ask.pk),
        {"answer_0": "Clear notes", "kind": "praise", "visibility": "shared"},
    )

    assert page.status_code == 200
    assert "How did the workshop go?" in page.content.decode()
    assert response.status_code == 302
    with tenant_context(world.org):
        assert list(Feedback.objects.values_list("body", "ask_id")) == [
            ("Clear notes", ask.pk)
        ]


def test_answer_page_with_an_empty_answer_says_so_and_saves_nothing(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = world.create(actor=world.boss)
    ask = world.ask_of(created, world.peers[0])
    before = _state(world)

    response = client_as(world.peers[0]).post(
        _url(world, "ask_answer", ask.pk),
        {"answer_0": "", "kind": "praise", "visibility": "shared"},
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), "id_answer_0") == (
        "This field is required."
    )
    assert _state(world) == before


def test_answer_on_a_closed_ask_is_refused_with_a_message(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = world.create(actor=world.boss)
    world.answer(created, world.peers[0], "First")
    ask = world.ask_of(created, world.peers[0])
    before = _state(world)

    response = client_as(world.peers[0]).post(
        _url(world, "ask_answer", ask.pk),
        {"answer_0": "Second", "kind": "praise", "visibility": "shared"},
    )

    assert response.status_code == 400
    assert "You already answered or declined this request" in html.unescape(
        response.content.decode()
    )
    assert _state(world) == before


def test_decline_without_a_reason_says_so_and_changes_nothing(
    client_as: ClientAs, world: RequestWorld
) -> None:
    created = world.create(actor=world.boss)
    ask = world.ask_of(created, world.peers[0])
    before = _state(world)

    response = client_as(world.peers[0]).post(
        _url(world, "ask_decline", ask.pk), {"reason": ""}
    )

    assert response.status_code == 400
    assert _field_error(response.content.decode(), "id_reason") == (
        "This field is required."
    )
    assert _state(world) == before


def test_decline_with_a_reason(client_as: ClientAs, world: RequestWorld) -> None:
    created = world.create(actor=world.boss)
    ask = world.ask_of(created, world.peers[0])

    response = client_as(world.peers[0]).post(
        _url(world, "ask_decline", ask.pk), {"reason": "On leave"}
    )

    assert response.status_code == 302
    ask = world.ask_of(created, world.peers[0])
    assert (ask.status, ask.decline_reason) == (AskStatus.DECLINED, "On leave")


# --- asking --------------------------------------------------------------------------------


def _form_data(world: RequestWorld, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "subject": world.employee(world.subject).pk,
        "engagement": world.engagement.pk,
        "requestees": [world.employee(p).pk for p in world.peers[:3]],
        "due_date": (world.today() + timedelta(days=5)).isoformat(),
        "message": "Thoughts?",
        "questions": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_request_form_prefills_subject_and_engagement(
    client_as: ClientAs, world: RequestWorld
) -> None:
    subject = world.employee(world.subject)
    url = _url(world, "request_create")

    response = client_as(world.boss).get(
        f"{url}?subject={subject.pk}&engagement={world.engagement.pk}"
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert f'<option value="{subject.pk}" selected>' in page
    assert f'<option value="{world.engagement.pk}" selected>' in page


def test_request_form_posts_a_request(client_as: ClientAs, world: RequestWorld) -> None:
    response = client_as(world.boss).post(
        _url(world, "request_create"), _form_data(world)
    )

    with tenant_context(world.org):
        created = FeedbackRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url(world, "request_detail", created.pk)


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("no requestees", "requestees", "This field is required."),
        ("subject asked", "requestees", "cannot be asked for it"),
        ("past due date", "due_date", "The answer-by date has passed"),
        ("anonymous with two", "requestees", "at least 3 people"),
        ("not staffed", "engagement", "is not staffed on"),
    ],
)
def test_request_form_with_bad_input_explains_and_saves_nothing(
    client_as: ClientAs, world: RequestWorld, case: str, field: str, message: str
) -> None:
    peers = [world.employee(p).pk for p in world.peers]
    overrides: dict[str, Any] = {
        "no requestees": {"requestees": None},
        "subject asked": {"requestees": [peers[0], world.employee(world.subject).pk]},
        "past due date": {"due_date": (world.today() - timedelta(days=1)).isoformat()},
        "anonymous with two": {"anonymous": "on", "requestees": peers[:2]},
        "not staffed": {"engagement": world.other_engagement.pk},
    }[case]

    response = client_as(world.hr).post(
        _url(world, "request_create"), _form_data(world, **overrides)
    )

    assert response.status_code == 400
    assert message in (_field_error(response.content.decode(), f"id_{field}") or "")
    assert _state(world) == ([], [], 0)


def test_request_form_refuses_a_subject_one_may_not_ask_about(
    client_as: ClientAs, world: RequestWorld
) -> None:
    response = client_as(world.unrelated).post(
        _url(world, "request_create"), _form_data(world)
    )

    assert response.status_code == 400
    assert "Select a valid choice" in (
        _field_error(response.content.decode(), "id_subject") or ""
    )
    assert _state(world) == ([], [], 0)


# --- the list, the home section and query counts -----------------------------------------


def test_request_list_tabs_show_what_each_member_has(
    client_as: ClientAs, world: RequestWorld
) -> None:
    world.create(actor=world.boss)
    url = _url(world, "requests")

    asked = client_as(world.peers[0]).get(f"{url}?tab=asked").content.decode()
    mine = client_as(world.subject).get(f"{url}?tab=mine").content.decode()
    team = client_as(world.reviewer).get(f"{url}?tab=team").content.decode()
    nothing = client_as(world.unrelated).get(f"{url}?tab=team").content.decode()

    subject_name = world.employee(world.subject).full_name
    assert "Answer or decline" in asked
    assert subject_name in mine
    assert "0 answered · 0 declined · 3 open" in team
    assert subject_name not in nothing


def _many_requests(world: RequestWorld, count: int) -> None:
    for _ in range(count):
        created = world.create(actor=world.boss)
        world.answer(created, world.peers[0], "Fine")


@pytest.mark.parametrize("tab", ["asked", "mine", "team"])
def test_request_list_query_count_is_flat(
    client_as: ClientAs, world: RequestWorld, tab: str
) -> None:
    viewer = {"asked": world.peers[1], "mine": world.boss, "team": world.reviewer}[tab]
    url = f"{_url(world, 'requests')}?tab={tab}"
    _many_requests(world, 1)
    _response, few = _lookups(client_as(viewer), url)
    _many_requests(world, 4)

    response, many = _lookups(client_as(viewer), url)

    assert response.status_code == 200
    assert many == few
    assert many <= PAGE_BUDGET


@pytest.mark.parametrize("anonymous", [False, True])
def test_request_detail_query_count_is_flat(
    client_as: ClientAs, world: RequestWorld, anonymous: bool
) -> None:
    few = world.create(actor=world.boss, anonymous=anonymous)
    for peer in world.peers[:3]:
        world.answer(few, peer, "Fine")
    many = world.create(
        actor=world.boss,
        anonymous=anonymous,
        requestees=[world.employee(p) for p in world.peers],
    )
    for peer in world.peers:
        world.answer(many, peer, "Fine")

    _r, count_few = _lookups(client_as(world.hr), _url(world, "request_detail", few.pk))
    response, count_many = _lookups(
        client_as(world.hr), _url(world, "request_detail", many.pk)
    )

    assert response.status_code == 200
    assert count_many == count_few
    assert count_many <= PAGE_BUDGET


def test_home_page_loads_the_section_lazily_and_it_lists_open_asks(
    client_as: ClientAs, world: RequestWorld
) -> None:
    open_one = world.create(actor=world.boss)
    answered = world.create(actor=world.boss, message="Second")
    world.answer(answered, world.peers[0], "Done")
    home = reverse("organizations:home", args=[world.org.slug])

    page = client_as(world.peers[0]).get(home).content.decode()
    section = client_as(world.peers[0]).get(_url(world, "home_requests"))

    assert f'hx-get="{_url(world, "home_requests")}"' in page
    assert 'hx-trigger="load"' in page
    content = section.content.decode()
    assert (
        _url(world, "ask_answer", world.ask_of(open_one, world.peers[0]).pk) in content
    )
    assert (
        _url(world, "ask_answer", world.ask_of(answered, world.peers[0]).pk)
        not in content
    )
    assert "See your 1 open request" in content


def test_home_section_query_count_is_flat(
    client_as: ClientAs, world: RequestWorld
) -> None:
    world.create(actor=world.boss)
    _r, few = _lookups(client_as(world.peers[0]), _url(world, "home_requests"))
    for _ in range(6):
        world.create(actor=world.boss)

    response, many = _lookups(client_as(world.peers[0]), _url(world, "home_requests"))

    assert response.status_code == 200
    assert many == few


def test_home_section_costs_the_home_page_no_query(
    client_as: ClientAs, world: RequestWorld
) -> None:
    request = (
        client_as(world.peers[0])
        .get(reverse("organizations:home", args=[world.org.slug]))
        .wsgi_request
    )

    with CaptureQueriesContext(connection) as queries:
        section = feedback_asked_section(request)

    assert section.template_name == "feedback/requests/home_section.html"
    assert queries.captured_queries == []
