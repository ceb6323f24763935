"""A batch of appraisal PDFs while its Celery worker is killed (SIGKILL), again and
again, with real processes.

HR asks for the batch of a cycle of 60 appraisals through the web server; its chunk
tasks wait in Redis until a worker starts. The worker (two pool processes) is killed
with everything below it at random moments while it makes the documents (once it,
started again, has made a random few), three times, and started again each time;
the relay (``manage.py relay_outbox``, as beat runs it) republishes the chunks the
dead worker held. The job must end done, with every appraisal's PDF in the ZIP
exactly once, every document recorded once, and no more documents made twice than
the worker was made to lose (one per pool process per kill: those being stored at
the moment of the kill).
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from engagements.enums import CycleStatus, PlanKind
from engagements.models import ReviewCycle
from organizations.enums import Role
from organizations.models import Membership, Organization, OutboxMessage
from organizations.tenancy import tenant_context
from reporting.batches import (
    ASSEMBLE_BATCH_TASK,
    CHUNK_SIZE,
    RUN_BATCH_CHUNK_TASK,
    file_names,
)
from reporting.enums import JobStatus, PartStatus
from reporting.models import ReportJob, ReportJobPart
from tests.appraisal_factories import AppraisalFactory
from tests.engagement_factories import GoalFactory, PlanFactory, ReviewCycleFactory
from tests.factories import EmployeeFactory, MembershipFactory
from tests.faults.processes import ROOT, wait_until
from tests.faults.test_redis_outage import Stack, drain, run_stack

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DOCUMENTS = 60
KILLS = 3
# Each kill comes once the worker, (re)started, has made a random number of
# documents in this range, then after a random pause of up to ``KILL_JITTER``
# seconds: while it is busy making the next ones.
KILL_AFTER = (1, 4)
KILL_JITTER = 0.2
PROGRESS_TIMEOUT = 120
STALLED_AFTER = 2


@pytest.fixture
def media(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One MEDIA_ROOT for this test process and the processes it starts (they read
    the environment)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    monkeypatch.setenv("MEDIA_ROOT", str(root))
    return root


@pytest.fixture
def cycle(org: Organization) -> ReviewCycle:
    """A cycle in review with ``DOCUMENTS`` appraisals, each with an engagement plan
    of three goals."""
    cycle = ReviewCycleFactory(
        organization=org, name="Cycle under fire", status=CycleStatus.REVIEW
    )
    for number in range(DOCUMENTS):
        person = EmployeeFactory(organization=org, full_name=f"Person {number:02d}")
        AppraisalFactory(organization=org, cycle=cycle, employee=person)
        plan = PlanFactory(
            organization=org, cycle=cycle, employee=person, kind=PlanKind.ENGAGEMENT
        )
        GoalFactory.create_batch(3, plan=plan)
    return cycle


@pytest.fixture
def hr(org: Organization) -> Membership:
    return MembershipFactory(organization=org, role=Role.HR_ADMIN)


@pytest.fixture
def stack(
    cycle: ReviewCycle, hr: Membership, media: Path, tmp_path: Path
) -> Iterator[Stack]:
    with run_stack(tmp_path, start_worker=False) as running:
        yield running


def _job(org: Organization) -> ReportJob:
    with tenant_context(org):
        return ReportJob.objects.get()


def _made(org: Organization) -> int:
    with tenant_context(org):
        return ReportJobPart.objects.filter(status=PartStatus.DONE).count()


def _relay_in_background(stack: Stack) -> subprocess.Popen[str]:
    """``manage.py relay_outbox`` (beat's catch-up pass) without waiting for it: a
    Django process takes seconds to start on a busy machine, and the worker must not
    run unwatched that long (it would finish the batch before the next kill)."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "relay_outbox"],
        cwd=ROOT,
        env=dict(stack.env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_progress(stack: Stack, org: Organization, made: int) -> None:
    """Until ``made`` documents are made. When none has been made for
    ``STALLED_AFTER`` seconds (the worker waits for the chunks a killed worker held),
    the relay's catch-up pass runs, as beat would, and publishes them again."""
    last = (_made(org), time.monotonic())
    relays: list[subprocess.Popen[str]] = []

    def enough() -> bool:
        nonlocal last
        now = _made(org)
        if now >= made:
            return True
        if now != last[0]:
            last = (now, time.monotonic())
        elif time.monotonic() - last[1] > STALLED_AFTER and all(
            relay.poll() is not None for relay in relays
        ):
            relays.append(_relay_in_background(stack))
            last = (now, time.monotonic())
        return False

    try:
        wait_until(
            enough,
            timeout=PROGRESS_TIMEOUT,
            interval=0.1,
            what=f"{made} documents to be made",
        )
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{stack.worker.output_text()[-6000:]}") from exc
    finally:
        for relay in relays:
            _out, errors = relay.communicate(timeout=120)
            assert relay.returncode == 0, errors


def test_a_batch_survives_its_worker_killed_three_times(
    org: Organization, cycle: ReviewCycle, hr: Membership, stack: Stack, media: Path
):
    seed = random.randrange(1_000_000)
    pauses = random.Random(seed)
    status, _body = stack.session(hr.user).post(
        reverse("reporting:appraisal_batch", args=[org.slug]),
        {"cycle": str(cycle.pk)},
    )
    assert status == 302

    stack.worker.start()
    kills_at: list[int] = []
    for number in range(1, KILLS + 1):
        # Once the (re)started worker has made a few documents: it is working. The
        # kills spread over the first half of the batch: a restarted worker makes
        # the documents the dead one left a dozen at a time, and the last kill must
        # still find some left to lose.
        spread = number * DOCUMENTS // (2 * (KILLS + 1)) + pauses.randint(*KILL_AFTER)
        _wait_for_progress(stack, org, max(_made(org) + 1, spread))
        time.sleep(pauses.uniform(0, KILL_JITTER))
        kills_at.append(_made(org))
        stack.worker.kill()
        stack.worker.start()
    drain(stack, org)

    job = _job(org)
    context = f"(random seed {seed}; killed after {kills_at} documents)"
    assert (job.status, job.row_count) == (JobStatus.DONE, DOCUMENTS), (
        f"{job.error} {context}"
    )
    assert max(kills_at) < DOCUMENTS, f"a kill came after the work {context}"
    with default_storage.open(job.file.name, "rb") as stored:
        archive = zipfile.ZipFile(io.BytesIO(stored.read()))
    names = archive.namelist()
    expected = file_names([f"Person {n:02d}" for n in range(DOCUMENTS)], cycle.name)
    assert sorted(names) == sorted(expected), context  # each exactly once
    assert all(archive.read(name).startswith(b"%PDF-") for name in names)
    with tenant_context(org):
        parts = list(ReportJobPart.objects.all())
        rows = list(OutboxMessage.objects.all())
    assert len(parts) == DOCUMENTS
    assert all(p.status == PartStatus.DONE and p.finished_at for p in parts)
    assert all(p.file.name == "" for p in parts)  # their files went with the ZIP
    chunks = [row for row in rows if row.task == RUN_BATCH_CHUNK_TASK]
    assert len(chunks) == DOCUMENTS // CHUNK_SIZE
    assert max(row.attempts for row in chunks) > 1, context  # lost work came back
    assert sum(1 for row in rows if row.task == ASSEMBLE_BATCH_TASK) == 1
    # Left in the folder besides the ZIP: documents stored by a worker killed before
    # it could record them (each made again). At most one per pool process per kill.
    folder = media / "reports" / str(org.pk)
    stray = [path for path in folder.iterdir() if path.name != Path(job.file.name).name]
    assert len(stray) <= KILLS * stack.worker.concurrency, context
