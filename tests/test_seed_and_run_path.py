"""The `make run` path: migrate an embedded SQLite database, load the demo (twice), and
log every demo user in through the login form."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from organizations.models import Employee, Membership, Organization
from organizations.tenancy import tenant_context

BASE_DIR = Path(__file__).resolve().parent.parent

DEMO_LOGINS = {
    "hr@acme.test": "/o/acme/",
    "manager@acme.test": "/o/acme/",
    "reviewer@acme.test": "/o/acme/",
    "approver@acme.test": "/o/acme/",
    "employee@acme.test": "/o/acme/",
    "hr@globex.test": "/o/globex/",
}

COUNT_SCRIPT = """
import json
from django_scopes import scopes_disabled
from organizations.models import (
    BusinessUnit, Employee, JobTitle, Membership, Organization, User,
)
with scopes_disabled():
    counts = {
        "organizations": Organization.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "employees": Employee.objects.count(),
        "linked_employees": Employee.objects.filter(user__isnull=False).count(),
        "business_units": BusinessUnit.objects.count(),
        "job_titles": JobTitle.objects.count(),
    }
print("RESULT:" + json.dumps(counts, sort_keys=True))
"""

LOGIN_SCRIPT = """
import json
from django.test import Client
def log_in(emails, password):
    results = {}
    for email in emails:
        client = Client()
        login = client.post(
            "/accounts/login/", {"username": email, "password": password}
        )
        home = client.get(login["Location"] if login.status_code == 302 else "/", follow=True)
        final = home.redirect_chain[-1][0] if home.redirect_chain else home.request["PATH_INFO"]
        results[email] = [login.status_code, home.status_code, final]
    return results
print("RESULT:" + json.dumps({
    "demo_password": log_in(%(emails)r, %(password)r),
    "wrong_password": log_in(["hr@acme.test"], "guess-1234567"),
}, sort_keys=True))
"""


# On the SQLite site no trigger keeps the progress tallies, the plan tally or the
# approval fallback: the pages rebuild them from the rows when they read them.
TALLY_SCRIPT = """
import json
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled
from appraisals.enums import AppraisalStatus, EvaluationKind, EvaluationStatus
from appraisals.models import Appraisal, Evaluation
from appraisals.selectors.queues import evaluation_queue
from appraisals.tallies import fallback_reviews
from engagements.models import Plan, ReviewCycle
from organizations.models import Membership, Organization, User
from organizations.tenancy import tenant_context

setup_test_environment()
with scopes_disabled():
    organization = Organization.objects.get(slug="acme")
    hr = User.objects.get(email="hr@acme.test")
client = Client()
client.force_login(hr)
with tenant_context(organization):
    cycle = ReviewCycle.objects.get(pk=Appraisal.objects.values("cycle").first()["cycle"])
    expected = {
        "appraisals": Appraisal.objects.filter(cycle=cycle).count(),
        "open": Appraisal.objects.filter(
            cycle=cycle, status=AppraisalStatus.OPEN
        ).count(),
        "waiting": Evaluation.objects.filter(
            plan__cycle=cycle, kind=EvaluationKind.REVIEW
        ).exclude(status=EvaluationStatus.APPROVED).count(),
        "plans": Plan.objects.filter(cycle=cycle).count(),
    }
progress = client.get(reverse("appraisals:cycle_progress", args=["acme", cycle.pk]))
summary = progress.context["summary"]
cycles = client.get(reverse("engagements:cycles", args=["acme"]))
listed = {c.pk: c.n_plans for c in cycles.context["cycles"]}
with tenant_context(organization):
    membership = Membership.objects.get(user=hr)
    queue = evaluation_queue(membership)
    fallback = len(fallback_reviews())
print("RESULT:" + json.dumps({
    "status": [progress.status_code, cycles.status_code],
    "expected": expected,
    "shown": {
        "appraisals": summary.appraisals_total,
        "open": dict(summary.appraisals_by_status)[str(AppraisalStatus.OPEN.label)],
        "waiting": summary.waiting,
        "plans": listed[cycle.pk],
    },
    "hr_fallback_in_queue": fallback <= queue.to_approve,
}, sort_keys=True))
"""


# The dashboards on the SQLite site (no PostgreSQL functions), for HR and the demo
# manager, and an XLSX export that runs eagerly and downloads.
REPORTS_SCRIPT = """
import io
import json
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
from django_scopes import scopes_disabled
from openpyxl import load_workbook
from organizations.models import User

setup_test_environment()
with scopes_disabled():
    hr = User.objects.get(email="hr@acme.test")
    manager = User.objects.get(email="manager@acme.test")
shown = {}
for who, user in (("hr", hr), ("manager", manager)):
    client = Client()
    client.force_login(user)
    for name in ("overview", "scores", "competencies", "engagements", "reviewers", "trends"):
        response = client.get(reverse("reporting:" + name, args=["acme"]))
        figures = response.context["figures"] if response.status_code == 200 else None
        shown[who + ":" + name] = [response.status_code, figures is not None and not figures.is_empty]
client = Client()
client.force_login(hr)
trends = client.get(reverse("reporting:trends", args=["acme"])).context["figures"]
job = client.post(
    reverse("reporting:export", args=["acme"]),
    {"dashboard": "scores", "file_format": "xlsx"},
)
page = client.get(job["Location"])
download = client.get(reverse("reporting:job_download", args=["acme", page.context["job"].pk]))
sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True).active
print("RESULT:" + json.dumps({
    "shown": shown,
    "trend_points": len(trends.cycles),
    "download": download.status_code,
    "first_row": [str(c) for c in next(sheet.iter_rows(values_only=True))][:3],
}, sort_keys=True))
"""


# The navigation's search on the SQLite site: words match, no trigram function; HR
# finds an engagement and a person, the demo employee never finds HR in the people.
SEARCH_SCRIPT = """
import json
from django.db import connection
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
from django_scopes import scopes_disabled
from engagements.models import Engagement
from organizations.models import Employee, Organization, User
from organizations.tenancy import tenant_context

setup_test_environment()
with scopes_disabled():
    organization = Organization.objects.get(slug="acme")
    hr = User.objects.get(email="hr@acme.test")
    employee = User.objects.get(email="employee@acme.test")
with tenant_context(organization):
    engagement = Engagement.objects.order_by("pk").first().name
    hr_name = Employee.objects.get(user=hr).full_name
    employee_name = Employee.objects.get(user=employee).full_name
url = reverse("organizations:search", args=["acme"])
found = {}
for who, user, query in (
    ("hr:engagement", hr, engagement),
    ("hr:person", hr, employee_name),
    ("employee:hr", employee, hr_name),
):
    client = Client()
    client.force_login(user)
    response = client.get(url, {"q": query})
    groups = response.context["groups"]
    found[who] = [response.status_code, {g.key: [r.label for r in g.results] for g in groups}]
print("RESULT:" + json.dumps({
    "vendor": connection.vendor,
    "engagement": engagement,
    "employee": employee_name,
    "found": found,
}, sort_keys=True))
"""


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _results(completed: subprocess.CompletedProcess[str]) -> list[Any]:
    """What a script printed on its ``RESULT:`` lines, in order."""
    assert completed.returncode == 0, completed.stderr
    return [
        json.loads(line.removeprefix("RESULT:"))
        for line in completed.stdout.splitlines()
        if line.startswith("RESULT:")
    ]


def _result(completed: subprocess.CompletedProcess[str]) -> Any:
    """What a script printed on its first ``RESULT:`` line."""
    return _results(completed)[0]


def _logins(demo_site: dict[str, Any]) -> Any:
    """The login attempts, printed last after the second run."""
    return _results(demo_site["after_second"])[-1]


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fresh SQLite site as `make run` builds it, with the demo loaded twice. After
    the second run one process (each ``manage.py`` costs a Python and Django start)
    counts the rows, then tries every demo login with the password the run printed,
    and a wrong one."""
    tmp = tmp_path_factory.mktemp("make-run")
    env = dict(os.environ)
    for name in (
        "REDIS_URL",
        "DATABASE_APP_ROLE",
        "CELERY_TASK_ALWAYS_EAGER",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DEBUG",
    ):
        env.pop(name, None)
    env["DATABASE_URL"] = f"sqlite:///{tmp}/db.sqlite3"
    env["MEDIA_ROOT"] = str(tmp / "media")

    migrate = _manage(env, "migrate", "--noinput")
    first = _manage(env, "seed_demo")
    counts_after_first = _result(_manage(env, "shell", "-c", COUNT_SCRIPT))
    second = _manage(env, "seed_demo")
    password = _demo_password(second.stdout)
    logins = LOGIN_SCRIPT % {"emails": sorted(DEMO_LOGINS), "password": password}
    after_second = _manage(env, "shell", "-c", COUNT_SCRIPT + logins)
    counts_after_second = _result(after_second)
    tallies = _manage(env, "shell", "-c", TALLY_SCRIPT)
    reports = _manage(env, "shell", "-c", REPORTS_SCRIPT)
    search = _manage(env, "shell", "-c", SEARCH_SCRIPT)
    return {
        "search": search,
        "tallies": tallies,
        "reports": reports,
        "database": tmp / "db.sqlite3",
        "migrate": migrate,
        "first": first,
        "second": second,
        "counts_after_first": counts_after_first,
        "counts_after_second": counts_after_second,
        "after_second": after_second,
    }


def _demo_password(output: str) -> str:
    """The password `seed_demo` printed, or "" if it printed none."""
    match = re.search(r"Demo password for every login: (\S+)", output)
    return match.group(1) if match else ""


@pytest.mark.slow
def test_make_run_migrates_into_the_embedded_database(demo_site):
    assert demo_site["migrate"].returncode == 0, demo_site["migrate"].stderr
    assert demo_site["database"].is_file()


@pytest.mark.slow
def test_seed_demo_loads_both_organizations(demo_site):
    first = demo_site["first"]

    counts = demo_site["counts_after_first"]

    assert first.returncode == 0, first.stderr
    assert "Organisations: acme, globex" in first.stdout
    assert (counts["organizations"], counts["users"], counts["memberships"]) == (
        2,
        6,
        6,
    )
    assert counts["linked_employees"] == 6


@pytest.mark.slow
def test_seed_demo_second_run_succeeds_without_duplicates(demo_site):
    second = demo_site["second"]

    counts = demo_site["counts_after_second"]

    assert second.returncode == 0, second.stderr
    assert counts == demo_site["counts_after_first"]


@pytest.mark.slow
def test_seed_demo_every_demo_login_reaches_its_home_page(demo_site):
    second = demo_site["second"]

    results = _logins(demo_site)["demo_password"]

    assert _demo_password(second.stdout), second.stdout + second.stderr
    assert results == {
        email: [302, 200, home] for email, home in sorted(DEMO_LOGINS.items())
    }


@pytest.mark.slow
def test_seed_demo_demo_password_is_the_only_one_that_works(demo_site):
    results = _logins(demo_site)["wrong_password"]

    assert results == {"hr@acme.test": [200, 200, "/accounts/login/?next=/"]}


# --- the guard against real deployments ------------------------------------------------


def test_seed_demo_refuses_when_debug_is_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())


@pytest.mark.slow
def test_seed_demo_with_force_runs_when_debug_is_off(db, settings):
    settings.DEBUG = False
    out = StringIO()

    call_command("seed_demo", "--force", stdout=out)

    organizations = list(Organization.objects.order_by("slug"))
    linked = []
    for organization in organizations:
        with tenant_context(organization):
            linked.append(
                (
                    Membership.objects.count(),
                    Employee.objects.filter(user__isnull=False).count(),
                )
            )
    slugs = [organization.slug for organization in organizations]
    assert "Demo data is ready." in out.getvalue()
    assert (slugs, linked) == (["acme", "globex"], [(5, 5), (1, 1)])


@pytest.mark.slow
def test_make_run_pages_count_without_triggers(demo_site):
    """SQLite has no triggers keeping the tallies: HR's progress page, the cycle list
    and the evaluation queue show what the rows say all the same."""
    result = _result(demo_site["tallies"])

    assert result["status"] == [200, 200]
    assert result["expected"]["appraisals"] > 0
    assert result["shown"] == result["expected"]
    assert result["hr_fallback_in_queue"] is True


@pytest.mark.slow
def test_make_run_dashboards_and_an_export_work_on_sqlite(demo_site):
    """Every dashboard shows figures on the demo for HR (the manager: those of their
    line, never reviewer consistency), the trends have the demo's cycles as points,
    and a dashboard's XLSX export runs eagerly and downloads."""
    result = _result(demo_site["reports"])

    assert result["shown"] == {
        **{
            f"hr:{name}": [200, True]
            for name in (
                "overview",
                "scores",
                "competencies",
                "engagements",
                "reviewers",
                "trends",
            )
        },
        **{
            f"manager:{name}": [200, True]
            for name in ("overview", "scores", "competencies", "engagements", "trends")
        },
        "manager:reviewers": [403, False],
    }
    assert result["trend_points"] >= 3
    assert result["download"] == 200
    assert result["first_row"] == ["Grouping", "Group", "Appraisals scored"]


@pytest.mark.slow
def test_make_run_search_matches_words_on_sqlite(demo_site):
    """The search's fallback on SQLite: an engagement by its name and a person by
    theirs for HR; the demo employee does not find HR among the people."""
    result = _result(demo_site["search"])

    found = result["found"]
    assert result["vendor"] == "sqlite"
    assert found["hr:engagement"][0] == 200
    assert result["engagement"] in found["hr:engagement"][1]["engagements"]
    assert result["employee"] in found["hr:person"][1]["people"]
    assert found["employee:hr"][0] == 200
    assert "people" not in found["employee:hr"][1]
