"""Engagement planning end to end, in a real browser, through the UI only.

HR opens a review cycle, creates a client and an engagement, staffs two people (one of
them over-allocated) and names a planner; the planner writes and activates the plan
with the in-page (HTMX) goal form; the employee records progress in place and sees the
attainment. The database is only read, to pick dates around the demo data and to
check the outcome.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Dialog, Locator, Page, expect

from engagements.enums import CycleStatus, GoalStatus, PlanKind, PlanStatus
from engagements.models import Engagement, Goal, GoalCheckIn, Plan, RoleAssignment
from organizations.models import Organization
from organizations.tenancy import tenant_context
from tests.browser.conftest import Journey

pytestmark = pytest.mark.browser

EMPLOYEE = "Daniel Fischer"  # employee@acme.test, on ENG-101 and ENG-102 at 60 % each
COLLEAGUE = "Hana Young"  # a consultant on no demo engagement
PLANNER = "Ava Archer"  # manager@acme.test
CLIENT = "Harbourside Logistics"
CODE = "ENG-201"
ENGAGEMENT = "Route optimisation pilot"
CYCLE = "Client pilots"
ALLOCATION = 40

# A page-local marker: still there after an action means no full page load happened.
_SET_MARKER = """() => {
  const marker = document.createElement("div");
  marker.id = "journey-marker";
  marker.hidden = true;
  document.body.append(marker);
}"""


@dataclass(frozen=True)
class Dates:
    cycle_start: date
    cycle_end: date
    start: date  # the engagement's
    end: date


def _dates() -> Dates:
    """An engagement that overlaps both demo engagement plans of the employee (so
    they are over-allocated) and runs around today, inside a new cycle."""
    with tenant_context(Organization.objects.get(slug="acme")):
        demo_plans = list(
            Plan.objects.filter(
                kind=PlanKind.ENGAGEMENT,
                employee__user__email="employee@acme.test",
                cycle__status=CycleStatus.IN_PROGRESS,
            ).values_list("start_date", "end_date")
        )
    assert len(demo_plans) == 2, demo_plans
    latest_start = max(start for start, _end in demo_plans)
    earliest_end = min(end for _start, end in demo_plans)
    today = timezone.localdate()
    start = min(max(today - timedelta(days=30), latest_start), earliest_end)
    end = start + timedelta(days=90)
    return Dates(
        cycle_start=start - timedelta(days=14),
        cycle_end=end + timedelta(days=30),
        start=start,
        end=end,
    )


def _field(scope: Page | Locator, label: str) -> Locator:
    """The control labelled ``label``; a required field's label ends in " *"."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


# static/js/pickers.js: Tom Select's loadThrottle, and a margin.
PICKER_THROTTLE_MS = 400


def _pick(scope: Page | Locator, label: str, *names: str) -> None:
    """Choose ``names`` in the searchable picker labelled ``label``: type each one
    and click it in the list the server sends back."""
    # Once pickers.js has run, the label names the search box, not the <select>.
    # Ask for the <input> itself: a locator that resolved to the <select> before the
    # script ran would keep pointing at it, under the widget that now covers it.
    box = scope.get_by_role(
        "combobox", name=re.compile(rf"^{re.escape(label)}( \*)?$")
    ).and_(scope.locator("input"))
    page = scope if isinstance(scope, Page) else scope.page
    # Tom Select marks its box "loading" while a fetch is in flight.
    loading = page.locator(".ts-wrapper.loading")
    for name in names:
        box.click()
        box.fill("")  # a multiple choice may keep the last search in its box
        box.press_sequentially(name)
        # The list is drawn again as each answer arrives: click once the last one is
        # in, or the option may be replaced under the pointer.
        page.wait_for_timeout(PICKER_THROTTLE_MS)
        expect(loading).to_have_count(0)
        scope.get_by_role("option", name=re.compile(re.escape(name))).click()
    # Choosing clears the search, and the picker fetches the list again (throttled):
    # let that finish, or a submit right after would abort it mid-flight.
    page.wait_for_timeout(PICKER_THROTTLE_MS)
    expect(loading).to_have_count(0)


def _fill_date(field: Locator, value: date) -> None:
    field.fill(value.isoformat())


def _navbar(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main navigation")


def _open_planning(page: Page, item: str) -> None:
    navbar = _navbar(page)
    navbar.get_by_role("button", name="Planning").click()
    navbar.get_by_role("link", name=item, exact=True).click()


def _log_out(journey: Journey, short_name: str) -> None:
    page = journey.page
    navbar = _navbar(page)
    navbar.get_by_role("button", name=short_name, exact=True).click()
    navbar.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    # Let the login page finish loading (its icon font too) before the next log-in
    # opens it again; an aborted font request would count as a failure.
    page.wait_for_load_state("load")
    page.evaluate("async () => { await document.fonts.ready; }")


def _mark_page(page: Page) -> str:
    page.evaluate(_SET_MARKER)
    return page.url


def _assert_same_page(page: Page, url: str) -> None:
    """The action swapped part of the page: same URL, and the marker survived."""
    assert page.url == url
    expect(page.locator("#journey-marker")).to_have_count(1)


def _wait_for_engagement_sections(page: Page) -> None:
    """The activity and history cards load after the page (htmx, on load)."""
    expect(page.get_by_role("link", name="Show the latest check-ins")).to_have_count(0)
    expect(
        page.get_by_role("link", name="Show the history of this engagement")
    ).to_have_count(0)


def _add_goal(
    page: Page,
    *,
    title: str,
    metric: str,
    target: str,
    unit: str,
    weight: str,
    due: date,
) -> None:
    form = page.locator("#goal-form")
    _field(form, "Title").fill(title)
    _field(form, "Metric").fill(metric)
    _field(form, "Target").fill(target)
    _field(form, "Unit").fill(unit)
    _field(form, "Direction").select_option(label="Higher is better")
    _field(form, "Weight").fill(weight)
    _fill_date(_field(form, "Due date"), due)
    form.get_by_role("button", name="Add goal").click()


def test_hr_plans_an_engagement_the_planner_writes_it_the_employee_checks_in(
    journey: Journey,
) -> None:
    page = journey.page
    dates = _dates()
    confirmations: list[str] = []

    def accept(dialog: Dialog) -> None:
        confirmations.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)

    # --- 1. HR: cycle, client, engagement, staffing, planner ---------------------------
    journey.log_in("hr@acme.test")
    _open_planning(page, "Review cycles")
    expect(page.get_by_role("heading", level=1)).to_have_text("Review cycles")
    journey.step("hr-cycles")

    page.get_by_role("link", name="New cycle").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New review cycle")
    _field(page, "Name").fill(CYCLE)
    _fill_date(_field(page, "Start"), dates.cycle_start)
    _fill_date(_field(page, "End"), dates.cycle_end)
    _field(page, "Engagement weighting").select_option(
        label="By effort (allocation × days)"
    )
    journey.step("hr-cycle-form")
    page.get_by_role("button", name="Create in draft").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(CYCLE)
    expect(page.get_by_role("alert")).to_contain_text(
        f"The cycle {CYCLE} was created in draft."
    )
    status = page.locator("#cycle-status")
    expect(status.locator("[aria-current='step']")).to_contain_text("Draft")
    journey.step("hr-cycle-draft")

    url = _mark_page(page)
    status.get_by_role("button", name="Move to Planning").click()
    expect(status.locator("[aria-current='step']")).to_contain_text("Planning")
    expect(page.locator("#cycle-status-badge")).to_have_text("Planning")
    expect(status.get_by_role("alert")).to_contain_text(
        f"The cycle {CYCLE} moved to: Planning."
    )
    # Opening planning gave all 40 active people a general plan, in draft.
    general = status.get_by_role("row", name=re.compile(r"^General"))
    expect(general.get_by_role("cell").first).to_have_text("40")
    _assert_same_page(page, url)
    journey.step("hr-cycle-planning")

    status.get_by_role("button", name="Move to In progress").click()
    expect(status.locator("[aria-current='step']")).to_contain_text("In progress")
    expect(page.locator("#cycle-status-badge")).to_have_text("In progress")
    expect(status.get_by_role("alert")).to_contain_text("moved to: In progress.")
    _assert_same_page(page, url)
    assert confirmations == [
        "Open planning: every active employee gets a general plan, and planners "
        "can write engagement plans.",
        "Start the cycle: plans are in force; employees record progress.",
    ]
    journey.step("hr-cycle-in-progress")

    _open_planning(page, "Clients")
    page.get_by_role("link", name="New client").click()
    _field(page, "Name").fill(CLIENT)
    _field(page, "Industry").fill("Logistics")
    _field(page, "Contact e-mail").fill("projects@harbourside.example")
    journey.step("hr-client-form")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Clients")
    expect(page.get_by_role("alert")).to_contain_text(f"{CLIENT} saved.")
    expect(page.get_by_role("table")).to_contain_text(CLIENT)
    journey.step("hr-client-saved")

    _navbar(page).get_by_role("link", name="Engagements", exact=True).click()
    page.get_by_role("link", name="New engagement").click()
    _pick(page, "Client", CLIENT)
    _field(page, "Code").fill(CODE)
    _field(page, "Name").fill(ENGAGEMENT)
    _field(page, "Description").fill(
        "Cut the cost per delivery route for the harbour distribution network."
    )
    _pick(page, "Business unit", "Technology Consulting")
    _fill_date(_field(page, "Start"), dates.start)
    _fill_date(_field(page, "End"), dates.end)
    _field(page, "Status").select_option(label="Active")
    journey.step("hr-engagement-form")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(ENGAGEMENT)
    expect(page.get_by_role("alert")).to_contain_text(f"{CODE} · {ENGAGEMENT} saved.")
    team = page.get_by_role("region", name="Team")
    expect(team).to_contain_text("Nobody is staffed on this engagement yet.")
    _wait_for_engagement_sections(page)
    journey.step("hr-engagement-created")

    page.get_by_role("link", name="Staff people").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff people")
    _field(page, "Review cycle").select_option(label=CYCLE)
    _pick(page, "People", EMPLOYEE, COLLEAGUE)
    _field(page, "Allocation (%)").fill(str(ALLOCATION))
    _field(page, "Role on the engagement").fill("Route analyst")
    journey.step("hr-staff-form")
    page.get_by_role("button", name="Staff them").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(ENGAGEMENT)
    alerts = page.locator("main .messages .alert")
    expect(alerts.filter(has_text="2 people were staffed")).to_have_class(
        re.compile(r"alert-success")
    )
    # Over-allocation warns (60 % + 60 % on the demo engagements, + 40 % here) and
    # does not block; the colleague, at 40 %, raises no warning.
    warnings = alerts.and_(page.locator(".alert-warning"))
    expect(warnings).to_have_count(1)
    expect(warnings).to_contain_text(
        f"{EMPLOYEE} would be allocated 160 % between {dates.start.isoformat()}"
    )
    expect(warnings).to_contain_text("across engagements (more than 100 %).")
    for name in (EMPLOYEE, COLLEAGUE):
        row = team.get_by_role("row").filter(has_text=name)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(CYCLE)
        expect(row).to_contain_text(f"{ALLOCATION} %")
        expect(row).to_contain_text("Route analyst")
    _wait_for_engagement_sections(page)
    journey.step("hr-staffed")

    url = _mark_page(page)
    page.locator("summary", has_text="Manage roles").click()
    actions = page.locator("#engagement-actions")
    _pick(actions, "Person", PLANNER)
    _field(actions, "Role").select_option(label="Planner")
    actions.get_by_role("button", name="Assign role").click()
    expect(actions.get_by_role("alert")).to_contain_text(
        f"{PLANNER} is planner on this engagement."
    )
    holder = actions.get_by_role("row").filter(has_text=PLANNER)
    expect(holder).to_contain_text("Planner")
    expect(holder).to_contain_text("Assigned by hand")
    # The roles card further down follows the change too.
    roles = page.get_by_role("region", name="Roles on this engagement")
    expect(roles.locator("dt")).to_have_text(["Planner"])
    expect(roles.locator("dd")).to_contain_text([PLANNER])
    _assert_same_page(page, url)
    journey.step("hr-planner-assigned")

    # The engagement as anyone opening it now sees it.
    page.reload()
    expect(roles.locator("dd")).to_contain_text([PLANNER])
    expect(team.get_by_role("link", name=re.compile("^Open plan"))).to_have_count(2)
    _wait_for_engagement_sections(page)
    journey.step("hr-engagement")

    _log_out(journey, "Harper")

    # --- 2. The planner writes and activates the employee's plan -------------------------
    journey.log_in("manager@acme.test")
    to_write = page.get_by_role("region", name="Plans to write")
    entry = to_write.get_by_role("listitem").filter(has_text=ENGAGEMENT)
    expect(entry).to_have_count(2)  # the employee and the colleague
    mine = entry.filter(has_text=EMPLOYEE)
    expect(mine).to_contain_text("0 goals, weights 0/100")
    journey.step("planner-home")

    mine.get_by_role("link", name=EMPLOYEE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(EMPLOYEE)
    expect(page.locator(".page-header")).to_contain_text("Draft")
    goals = page.locator("#plan-goals")
    expect(goals).to_contain_text("No goals yet.")
    journey.step("planner-plan-empty")

    url = _mark_page(page)
    _add_goal(
        page,
        title="Cut the cost per route",
        metric="Route cost reduction",
        target="10",
        unit="%",
        weight="60",
        due=dates.end,
    )
    first = goals.get_by_role("article").filter(has_text="Cut the cost per route")
    expect(first).to_be_visible()
    expect(first).to_contain_text("10 %")
    expect(first).to_contain_text("Route cost reduction")
    expect(page.get_by_test_id("weight-total")).to_have_text(
        re.compile(r"Weights total 60 of 100")
    )
    expect(goals.get_by_role("alert")).to_contain_text(
        "The goal “Cut the cost per route” was added."
    )
    expect(goals.get_by_role("button", name="Activate plan")).to_be_visible()
    _assert_same_page(page, url)
    journey.step("planner-first-goal")

    _add_goal(
        page,
        title="Keep the client delighted",
        metric="Client CSAT",
        target="4.5",
        unit="/5",
        weight="40",
        due=dates.end,
    )
    expect(goals.get_by_role("article")).to_have_count(2)
    expect(page.get_by_test_id("weight-total")).to_have_text(
        re.compile(r"Weights total 100 of 100")
    )
    expect(goals.locator("#weights-hint")).to_have_count(0)
    _assert_same_page(page, url)
    journey.step("planner-second-goal")

    goals.get_by_role("button", name="Activate plan").click()
    expect(page.get_by_role("alert")).to_contain_text(
        f"The plan is active. {EMPLOYEE} can now see it and record progress."
    )
    expect(page.locator(".page-header")).to_contain_text("Active")
    expect(goals.get_by_role("button", name="Activate plan")).to_have_count(0)
    journey.step("planner-plan-active")

    _log_out(journey, "Ava")

    # --- 3. The employee records progress --------------------------------------------------
    journey.log_in("employee@acme.test")
    my_plans = page.get_by_role("region", name="Your plans")
    plan_entry = my_plans.get_by_role("listitem").filter(has_text=ENGAGEMENT)
    expect(plan_entry).to_contain_text(CLIENT)
    expect(plan_entry).to_contain_text("Active")
    expect(plan_entry).to_contain_text("2 goals")
    journey.step("employee-home")

    plan_entry.get_by_role("link", name=ENGAGEMENT).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(EMPLOYEE)
    goal = page.get_by_role("article").filter(has_text="Cut the cost per route")
    expect(goal.get_by_test_id("attainment")).to_contain_text(
        "Needs a target and an actual value"
    )
    journey.step("employee-plan")

    url = _mark_page(page)
    goal.get_by_role("link", name="Record progress").click()
    form = goal.get_by_role("form", name="Record progress on “Cut the cost per route”")
    _field(form, "Progress (%)").fill("60")
    _field(form, "Actual value").fill("12")
    _field(form, "Status").select_option(label="On track")
    _field(form, "Note").fill("Two depots re-routed; savings above plan.")
    journey.step("employee-checkin-form")
    form.get_by_role("button", name="Save progress").click()

    expect(form).to_have_count(0)
    attainment = goal.get_by_test_id("attainment")
    expect(attainment).to_contain_text("120 %")
    expect(attainment).to_contain_text("(above target)")
    expect(goal.locator("dt:text-is('Actual') + dd")).to_have_text("12 %")
    expect(goal.locator("progress")).to_have_attribute("value", "60")
    expect(goal).to_contain_text("On track")
    expect(goal.get_by_role("region", name="Check-ins")).to_contain_text(
        "Two depots re-routed; savings above plan."
    )
    _assert_same_page(page, url)
    journey.step("employee-checked-in", readme="plan")

    _navbar(page).get_by_role("link", name="Home", exact=True).click()
    plan_entry = (
        page.get_by_role("region", name="Your plans")
        .get_by_role("listitem")
        .filter(has_text=ENGAGEMENT)
    )
    # Weighted progress: 60 % on the goal weighing 60, nothing on the other.
    expect(plan_entry.locator("progress")).to_have_attribute("value", "36")
    expect(plan_entry).to_contain_text("36 %")
    journey.step("employee-home-progress", readme="my-work")

    _log_out(journey, "Daniel")

    # --- 4. HR sees the progress on the engagement -------------------------------------
    journey.log_in("hr@acme.test")
    _navbar(page).get_by_role("link", name="Engagements", exact=True).click()
    page.get_by_role("table").get_by_role("link", name=ENGAGEMENT).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ENGAGEMENT)
    row = (
        page.get_by_role("region", name="Team")
        .get_by_role("row")
        .filter(has_text=EMPLOYEE)
    )
    expect(row.locator("progress")).to_have_attribute("value", "36")
    activity = page.get_by_role("region", name="Recent activity")
    expect(activity).to_contain_text("Cut the cost per route")
    _wait_for_engagement_sections(page)
    journey.step("hr-engagement-progress", readme="engagement")

    # --- The outcome, as stored --------------------------------------------------------
    with tenant_context(Organization.objects.get(slug="acme")):
        engagement = Engagement.objects.get(code=CODE)
        assert (engagement.start_date, engagement.end_date) == (dates.start, dates.end)
        plans = {
            plan.employee.full_name: plan
            for plan in Plan.objects.filter(engagement=engagement).select_related(
                "employee", "cycle"
            )
        }
        assert set(plans) == {EMPLOYEE, COLLEAGUE}
        plan = plans[EMPLOYEE]
        assert plan.cycle.name == CYCLE
        assert plan.cycle.status == CycleStatus.IN_PROGRESS
        assert plan.allocation == ALLOCATION
        assert plan.status == PlanStatus.ACTIVE
        assert plans[COLLEAGUE].status == PlanStatus.DRAFT
        assert RoleAssignment.objects.filter(
            engagement=engagement, employee__full_name=PLANNER, role="planner"
        ).exists()
        stored = list(Goal.objects.filter(plan=plan).order_by("position"))
        assert [g.weight for g in stored] == [Decimal(60), Decimal(40)]
        assert stored[0].actual_value == Decimal(12)
        assert stored[0].attainment == Decimal("120.0")
        assert stored[0].status == GoalStatus.ON_TRACK
        checkin = GoalCheckIn.objects.get(goal=stored[0])
        assert checkin.author is not None
        assert checkin.author.email == "employee@acme.test"
