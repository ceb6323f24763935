"""The appraisal exports of bench/reporting.py: the export of the appraisals of the
cycle in review, as XLSX and as CSV, as the HR admin, at both sizes.

``reporting.services.request_export`` asks for each (with CELERY_TASK_ALWAYS_EAGER the
outbox runs the job when the request commits: the warm-up); then ``--export-repeats``
runs of ``reporting.services.run_report_job`` in the organisation's tenant context,
as the task runs it, the sizes alternating, each after the job was put back in the
queue, and one more run of each under ``tracemalloc`` for the peak of Python's
memory. It prints the rows, the file's size, the median wall time (the goal: under
10 s at the large size) and the peak memory at each size; an export that did not
finish with one row per appraisal is a broken invariant.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

from bench.page_runner import HR, World, size_label

# Issue "Reporting I": the XLSX export of a cycle's appraisals at the large size.
GOAL_EXPORT_SECONDS = 10.0
EXPORT_FORMATS = ("xlsx", "csv")
EXPORT_KIND = "appraisals"


@dataclass
class Export:
    """One report job, run again and again: where, what, and what it gave."""

    organization: Any
    actor: Any
    parameters: dict[str, Any]
    job_id: int
    expected_rows: int
    rows: int = 0
    bytes: int = 0
    seconds: list[float] = field(default_factory=list)
    peak: int = 0
    problems: list[str] = field(default_factory=list)


def ask_for_export(world: World, file_format: str) -> Export:
    """As the HR admin, ask for the export of the appraisals of the cycle in review;
    with CELERY_TASK_ALWAYS_EAGER the outbox runs it as the request commits (the
    warm-up). Without, the job is run here once instead."""
    from appraisals.models import Appraisal
    from engagements.enums import CycleStatus
    from engagements.models import ReviewCycle
    from organizations.models import Membership
    from organizations.tenancy import tenant_context
    from reporting.services import request_export

    organization = world.organization
    with tenant_context(organization):
        cycle = ReviewCycle.objects.get(status=CycleStatus.REVIEW)
        expected = Appraisal.objects.filter(cycle=cycle).count()
        actor = Membership.objects.select_related("organization", "user").get(
            user__email=f"{HR}@{organization.slug}.test"
        )
    parameters = {"cycle": cycle.pk}
    with tenant_context(organization):
        job = request_export(
            actor=actor,
            kind=EXPORT_KIND,
            file_format=file_format,
            parameters=parameters,
        )
    export = Export(organization, actor, parameters, job.pk, expected)
    if _job(export).status != "done":
        run_export(export)
    check(export)
    return export


def _job(export: Export) -> Any:
    from organizations.tenancy import tenant_context
    from reporting.models import ReportJob

    with tenant_context(export.organization):
        return ReportJob.objects.get(pk=export.job_id)


def requeue(export: Export) -> None:
    """Put the job back in the queue, its file deleted, as a new job would be."""
    from organizations.tenancy import tenant_context
    from reporting.enums import JobStatus
    from reporting.models import ReportJob

    job = _job(export)
    if job.file.name:
        job.file.storage.delete(job.file.name)
    with tenant_context(export.organization):
        ReportJob.objects.filter(pk=export.job_id).update(
            status=JobStatus.QUEUED,
            progress=0,
            row_count=0,
            file="",
            error="",
            finished_at=None,
        )


def run_export(export: Export) -> float:
    """Run the job as its task does (the tenant context, ``run_report_job``);
    return the seconds."""
    from organizations.tenancy import tenant_context
    from reporting.services import run_report_job

    started = time.perf_counter()
    with tenant_context(export.organization):
        run_report_job(organization=export.organization, job_id=export.job_id)
    return time.perf_counter() - started


def held_peak(export: Export) -> int:
    """The peak of Python's memory while the export's rows are read into a list:
    what an export that wrote its file only once it had every row would hold."""
    from organizations.tenancy import tenant_context
    from reporting.exports.registry import get_dataset
    from reporting.scope import ReportScope

    dataset = get_dataset(EXPORT_KIND)
    if dataset is None:
        raise LookupError(f"no export dataset {EXPORT_KIND!r}")
    with tenant_context(export.organization):
        tracemalloc.start()
        rows = list(dataset.rows(ReportScope(export.actor), export.parameters))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    del rows
    return peak


def check(export: Export) -> None:
    """Record the job's rows and file size; a problem unless it finished with one
    row per appraisal of the cycle."""
    job = _job(export)
    if job.status != "done":
        export.problems.append(f"job {job.status}: {job.error or 'no error recorded'}")
        return
    export.rows = job.row_count
    export.bytes = job.file.size if job.file.name else 0
    if job.row_count != export.expected_rows:
        export.problems.append(
            f"{job.row_count} rows for {export.expected_rows} appraisals"
        )


def run_exports(
    options: argparse.Namespace, worlds: dict[str, World], sizes: dict[str, int]
) -> int:
    """Time the exports at both sizes and print them; the number of broken
    invariants."""
    # Not a line per eagerly run job ("Task ... succeeded") between the tables.
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
    exports: dict[tuple[str, str], Export] = {}
    for file_format in EXPORT_FORMATS:
        for slug in sizes:
            exports[slug, file_format] = ask_for_export(worlds[slug], file_format)
    keys = [key for key, export in exports.items() if not export.problems]

    def once(key: tuple[str, str]) -> float:
        export = exports[key]
        requeue(export)
        seconds = run_export(export)
        check(export)
        return seconds

    started = time.perf_counter()
    for _ in range(options.export_repeats):
        # Alternate, so drift in machine load hits every export alike.
        for key in keys:
            exports[key].seconds.append(once(key))
    for key in keys:
        requeue(exports[key])
        tracemalloc.start()
        run_export(exports[key])
        exports[key].peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        check(exports[key])
    held = {
        slug: held_peak(exports[slug, file_format])
        for slug, file_format in keys
        if file_format == EXPORT_FORMATS[0]
    }
    print(f"\n  exports measured in {time.perf_counter() - started:.0f} s")
    return report_exports(exports, held, sizes, options.export_repeats)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f}"


def report_exports(
    exports: dict[tuple[str, str], Export],
    held: dict[str, int],
    sizes: dict[str, int],
    repeats: int,
) -> int:
    """Print the exports' table, the ratios of the large size to the small one and
    the memory of the rows held in a list (``held``, per size); return how many
    exports are broken."""
    from reporting.exports.base import CHUNK

    (small, _), (large, n_large) = sizes.items()
    print(
        f"\n  Export of the appraisals of the cycle in review as the HR admin "
        f"(run_report_job), median of {repeats} runs;\n  peak = Python's memory at "
        f"its highest during one more run (tracemalloc); flag: over "
        f"{GOAL_EXPORT_SECONDS:.0f} s at {size_label(n_large)}.\n"
    )
    header = (
        f"  {'format':<6} {'employees':>9} {'rows':>7} {'file KB':>8} {'median s':>8} "
        f"{'min s':>6} {'rows/s':>7} {'peak MiB':>8}  flag"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    broken = 0
    for (slug, file_format), export in exports.items():
        if export.problems:
            broken += 1
            print(
                f"  {file_format:<6} {sizes[slug]:>9,}  BROKEN: {'; '.join(export.problems)}"
            )
            continue
        median = statistics.median(export.seconds)
        flag = (
            f">{GOAL_EXPORT_SECONDS:.0f} s"
            if slug == large and median > GOAL_EXPORT_SECONDS
            else ""
        )
        print(
            f"  {file_format:<6} {sizes[slug]:>9,} {export.rows:>7,} "
            f"{export.bytes / 1024:>8.0f} {median:>8.2f} {min(export.seconds):>6.2f} "
            f"{export.rows / median:>7.0f} {_mib(export.peak):>8}  {flag}"
        )
    print()
    for file_format in EXPORT_FORMATS:
        a, z = exports[small, file_format], exports[large, file_format]
        if a.problems or z.problems:
            continue
        print(
            f"  {file_format}: {z.rows / a.rows:.1f}x the rows: time "
            f"x{statistics.median(z.seconds) / statistics.median(a.seconds):.2f}, "
            f"peak memory x{z.peak / a.peak:.2f} "
            f"({_mib(a.peak)} → {_mib(z.peak)} MiB)"
        )
    if len(held) == len(sizes):
        print(
            f"  the same rows held in a list instead: {_mib(held[small])} → "
            f"{_mib(held[large])} MiB (x{held[large] / held[small]:.2f}); the "
            f"export reads {CHUNK:,} rows at a time"
        )
    return broken


# --- The run ---------------------------------------------------------------------------
