"""A Redis outage with real processes: gunicorn, a Celery worker and a Redis server of
the test's own, against the test database.

While Redis is down, a reviewer submits an evaluation, an approver approves it and an
employee gives shared feedback. Every request must succeed and save its change: the
work it owes (e-mails, score recomputes) waits in the outbox. Once Redis is back and
the relay has run, every outbox row completes, every owed e-mail arrives exactly once
(the files the worker's e-mail backend wrote against the ``SentEmail`` ledger) and
``manage.py check_consistency`` finds the appraisal's stored score equal to a fresh
computation from its ratings.

The helpers here (``run_stack``, ``Watermark``, ``drain``, ``mail_by_recipient``,
``assert_consistent``) are shared with ``test_worker_death``.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import reverse

from appraisals.enums import EvaluationStatus
from appraisals.models import Appraisal, Evaluation
from appraisals.services.recompute import RECOMPUTE_APPRAISAL_TASK
from feedback.enums import FeedbackKind, Visibility
from feedback.models import Feedback
from organizations.models import Organization, OutboxMessage, SentEmail, User
from organizations.notifications import DELIVER_EMAIL_TASK
from organizations.tenancy import tenant_context
from tests.appraisals.test_workflow_opening import World, build_world, evaluation
from tests.appraisals.views.test_evaluation_pages import form_data
from tests.faults.processes import email_url, read_mail, run_manage, wait_until
from tests.faults.services import CeleryWorker, RedisServer
from tests.faults.web import (
    HttpSession,
    WebServer,
    database_url,
    process_env,
    start_web,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Long enough for a loaded two-core machine to start Python a few times over.
DRAIN_TIMEOUT = 240
# The relay republishes a published row that did not complete after this many
# seconds (doubling per attempt): short, so a lost message comes back within the test.
REDELIVER_AFTER = "3"


# --- The processes ----------------------------------------------------------------------


@dataclass
class Stack:
    """The processes under test and what they share."""

    env: dict[str, str]
    redis: RedisServer
    worker: CeleryWorker
    web: WebServer
    mail: Path

    def session(self, user: User) -> HttpSession:
        """A signed-in browser session of ``user`` against the web server."""
        return HttpSession(self.web.url, user)


@contextlib.contextmanager
def run_stack(tmp_path: Path, *, start_worker: bool = True) -> Iterator[Stack]:
    """Redis, then (unless ``start_worker`` is False) the worker, then gunicorn, all
    configured alike: the test database as the application role, the own Redis, real
    (not eager) Celery, e-mail written as files into ``tmp_path / "mail"``. Every
    process is stopped on the way out, whatever happened."""
    mail = tmp_path / "mail"
    mail.mkdir()
    with contextlib.ExitStack() as cleanup:
        redis = cleanup.enter_context(RedisServer(directory=tmp_path / "redis"))
        redis.start()
        env = process_env(
            database_url=database_url(),
            redis_url=redis.url,
            EMAIL_URL=email_url(mail),
            OUTBOX_REDELIVER_AFTER=REDELIVER_AFTER,
        )
        worker = cleanup.enter_context(CeleryWorker(env, directory=tmp_path / "worker"))
        if start_worker:
            worker.start()
        web = start_web(env)
        cleanup.callback(web.stop)
        yield Stack(env=env, redis=redis, worker=worker, web=web, mail=mail)


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


@pytest.fixture
def stack(world: World, tmp_path: Path) -> Iterator[Stack]:
    with run_stack(tmp_path) as running:
        yield running


# --- What the processes did ---------------------------------------------------------------


@dataclass(frozen=True)
class Watermark:
    """The last outbox row and ledger entry before the act, so the checks look at
    what the act caused only (building the world sent e-mails of its own)."""

    outbox: int
    ledger: int

    @classmethod
    def take(cls, organization: Organization) -> Watermark:
        with tenant_context(organization):
            last_row = OutboxMessage.objects.order_by("-pk").first()
            last_sent = SentEmail.objects.order_by("-pk").first()
        return cls(
            outbox=last_row.pk if last_row else 0,
            ledger=last_sent.pk if last_sent else 0,
        )

    def rows(self, organization: Organization) -> list[OutboxMessage]:
        with tenant_context(organization):
            return list(OutboxMessage.objects.filter(pk__gt=self.outbox))

    def ledger_by_recipient(self, organization: Organization) -> Counter[str]:
        with tenant_context(organization):
            return Counter(
                SentEmail.objects.filter(pk__gt=self.ledger).values_list(
                    "recipient", flat=True
                )
            )


def unfinished(organization: Organization) -> list[OutboxMessage]:
    """Every outbox row of the organisation not completed yet (failed ones too)."""
    with tenant_context(organization):
        return list(OutboxMessage.objects.filter(completed_at__isnull=True))


def drain(stack: Stack, organization: Organization) -> None:
    """Run the relay's catch-up pass (``manage.py relay_outbox``, as beat would) until
    every outbox row of the organisation is completed; fail after ``DRAIN_TIMEOUT``
    seconds, naming the rows left and showing the worker's log."""

    def done() -> bool:
        relay = run_manage(stack.env, "relay_outbox")
        assert relay.returncode == 0, relay.stderr
        return not unfinished(organization)

    try:
        wait_until(done, timeout=DRAIN_TIMEOUT, interval=1, what="the outbox to drain")
    except TimeoutError as exc:
        left = [
            (row.pk, row.task, row.attempts, row.last_error)
            for row in unfinished(organization)
        ]
        raise AssertionError(
            f"{exc} Left: {left}\n{stack.worker.output_text()[-6000:]}"
        ) from exc


def mail_by_recipient(mail: Path) -> Counter[str]:
    """How many messages the e-mail files hold per recipient address."""
    return Counter(
        address.addr_spec
        for message in read_mail(mail)
        for address in message["To"].addresses
    )


def assert_consistent(stack: Stack, organization: Organization) -> None:
    """``manage.py check_consistency`` finds nothing: every open appraisal's stored
    scores equal a fresh computation, no outbox row or owed e-mail is left over."""
    checked = run_manage(stack.env, "check_consistency", "--org", organization.slug)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"No differences found in {organization.name}" in checked.stdout


# --- The test -----------------------------------------------------------------------------


def test_actions_during_a_redis_outage_are_saved_and_their_work_runs_once_after(
    world: World, stack: Stack
):
    review = evaluation(world, world.plan)
    before = Watermark.take(world.org)
    org = world.org.slug
    give = reverse("feedback:give", args=[org, world.engagement.pk])
    feedback = {
        "subject": str(world.employee("owner").pk),
        "kind": FeedbackKind.PRAISE,
        "body": "Calm and clear through the migration weekend.",
        "visibility": Visibility.SHARED,
        "goal": "",
    }
    review_page = reverse("appraisals:evaluation_detail", args=[org, review.pk])
    approve = reverse("appraisals:evaluation_approve", args=[org, review.pk])

    stack.redis.stop()
    submitted, _ = stack.session(world.reviewer.user).post(
        review_page, form_data(world, review, "submit")
    )
    approved, _ = stack.session(world.approver.user).post(
        approve, {"approve-comment": ""}
    )
    given, _ = stack.session(world.planner.user).post(give, feedback)
    owed = before.rows(world.org)

    assert [submitted, approved, given] == [302, 302, 302]
    with tenant_context(world.org):
        saved = Evaluation.objects.get(pk=review.pk)
        assert list(Feedback.objects.values_list("body", flat=True)) == [
            feedback["body"]
        ]
    assert saved.status == EvaluationStatus.APPROVED
    assert {row.task for row in owed} == {DELIVER_EMAIL_TASK, RECOMPUTE_APPRAISAL_TASK}
    assert [row.state for row in owed] == ["pending"] * len(owed)

    stack.redis.start()
    drain(stack, world.org)

    ledger = before.ledger_by_recipient(world.org)
    assert ledger == Counter({world.approver.user.email: 1, world.owner.user.email: 1})
    assert sum(ledger.values()) == sum(
        1 for row in owed if row.task == DELIVER_EMAIL_TASK
    )
    assert mail_by_recipient(stack.mail) == ledger
    with tenant_context(world.org):
        appraisal = Appraisal.objects.get(pk=saved.appraisal_id)
    assert appraisal.final_score is not None
    assert_consistent(stack, world.org)
