"""The machinery behind bench/pages.py: the page table's types, finding each page's
object in the seeded data, measuring every (page, size) pair round-robin with the
floor, and the closing table. bench/throughput.py uses the same types and look-ups.

Nothing here knows which pages exist; bench/pages.py holds that table.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.harness import analyze, database_description, measure, seed_organization

HR, MANAGER, EMPLOYEE = "hr", "manager", "employee"
ROLES = (HR, MANAGER, EMPLOYEE)
SEED = 1
# The goals of issue 12 that the flag column marks (information, not a failure).
GOAL_TIMES_FLOOR = 30.0
GOAL_GROWTH = 1.5


@dataclass(frozen=True)
class World:
    """One seeded organisation and the employees of its three logins (None where the
    seeded data has no such login)."""

    organization: Any
    people: dict[str, Any]

    def person(self, role: str) -> Any:
        """The employee of the login ``role``; LookupError when there is none."""
        if self.people[role] is None:
            raise LookupError(f"no login {role}@")
        return self.people[role]

    @property
    def hr(self) -> Any:
        return self.person(HR)

    @property
    def manager(self) -> Any:
        return self.person(MANAGER)

    @property
    def employee(self) -> Any:
        return self.person(EMPLOYEE)


# A query over the seeded organisation whose first row by primary key is the object a
# page is opened on (its ``pk``); it runs inside the organisation's tenant context.
Finder = Callable[[World], Any]


@dataclass(frozen=True)
class Page:
    role: str
    label: str
    url_name: str
    find: Finder | None = None
    query: str = ""
    # A section that its page loads with HTMX: requested with the HX-Request header.
    htmx: bool = False
    # URL arguments other than the organisation and ``pk``.
    kwargs: dict[str, str] = field(default_factory=dict)


def slug_of(size: int) -> str:
    return f"pages-{size}"


def size_label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def load_world(slug: str) -> World:
    """The organisation ``slug`` and the employees of its logins <role>@<slug>.test."""
    from organizations.models import Employee, Organization
    from organizations.tenancy import tenant_context

    organization = Organization.objects.get(slug=slug)
    with tenant_context(organization):
        people = {
            role: Employee.objects.filter(user__email=f"{role}@{slug}.test").first()
            for role in ROLES
        }
    return World(organization, people)


def signed_in_client(email: str) -> Any:
    """A test client signed in as ``email`` (a session row, no password check), that
    returns server errors as responses instead of raising them."""
    from django.test import Client

    from organizations.models import User

    client = Client(raise_request_exception=False)
    client.force_login(
        User.objects.get(email=email),
        backend="django.contrib.auth.backends.ModelBackend",
    )
    return client


def find_url(page: Page, world: World) -> str | None:
    """The page's URL in ``world``, or None when its object is not in the data."""
    from django.urls import reverse

    from organizations.tenancy import tenant_context

    kwargs: dict[str, Any] = {"org_slug": world.organization.slug, **page.kwargs}
    if page.find is not None:
        with tenant_context(world.organization):
            pk = page.find(world).order_by("pk").values_list("pk", flat=True).first()
        if pk is None:
            return None
        kwargs["pk"] = pk
    url = reverse(page.url_name, kwargs=kwargs)
    return f"{url}?{page.query}" if page.query else url


def url_names() -> list[str]:
    """Every named URL of the URLconf, with its namespace."""
    from django.urls import URLPattern, URLResolver, get_resolver

    names: list[str] = []

    def walk(patterns: Sequence[Any], namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = entry.namespace or ""
                walk(entry.url_patterns, f"{namespace}{inner}:" if inner else namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                names.append(namespace + entry.name)

    walk(get_resolver().url_patterns, "")
    return names


@dataclass
class Result:
    """What one (page, size) pair answered: status, bytes, queries and the seconds of
    each timed round."""

    status: int = 0
    size: int = 0
    queries: int = 0
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


# A request to measure: the signed-in client, the URL and the extra headers.
Request = tuple[Any, str, dict[str, str]]


def run_pages(
    owner: str,
    options: argparse.Namespace,
    table: list[Page],
    not_measured: dict[str, str],
) -> int:
    """Seed both sizes, find every page's URL, measure, print; the exit status."""
    from django.test import Client
    from django.urls import reverse

    from organizations.models import Organization

    print(f"Page benchmark on {database_description()}", flush=True)
    # Each error once, with the sizes it happened at.
    errors: dict[str, list[str]] = {}
    listed = {page.url_name for page in table} | set(not_measured)
    for name in url_names():
        if name not in listed:
            errors[f"URL {name} is neither in the page table nor in NOT_MEASURED"] = []
    if options.only:
        pattern = re.compile(options.only)
        table = [p for p in table if pattern.search(f"{p.role} {p.label} {p.url_name}")]

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

    pages, requests = resolve(table, worlds, errors)
    if options.show_urls:
        for key, page in pages:
            url = requests[f"{key}@{slug_of(options.large)}"][1]
            print(f"  {page.role:<8} {page.label:<42} {url}")
    # The floor reads no session: an anonymous client.
    floor = Client(raise_request_exception=False)
    requests["floor"] = (floor, reverse("bench_floor"), {})
    for error, where in errors.items():
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
        f"\n  {len(pages)} pages x {len(sizes)} sizes and the floor: {total} requests",
        flush=True,
    )
    started = time.perf_counter()
    queries, timings = measure(
        list(requests), get, warmup=options.warmup, repeats=options.repeats
    )
    print(f"  measured in {time.perf_counter() - started:.0f} s")
    for key, result in results.items():
        result.queries, result.seconds = queries[key], timings[key]
    broken = report(pages, list(sizes.items()), results, options.repeats)
    small, large = sizes
    for key, page in pages:
        if results[f"{key}@{small}"].queries != results[f"{key}@{large}"].queries:
            explain_queries(page, [requests[f"{key}@{slug}"] for slug in sizes])
    if errors:
        print(f"  {len(errors)} error(s) above: pages or URLs not measured.")
    return 1 if broken or errors else 0


def resolve(
    table: list[Page], worlds: dict[str, World], errors: dict[str, list[str]]
) -> tuple[list[tuple[str, Page]], dict[str, Request]]:
    """The pages that can be measured (their login and object exist at every size),
    each with a key, and the request of each (key@slug). What cannot be found goes
    to ``errors``."""
    clients: dict[tuple[str, str], Any] = {}
    for slug, world in worlds.items():
        for role, person in world.people.items():
            if person is None:
                where = errors.setdefault(f"no login {role}@ in the seeded data", [])
                where.append(slug)
            else:
                clients[slug, role] = signed_in_client(f"{role}@{slug}.test")

    pages: list[tuple[str, Page]] = []
    requests: dict[str, Request] = {}
    for index, page in enumerate(table):
        found: dict[str, str] = {}
        for slug, world in worlds.items():
            if (slug, page.role) not in clients:
                continue
            finder = getattr(page.find, "__name__", "its finder")
            try:
                url = find_url(page, world)
            except LookupError as missing:
                problem = f"{page.role} / {page.label}: {finder}: {missing}"
                errors.setdefault(problem, []).append(slug)
                continue
            if url is None:
                problem = f"{page.role} / {page.label}: {finder} finds nothing"
                errors.setdefault(problem, []).append(slug)
            else:
                found[slug] = url
        if len(found) < len(worlds):
            continue
        key = f"p{index}"
        pages.append((key, page))
        headers = {"HX-Request": "true"} if page.htmx else {}
        for slug, url in found.items():
            requests[f"{key}@{slug}"] = (clients[slug, page.role], url, headers)
    return pages, requests


def report(
    pages: list[tuple[str, Page]],
    sizes: list[tuple[str, int]],
    results: dict[str, Result],
    repeats: int,
) -> int:
    """Print the table and the summary; return how many invariants are broken."""
    (small, n_small), (large, n_large) = sizes
    s, b = size_label(n_small), size_label(n_large)
    floor = results["floor"]
    print(
        f"\n  Median of {repeats} requests per page; ×fl = median / the floor's "
        f"median; growth = ms {b} / ms {s};\n  flag: ×fl > {GOAL_TIMES_FLOOR:.0f} at "
        f"{b}, growth > {GOAL_GROWTH}, QUERIES (count differs), HTTP <status>.\n"
    )
    header = (
        f"  {'role':<8} {'page':<42} {'q ' + s:>6} {'q ' + b:>6} {'ms ' + s:>8} "
        f"{'ms ' + b:>8} {'×fl ' + s:>7} {'×fl ' + b:>7} {'growth':>6} "
        f"{'KB ' + b:>7}  flag"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    broken = int(floor.status != 200)
    if broken:
        print(f"  the floor answered HTTP {floor.status}")
    over = 0
    for key, page in pages:
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
        f"  {len(pages)} pages measured; {over} over the goals; "
        f"{broken} with a broken invariant (QUERIES or HTTP)."
    )
    return broken


def explain_queries(
    page: Page, requests: list[tuple[Any, str, dict[str, str]]]
) -> None:
    """Print the statements one size of ``page`` runs more often than the other (ids
    and strings made alike), so a QUERIES flag says where to look."""
    from collections import Counter

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def statements(client: Any, url: str, headers: dict[str, str]) -> Counter[str]:
        with CaptureQueriesContext(connection) as captured:
            client.get(url, headers=headers)
        return Counter(
            re.sub(r"^(DECLARE .*? FOR )?SELECT .*? FROM ", "SELECT … FROM ", alike)[
                :220
            ]
            for query in captured.captured_queries
            for alike in [re.sub(r"'[^']*'|\d+", "?", query["sql"])]
        )

    small, large = (statements(*request) for request in requests)
    print(f"\n  QUERIES {page.role} / {page.label}:")
    for sql, times in ((large - small) + (small - large)).items():
        side = "large" if large[sql] > small[sql] else "small"
        print(f"    {side} +{times}: {sql}")
