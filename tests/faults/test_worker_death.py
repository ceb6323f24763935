"""A Celery worker killed (SIGKILL) in the middle of its work, with real processes.

Requests queue e-mails and score recomputes while no worker runs (Redis is up, so the
messages wait in the queue). The test holds a lock on the outbox rows, starts a worker
and waits until both of its pool processes are inside a task (blocked on that lock),
then kills the worker and everything below it, releases the lock and starts a new
worker. The messages the dead worker held are lost with it; the relay publishes their
rows again. Everything must complete exactly once: one ledger entry and one e-mail
file per owed e-mail, and a stored score equal to a fresh computation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.urls import reverse

from appraisals.models import Appraisal
from feedback.enums import FeedbackKind, Visibility
from organizations.models import OutboxMessage
from organizations.notifications import DELIVER_EMAIL_TASK
from organizations.tenancy import tenant_context
from tests.appraisals.test_workflow_opening import World, build_world, evaluation
from tests.appraisals.views.test_evaluation_pages import form_data
from tests.faults.processes import wait_until
from tests.faults.test_redis_outage import (
    Stack,
    Watermark,
    assert_consistent,
    drain,
    mail_by_recipient,
    run_stack,
)
from tests.faults.web import database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FEEDBACK_COUNT = 4
# Sessions of other processes on the test database waiting for a lock.
WAITING_FOR_A_LOCK = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database()
      AND wait_event_type = 'Lock'
      AND pid <> pg_backend_pid()
"""


@pytest.fixture
def world(org, other_org, make_member) -> World:
    return build_world(org, other_org, make_member)


@pytest.fixture
def stack(world: World, tmp_path: Path) -> Iterator[Stack]:
    with run_stack(tmp_path, start_worker=False) as running:
        yield running


def sessions_waiting_for_a_lock() -> int:
    """Read on a connection of its own: inside a transaction PostgreSQL would keep
    showing the activity as it was at the transaction's first look."""
    with psycopg.connect(database_url(), autocommit=True) as conn:
        row = conn.execute(WAITING_FOR_A_LOCK).fetchone()
    return int(row[0]) if row else 0


def queue_work(world: World, stack: Stack) -> list[int]:
    """Through the web server: the reviewer submits the review, the approver approves
    it (a recompute and e-mails each) and the planner gives several pieces of shared
    feedback about the employee (an e-mail each). Returns the response statuses."""
    org = world.org.slug
    review = evaluation(world, world.plan)
    statuses = [
        stack.session(world.reviewer.user).post(
            reverse("appraisals:evaluation_detail", args=[org, review.pk]),
            form_data(world, review, "submit"),
        )[0],
        stack.session(world.approver.user).post(
            reverse("appraisals:evaluation_approve", args=[org, review.pk]),
            {"approve-comment": ""},
        )[0],
    ]
    planner = stack.session(world.planner.user)
    for number in range(FEEDBACK_COUNT):
        status, _body = planner.post(
            reverse("feedback:give", args=[org, world.engagement.pk]),
            {
                "subject": str(world.employee("owner").pk),
                "kind": FeedbackKind.PRAISE,
                "body": f"Thanks for the hand-over notes, part {number + 1}.",
                "visibility": Visibility.SHARED,
                "goal": "",
            },
        )
        statuses.append(status)
    return statuses


def test_work_of_a_worker_killed_mid_task_completes_exactly_once(
    world: World, stack: Stack
):
    before = Watermark.take(world.org)
    statuses = queue_work(world, stack)
    owed = before.rows(world.org)
    assert statuses == [302] * (2 + FEEDBACK_COUNT)
    assert [row.state for row in owed] == ["dispatched"] * len(owed)

    with tenant_context(world.org):
        # Held until the worker is dead: its pool blocks on these rows mid-task.
        list(
            OutboxMessage.objects.select_for_update().filter(
                pk__in=[row.pk for row in owed]
            )
        )
        stack.worker.start()
        wait_until(
            lambda: sessions_waiting_for_a_lock() >= stack.worker.concurrency,
            timeout=120,
            what="both pool processes to be inside a task",
        )
        stack.worker.kill()
    stack.worker.start()
    drain(stack, world.org)

    done = before.rows(world.org)
    ledger = before.ledger_by_recipient(world.org)
    assert ledger == Counter(
        {world.approver.user.email: 1, world.owner.user.email: FEEDBACK_COUNT}
    )
    assert sum(ledger.values()) == sum(
        1 for row in done if row.task == DELIVER_EMAIL_TASK
    )
    assert mail_by_recipient(stack.mail) == ledger
    assert max(row.attempts for row in done) > 1  # the dead worker's work came back
    with tenant_context(world.org):
        appraisal = Appraisal.objects.get(pk=evaluation(world, world.plan).appraisal_id)
    assert appraisal.final_score is not None
    assert_consistent(stack, world.org)
