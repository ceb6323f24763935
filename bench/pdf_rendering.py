"""The appraisal PDF: the product's job path against plain WeasyPrint, the queries
of one document, and a batch of about 1,000 over two worker processes.

Seeds one organisation with ``seed_scale`` (``--employees``, 1,020 by default: a
little over 1,000 appraisals in the cycle in review) in a throwaway database of its
own, ``hrms_bench_pdf``, runs VACUUM ANALYZE as the owner, then, as the HR admin:

1. **Rate.** Takes the first ``--documents`` (100) appraisals of the cycle in review
   and renders each of them ``--rounds`` (2) times both ways, alternating chunk by
   chunk so that drift in machine load hits both alike:
   (a) the product's job path: ``reporting.batches.run_batch_chunk`` on chunks of
   ten, inside the organisation's tenant context, as the chunk task runs it: the
   requester's access, then per document the appraisal and its HTML
   (``appraisal_html``), WeasyPrint through ``StaticOnlyFetcher``, the PDF stored,
   the part and the job's progress recorded on a connection of their own;
   (b) ``weasyprint.HTML(string=html).write_pdf()`` on the same HTML, built
   beforehand and not timed.
   It prints the documents per second of each and the ratio (a)/(b): the goal of
   issue 14 is at least 0.8.
2. **Queries.** The queries of one document on the task's connection, for the
   appraisal of the cycle with the fewest goals and the one with the most: equal,
   and at most ``MAX_QUERIES`` (the subject, the HTML's 17, the check that the job
   still runs); the record on the progress connection adds three writes.
3. **Batch.** Starts a Redis server and a Celery worker of concurrency 2 (two
   pool processes) on ports and directories of their own, asks for the batch of
   the whole cycle (``reporting.batches.request_batch``: the outbox publishes its
   chunks as the request commits) and waits until the ZIP is made: it prints the
   wall time from the request to the finished job (goal: under 3 minutes) and the
   documents per second.

It exits 1 for a broken invariant only: a query count that differs between the
two appraisals or exceeds ``MAX_QUERIES``, a document that did not render, a batch
that did not finish with one PDF per appraisal. The files go to a temporary
MEDIA_ROOT, removed at the end; ``--keep`` reuses the seeded database of an earlier
``--keep`` run and leaves it in place. Needs PostgreSQL and ``redis-server``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    analyze,
    database_description,
    lookups,
    run_in_bench_database,
    seed_organization,
)
from bench.page_runner import HR, SEED  # noqa: E402

DATABASE = "hrms_bench_pdf"
SLUG = "pdf-bench"
GOAL_RATIO = 0.8
GOAL_BATCH_SECONDS = 180.0
# Per document on the task's connection: the subject, appraisal_html's 17, the
# look at the job's status (reporting.batches.run_batch_chunk).
MAX_QUERIES = 19
BATCH_TIMEOUT = 900


@dataclass
class Bench:
    """What the measurements share: the organisation, the HR admin, the cycle."""

    organization: Any
    actor: Any
    cycle: Any


def _contexts(organization: Any) -> contextlib.ExitStack:
    """The tenant, the language and the time zone a chunk task renders in."""
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils import timezone, translation

    from organizations.tenancy import tenant_context

    stack = contextlib.ExitStack()
    stack.enter_context(tenant_context(organization))
    stack.enter_context(translation.override(settings.LANGUAGE_CODE))
    stack.enter_context(timezone.override(ZoneInfo(organization.timezone)))
    return stack


def load(slug: str) -> Bench:
    from engagements.enums import CycleStatus
    from engagements.models import ReviewCycle
    from organizations.models import Membership, Organization
    from organizations.tenancy import tenant_context

    organization = Organization.objects.get(slug=slug)
    with tenant_context(organization):
        actor = Membership.objects.select_related("organization", "user").get(
            user__email=f"{HR}@{slug}.test"
        )
        cycle = ReviewCycle.objects.get(status=CycleStatus.REVIEW)
    return Bench(organization, actor, cycle)


# --- 1. The job path against plain WeasyPrint -----------------------------------------------


@dataclass
class RateJob:
    """A batch job of ``documents`` parts made again and again: one more part, never
    made, keeps the assembly from being owed."""

    job_id: int
    chunks: list[int]
    appraisal_ids: dict[int, list[int]]  # per chunk


def bench_job(bench: Bench, documents: int) -> Any:
    """A queued batch job of the HR admin's on the cycle, without its tasks (the
    benchmark runs them here)."""
    from datetime import timedelta

    from django.utils import timezone

    from reporting.batches import APPRAISAL_BATCH
    from reporting.enums import FileFormat
    from reporting.models import ReportJob

    return ReportJob.objects.create(
        organization=bench.organization,
        kind=APPRAISAL_BATCH,
        file_format=FileFormat.ZIP,
        parameters={"cycle": str(bench.cycle.pk), "documents": documents},
        requested_by=bench.actor.user,
        expires_at=timezone.now() + timedelta(days=1),
    )


def finish(bench: Bench, job_id: int) -> None:
    """The job no longer under way (it would count against the HR admin's limit of
    reports under way when part 3 asks for the batch)."""
    from reporting.enums import JobStatus
    from reporting.models import ReportJob

    with _contexts(bench.organization):
        ReportJob.objects.filter(pk=job_id).update(status=JobStatus.FAILED)


def make_rate_job(bench: Bench, count: int) -> RateJob:
    from appraisals.models import Appraisal
    from reporting.batches import CHUNK_SIZE
    from reporting.models import ReportJobPart

    with _contexts(bench.organization):
        ids = list(
            Appraisal.objects.filter(cycle=bench.cycle)
            .order_by("pk")
            .values_list("pk", flat=True)[: count + 1]
        )
        job = bench_job(bench, count + 1)
        ReportJobPart.objects.bulk_create(
            ReportJobPart(
                organization=bench.organization,
                job=job,
                chunk=index // CHUNK_SIZE if index < count else 10**6,
                subject_id=pk,
                name=f"{pk}.pdf",
            )
            for index, pk in enumerate(ids)
        )
    per_chunk: dict[int, list[int]] = {}
    for index, pk in enumerate(ids[:count]):
        per_chunk.setdefault(index // CHUNK_SIZE, []).append(pk)
    return RateJob(job.pk, sorted(per_chunk), per_chunk)


def requeue(bench: Bench, rate: RateJob) -> None:
    """The job's made parts queued again, their files deleted."""
    from reporting.enums import JobStatus, PartStatus
    from reporting.models import ReportJob, ReportJobPart

    with _contexts(bench.organization):
        parts = ReportJobPart.objects.filter(job_id=rate.job_id).exclude(file="")
        storage = ReportJobPart._meta.get_field("file").storage
        for name in parts.values_list("file", flat=True):
            storage.delete(name)
        ReportJobPart.objects.filter(job_id=rate.job_id).update(
            status=PartStatus.QUEUED, file="", finished_at=None
        )
        ReportJob.objects.filter(pk=rate.job_id).update(
            status=JobStatus.QUEUED, progress=0, row_count=0
        )


def html_of(bench: Bench, appraisal_ids: Iterable[int]) -> dict[int, str]:
    from reporting.documents.appraisal import APPRAISAL_REPORT

    pages = {}
    with _contexts(bench.organization):
        for pk in appraisal_ids:
            subject = APPRAISAL_REPORT.subject(bench.actor, {"appraisal": pk})
            pages[pk] = APPRAISAL_REPORT.html(bench.actor, subject)
    return pages


def measure_rates(bench: Bench, options: argparse.Namespace) -> int:
    """Part 1; returns the broken invariants."""
    from weasyprint import HTML

    from reporting.batches import run_batch_chunk
    from reporting.models import ReportJobPart

    rate = make_rate_job(bench, options.documents)
    ids = [pk for chunk in rate.chunks for pk in rate.appraisal_ids[chunk]]
    pages = html_of(bench, ids)
    # Warm-up: WeasyPrint's first document loads fonts and caches.
    HTML(string=pages[ids[0]]).write_pdf()
    product: list[float] = []
    plain: list[float] = []
    sizes: list[int] = []
    broken = 0
    for _round in range(options.rounds):
        requeue(bench, rate)
        for chunk in rate.chunks:
            started = time.perf_counter()
            with _contexts(bench.organization):
                made = run_batch_chunk(
                    organization=bench.organization, job_id=rate.job_id, chunk=chunk
                )
            product.append(time.perf_counter() - started)
            if made != len(rate.appraisal_ids[chunk]):
                print(f"  BROKEN: chunk {chunk} made {made} documents")
                broken += 1
            started = time.perf_counter()
            for pk in rate.appraisal_ids[chunk]:
                sizes.append(len(HTML(string=pages[pk]).write_pdf()))
            plain.append(time.perf_counter() - started)
    with _contexts(bench.organization):
        stored = ReportJobPart.objects.filter(job_id=rate.job_id).exclude(file="")
        kilobytes = statistics.mean(part.file.size for part in stored) / 1024
    documents = options.documents * options.rounds
    product_rate = documents / sum(product)
    plain_rate = documents / sum(plain)
    ratio = product_rate / plain_rate
    flag = "" if ratio >= GOAL_RATIO else f"  below the goal of {GOAL_RATIO}"
    print(
        f"\n  1. The same {options.documents} appraisal reports, {options.rounds} "
        f"rounds, chunk by chunk alternating (PDFs of {kilobytes:.0f} KB on average):"
    )
    print(
        f"     job path (run_batch_chunk: access, HTML, fetcher, storage, record): "
        f"{product_rate:6.2f} documents/s"
    )
    print(
        f"     weasyprint.HTML(string=html).write_pdf() on the same HTML:           "
        f"{plain_rate:6.2f} documents/s"
    )
    print(f"     ratio {ratio:.2f} (goal ≥ {GOAL_RATIO}){flag}")
    requeue(bench, rate)
    finish(bench, rate.job_id)
    return broken


# --- 2. Queries per document -----------------------------------------------------------------


def measure_queries(bench: Bench) -> int:
    """Part 2; returns the broken invariants."""
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from appraisals.models import Appraisal
    from reporting.batches import make_document
    from reporting.enums import JobStatus
    from reporting.models import ReportJob, ReportJobPart
    from reporting.services import ProgressRecorder

    with _contexts(bench.organization):
        by_size = list(
            Appraisal.objects.filter(cycle=bench.cycle)
            .annotate(goals=Count("evaluations__plan__goals", distinct=True))
            .order_by("goals", "pk")
            .values_list("pk", "goals")
        )
    (small, small_goals), (large, large_goals) = by_size[0], by_size[-1]
    counts: dict[int, int] = {}
    for pk in (small, large, small, large):  # the first of each warms caches up
        with _contexts(bench.organization):  # committed: the record reads it
            job = bench_job(bench, 1)
            part = ReportJobPart.objects.create(
                organization=bench.organization,
                job=job,
                chunk=0,
                subject_id=pk,
                name="probe.pdf",
            )
        with _contexts(bench.organization):
            recorder = ProgressRecorder(bench.organization, job.pk)
            try:
                with CaptureQueriesContext(connection) as captured:
                    # The chunk task's look at the job before each document.
                    ReportJob.objects.filter(
                        pk=job.pk, status=JobStatus.FAILED
                    ).exists()
                    made = make_document(recorder, bench.actor, part, 1)
            finally:
                recorder.close()
            counts[pk] = lookups(captured)
        finish(bench, job.pk)
        if made != 1:
            print(f"  BROKEN: appraisal {pk} was not rendered")
            return 1
    print(
        f"\n  2. Queries per document on the task's connection (plus 3 writes on the "
        f"progress connection):\n"
        f"     fewest goals ({small_goals:>2}): {counts[small]:>2} queries\n"
        f"     most goals   ({large_goals:>2}): {counts[large]:>2} queries"
    )
    broken = 0
    if counts[small] != counts[large]:
        print("     BROKEN: the count depends on the size of the appraisal")
        broken += 1
    if max(counts.values()) > MAX_QUERIES:
        print(f"     BROKEN: more than {MAX_QUERIES} queries")
        broken += 1
    return broken


# --- 3. A batch over two worker processes ---------------------------------------------------


@contextlib.contextmanager
def worker_processes(redis_url: str, directory: Path) -> Iterator[Any]:
    """A Celery worker with two pool processes on the bench database as the
    application role, the run's Redis and MEDIA_ROOT; stopped on the way out."""
    from tests.faults.services import CeleryWorker
    from tests.faults.web import database_url, process_env

    env = process_env(
        database_url=database_url(),
        redis_url=redis_url,
        MEDIA_ROOT=os.environ["MEDIA_ROOT"],
        LOG_LEVEL="WARNING",
    )
    with CeleryWorker(env, concurrency=2, directory=directory) as worker:
        worker.start()
        yield worker


def measure_batch(bench: Bench, redis_url: str, work: Path) -> int:
    """Part 3; returns the broken invariants."""
    from django.core.files.storage import default_storage

    from appraisals.models import Appraisal
    from reporting.access import batch_report
    from reporting.batches import request_batch
    from reporting.enums import JobStatus
    from reporting.models import ReportJob
    from tests.faults.processes import wait_until

    with _contexts(bench.organization):
        expected = Appraisal.objects.filter(cycle=bench.cycle).count()
    with worker_processes(redis_url, work / "worker") as worker:
        started = time.perf_counter()
        with _contexts(bench.organization):
            report = batch_report(bench.actor, {"cycle": str(bench.cycle.pk)})
            if report is None:
                print("  BROKEN: the HR admin may not have the cycle's batch")
                return 1
            job = request_batch(actor=bench.actor, report=report)

        def finished() -> bool:
            with _contexts(bench.organization):
                return ReportJob.objects.get(pk=job.pk).status in (
                    JobStatus.DONE,
                    JobStatus.FAILED,
                )

        try:
            wait_until(finished, timeout=BATCH_TIMEOUT, interval=0.5, what="the batch")
        except TimeoutError as exc:
            print(f"  BROKEN: {exc}\n{worker.output_text()[-4000:]}")
            return 1
        seconds = time.perf_counter() - started
    with _contexts(bench.organization):
        job = ReportJob.objects.get(pk=job.pk)
    if job.status != JobStatus.DONE:
        print(f"  BROKEN: the batch failed: {job.error}")
        return 1
    with default_storage.open(job.file.name, "rb") as stored:
        archive = zipfile.ZipFile(io.BytesIO(stored.read()))
        names = archive.namelist()
        size = sum(info.file_size for info in archive.infolist())
    flag = "" if seconds < GOAL_BATCH_SECONDS else "  over the goal"
    print(
        f"\n  3. The batch of the cycle as the HR admin, one Celery worker with 2 "
        f"pool processes:\n"
        f"     {len(names):,} PDFs in the ZIP ({size / 2**20:.0f} MiB) in "
        f"{seconds:.0f} s from the request to the ZIP (goal < "
        f"{GOAL_BATCH_SECONDS:.0f} s){flag}; {len(names) / seconds:.2f} documents/s"
    )
    if len(names) != expected or len(set(names)) != expected:
        print(f"  BROKEN: {len(names)} PDFs for {expected} appraisals")
        return 1
    return 0


# --- The run ---------------------------------------------------------------------------------


def run(owner: str, options: argparse.Namespace, redis_url: str, work: Path) -> int:
    from organizations.models import Organization

    print(f"PDF rendering benchmark on {database_description()}", flush=True)
    if options.keep and Organization.objects.filter(slug=SLUG).exists():
        print(f"  {SLUG}: kept from an earlier run (--keep)", flush=True)
    else:
        started = time.perf_counter()
        seed_organization(SLUG, options.employees, SEED)
        seconds = time.perf_counter() - started
        print(f"  seed_scale --employees {options.employees}: {seconds:.1f} s")
    analyze(owner)
    bench = load(SLUG)
    broken = measure_rates(bench, options)
    broken += measure_queries(bench)
    if not options.no_batch:
        broken += measure_batch(bench, redis_url, work)
    if broken:
        print(f"\n  {broken} broken invariant(s) above.")
    return 1 if broken else 0


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--employees", type=int, default=1020, help="employees to seed (1020)"
    )
    parser.add_argument(
        "--documents", type=int, default=100, help="documents of the rate (100)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the rate (2)")
    parser.add_argument(
        "--no-batch", action="store_true", help="skip the batch over two workers"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help=f"reuse the seeded database {DATABASE} if it exists and keep it afterwards",
    )
    options = parser.parse_args(None if argv is None else list(argv))
    from tests.faults.services import RedisServer

    work = Path(tempfile.mkdtemp(prefix="bench-pdf-"))
    media = work / "media"
    media.mkdir()
    try:
        with RedisServer(directory=work / "redis") as redis:
            redis.start()
            # This process asks for the batch as a web process would: the outbox
            # publishes to the run's own Redis, which the worker consumes.
            os.environ.update(
                MEDIA_ROOT=str(media),
                REDIS_URL=redis.url,
                CELERY_TASK_ALWAYS_EAGER="false",
            )
            return run_in_bench_database(
                lambda owner: run(owner, options, redis.url, work),
                database=DATABASE,
                keep=options.keep,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
