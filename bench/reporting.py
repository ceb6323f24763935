"""The reporting dashboards at two sizes against the floor page, and the appraisal
exports of a cycle: wall time and peak Python memory.

Seeds two organisations with ``seed_scale`` (1,000 and 10,000 employees, the whole
world: three review cycles, engagements, plans, evaluations, appraisals, feedback,
client surveys) in a throwaway database of its own, runs VACUUM ANALYZE as the
owner, then:

1. opens every dashboard of ``dashboard_table()`` as the HR admin and as the line
   manager of the seeded data (``manager@``, a practice director: direct reports are
   what the reporting scope counts, and seed_scale gives nobody more than eight),
   and the score trend of the appraisal page as each role, with Django's test
   client through the whole middleware stack, as the application role under
   row-level security; the bare dashboards, and the same with filters that name rows
   of the organisation (a closed cycle, a business unit, a client, a person, the
   heatmap's columns). Measured as bench/pages.py measures pages (the same
   machinery, bench/page_runner.py): warm-up requests, one request whose queries are
   counted (its lookups: transaction bookkeeping such as BEGIN and COMMIT left out,
   as the suite's budgets leave it out), then ``--repeats`` rounds of one request
   per (dashboard, size) and the floor (bench/floor.py), round-robin;
2. (bench/reporting_exports.py) asks for the export of the appraisals of the cycle
   in review, as XLSX and as CSV, as the HR admin (``reporting.services.request_export``: with
   CELERY_TASK_ALWAYS_EAGER the outbox runs the job when the request commits, which
   is the warm-up), then times ``--export-repeats`` runs of the job
   (``reporting.services.run_report_job`` in the organisation's tenant context, as the
   task runs it), the sizes alternating, each after the job was put back in the
   queue, and one more run of each under ``tracemalloc`` for the peak of Python's
   memory. Files go to a temporary MEDIA_ROOT, removed at the end.

It prints one row per dashboard: the queries at each size, the median milliseconds,
the median as a multiple of the floor's, the growth from the small size to the large
one and the response size; ``flag`` marks a dashboard over the goals of issue
"Reporting I" (more than 30 times the floor at the large size, a growth above 1.5,
more than 15 queries); then per export the rows, the file's size, the median wall
time (the goal: under 10 s at the large size) and the peak memory at each size. The
flags are information. The exit status is 1 only for a broken invariant: a query
count that differs between the sizes, an answer other than 200, a dashboard whose
object the seeded data does not have, a URL of the reporting app that is neither
measured nor in ``NOT_DASHBOARDS``, or an export that did not finish with one row
per appraisal.

Run it with ``make bench`` or ``make bench-reporting`` (the environment of ``make
test``; see bench/README.md). ``--only REGEX`` measures the dashboards whose "role
label url-name" matches; ``--no-exports`` skips the exports; ``--show-urls`` prints
each URL at the large size; ``--keep`` reuses the seeded database of an earlier
``--keep`` run and leaves it in place.

bench/pages.py measures the dashboards of ``dashboard_pages()`` (those without
filters) among every other page.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# The project first: this file's own directory, which Python puts on the path for a
# script, holds this module, whose name is the reporting app's.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    analyze,
    database_description,
    measure,
    run_in_bench_database,
    seed_organization,
)
from bench.page_runner import (  # noqa: E402
    GOAL_GROWTH,
    GOAL_TIMES_FLOOR,
    SEED,
    Result,
    World,
    explain_queries,
    find_url,
    load_world,
    signed_in_client,
    size_label,
    url_names,
)
from bench.reporting_dashboards import Dashboard, dashboard_table  # noqa: E402
from bench.reporting_exports import run_exports  # noqa: E402

DATABASE = "hrms_bench_reporting"
# Issue "Reporting I": at most this many queries per dashboard (the floor ratio and
# the growth are page_runner's goals of issue 12).
GOAL_QUERIES = 15

# The reporting app's URLs that are not dashboards, and where they are measured.
NOT_DASHBOARDS: dict[str, str] = {
    "reporting:export": "an action, POST only: a dashboard's export, a report job",
    "reporting:exports": "the exports form: bench/pages.py; the exports run below",
    "reporting:jobs": "the list of report jobs: bench/pages.py",
    "reporting:job_detail": "a report job's page: the exports run below",
    "reporting:job_progress": "a report job's progress: the exports run below",
    "reporting:job_download": "a report job's file: the exports run below",
    "reporting:appraisal_pdf": "an action, POST only: an appraisal's PDF, a report job",
    "reporting:engagement_pdf": "an action, POST only: an engagement's PDF, a report job",
    "reporting:cycle_pdf": "an action, POST only: a cycle's PDF, a report job",
    **dict.fromkeys(
        (
            "reporting:subscriptions",
            "reporting:subscription_create",
            "reporting:subscription_detail",
            "reporting:subscription_edit",
            "reporting:subscription_preview",
            "reporting:subscription_send_now",
            "reporting:subscription_toggle",
            "reporting:subscription_delete",
            "reporting:subscription_unsubscribe",
            "reporting:delivery_detail",
            "reporting:delivery_email_pdf",
        ),
        "scheduled e-mails' pages: the lists in bench/pages.py, the rest in tests",
    ),
    "reporting:appraisal_batch": "an action, POST only: a batch of appraisal PDFs; "
    "bench/pdf_rendering.py measures batches",
    "reporting:batch_retry": "an action, POST only: a failed batch's retry",
}

# --- Finding and measuring the dashboards ----------------------------------------------


def slug_of(size: int) -> str:
    return f"reporting-{size}"


def dashboard_url(dashboard: Dashboard, world: World) -> str | None:
    """The dashboard's URL in ``world`` (None when its object is not in the data);
    LookupError when a filter's row is not."""
    from organizations.tenancy import tenant_context

    url = find_url(dashboard.page, world)
    if url is None or dashboard.filters is None:
        return url
    with tenant_context(world.organization):
        query = urlencode(dashboard.filters(world))
    return f"{url}{'&' if '?' in url else '?'}{query}"


@dataclass
class Measured:
    """The dashboards that could be measured, each with a key, the request of each
    (``key@slug``: client, URL, headers) and what could not be found."""

    dashboards: list[tuple[str, Dashboard]] = field(default_factory=list)
    requests: dict[str, tuple[Any, str, dict[str, str]]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def resolve(table: list[Dashboard], worlds: dict[str, World]) -> Measured:
    """Sign in each role of each world and find each dashboard's URL at every size;
    a dashboard missing at one size is not measured (an error)."""
    found = Measured()
    clients: dict[tuple[str, str], Any] = {}
    for slug, world in worlds.items():
        for role in {d.page.role for d in table}:
            if world.people[role] is None:
                found.errors.setdefault(f"no login {role}@", []).append(slug)
            else:
                clients[slug, role] = signed_in_client(f"{role}@{slug}.test")
    for index, dashboard in enumerate(table):
        page = dashboard.page
        urls: dict[str, str] = {}
        for slug, world in worlds.items():
            if (slug, page.role) not in clients:
                continue
            try:
                url = dashboard_url(dashboard, world)
            except LookupError as missing:
                problem = f"{page.role} / {page.label}: {missing}"
                found.errors.setdefault(problem, []).append(slug)
                continue
            if url is None:
                problem = f"{page.role} / {page.label}: its object is not in the data"
                found.errors.setdefault(problem, []).append(slug)
            else:
                urls[slug] = url
        if len(urls) < len(worlds):
            continue
        key = f"d{index}"
        found.dashboards.append((key, dashboard))
        for slug, url in urls.items():
            headers = {"HX-Request": "true"} if page.htmx else {}
            found.requests[f"{key}@{slug}"] = (clients[slug, page.role], url, headers)
    return found


def line_sizes(worlds: dict[str, World]) -> dict[str, int]:
    """How many direct reports the manager login has in each world (the line the
    reporting scope counts)."""
    from organizations.models import Employee
    from organizations.tenancy import tenant_context

    sizes: dict[str, int] = {}
    for slug, world in worlds.items():
        with tenant_context(world.organization):
            sizes[slug] = Employee.objects.filter(line_manager=world.manager).count()
    return sizes


def report_dashboards(
    measured: Measured,
    sizes: list[tuple[str, int]],
    results: dict[str, Result],
    repeats: int,
) -> int:
    """Print the dashboards' table and summary; return how many invariants are
    broken."""
    (small, n_small), (large, n_large) = sizes
    s, b = size_label(n_small), size_label(n_large)
    floor = results["floor"]
    print(
        f"\n  Median of {repeats} requests per dashboard; ×fl = median / the floor's "
        f"median; growth = ms {b} / ms {s};\n  flag: ×fl > {GOAL_TIMES_FLOOR:.0f} at "
        f"{b}, growth > {GOAL_GROWTH}, q > {GOAL_QUERIES}, "
        "QUERIES (count differs), HTTP <status>.\n"
    )
    header = (
        f"  {'role':<8} {'dashboard':<42} {'q ' + s:>6} {'q ' + b:>6} "
        f"{'ms ' + s:>8} {'ms ' + b:>8} {'×fl ' + s:>7} {'×fl ' + b:>7} "
        f"{'growth':>6} {'KB ' + b:>7}  flag"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    broken = int(floor.status != 200)
    if broken:
        print(f"  the floor answered HTTP {floor.status}")
    over = 0
    for key, dashboard in measured.dashboards:
        page = dashboard.page
        a, z = results[f"{key}@{small}"], results[f"{key}@{large}"]
        flags = [f"HTTP {r.status}" for r in (a, z) if r.status != 200]
        if a.queries != z.queries:
            flags.append("QUERIES")
        broken += bool(flags)
        times_floor = z.median / floor.median
        growth = z.median / a.median
        goals = []
        if times_floor > GOAL_TIMES_FLOOR:
            goals.append(f"×fl>{GOAL_TIMES_FLOOR:.0f}")
        if growth > GOAL_GROWTH:
            goals.append(f"growth>{GOAL_GROWTH}")
        if max(a.queries, z.queries) > GOAL_QUERIES:
            goals.append(f"q>{GOAL_QUERIES}")
        over += bool(goals)
        print(
            f"  {page.role:<8} {page.label[:42]:<42} {a.queries:>6} {z.queries:>6} "
            f"{a.median * 1000:>8.1f} {z.median * 1000:>8.1f} "
            f"{a.median / floor.median:>7.1f} {times_floor:>7.1f} {growth:>6.2f} "
            f"{z.size / 1024:>7.1f}  {' '.join(flags + goals)}"
        )
    print(
        f"\n  floor: {floor.queries} query, median {floor.median * 1000:.2f} ms "
        f"(min {min(floor.seconds) * 1000:.2f} ms), {floor.size / 1024:.1f} KB"
    )
    print(
        f"  {len(measured.dashboards)} dashboards measured; {over} over the goals; "
        f"{broken} with a broken invariant (QUERIES or HTTP)."
    )
    return broken


def run_dashboards(
    options: argparse.Namespace, worlds: dict[str, World], sizes: dict[str, int]
) -> int:
    """Measure the dashboards with the floor and print them; the number of broken
    invariants."""
    from django.test import Client
    from django.urls import reverse

    table = dashboard_table()
    listed = {d.page.url_name for d in table} | set(NOT_DASHBOARDS)
    missing = [
        name
        for name in url_names()
        if name.startswith("reporting:") and name not in listed
    ]
    if options.only:
        pattern = re.compile(options.only)
        table = [
            d
            for d in table
            if pattern.search(f"{d.page.role} {d.page.label} {d.page.url_name}")
        ]
    measured = resolve(table, worlds)
    for name in missing:
        measured.errors[f"URL {name} is neither measured nor in NOT_DASHBOARDS"] = []
    requests = measured.requests
    if options.show_urls:
        large = slug_of(options.large)
        for key, dashboard in measured.dashboards:
            url = requests[f"{key}@{large}"][1]
            print(f"  {dashboard.page.role:<8} {dashboard.page.label:<42} {url}")
    # The floor reads no session: an anonymous client.
    requests["floor"] = (
        Client(raise_request_exception=False),
        reverse("bench_floor"),
        {},
    )
    for error, where in measured.errors.items():
        print(f"  ERROR: {error}" + (f" (in {', '.join(where)})" if where else ""))

    results = {key: Result() for key in requests}

    def get(key: str) -> float:
        client, url, headers = requests[key]
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = time.perf_counter() - started
        result = results[key]
        if result.status in (0, 200):  # the first other answer stays
            result.status = response.status_code
        result.size = len(response.content)
        return elapsed

    total = len(requests) * (options.warmup + 1 + options.repeats)
    print(
        f"\n  {len(measured.dashboards)} dashboards x {len(worlds)} sizes and the "
        f"floor: {total} requests",
        flush=True,
    )
    started = time.perf_counter()
    queries, timings = measure(
        list(requests), get, warmup=options.warmup, repeats=options.repeats
    )
    print(f"  measured in {time.perf_counter() - started:.0f} s")
    for key, result in results.items():
        result.queries, result.seconds = queries[key], timings[key]
    broken = report_dashboards(measured, list(sizes.items()), results, options.repeats)
    small, large = sizes
    for key, dashboard in measured.dashboards:
        if results[f"{key}@{small}"].queries != results[f"{key}@{large}"].queries:
            explain_queries(
                dashboard.page, [requests[f"{key}@{slug}"] for slug in sizes]
            )
    if measured.errors:
        print(f"  {len(measured.errors)} error(s) above: dashboards not measured.")
    return broken + len(measured.errors)


def run(owner: str, options: argparse.Namespace) -> int:
    """Seed both sizes, measure the dashboards and the exports; the exit status."""
    from organizations.models import Organization

    print(f"Reporting benchmark on {database_description()}", flush=True)
    sizes = {slug_of(n): n for n in (options.small, options.large)}
    worlds: dict[str, World] = {}
    for slug, size in sizes.items():
        if options.keep and Organization.objects.filter(slug=slug).exists():
            print(f"  {slug}: kept from an earlier run (--keep)", flush=True)
        else:
            started = time.perf_counter()
            seed_organization(slug, size, SEED)
            seconds = time.perf_counter() - started
            print(f"  seed_scale --employees {size:>6}: {seconds:7.1f} s", flush=True)
        worlds[slug] = load_world(slug)
    analyze(owner)
    lines = line_sizes(worlds)
    print(
        "  the manager login's line (direct reports, what the reporting scope "
        "counts): "
        + ", ".join(f"{lines[slug]} at {size:,}" for slug, size in sizes.items())
    )

    broken = run_dashboards(options, worlds, sizes)
    if not options.no_exports:
        broken += run_exports(options, worlds, sizes)
    if broken:
        print(f"\n  {broken} broken invariant(s) above.")
    return 1 if broken else 0


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1000, help="employees (1000)")
    parser.add_argument("--large", type=int, default=10000, help="employees (10000)")
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds (15)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up requests (1)")
    parser.add_argument(
        "--export-repeats", type=int, default=3, help="timed runs per export (3)"
    )
    parser.add_argument("--only", help="regex over 'role label url-name'")
    parser.add_argument("--no-exports", action="store_true", help="skip the exports")
    parser.add_argument("--show-urls", action="store_true", help="print each URL")
    parser.add_argument(
        "--keep",
        action="store_true",
        help=f"reuse the seeded database {DATABASE} if it exists and keep it afterwards",
    )
    options = parser.parse_args(None if argv is None else list(argv))
    # The export files: a directory of the run's, whatever MEDIA_ROOT says.
    media = tempfile.mkdtemp(prefix="bench-reporting-")
    os.environ["MEDIA_ROOT"] = media
    try:
        return run_in_bench_database(
            lambda owner: run(owner, options),
            database=DATABASE,
            settings_module="bench.settings",
            keep=options.keep,
        )
    finally:
        shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
