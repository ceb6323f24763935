"""The users of ``bench/load_outage.py``: reviewers, approvers, employees and HR admins
of the demo organisation ``acme``, driving the real pages over HTTP.

Not a stand-alone benchmark: ``load_outage.py`` seeds the data, starts the services
and runs Locust on this file, handing it two paths in the environment:

- ``BENCH_LOAD_PLAN``: a JSON file written by the seeding step, with the ids the users
  act on (the load cycle's evaluations, the employee's goals and teammates, the
  cycles in review) and the demo password;
- ``BENCH_LOAD_LOG``: where every request is appended as one JSON line (start time,
  action name, status, milliseconds, whether the page reported an edit conflict), so
  the script can split the figures by the time of the faults it caused.

The mix, by weight: reviewers open their queue, open an evaluation and save a draft
(or, one time in eight, submit it); approvers open their "to approve" tab and approve
one; employees check in on their goals and give feedback to teammates; HR admins open
cycle progress pages. Several users share each login, as colleagues in one role would
share the work: two reviewers saving the same evaluation at once is an edit conflict
the page reports, and the script counts those.

Locust runs under gevent, so this file imports nothing of the project (no Django).
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task

ORG = "acme"
LOGIN_PATH = "/accounts/login/"
# What the pages print: a stale save (organizations.history.check_version) and the
# evaluation page's note beside a conflict.
CONFLICT_MARKERS = ("Changed by ", "Your entries are kept below")

PLAN: dict[str, Any] = json.loads(Path(os.environ["BENCH_LOAD_PLAN"]).read_text())
LOG = Path(os.environ["BENCH_LOAD_LOG"])

EVALUATION_LINK = re.compile(rf"/o/{ORG}/evaluations/(\d+)/\"")
VERSION = re.compile(r'name="version" value="(\d+)"')
RATING_FIELD = re.compile(r'name="((?:goal|competency)_(\d+)_value)"')
SUGGESTED = re.compile(r'data-testid="suggested-(\d+)">([0-9.]+)<')


@events.request.add_listener
def log_request(
    request_type: str,
    name: str,
    response_time: float,
    response: Any = None,
    start_time: float | None = None,
    **_kwargs: Any,
) -> None:
    """One JSON line per request: when it started, what it was, how it ended."""
    status = getattr(response, "status_code", 0) or 0
    text = getattr(response, "text", "") if status == 400 else ""
    line = json.dumps(
        {
            "t": start_time or time.time(),
            "name": name,
            "method": request_type,
            "status": status,
            "ms": round(response_time, 1),
            "conflict": any(marker in text for marker in CONFLICT_MARKERS),
        }
    )
    with LOG.open("a", encoding="utf-8") as log:
        log.write(line + "\n")


class Member(HttpUser):
    """A signed-in member; subclasses name the login and the tasks."""

    abstract = True
    # Reading a page and filling a form takes a person a while.
    wait_time = between(5, 15)
    login = ""

    def on_start(self) -> None:
        self.client.get(LOGIN_PATH, name="login page")
        self.client.post(
            LOGIN_PATH,
            {
                "username": self.login,
                "password": PLAN["password"],
                "csrfmiddlewaretoken": self.csrf(),
            },
            headers={"X-CSRFToken": self.csrf()},
            name="login",
            allow_redirects=False,
        )

    def csrf(self) -> str:
        """The CSRF secret from the cookie: Django accepts it as the token too."""
        return self.client.cookies.get("csrftoken") or ""

    def post(self, path: str, data: dict[str, Any], *, name: str) -> Any:
        """POST a form without following the redirect, so the figure is the action's
        own; a 400 that reports an edit conflict is what the user sees, not a failure
        of the test run."""
        with self.client.post(
            path,
            data,
            headers={"X-CSRFToken": self.csrf()},
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            conflict = response.status_code == 400 and any(
                marker in response.text for marker in CONFLICT_MARKERS
            )
            if response.status_code < 400 or conflict:
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}")
            return response

    def url(self, tail: str) -> str:
        return f"/o/{ORG}/{tail}"


class Reviewer(Member):
    """Writes the load cycle's reviews: mostly drafts, sometimes a submission."""

    weight = 4
    login = "reviewer@acme.test"

    @task
    def write_a_review(self) -> None:
        queue = self.client.get(self.url("evaluations/"), name="reviewer: queue")
        in_queue = {int(pk) for pk in EVALUATION_LINK.findall(queue.text)}
        choices = sorted(in_queue & set(PLAN["reviews"])) or PLAN["reviews"]
        pk = random.choice(choices)
        page = self.client.get(
            self.url(f"evaluations/{pk}/"), name="reviewer: open evaluation"
        )
        version = VERSION.search(page.text)
        if version is None:
            return  # submitted meanwhile: nothing to write
        suggested = dict(SUGGESTED.findall(page.text))
        data: dict[str, Any] = {
            "version": version.group(1),
            "comments": random.choice(
                ["Steady delivery.", "Strong client feedback.", "Grew into the role."]
            ),
            "action": "submit" if random.random() < 0.125 else "save",
        }
        for field, item in RATING_FIELD.findall(page.text):
            # The suggestion needs no reason; competencies take a middle rating.
            data[field] = suggested.get(item, "3").removesuffix(".0")
        self.post(
            self.url(f"evaluations/{pk}/"),
            data,
            name=f"reviewer: {data['action']} evaluation",
        )


class Approver(Member):
    """Approves submitted reviews from the "to approve" tab."""

    weight = 2
    login = "approver@acme.test"

    @task
    def approve_one(self) -> None:
        queue = self.client.get(
            self.url("evaluations/?tab=approve"), name="approver: queue"
        )
        waiting = sorted({int(pk) for pk in EVALUATION_LINK.findall(queue.text)})
        if not waiting:
            return
        pk = random.choice(waiting)
        self.client.get(
            self.url(f"evaluations/{pk}/"), name="approver: open evaluation"
        )
        self.post(
            self.url(f"evaluations/{pk}/approve/"),
            {"approve-comment": "Agreed."},
            name="approver: approve",
        )


class Employee(Member):
    """Records progress on their goals and gives feedback to teammates."""

    weight = 3
    login = "employee@acme.test"

    @task(3)
    def check_in(self) -> None:
        goal = random.choice(PLAN["goals"])
        self.client.get(
            self.url(f"goals/{goal}/checkins/new/"), name="employee: check-in form"
        )
        prefix = f"checkin-{goal}"  # the page holds one such form per goal
        self.post(
            self.url(f"goals/{goal}/checkins/new/"),
            {
                f"{prefix}-progress": str(random.randint(10, 90)),
                f"{prefix}-actual_value": "",
                f"{prefix}-status": random.choice(["on_track", "at_risk", "behind"]),
                f"{prefix}-note": "Weekly update.",
            },
            name="employee: check in",
        )

    @task(2)
    def give_feedback(self) -> None:
        engagement, subject = random.choice(PLAN["teammates"])
        self.post(
            self.url(f"engagements/{engagement}/feedback/give/"),
            {
                "subject": str(subject),
                "kind": "praise",
                "body": "Thanks for covering the client call.",
                "visibility": "shared",
                "goal": "",
            },
            name="employee: give feedback",
        )


class HrAdmin(Member):
    """Follows the cycles in review."""

    weight = 1
    login = "hr@acme.test"

    @task
    def cycle_progress(self) -> None:
        cycle = random.choice(PLAN["cycles"])
        self.client.get(
            self.url(f"cycles/{cycle}/appraisals/"), name="hr: cycle progress"
        )
