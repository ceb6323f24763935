"""Feedback request services: who may ask, answer, decline and cancel; what bad input
says and that it saves nothing; e-mails once per event; reminders once per ask.

``RequestWorld`` (also used by the view and anonymity tests) is one organisation
where ``subject`` is staffed on ``engagement``, ``boss`` is their line manager, and
the engagement has a reviewer, an approver, a planner and a contributor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from demo import feedback_requests as demo
from engagements.enums import EngagementRole
from engagements.models import Engagement
from engagements.services.roles import assign_role
from feedback.enums import AskStatus, FeedbackKind, Visibility
from feedback.models import Feedback, FeedbackAnswer, FeedbackAsk, FeedbackRequest
from feedback.services import asks
from feedback.services import requests as svc
from feedback.tasks import send_request_reminders
from organizations.enums import Role
from organizations.errors import DomainError
from organizations.models import Employee, Membership, Organization, SentEmail
from organizations.tenancy import tenant_context
from tests.engagement_factories import EngagementFactory, PlanFactory
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

MakeMember = Callable[..., Membership]


@dataclass
class RequestWorld:
    org: Organization
    engagement: Engagement
    other_engagement: Engagement
    hr: Membership
    boss: Membership
    other_manager: Membership
    subject: Membership
    peers: list[Membership]
    reviewer: Membership
    approver: Membership
    planner: Membership
    contributor: Membership
    unrelated: Membership

    def employee(self, member: Membership) -> Employee:
        with tenant_context(self.org):
            return Employee.objects.select_related("line_manager", "user").get(
                user=member.user
            )

    def today(self) -> date:
        return svc.today_in(self.org)

    def create(self, actor: Membership | None = None, **kwargs: Any) -> FeedbackRequest:
        """A request by ``actor`` (the subject by default) about the subject."""
        actor = actor or self.subject
        values: dict[str, Any] = {
            "subject": self.employee(self.subject),
            "engagement": self.engagement,
            "requestees": [self.employee(p) for p in self.peers[:3]],
            "due_date": self.today() + timedelta(days=7),
            "message": "How did the workshop go?",
            "questions": "",
            "anonymous": False,
        }
        values.update(kwargs)
        with tenant_context(self.org):
            return svc.create_request(actor=actor, **values)

    def ask_of(self, request: FeedbackRequest, member: Membership) -> FeedbackAsk:
        with tenant_context(self.org):
            return FeedbackAsk.objects.select_related("request", "requestee").get(
                request=request, requestee__user=member.user
            )

    def answer(
        self, request: FeedbackRequest, member: Membership, *texts: str, **kw: Any
    ) -> Any:
        ask = self.ask_of(request, member)
        kw.setdefault("kind", FeedbackKind.PRAISE)
        kw.setdefault("visibility", Visibility.SHARED)
        with tenant_context(self.org):
            return asks.answer_request(
                actor=member, ask=ask, answers=list(texts) or ["Well done"], **kw
            )


def build_world(
    org: Organization, make_member: MakeMember, peer_names: tuple[str, ...] = ()
) -> RequestWorld:
    hr = make_member(org, Role.HR_ADMIN)
    boss = make_member(org, Role.MANAGER)
    with tenant_context(org):
        boss_entry = Employee.objects.get(user=boss.user)
    subject = make_member(org, Role.EMPLOYEE, employee__line_manager=boss_entry)
    names = peer_names or tuple(f"Peer Colleague {n}" for n in range(1, 6))
    peers = [make_member(org, Role.EMPLOYEE, user__full_name=name) for name in names]
    engagement = EngagementFactory(organization=org)
    other_engagement = EngagementFactory(organization=org)
    with tenant_context(org):
        subject_entry = Employee.objects.get(user=subject.user)
    PlanFactory(organization=org, engagement=engagement, employee=subject_entry)
    world = RequestWorld(
        org=org,
        engagement=engagement,
        other_engagement=other_engagement,
        hr=hr,
        boss=boss,
        other_manager=make_member(org, Role.MANAGER),
        subject=subject,
        peers=peers,
        reviewer=make_member(org, Role.EMPLOYEE),
        approver=make_member(org, Role.EMPLOYEE),
        planner=make_member(org, Role.EMPLOYEE),
        contributor=make_member(org, Role.EMPLOYEE),
        unrelated=make_member(org, Role.EMPLOYEE),
    )
    for member, role in (
        (world.reviewer, EngagementRole.REVIEWER),
        (world.approver, EngagementRole.APPROVER),
        (world.planner, EngagementRole.PLANNER),
        (world.contributor, EngagementRole.CONTRIBUTOR),
    ):
        with tenant_context(org):
            assign_role(
                actor=None,
                engagement=engagement,
                employee=Employee.objects.get(user=member.user),
                role=role,
            )
    return world


@pytest.fixture
def world(org: Organization, make_member: MakeMember) -> RequestWorld:
    return build_world(org, make_member)


def _counts(world: RequestWorld) -> tuple[int, int, int, int]:
    with tenant_context(world.org):
        return (
            FeedbackRequest.objects.count(),
            FeedbackAsk.objects.count(),
            Feedback.objects.count(),
            FeedbackAnswer.objects.count(),
        )


@pytest.fixture
def run_callbacks(
    django_capture_on_commit_callbacks: Any,
) -> Callable[..., Any]:
    """``with run_callbacks(): ...`` runs the block's on-commit work (e-mails)."""

    def run() -> Any:
        return django_capture_on_commit_callbacks(execute=True)

    return run


# --- create_request: who may ask -------------------------------------------------------


@pytest.mark.parametrize("who", ["subject", "boss", "reviewer", "hr"])
def test_create_request_is_allowed_to_the_subject_their_manager_reviewer_and_hr(
    world: RequestWorld, who: str
) -> None:
    actor = getattr(world, who)

    created = world.create(actor=actor)

    with tenant_context(world.org):
        assert created.requested_by == world.employee(actor)
        assert sorted(created.asks.values_list("requestee__full_name", flat=True)) == [
            "Peer Colleague 1",
            "Peer Colleague 2",
            "Peer Colleague 3",
        ]


@pytest.mark.parametrize(
    "who", ["other_manager", "unrelated", "approver", "planner", "contributor"]
)
def test_create_request_is_refused_to_others_and_saves_nothing(
    world: RequestWorld, who: str
) -> None:
    with pytest.raises(DomainError) as error:
        world.create(actor=getattr(world, who))

    assert error.value.field == "subject"
    assert "people who report to you" in error.value.message
    assert _counts(world) == (0, 0, 0, 0)


def test_create_request_needs_the_subject_staffed_on_the_engagement(
    world: RequestWorld,
) -> None:
    with pytest.raises(DomainError) as error:
        world.create(engagement=world.other_engagement)

    assert error.value.field == "engagement"
    assert "is not staffed on" in error.value.message
    assert _counts(world) == (0, 0, 0, 0)


def test_create_request_needs_a_directory_entry(
    world: RequestWorld, make_member: MakeMember
) -> None:
    hr_without_entry = make_member(world.org, Role.HR_ADMIN, employee=False)

    with pytest.raises(DomainError, match="people directory"):
        world.create(actor=hr_without_entry)

    assert _counts(world) == (0, 0, 0, 0)


def _bad_requestees(world: RequestWorld) -> dict[str, Any]:
    peer = world.employee(world.peers[0])
    inactive = EmployeeFactory(organization=world.org, is_active=False)
    without_login = EmployeeFactory(organization=world.org)
    return {
        "none": ([], "Choose at least one person"),
        "subject": ([peer, world.employee(world.subject)], "cannot be asked for it"),
        "duplicate": ([peer, peer], "only once"),
        "inactive": ([peer, inactive], "only active colleagues with a login"),
        "no login": ([peer, without_login], "only active colleagues with a login"),
        "too many": (
            [EmployeeFactory(organization=world.org) for _ in range(21)],
            "at most 20",
        ),
    }


@pytest.mark.parametrize(
    "case",
    ["none", "subject", "duplicate", "inactive", "no login", "too many"],
)
def test_create_request_rejects_bad_requestees_and_saves_nothing(
    world: RequestWorld, case: str
) -> None:
    requestees, message = _bad_requestees(world)[case]

    with pytest.raises(DomainError) as error:
        world.create(requestees=requestees)

    assert error.value.field == "requestees"
    assert message in error.value.message
    assert _counts(world) == (0, 0, 0, 0)


def test_create_request_refuses_asking_oneself(world: RequestWorld) -> None:
    with pytest.raises(DomainError) as error:
        world.create(
            actor=world.boss,
            requestees=[world.employee(world.boss), world.employee(world.peers[0])],
        )

    assert "cannot ask yourself" in error.value.message
    assert _counts(world) == (0, 0, 0, 0)


def test_create_request_refuses_a_person_of_another_organization(
    world: RequestWorld, other_org: Organization
) -> None:
    foreign = EmployeeFactory(organization=other_org)

    with pytest.raises(DomainError, match="only active colleagues"):
        world.create(requestees=[world.employee(world.peers[0]), foreign])

    assert _counts(world) == (0, 0, 0, 0)


def test_anonymous_request_needs_three_people_and_says_why(world: RequestWorld) -> None:
    two = [world.employee(p) for p in world.peers[:2]]

    with pytest.raises(DomainError) as error:
        world.create(anonymous=True, requestees=two)

    assert error.value.field == "requestees"
    assert "at least 3 people" in error.value.message
    assert "nobody can tell who wrote which" in error.value.message
    assert _counts(world) == (0, 0, 0, 0)
    world.create(
        anonymous=True, requestees=[world.employee(p) for p in world.peers[:3]]
    )
    assert _counts(world)[:2] == (1, 3)


@pytest.mark.parametrize(
    ("offset", "message"),
    [(-1, "has passed"), (366, "within a year")],
)
def test_create_request_rejects_due_dates_out_of_range(
    world: RequestWorld, offset: int, message: str
) -> None:
    with pytest.raises(DomainError) as error:
        world.create(due_date=world.today() + timedelta(days=offset))

    assert error.value.field == "due_date"
    assert message in error.value.message
    assert _counts(world) == (0, 0, 0, 0)


@pytest.mark.parametrize("offset", [0, 365])
def test_create_request_accepts_today_and_a_year_ahead(
    world: RequestWorld, offset: int
) -> None:
    created = world.create(due_date=world.today() + timedelta(days=offset))

    assert created.due_date == world.today() + timedelta(days=offset)


def test_create_request_keeps_up_to_ten_questions_one_per_line(
    world: RequestWorld,
) -> None:
    with pytest.raises(DomainError, match="at most 10 questions"):
        world.create(questions="\n".join(f"Q{n}?" for n in range(11)))

    created = world.create(questions="  What went well?\n\n What next? \n")

    assert created.question_list == ["What went well?", "What next?"]


def test_create_request_emails_each_requestee_once(
    world: RequestWorld, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = world.create(actor=world.boss)
    for callback in callbacks:
        callback()
        callback()  # a task delivered twice still sends once

    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        p.user.email for p in world.peers[:3]
    )
    boss_name = world.employee(world.boss).full_name
    subject_name = world.employee(world.subject).full_name
    assert {m.subject for m in mailoutbox} == {
        f"{boss_name} asks for your feedback about {subject_name}"
    }
    ask = world.ask_of(created, world.peers[0])
    link = f"/o/{world.org.slug}/feedback/asks/{ask.pk}/answer/"
    assert any(
        link in m.body for m in mailoutbox if m.to == [world.peers[0].user.email]
    )


# --- answer_request ------------------------------------------------------------------------


def test_named_answer_becomes_feedback_by_the_requestee_and_emails_the_requester(
    world: RequestWorld, mailoutbox: list[Any], run_callbacks: Callable[..., Any]
) -> None:
    created = world.create(actor=world.boss, questions="What went well?\nWhat next?")
    mailoutbox.clear()

    with run_callbacks():
        feedback = world.answer(
            created,
            world.peers[0],
            "The workshop",
            "",
            kind=FeedbackKind.IMPROVEMENT,
            visibility=Visibility.MANAGERS_ONLY,
        )

    ask = world.ask_of(created, world.peers[0])
    assert ask.status == AskStatus.ANSWERED
    assert ask.closed_on == world.today()
    with tenant_context(world.org):
        feedback = Feedback.objects.get(pk=feedback.pk)
    assert feedback.ask_id == ask.pk
    assert feedback.author_id == world.employee(world.peers[0]).pk
    assert feedback.subject_id == world.employee(world.subject).pk
    assert feedback.engagement_id == world.engagement.pk
    assert (feedback.kind, feedback.visibility) == (
        FeedbackKind.IMPROVEMENT,
        Visibility.MANAGERS_ONLY,
    )
    assert feedback.body == "What went well?\nThe workshop"
    assert [m.to for m in mailoutbox] == [[world.boss.user.email]]
    assert mailoutbox[0].subject.startswith("Peer Colleague 1 answered")


def test_shared_named_answer_also_tells_the_subject_once(
    world: RequestWorld, mailoutbox: list[Any], run_callbacks: Callable[..., Any]
) -> None:
    created = world.create(actor=world.boss)
    mailoutbox.clear()

    with run_callbacks():
        world.answer(created, world.peers[0], "Good", visibility=Visibility.SHARED)
    with run_callbacks():
        world.answer(created, world.peers[1], "Hm", visibility=Visibility.MANAGERS_ONLY)

    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [world.boss.user.email, world.boss.user.email, world.subject.user.email]
    )


@pytest.mark.parametrize("who", ["subject", "boss", "hr", "peer2"])
def test_only_the_requestee_may_answer(world: RequestWorld, who: str) -> None:
    created = world.create(actor=world.boss)
    ask = world.ask_of(created, world.peers[0])
    actor = world.peers[1] if who == "peer2" else getattr(world, who)

    with tenant_context(world.org), pytest.raises(PermissionDenied):
        asks.answer_request(
            actor=actor, ask=ask, answers=["x"], kind="praise", visibility="shared"
        )

    assert _counts(world)[2:] == (0, 0)
    assert world.ask_of(created, world.peers[0]).status == AskStatus.OPEN


def test_answer_on_a_closed_ask_is_refused_and_changes_nothing(
    world: RequestWorld,
) -> None:
    created = world.create(actor=world.boss)
    world.answer(created, world.peers[0], "First")

    with pytest.raises(DomainError, match="already answered or declined"):
        world.answer(created, world.peers[0], "Second")

    with tenant_context(world.org):
        assert list(Feedback.objects.values_list("body", flat=True)) == ["First"]


def test_answer_on_a_cancelled_request_is_refused(world: RequestWorld) -> None:
    created = world.create(actor=world.boss)
    with tenant_context(world.org):
        svc.cancel_request(actor=world.boss, request=created)

    with pytest.raises(DomainError, match="was cancelled"):
        world.answer(created, world.peers[0], "Late")

    assert _counts(world)[2:] == (0, 0)


@pytest.mark.parametrize(
    ("texts", "kw", "message"),
    [
        (["   "], {}, "Write your feedback"),
        (["ok"], {"kind": "rant"}, "Choose the kind"),
        (["ok"], {"visibility": "everyone"}, "Choose who can read"),
        (["x" * 2001], {}, "under 2000 characters"),
        (["a", "b"], {}, "Answer the questions shown"),
    ],
)
def test_answer_with_bad_input_is_refused_and_changes_nothing(
    world: RequestWorld, texts: list[str], kw: dict[str, str], message: str
) -> None:
    created = world.create(actor=world.boss)

    with pytest.raises(DomainError, match=message):
        world.answer(created, world.peers[0], *texts, **kw)

    assert _counts(world)[2:] == (0, 0)
    assert world.ask_of(created, world.peers[0]).status == AskStatus.OPEN


# --- decline and cancel ------------------------------------------------------------------


def test_decline_needs_a_reason_and_changes_nothing_without_one(
    world: RequestWorld,
) -> None:
    created = world.create(actor=world.boss)
    ask = world.ask_of(created, world.peers[0])

    with tenant_context(world.org), pytest.raises(DomainError) as error:
        asks.decline_request(actor=world.peers[0], ask=ask, reason="  ")

    assert error.value.field == "reason"
    assert world.ask_of(created, world.peers[0]).status == AskStatus.OPEN


def test_decline_of_a_named_request_tells_the_requester_why_once(
    world: RequestWorld, mailoutbox: list[Any], run_callbacks: Callable[..., Any]
) -> None:
    created = world.create(actor=world.boss)
    mailoutbox.clear()
    ask = world.ask_of(created, world.peers[0])

    with run_callbacks(), tenant_context(world.org):
        asks.decline_request(actor=world.peers[0], ask=ask, reason="Not on the team")

    ask = world.ask_of(created, world.peers[0])
    assert (ask.status, ask.decline_reason, ask.closed_on) == (
        AskStatus.DECLINED,
        "Not on the team",
        world.today(),
    )
    assert [m.to for m in mailoutbox] == [[world.boss.user.email]]
    assert "Not on the team" in mailoutbox[0].body
    with tenant_context(world.org), pytest.raises(DomainError, match="already"):
        asks.decline_request(actor=world.peers[0], ask=ask, reason="Again")


def test_only_the_requestee_may_decline(world: RequestWorld) -> None:
    created = world.create(actor=world.boss)
    ask = world.ask_of(created, world.peers[0])

    with tenant_context(world.org), pytest.raises(PermissionDenied):
        asks.decline_request(actor=world.boss, ask=ask, reason="No")

    assert world.ask_of(created, world.peers[0]).status == AskStatus.OPEN


def test_cancel_closes_open_asks_and_tells_their_requestees(
    world: RequestWorld, mailoutbox: list[Any], run_callbacks: Callable[..., Any]
) -> None:
    created = world.create(actor=world.boss)
    world.answer(created, world.peers[0], "Done")
    mailoutbox.clear()

    with run_callbacks(), tenant_context(world.org):
        svc.cancel_request(actor=world.boss, request=created)

    with tenant_context(world.org):
        statuses = dict(
            created.asks.values_list("requestee__full_name", "status").order_by()
        )
        assert FeedbackRequest.objects.get(pk=created.pk).cancelled_at is not None
    assert statuses == {
        "Peer Colleague 1": AskStatus.ANSWERED,
        "Peer Colleague 2": AskStatus.CANCELLED,
        "Peer Colleague 3": AskStatus.CANCELLED,
    }
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        p.user.email for p in world.peers[1:3]
    )
    with tenant_context(world.org), pytest.raises(DomainError, match="already"):
        svc.cancel_request(actor=world.boss, request=created)


@pytest.mark.parametrize("who", ["subject", "hr", "reviewer"])
def test_only_the_requester_may_cancel(world: RequestWorld, who: str) -> None:
    created = world.create(actor=world.boss)

    with tenant_context(world.org), pytest.raises(PermissionDenied):
        svc.cancel_request(actor=getattr(world, who), request=created)

    with tenant_context(world.org):
        assert FeedbackRequest.objects.get(pk=created.pk).cancelled_at is None


# --- reminders -------------------------------------------------------------------------


def _make_request(world: RequestWorld, due: date) -> FeedbackRequest:
    with tenant_context(world.org):
        created = FeedbackRequest.objects.create(
            organization=world.org,
            requested_by=world.employee(world.boss),
            subject=world.employee(world.subject),
            engagement=world.engagement,
            due_date=due,
        )
        for peer in world.peers[:2]:
            FeedbackAsk.objects.create(
                organization=world.org,
                request=created,
                requestee=world.employee(peer),
            )
    return created


def test_reminders_go_to_open_asks_due_within_two_days_once(
    world: RequestWorld,
    other_org: Organization,
    make_member: MakeMember,
    mailoutbox: list[Any],
    run_callbacks: Callable[..., Any],
) -> None:
    today = world.today()
    due_today = _make_request(world, today)
    due_in_two = _make_request(world, today + timedelta(days=2))
    _make_request(world, today + timedelta(days=3))
    _make_request(world, today - timedelta(days=1))
    cancelled = _make_request(world, today + timedelta(days=1))
    with tenant_context(world.org):
        svc.cancel_request(actor=world.boss, request=cancelled)
    world.answer(due_in_two, world.peers[0], "Done")
    foreign = build_world(other_org, make_member, peer_names=("Far Away",))
    _make_request(foreign, foreign.today() + timedelta(days=1))
    mailoutbox.clear()

    with run_callbacks():
        send_request_reminders()
    with run_callbacks():
        send_request_reminders()  # beat ran twice: nothing new

    far = foreign.peers[0].user.email
    mine = sorted((m.to[0], m.subject) for m in mailoutbox if m.to != [far])
    name = world.employee(world.subject).full_name
    first, second = (world.peers[0].user.email, world.peers[1].user.email)
    soon = f"Reminder: feedback about {name} is due {svc._day(today)}"
    later = f"Reminder: feedback about {name} is due {svc._day(due_in_two.due_date)}"
    assert mine == sorted([(first, soon), (second, soon), (second, later)])
    assert [m.to for m in mailoutbox].count([far]) == 1
    with tenant_context(world.org):
        keys = set(SentEmail.objects.values_list("key", flat=True))
    ask = world.ask_of(due_today, world.peers[0])
    assert f"feedback.reminder:{ask.pk}:{today.isoformat()}" in keys


# --- demo ------------------------------------------------------------------------------


def test_demo_seeds_both_sides_and_both_anonymous_states_once(
    world: RequestWorld,
) -> None:
    for member in [world.boss, *world.peers[:4]]:
        PlanFactory(
            organization=world.org,
            engagement=world.engagement,
            employee=world.employee(member),
        )
    subject = world.employee(world.subject)
    world.subject.user.email = f"employee@{world.org.slug}.test"
    world.subject.user.save()

    with tenant_context(world.org):
        demo.seed(world.org)
        demo.seed(world.org)  # idempotent

        requests = list(FeedbackRequest.objects.order_by("pk"))
        anonymous = [r for r in requests if r.anonymous]
        answers = sorted(r.anonymous_answers.count() for r in anonymous)
        asked_of_subject = FeedbackAsk.objects.filter(requestee=subject).count()
        declined = FeedbackAsk.objects.filter(status=AskStatus.DECLINED).count()
        named_answers = Feedback.objects.filter(ask__isnull=False).count()
    assert len(requests) == 4
    assert answers == [2, 3]
    assert any(r.subject_id == subject.pk for r in requests)
    assert asked_of_subject == 2  # a named request and the upward anonymous one
    assert declined == 1
    assert named_answers == 2
