"""Feedback pages: the engagement, plan and person feeds, giving with and without
HTMX, edit / withdraw / detail, "my feedback", preferences; who gets 200, 403 or 404,
bad input shown beside the field with nothing saved, escaping, query budgets and the
slots on the engagement and plan pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from feedback.enums import FeedbackKind, Visibility
from feedback.models import Feedback
from feedback.services import feedback as services
from organizations.enums import Role
from organizations.models import Employee, User
from organizations.tenancy import tenant_context
from tests.factories import MembershipFactory
from tests.feedback.test_feedback_services import World, age, build_world, count, give
from tests.feedback_factories import FeedbackFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
QUERY_BUDGET = 15
SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b")
RLS_RESET = re.compile(r"^\s*SELECT set_config\(")


@pytest.fixture
def world(org) -> World:
    return build_world(org)


def url(world: World, name: str, *args: Any) -> str:
    return reverse(f"feedback:{name}", args=[world.org.slug, *args])


def lookups(client: Any, path: str, **extra: Any) -> tuple[Any, int]:
    """GET ``path``; the response and its query count without test-only bookkeeping."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **extra)
    sql = [
        q["sql"]
        for q in captured.captured_queries
        if not SAVEPOINT.match(q["sql"]) and not RLS_RESET.match(q["sql"])
    ]
    return response, len(sql)


def give_data(world: World, **overrides: Any) -> dict[str, Any]:
    data = {
        "subject": world.entry(world.subject).pk,
        "kind": FeedbackKind.PRAISE,
        "body": "Clear and calm client demo.",
        "visibility": Visibility.SHARED,
        "goal": "",
        "next": reverse(
            "engagements:engagement_detail", args=[world.org.slug, world.engagement.pk]
        ),
    }
    data.update(overrides)
    return data


def text(response: Any) -> str:
    return response.content.decode()


# --- Feeds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "has_form"),
    [
        ("hr", 200, True),
        ("boss", 200, True),
        ("subject", 200, True),  # about the teammate
        ("teammate", 200, True),
        ("planner", 200, True),
        ("reviewer", 200, True),
        ("approver", 200, True),
        ("contributor", 200, True),
        ("unrelated", 404, False),
        ("other_manager", 404, False),
    ],
)
def test_engagement_feed_access_and_form(world, client_as, who, status, has_form):
    response = client_as(getattr(world, who)).get(
        url(world, "engagement_feed", world.engagement.pk), **HTMX
    )

    assert response.status_code == status
    if status == 200:
        assert ('id="feedback-form"' in text(response)) is has_form
        assert "<html" not in text(response)


def test_engagement_feed_without_htmx_is_a_page(world, client_as):
    give(world, world.planner, body="Visible on the page")

    response = client_as(world.reviewer).get(
        url(world, "engagement_feed", world.engagement.pk)
    )

    assert response.status_code == 200
    assert "<html" in text(response)
    assert "Visible on the page" in text(response)


def test_engagement_feed_shows_only_what_the_viewer_may_read(world, client_as):
    give(world, world.reviewer, body="Shared note", visibility=Visibility.SHARED)
    give(world, world.reviewer, body="Secret note", visibility=Visibility.MANAGERS_ONLY)

    as_subject = text(
        client_as(world.subject).get(
            url(world, "engagement_feed", world.engagement.pk), **HTMX
        )
    )
    as_planner = text(
        client_as(world.planner).get(
            url(world, "engagement_feed", world.engagement.pk), **HTMX
        )
    )

    assert "Shared note" in as_subject
    assert "Secret note" not in as_subject
    assert "Shared note" not in as_planner
    assert "Secret note" not in as_planner


def test_feed_without_anyone_to_write_about_has_no_form_and_refuses_posts(
    world, client_as
):
    # The unrelated colleague is the only one staffed on the other engagement.
    feed = client_as(world.unrelated).get(
        url(world, "engagement_feed", world.other_engagement.pk), **HTMX
    )
    post = client_as(world.unrelated).post(
        url(world, "give", world.other_engagement.pk),
        give_data(world, subject=world.entry(world.unrelated).pk),
    )

    assert feed.status_code == 200
    assert 'id="feedback-form"' not in text(feed)
    assert post.status_code == 403
    assert count(world) == 0


def test_engagement_feed_of_another_organisation_is_404(world, client_as, other_org):
    foreign = FeedbackFactory(organization=other_org)

    response = client_as(world.hr).get(
        url(world, "engagement_feed", foreign.engagement_id)
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("who", "status", "has_form"),
    [
        ("hr", 200, True),
        ("boss", 200, True),
        ("planner", 200, True),
        ("teammate", 404, False),  # may not open another person's plan
        ("subject", 200, False),  # nobody writes about themselves
        ("unrelated", 404, False),
    ],
)
def test_plan_feed_access_and_prefilled_form(world, client_as, who, status, has_form):
    response = client_as(getattr(world, who)).get(
        url(world, "plan_feed", world.plan.pk), **HTMX
    )

    assert response.status_code == status
    if status == 200:
        page = text(response)
        assert ('id="feedback-form"' in page) is has_form
        if has_form:
            subject_pk = world.entry(world.subject).pk
            assert f'name="subject" value="{subject_pk}"' in page
            assert f'name="from_plan" value="{world.plan.pk}"' in page


def test_general_plan_feed_offers_general_feedback_to_the_line_manager(
    world, client_as
):
    give(world, world.boss, engagement=None, body="General praise")

    response = client_as(world.boss).get(
        url(world, "plan_feed", world.general_plan.pk), **HTMX
    )

    page = text(response)
    assert response.status_code == 200
    assert "General praise" in page
    assert url(world, "give_general", world.entry(world.subject).pk) in page


@pytest.mark.parametrize(
    ("who", "status", "has_form"),
    [
        ("hr", 200, True),
        ("boss", 200, True),
        ("subject", 200, False),
        ("planner", 404, False),
        ("unrelated", 404, False),
    ],
)
def test_employee_feed_access(world, client_as, who, status, has_form):
    give(world, world.planner, body="About the subject")

    response = client_as(getattr(world, who)).get(
        url(world, "employee_feed", world.entry(world.subject).pk)
    )

    assert response.status_code == status
    if status == 200:
        assert "About the subject" in text(response)
        assert ('id="feedback-form"' in text(response)) is has_form


# --- Giving --------------------------------------------------------------------------


def test_give_with_htmx_returns_the_updated_feed_in_place(
    world, client_as, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(world.planner).post(
            url(world, "give", world.engagement.pk), give_data(world), **HTMX
        )

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#feedback-feed"
    assert response["HX-Reswap"] == "outerHTML"
    assert "Clear and calm client demo." in text(response)
    assert 'id="feedback-form"' in text(response)
    with tenant_context(world.org):
        stored = Feedback.objects.select_related("author").get()
    assert stored.author == world.entry(world.planner)
    assert len(mailoutbox) == 1


def test_give_without_htmx_redirects_back(world, client_as):
    data = give_data(world)

    response = client_as(world.teammate).post(
        url(world, "give", world.engagement.pk), data
    )

    assert response.status_code == 302
    assert response["Location"] == data["next"]
    assert count(world) == 1


def test_give_ignores_a_next_outside_the_organisation(world, client_as):
    response = client_as(world.teammate).post(
        url(world, "give", world.engagement.pk),
        give_data(world, next="https://evil.example/"),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "engagements:engagement_detail", args=[world.org.slug, world.engagement.pk]
    )


@pytest.mark.parametrize(
    ("field", "overrides", "message"),
    [
        ("body", {"body": "   "}, "Write your feedback before sending it."),
        ("body", {"body": "z" * 4001}, "at most 4000 characters"),
        ("goal", {"goal": "teammate_goal"}, "Link one of"),
        ("subject", {"subject": "unrelated"}, "Choose one of the listed people"),
        ("subject", {"subject": ""}, "Choose whom this feedback is about."),
    ],
)
def test_give_bad_input_is_shown_beside_the_field_and_nothing_is_saved(
    world, client_as, field, overrides, message
):
    data = give_data(world)
    for name, value in overrides.items():
        if value == "teammate_goal":
            value = world.teammate_goal.pk
        elif value == "unrelated":
            value = world.entry(world.unrelated).pk
        data[name] = value

    with_htmx = client_as(world.planner).post(
        url(world, "give", world.engagement.pk), data, **HTMX
    )
    without = client_as(world.planner).post(
        url(world, "give", world.engagement.pk), data
    )

    assert with_htmx.status_code == 200
    assert without.status_code == 400
    for response in (with_htmx, without):
        page = text(response)
        error = re.search(
            rf'id="id_feedback_{field}-error">(.*?)</div>', page, re.DOTALL
        )
        assert error is not None
        assert message in error.group(1)
    assert 'id="feedback-form"' in text(with_htmx)
    assert "<html" not in text(with_htmx)
    assert count(world) == 0


def test_give_from_the_plan_page_refreshes_the_plan_feed(world, client_as):
    data = give_data(world, from_plan=world.plan.pk, goal=world.goal.pk)

    response = client_as(world.boss).post(
        url(world, "give", world.engagement.pk), data, **HTMX
    )

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#feedback-feed"
    assert f'name="from_plan" value="{world.plan.pk}"' in text(response)
    assert "Clear and calm client demo." in text(response)
    with tenant_context(world.org):
        assert Feedback.objects.get().goal_id == world.goal.pk


def test_give_from_a_plan_of_another_engagement_is_404(world, client_as):
    data = give_data(world, from_plan=world.general_plan.pk)

    response = client_as(world.hr).post(url(world, "give", world.engagement.pk), data)

    assert response.status_code == 404
    assert count(world) == 0


@pytest.mark.parametrize(
    ("who", "status"), [("unrelated", 404), ("other_manager", 404)]
)
def test_give_on_an_engagement_the_member_cannot_see_is_404(
    world, client_as, who, status
):
    response = client_as(getattr(world, who)).post(
        url(world, "give", world.engagement.pk), give_data(world)
    )

    assert response.status_code == status
    assert count(world) == 0


@pytest.mark.parametrize(
    ("who", "status"), [("boss", 302), ("hr", 302), ("subject", 403), ("planner", 404)]
)
def test_give_general_feedback(world, client_as, who, status):
    data = give_data(world, goal=world.general_goal.pk)

    response = client_as(getattr(world, who)).post(
        url(world, "give_general", world.entry(world.subject).pk), data
    )

    assert response.status_code == status
    with tenant_context(world.org):
        stored = list(Feedback.objects.values_list("engagement_id", "goal_id"))
    assert stored == ([(None, world.general_goal.pk)] if status == 302 else [])


def test_give_general_rejects_a_goal_on_an_engagement_plan(world, client_as):
    response = client_as(world.boss).post(
        url(world, "give_general", world.entry(world.subject).pk),
        give_data(world, goal=world.goal.pk),
    )

    assert response.status_code == 400
    assert "Choose one of the listed goals" in text(response)
    assert count(world) == 0


def test_give_in_another_organisation_is_404(world, client_as, other_org):
    outsider = MembershipFactory(organization=other_org, role=Role.HR_ADMIN)

    response = client_as(outsider).post(
        url(world, "give", world.engagement.pk), give_data(world)
    )

    assert response.status_code == 404
    assert count(world) == 0


# --- Edit, withdraw, detail -----------------------------------------------------------


def test_author_edits_within_the_window(world, client_as):
    feedback = give(world, world.planner, body="Old text")

    page = client_as(world.planner).get(url(world, "edit", feedback.pk))
    response = client_as(world.planner).post(
        url(world, "edit", feedback.pk),
        {"kind": "note", "body": "New text", "visibility": "shared", "goal": ""},
    )

    assert page.status_code == 200
    assert "Old text" in text(page)
    assert response.status_code == 302
    with tenant_context(world.org):
        stored = Feedback.objects.get(pk=feedback.pk)
    assert (stored.body, stored.kind) == ("New text", "note")


def test_edit_with_empty_text_is_400_and_changes_nothing(world, client_as):
    feedback = give(world, world.planner, body="Old text")

    response = client_as(world.planner).post(
        url(world, "edit", feedback.pk),
        {"kind": "note", "body": " ", "visibility": "shared", "goal": ""},
    )

    assert response.status_code == 400
    assert "Write your feedback before sending it." in text(response)
    with tenant_context(world.org):
        assert Feedback.objects.get(pk=feedback.pk).body == "Old text"


@pytest.mark.parametrize(
    ("who", "status"),
    [("hr", 403), ("boss", 403), ("reviewer", 403), ("unrelated", 404)],
)
def test_edit_and_withdraw_by_others(world, client_as, who, status):
    feedback = give(world, world.planner, body="Mine")
    client = client_as(getattr(world, who))

    responses = [
        client.get(url(world, "edit", feedback.pk)),
        client.post(
            url(world, "edit", feedback.pk),
            {"kind": "note", "body": "Theirs", "visibility": "shared", "goal": ""},
        ),
        client.post(url(world, "withdraw", feedback.pk)),
    ]

    assert [r.status_code for r in responses] == [status] * 3
    with tenant_context(world.org):
        stored = Feedback.objects.get(pk=feedback.pk)
    assert (stored.body, stored.withdrawn_at) == ("Mine", None)


def test_edit_after_24_hours_explains_and_changes_nothing(world, client_as):
    feedback = give(world, world.planner, body="Permanent")
    age(feedback, 25)

    page = client_as(world.planner).get(url(world, "edit", feedback.pk))
    response = client_as(world.planner).post(
        url(world, "edit", feedback.pk),
        {"kind": "note", "body": "Changed", "visibility": "shared", "goal": ""},
    )

    assert page.status_code == 200
    assert "now permanent" in text(page)
    assert "<textarea" not in text(page)
    assert response.status_code == 400
    assert "now permanent" in text(response)
    with tenant_context(world.org):
        assert Feedback.objects.get(pk=feedback.pk).body == "Permanent"


def test_author_withdraws_within_the_window(world, client_as):
    feedback = give(world, world.planner)

    response = client_as(world.planner).post(url(world, "withdraw", feedback.pk))
    detail = client_as(world.planner).get(url(world, "detail", feedback.pk))

    assert response.status_code == 302
    assert detail.status_code == 404
    with tenant_context(world.org):
        assert Feedback.objects.get(pk=feedback.pk).withdrawn_at is not None


def test_withdraw_after_24_hours_explains_and_changes_nothing(world, client_as):
    feedback = give(world, world.planner)
    age(feedback, 30)

    response = client_as(world.planner).post(
        url(world, "withdraw", feedback.pk), follow=True
    )

    assert response.status_code == 200
    assert "now permanent" in text(response)
    with tenant_context(world.org):
        assert Feedback.objects.get(pk=feedback.pk).withdrawn_at is None


def test_withdraw_needs_post(world, client_as):
    feedback = give(world, world.planner)

    response = client_as(world.planner).get(url(world, "withdraw", feedback.pk))

    assert response.status_code == 405


@pytest.mark.parametrize(
    ("who", "status", "history"),
    [
        ("planner", 200, True),  # the author
        ("hr", 200, True),
        ("boss", 200, True),  # the subject's line manager
        ("reviewer", 200, False),
        ("subject", 200, False),
        ("teammate", 404, False),
        ("unrelated", 404, False),
    ],
)
def test_detail_and_its_history(world, client_as, who, status, history):
    feedback = give(world, world.planner, body="First words")
    with tenant_context(world.org):
        services.edit_feedback(
            actor=world.planner,
            feedback=feedback,
            kind=feedback.kind,
            body="Second words",
            visibility=feedback.visibility,
            goal=None,
        )

    response = client_as(getattr(world, who)).get(url(world, "detail", feedback.pk))

    assert response.status_code == status
    if status == 200:
        page = text(response)
        assert "Second words" in page
        assert ("First words" in page) is history
        assert ('id="feedback-history"' in page) is history


def test_managers_only_feedback_detail_is_404_for_its_subject(world, client_as):
    feedback = give(world, world.planner, visibility=Visibility.MANAGERS_ONLY)

    response = client_as(world.subject).get(url(world, "detail", feedback.pk))

    assert response.status_code == 404


def test_feedback_of_another_organisation_is_404(world, client_as, other_org):
    foreign = FeedbackFactory(organization=other_org)

    responses = [
        client_as(world.hr).get(url(world, "detail", foreign.pk)),
        client_as(world.hr).get(url(world, "edit", foreign.pk)),
        client_as(world.hr).post(url(world, "withdraw", foreign.pk)),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]


# --- Escaping ------------------------------------------------------------------------


def test_feedback_text_is_escaped_and_only_safe_links_are_clickable(world, client_as):
    body = (
        "<script>alert(1)</script> <b>bold</b>\n"
        "javascript:alert(2) [x](javascript:alert(3)) "
        '<a href="javascript:alert(4)">x</a>\n'
        "https://example.com/guide?a=1&b=2 and www.example.org"
    )
    feedback = give(world, world.planner, body=body)

    pages = [
        client_as(world.subject).get(url(world, "detail", feedback.pk)),
        client_as(world.planner).get(
            url(world, "engagement_feed", world.engagement.pk), **HTMX
        ),
        client_as(world.subject).get(url(world, "my_feedback")),
    ]

    for response in pages:
        page = text(response)
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<b>bold" not in page
        assert 'href="javascript' not in page
        assert "&lt;a href=&quot;javascript:alert(4)&quot;&gt;" in page
        assert (
            '<a href="https://example.com/guide?a=1&amp;b=2" rel="nofollow noopener">'
        ) in page
        assert '<a href="http://www.example.org" rel="nofollow noopener">' in page
        assert "&lt;b&gt;bold&lt;/b&gt;<br>" in page


# --- My feedback ---------------------------------------------------------------------


def test_my_feedback_about_me_shows_shared_feedback_filterable(world, client_as):
    give(world, world.planner, body="Praise on the engagement")
    give(world, world.teammate, body="An improvement", kind=FeedbackKind.IMPROVEMENT)
    give(world, world.boss, engagement=None, body="General note", kind="note")
    give(world, world.reviewer, body="Hidden one", visibility=Visibility.MANAGERS_ONLY)
    client = client_as(world.subject)

    everything = text(client.get(url(world, "my_feedback")))
    improvements = text(
        client.get(url(world, "my_feedback") + "?tab=about&kind=improvement")
    )
    on_engagement = text(
        client.get(url(world, "my_feedback") + f"?engagement={world.engagement.pk}")
    )

    for expected in ("Praise on the", "An improvement", "General note"):
        assert expected in everything
    assert "Hidden one" not in everything
    assert everything.index("General note") < everything.index("Praise on the")
    assert "An improvement" in improvements
    assert "Praise on the" not in improvements
    assert "General note" not in on_engagement
    assert "Praise on the" in on_engagement
    assert "?tab=team" not in everything


def test_my_feedback_written_and_team_tabs(world, client_as):
    give(world, world.planner, body="Planner wrote this")
    give(
        world,
        world.reviewer,
        body="Reviewer secret",
        visibility=Visibility.MANAGERS_ONLY,
    )

    written = text(
        client_as(world.planner).get(url(world, "my_feedback") + "?tab=written")
    )
    team = text(client_as(world.boss).get(url(world, "my_feedback") + "?tab=team"))
    planner_team = text(
        client_as(world.planner).get(url(world, "my_feedback") + "?tab=team")
    )

    assert "Planner wrote this" in written
    assert "Reviewer secret" not in written
    assert "Planner wrote this" in team
    assert "Reviewer secret" in team
    assert 'name="subject"' in team  # the person filter
    # Without entitlements the team tab falls back to "About me".
    assert "Reviewer secret" not in planner_team
    assert "?tab=team" not in planner_team


# --- Query budgets ---------------------------------------------------------------------


def _fill(world: World, n: int) -> None:
    subject = world.entry(world.subject)
    teammate = world.entry(world.teammate)
    author = world.entry(world.planner)
    for i in range(n):
        FeedbackFactory(
            organization=world.org,
            author=author,
            subject=subject if i % 2 else teammate,
            engagement=world.engagement,
            goal=world.goal if i % 2 else None,
            kind=("praise", "improvement", "note")[i % 3],
            visibility=("shared", "managers_only")[i % 2],
        )
    FeedbackFactory(
        organization=world.org,
        author=world.entry(world.boss),
        subject=subject,
        engagement=None,
    )


def _pages(world: World) -> list[tuple[str, str, dict[str, str]]]:
    subject_pk = world.entry(world.subject).pk
    return [
        ("planner", url(world, "engagement_feed", world.engagement.pk), HTMX),
        ("reviewer", url(world, "engagement_feed", world.engagement.pk), {}),
        ("boss", url(world, "plan_feed", world.plan.pk), HTMX),
        ("boss", url(world, "plan_feed", world.general_plan.pk), {}),
        ("boss", url(world, "employee_feed", subject_pk), {}),
        ("subject", url(world, "my_feedback"), {}),
        ("planner", url(world, "my_feedback") + "?tab=written", {}),
        ("boss", url(world, "my_feedback") + "?tab=team", {}),
        ("hr", url(world, "my_feedback") + "?tab=team&kind=praise", {}),
        ("hr", url(world, "engagement_feed", world.engagement.pk), HTMX),
    ]


@pytest.mark.parametrize("rows", [3, 20])
def test_feed_pages_stay_within_budget(world, client_as, rows):
    _fill(world, rows)

    for who, path, extra in _pages(world):
        response, queries = lookups(client_as(getattr(world, who)), path, **extra)
        assert response.status_code == 200, path
        assert queries <= QUERY_BUDGET, (path, queries)


def test_feed_page_query_counts_do_not_grow_with_rows(world, client_as):
    def counts() -> list[int]:
        return [
            lookups(client_as(getattr(world, who)), path, **extra)[1]
            for who, path, extra in _pages(world)
        ]

    _fill(world, 3)
    few = counts()
    _fill(world, 17)
    many = counts()

    assert few == many


# --- Preferences -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["hr", "subject", "boss"])
def test_preferences_switch_optional_emails(world, client_as, who):
    member = getattr(world, who)
    client = client_as(member)

    page = client.get(url(world, "preferences"))
    off = client.post(
        url(world, "preferences"), {"email": "attacker@example.test", "is_staff": "on"}
    )
    user = User.objects.get(pk=member.user.pk)
    on = client.post(url(world, "preferences"), {"optional_emails": "on"})

    assert page.status_code == 200
    assert 'name="optional_emails"' in text(page)
    assert off.status_code == 302
    assert (user.optional_emails, user.email, user.is_staff) == (
        False,
        member.user.email,
        False,
    )
    assert on.status_code == 302
    assert User.objects.get(pk=member.user.pk).optional_emails is True


def test_preferences_name_the_login_address_e_mails_go_to(world, client_as):
    page = client_as(world.subject).get(url(world, "preferences"))

    assert page.status_code == 200
    assert f"E-mails go to {world.subject.user.email}" in text(page)
    assert page.context["directory_email"] == ""
    assert 'id="directory-email-differs"' not in text(page)


def test_preferences_say_when_the_directory_address_differs(world, client_as):
    with tenant_context(world.org):
        Employee.objects.filter(user=world.subject.user).update(
            email="desk@example.test"
        )

    page = client_as(world.subject).get(url(world, "preferences"))

    assert page.context["directory_email"] == "desk@example.test"
    assert 'id="directory-email-differs"' in text(page)
    assert "lists you as desk@example.test" in text(page)
    assert f"e-mails go to {world.subject.user.email}" in text(page)


# --- Slots -----------------------------------------------------------------------------


def test_engagement_and_plan_pages_load_the_feeds_lazily(world, client_as):
    client = client_as(world.boss)

    engagement_page = text(
        client.get(
            reverse(
                "engagements:engagement_detail",
                args=[world.org.slug, world.engagement.pk],
            )
        )
    )
    plan_page = text(
        client.get(
            reverse("engagements:plan_detail", args=[world.org.slug, world.plan.pk])
        )
    )

    feed = url(world, "engagement_feed", world.engagement.pk)
    assert f'hx-get="{feed}" hx-trigger="load"' in engagement_page
    assert f'<a href="{feed}">' in engagement_page
    plan_feed = url(world, "plan_feed", world.plan.pk)
    assert f'hx-get="{plan_feed}" hx-trigger="load"' in plan_page


@pytest.mark.parametrize(
    ("who", "link"),
    [
        ("subject", "All my feedback"),
        ("teammate", "All feedback I wrote"),
        ("boss", "Feedback on my team and engagements"),
        ("hr", "All feedback"),
    ],
)
def test_feedback_detail_back_link_fits_the_viewer(world, client_as, who, link):
    feedback = give(world, world.teammate)

    response = client_as(getattr(world, who)).get(url(world, "detail", feedback.pk))

    header = text(response).split("Feedback about", 2)[2]
    assert response.status_code == 200
    assert link in header
    assert "All my feedback" not in header or who == "subject"
