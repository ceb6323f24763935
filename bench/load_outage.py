"""Load with faults: 50 simulated users for two minutes while Redis goes away for 20
seconds and the Celery worker is killed, then the bill: errors, latency, edit
conflicts, e-mails owed against sent, and the consistency check.

1. Creates its own database ``bench_load_<pid>`` as the owner role of DATABASE_URL
   (Django's test-database machinery: migrate, and the post-migrate hook installs
   row-level security and grants the tables to DATABASE_APP_ROLE); everything after
   runs as the application role.
2. Loads the demo (``seed_demo``) and a load cycle in ``acme``: two engagements with
   30 consultants each, goals with final figures, the cycle in review, so the
   reviewer has 72 evaluations to write (``seed_load``), then ``ANALYZE`` as the
   owner. The ids the users act on go to a JSON file for the locustfile.
3. Starts a Redis server of its own (own port), gunicorn with 2 workers, a Celery
   worker (prefork, 2 processes) and beat (the outbox relay every 5 s), all on
   127.0.0.1, e-mail written as files into a temporary directory.
4. Runs Locust headless as a subprocess (``bench/locustfile.py``: reviewers, approvers,
   employees, HR) with 50 users spawned at 10 per second for 2 minutes. At 50 s it
   stops Redis for 20 s; at 90 s it kills the worker (SIGKILL, pool included) and
   starts a new one.
5. Waits for the outbox to drain, runs ``manage.py check_consistency --org acme``,
   prints the figures and removes every process, file and the database, whatever
   happened.

Not a test: nothing is timed against a threshold. It exits 1 when an invariant
breaks (a duplicated or lost e-mail, work left in the outbox, an inconsistency).
Run it with the environment of ``make test`` (bench/README.md)::

    .venv/bin/python bench/load_outage.py [--users 50] [--duration 120]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ORG = "acme"
LOAD_TEAM = 30
LOAD_ENGAGEMENTS = 2
# The redelivery delay of the processes under load: production's default (120 s)
# would only stretch the drain after the killed worker.
REDELIVER_AFTER = 30
DRAIN_TIMEOUT = 300
# The page's message for a stale save (organizations.history.check_version).
CONFLICT_TEXT = "Changed by "


@dataclass
class Timeline:
    """Wall-clock times (``time.time()``) of the faults, to split the figures."""

    started: float = 0.0
    redis_stopped: float = math.inf
    redis_back: float = math.inf
    worker_killed: float = math.inf
    worker_back: float = math.inf
    events: list[tuple[str, float]] = field(default_factory=list)

    def mark(self, what: str) -> float:
        now = time.time()
        self.events.append((what, now))
        return now

    def window(self, t: float) -> str:
        if self.redis_stopped <= t <= self.redis_back:
            return "redis down"
        if self.worker_killed <= t <= self.worker_back:
            return "worker restarting"
        return "normal"


# --- The database -------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """The benchmark's database: the application role's URL and the owner's name."""

    url: str
    owner: str


@contextlib.contextmanager
def bench_database(name: str) -> Iterator[Database]:
    """Create and migrate ``name`` as the owner, reconnect as the application role and
    yield that role's database URL for the subprocesses; drop it at the end."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import (
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL (README).")
    app_role = settings.DATABASE_APP_ROLE
    if not app_role:
        raise SystemExit("DATABASE_APP_ROLE must name the application role.")
    # In this process: e-mail to memory, no DEBUG query log.
    setup_test_environment(debug=False)
    connection.settings_dict["TEST"]["NAME"] = name
    owner = connection.settings_dict["USER"]
    db_config = setup_databases(
        verbosity=0,
        interactive=False,
        aliases={"default"},  # type: ignore[arg-type]  # django-stubs says Mapping; Django iterates a set of aliases
        serialized_aliases=set(),
    )
    try:
        connection.close()
        connection.settings_dict["USER"] = app_role
        params = connection.settings_dict
        password = (
            f":{quote(params['PASSWORD'], safe='')}" if params["PASSWORD"] else ""
        )
        yield Database(
            url=(
                f"postgres://{app_role}{password}@{params['HOST'] or '127.0.0.1'}:"
                f"{params['PORT'] or 5432}/{params['NAME']}"
            ),
            owner=owner,
        )
    finally:
        connection.close()
        connection.settings_dict["USER"] = owner
        teardown_databases(db_config, verbosity=0)
        teardown_test_environment()


# --- The data -------------------------------------------------------------------------


def seed_load(team_size: int = LOAD_TEAM) -> dict[str, Any]:
    """The demo plus a load cycle in ``acme`` (see the module docstring), through the
    services as the demo does. Returns the ids the locustfile acts on."""
    from appraisals.enums import EvaluationKind
    from appraisals.models import Evaluation
    from demo.people import DEMO_PASSWORD
    from demo.seed import seed_demo
    from engagements.enums import (
        CycleStatus,
        EngagementRole,
        EngagementStatus,
        GoalStatus,
        PlanKind,
        PlanStatus,
    )
    from engagements.models import Client, Engagement, EngagementType, Plan, ReviewCycle
    from engagements.services.clients import save_client, save_engagement
    from engagements.services.competencies import attach_missing_competencies
    from engagements.services.cycles import create_cycle, transition_cycle
    from engagements.services.plans import activate_plan, add_goal, record_checkin
    from engagements.services.roles import assign_role
    from engagements.services.staffing import staff_employees
    from organizations.models import Employee, Membership, Organization
    from organizations.tenancy import tenant_context

    seed_demo()
    organization = Organization.objects.get(slug=ORG)
    with tenant_context(organization):
        hr = Membership.objects.select_related("organization", "user").get(
            user__email=f"hr@{ORG}.test"
        )
        people = {
            e.user.email: e
            for e in Employee.objects.filter(user__isnull=False).select_related("user")
            if e.user is not None
        }
        reviewer = people[f"reviewer@{ORG}.test"]
        demo_review = ReviewCycle.objects.filter(status=CycleStatus.REVIEW).earliest(
            "start_date"
        )
        end = demo_review.start_date - timedelta(days=1)
        start = (end - timedelta(days=170)).replace(day=1)
        cycle = create_cycle(
            actor=hr, name="Load test cycle", start_date=start, end_date=end
        )
        transition_cycle(actor=hr, cycle=cycle, to=CycleStatus.PLANNING)
        team = list(
            Employee.objects.filter(is_active=True, user__isnull=True).order_by("code")[
                :team_size
            ]
        )
        client = save_client(actor=hr, client=Client(name="Load Test Client"))
        for number in range(1, LOAD_ENGAGEMENTS + 1):
            engagement = save_engagement(
                actor=hr,
                engagement=Engagement(
                    client=client,
                    code=f"LOAD-{number}",
                    name=f"Load test {number}",
                    start_date=start,
                    end_date=end,
                    status=EngagementStatus.ACTIVE,
                    engagement_type=EngagementType.objects.filter(
                        name="Client delivery"
                    ).first(),
                ),
            )
            staff_employees(
                actor=hr,
                engagement=engagement,
                cycle=cycle,
                employees=team,
                allocation=Decimal(40),
                role_title="Consultant",
            )
            for person, role in (
                (reviewer, EngagementRole.REVIEWER),
                (people[f"approver@{ORG}.test"], EngagementRole.APPROVER),
            ):
                assign_role(actor=hr, engagement=engagement, employee=person, role=role)
        for plan in Plan.objects.filter(cycle=cycle).order_by("pk"):
            for title, weight in (("Deliver the scope", 60), ("Keep rework low", 40)):
                add_goal(
                    actor=hr,
                    plan=plan,
                    title=title,
                    weight=Decimal(weight),
                    target_value=Decimal(100),
                    planned_start=plan.start_date,
                    due_date=plan.end_date,
                )
            activate_plan(actor=hr, plan=plan)
        attach_missing_competencies(cycle=cycle)
        transition_cycle(actor=hr, cycle=cycle, to=CycleStatus.IN_PROGRESS)
        for number, goal in enumerate(cycle_goals(cycle)):
            actual = Decimal(70 + (number * 7) % 50)
            record_checkin(
                actor=hr,
                goal=goal,
                progress=100,
                status=GoalStatus.ACHIEVED if actual >= 100 else GoalStatus.MISSED,
                actual_value=actual,
            )
        transition_cycle(actor=hr, cycle=cycle, to=CycleStatus.REVIEW)

        employee = people[f"employee@{ORG}.test"]
        current = Plan.objects.filter(
            employee=employee,
            status=PlanStatus.ACTIVE,
            cycle__status=CycleStatus.IN_PROGRESS,
        )
        engagements = current.filter(kind=PlanKind.ENGAGEMENT).values("engagement_id")
        return {
            "password": DEMO_PASSWORD,
            "reviews": list(
                Evaluation.objects.filter(
                    appraisal__cycle=cycle,
                    kind=EvaluationKind.REVIEW,
                    reviewer=reviewer,
                )
                .order_by("pk")
                .values_list("pk", flat=True)
            ),
            "goals": sorted(
                goal
                for plan in current
                for goal in plan.goals.values_list("pk", flat=True)
            ),
            "teammates": sorted(
                Plan.objects.filter(
                    kind=PlanKind.ENGAGEMENT,
                    cycle__status=CycleStatus.IN_PROGRESS,
                    engagement_id__in=engagements,
                )
                .exclude(employee=employee)
                .values_list("engagement_id", "employee_id")
                .distinct()
            ),
            "cycles": list(
                ReviewCycle.objects.filter(status=CycleStatus.REVIEW)
                .order_by("pk")
                .values_list("pk", flat=True)
            ),
        }


def cycle_goals(cycle: Any) -> list[Any]:
    from engagements.models import Goal

    return list(Goal.objects.filter(plan__cycle=cycle).order_by("pk"))


# --- What the processes did -------------------------------------------------------------


@dataclass
class Backlog:
    """Per organisation id: the last outbox row and ledger entry before the run."""

    outbox: dict[int, int]
    ledger: dict[int, int]


def organizations() -> list[Any]:
    from organizations.models import Organization

    return list(Organization.objects.order_by("pk"))


def watermark() -> Backlog:
    from django.db.models import Max

    from organizations.models import OutboxMessage, SentEmail
    from organizations.tenancy import tenant_context

    outbox: dict[int, int] = {}
    ledger: dict[int, int] = {}
    for organization in organizations():
        with tenant_context(organization):
            outbox[organization.pk] = (
                OutboxMessage.objects.aggregate(last=Max("pk"))["last"] or 0
            )
            ledger[organization.pk] = (
                SentEmail.objects.aggregate(last=Max("pk"))["last"] or 0
            )
    return Backlog(outbox, ledger)


def unfinished() -> int:
    """Outbox rows of every organisation not completed yet."""
    from organizations.models import OutboxMessage
    from organizations.tenancy import tenant_context

    left = 0
    for organization in organizations():
        with tenant_context(organization):
            left += OutboxMessage.objects.filter(completed_at__isnull=True).count()
    return left


def outcome(before: Backlog) -> dict[str, Any]:
    """What the run owed and did: outbox rows by task, attempts, the ledger."""
    from organizations.models import OutboxMessage, SentEmail
    from organizations.notifications import DELIVER_EMAIL_TASK
    from organizations.tenancy import tenant_context

    tasks: Counter[str] = Counter()
    attempts: Counter[int] = Counter()
    ledger: Counter[str] = Counter()
    # (written, completed) as epoch seconds; completed is inf when it never was.
    waits: list[tuple[float, float]] = []
    for organization in organizations():
        with tenant_context(organization):
            for task, tries, written, completed in OutboxMessage.objects.filter(
                pk__gt=before.outbox[organization.pk]
            ).values_list("task", "attempts", "created_at", "completed_at"):
                tasks[task] += 1
                attempts[tries] += 1
                waits.append(
                    (
                        written.timestamp(),
                        completed.timestamp() if completed else math.inf,
                    )
                )
            ledger.update(
                SentEmail.objects.filter(
                    pk__gt=before.ledger[organization.pk]
                ).values_list("recipient", flat=True)
            )
    return {
        "tasks": tasks,
        "attempts": attempts,
        "emails_owed": tasks[DELIVER_EMAIL_TASK],
        "ledger": ledger,
        "waits": waits,
    }


def consistency(env: dict[str, str]) -> tuple[bool, str]:
    """``manage.py check_consistency --org acme``: whether it found nothing, and what
    it printed."""
    from tests.faults.processes import run_manage

    checked = run_manage(env, "check_consistency", "--org", ORG)
    return checked.returncode == 0, (checked.stdout + checked.stderr).strip()


# --- Running ----------------------------------------------------------------------------


def process_env(database_url: str, redis_url: str, mail: Path) -> dict[str, str]:
    """The environment of every process under load."""
    from tests.faults.processes import email_url

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "PYTEST_XDIST_WORKER")
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        EMAIL_URL=email_url(mail),
        # Plain HTTP on 127.0.0.1: with DEBUG off the site would insist on HTTPS.
        DEBUG="true",
        OUTBOX_REDELIVER_AFTER=str(REDELIVER_AFTER),
        LOG_LEVEL="WARNING",
    )
    return env


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def run_load(
    args: argparse.Namespace, env: dict[str, str], work: Path, plan: dict[str, Any]
) -> int:
    """Start the services, run Locust with the faults on schedule, drain the outbox,
    check and print. Returns the exit status."""
    from tests.faults.processes import read_mail, tail, wait_until
    from tests.faults.services import CeleryBeat, CeleryWorker, RedisServer
    from tests.faults.web import start_web

    plan_file = work / "plan.json"
    plan_file.write_text(json.dumps(plan))
    log_file = work / "requests.jsonl"
    mail = work / "mail"
    mail.mkdir()
    timeline = Timeline()
    with contextlib.ExitStack() as cleanup:
        redis = cleanup.enter_context(RedisServer(directory=work / "redis"))
        redis.start()
        env = process_env(env["DATABASE_URL"], redis.url, mail)
        worker = cleanup.enter_context(CeleryWorker(env, directory=work / "worker"))
        worker.start()
        beat = cleanup.enter_context(CeleryBeat(env, directory=work / "beat"))
        beat.start()
        web = start_web(env, workers=2)
        cleanup.callback(web.stop)
        before = watermark()
        print(f"  services up: gunicorn {web.url} (2 workers), Redis {redis.url}")

        with (work / "locust.out").open("wb") as sink:
            locust = subprocess.Popen(  # noqa: S603 - our own interpreter
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    str(ROOT / "bench" / "locustfile.py"),
                    "--headless",
                    "--users",
                    str(args.users),
                    "--spawn-rate",
                    str(args.spawn_rate),
                    "--run-time",
                    f"{args.duration}s",
                    "--host",
                    web.url,
                    "--only-summary",
                    "--stop-timeout",
                    "10",
                ],
                cwd=ROOT,
                env={
                    **env,
                    "BENCH_LOAD_PLAN": str(plan_file),
                    "BENCH_LOAD_LOG": str(log_file),
                },
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        cleanup.callback(stop_locust, locust)
        timeline.started = timeline.mark("load started")
        sleep_until(timeline.started + args.outage_at)
        redis.stop()
        timeline.redis_stopped = timeline.mark("Redis stopped")
        sleep_until(timeline.started + args.outage_at + args.outage_for)
        redis.start()
        timeline.redis_back = timeline.mark("Redis back")
        sleep_until(timeline.started + args.kill_at)
        worker.kill()
        timeline.worker_killed = timeline.mark("worker killed (SIGKILL)")
        worker.start()
        timeline.worker_back = timeline.mark("new worker ready")
        locust.wait(timeout=args.duration + 120)
        ended = timeline.mark("load ended")
        if locust.returncode not in (0, 1):  # 1: some requests failed
            print(f"  Locust exited with {locust.returncode}:")
            print(tail(work / "locust.out"))

        try:
            wait_until(
                lambda: unfinished() == 0,
                timeout=DRAIN_TIMEOUT,
                interval=2,
                what="the outbox to drain",
            )
            drained = True
        except TimeoutError:
            drained = False
        drain_seconds = time.time() - ended
        consistent, checker = consistency(env)
        done = outcome(before)
        files = Counter(
            address.addr_spec
            for message in read_mail(mail)
            for address in message["To"].addresses
        )
    logged = log_file.read_text() if log_file.exists() else ""
    requests = [json.loads(line) for line in logged.splitlines()]
    return report(
        args,
        timeline,
        requests,
        done,
        files,
        drained=drained,
        drain_seconds=drain_seconds,
        consistent=consistent,
        checker=checker,
        plan=plan,
    )


def stop_locust(process: subprocess.Popen[bytes]) -> None:
    from tests.faults.processes import stop_process

    stop_process(process, timeout=30)


# --- Reporting ----------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.5 is the median); NaN when empty."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def figures(rows: Sequence[dict[str, Any]]) -> str:
    """One table row: requests, 5xx, other failures (no answer, or a 4xx that is
    not an edit conflict), conflicts reported to the user, p50 and p95 in ms."""
    times = [r["ms"] for r in rows]
    server_errors = sum(r["status"] >= 500 for r in rows)
    conflicts = sum(r["conflict"] for r in rows)
    other = sum(
        r["status"] == 0 or (400 <= r["status"] < 500 and not r["conflict"])
        for r in rows
    )
    return (
        f"{len(rows):>8} {server_errors:>5} {other:>6} {conflicts:>9} "
        f"{percentile(times, 0.5):>7.0f} {percentile(times, 0.95):>7.0f}"
    )


HEADER = f"{'requests':>8} {'5xx':>5} {'other':>6} {'conflict':>9} {'p50 ms':>7} {'p95 ms':>7}"


def report(
    args: argparse.Namespace,
    timeline: Timeline,
    requests: list[dict[str, Any]],
    done: dict[str, Any],
    files: Counter[str],
    *,
    drained: bool,
    drain_seconds: float,
    consistent: bool,
    checker: str,
    plan: dict[str, Any],
) -> int:
    """Print the figures; 1 when an invariant broke."""
    print(
        f"\n  Load: {args.users} users, {args.spawn_rate:g}/s spawn, {args.duration} s;"
        f" {len(plan['reviews'])} reviews to write"
    )
    for what, when in timeline.events:
        print(f"    {when - timeline.started:6.1f} s  {what}")

    windows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    actions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for request in requests:
        windows[timeline.window(request["t"])].append(request)
        actions[request["name"]].append(request)
    print(f"\n  {'requests started while':<32} {HEADER}")
    for window in ("normal", "redis down", "worker restarting"):
        print(f"  {window:<32} {figures(windows[window])}")
    print(f"  {'all':<32} {figures(requests)}")
    print(f"\n  {'action':<32} {HEADER}")
    for name in sorted(actions):
        print(f"  {name:<32} {figures(actions[name])}")
    failed = Counter(
        (r["name"], r["status"] or "no answer")
        for r in requests
        if r["status"] == 0 or (r["status"] >= 400 and not r["conflict"])
    )
    for (name, status), count in sorted(failed.items(), key=str):
        print(f"  failed: {name}: {status} x{count}")

    ledger: Counter[str] = done["ledger"]
    duplicated = sum(max(0, files[a] - ledger[a]) for a in files)
    missing = sum(max(0, ledger[a] - files[a]) for a in ledger)
    tasks = ", ".join(
        f"{task} {count}" for task, count in sorted(done["tasks"].items())
    )
    attempts = ", ".join(
        f"{count} published {n}x" for n, count in sorted(done["attempts"].items())
    )
    print(
        f"\n  outbox rows written during the run: {sum(done['tasks'].values())} ({tasks})"
    )
    print(f"  publications per row: {attempts}")
    for window in ("normal", "redis down", "worker restarting"):
        delays = [
            done_at - written
            for written, done_at in done["waits"]
            if timeline.window(written) == window
        ]
        if delays:
            print(
                f"  rows written ({window}): {len(delays)}, written to completed "
                f"p50 {percentile(delays, 0.5):.1f} s, max {max(delays):.1f} s"
            )
    print(
        f"  outbox {'drained' if drained else 'NOT drained'} "
        f"{drain_seconds:.0f} s after the load ended"
    )
    print(
        f"  e-mails owed {done['emails_owed']}, sent (ledger) {sum(ledger.values())}, "
        f"files written {sum(files.values())}, duplicated {duplicated}, "
        f"missing {missing}"
    )
    print(f"  check_consistency: {'OK' if consistent else 'FAILED'}")
    print(textwrap.indent(checker, "    "))
    broken = not drained or duplicated or missing or not consistent
    if broken:
        print("  FAIL: an invariant broke (see above).")
    return 1 if broken else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", type=int, default=120, help="seconds")
    parser.add_argument("--outage-at", type=float, default=50)
    parser.add_argument("--outage-for", type=float, default=20)
    parser.add_argument("--kill-at", type=float, default=90)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from celery import current_app

    from bench.harness import analyze

    # Seeding in this process runs its background work at once, in-process, and
    # quietly (one log line per task otherwise).
    current_app.conf.task_always_eager = True
    logging.getLogger("celery").setLevel(logging.WARNING)
    name = f"bench_load_{os.getpid()}"
    print(f"Load with faults on PostgreSQL database {name}")
    with (
        bench_database(name) as database,
        tempfile.TemporaryDirectory(prefix="hrms-load-") as tmp,
    ):
        began = time.monotonic()
        plan = seed_load()
        # Planner statistics for the fresh rows, as autovacuum would soon gather
        # them: without, the evaluation page's access query took 4 s instead of
        # 0.1 s (a nested loop over blind estimates).
        analyze(database.owner)
        print(
            f"  seeded the demo and the load cycle in {time.monotonic() - began:.0f} s"
        )
        return run_load(args, {"DATABASE_URL": database.url}, Path(tmp), plan)


if __name__ == "__main__":
    sys.exit(main())
