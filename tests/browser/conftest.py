"""Browser journeys: Debian's headless Chromium, driven by Playwright, against the
pytest-django live server (PostgreSQL as the application role, static files served
through the staticfiles finders).

Every test here is marked ``browser`` (and so ``slow``). The ``journey`` fixture logs
in through the real form, screenshots each step to ``artifacts/browser/<test>/`` and
fails the test when one of our pages logs a console error (CSP violations included),
a request fails, a response is an unexpected 4xx/5xx, or the page is unstyled. A
request the browser cancelled because the page navigated away (a font, an image or a
lazy HTMX section still loading) is not a failure, nor is the request of a download
(the browser ends it as aborted once it hands the file over); before a step's
screenshot, before ``Journey.goto`` leaves a page and at the end of a test the page is
let settle (web fonts loaded, no HTMX request in flight or swap under way). Chart.js
draws its charts without animation, so that a screenshot shows them whole.

``HRMS_README_SCREENSHOTS=1`` also copies the steps that name a README screenshot to
``docs/screenshots/``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Download,
    Page,
    Playwright,
    Request,
    Response,
    Route,
    expect,
    sync_playwright,
)

from demo.people import DEMO_PASSWORD
from tests.browser.snapshot import DatabaseSnapshot

# The live server must listen where the browser is allowed to go: 127.0.0.1 only.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts" / "browser"
README_SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
ALLOWED_HOST = "127.0.0.1"

# app.css paints the navbar in the accent colour; Bootstrap makes it a flex row and
# defines --bs-primary. Unstyled HTML has none of the three.
NAVBAR_BACKGROUND = "rgb(47, 93, 138)"

_STYLE_PROBE = """() => {
  const nav = document.querySelector("nav.navbar");
  const navStyle = nav ? getComputedStyle(nav) : null;
  const root = getComputedStyle(document.documentElement);
  return {
    navbarDisplay: navStyle ? navStyle.display : null,
    navbarBackground: navStyle ? navStyle.backgroundColor : null,
    bootstrapPrimary: root.getPropertyValue("--bs-primary").trim(),
    iconFontLoaded: [...document.fonts].some(
      (f) => f.family.replaceAll('"', "") === "bootstrap-icons" && f.status === "loaded"
    ),
  };
}"""

# Chromium also logs CSP violations, but the event names the directive precisely.
_CSP_REPORTER = """document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});"""

# A full-page screenshot shrinks the window and restores it, and Chart.js redraws
# each chart at its restored size with its opening animation (bars growing for a
# second): the screenshot caught them part-drawn. Charts are drawn still instead.
_STILL_CHARTS = """(() => {
  let chart;
  Object.defineProperty(window, "Chart", {
    configurable: true,
    get: () => chart,
    set: (value) => {
      if (value && value.defaults) value.defaults.animation = false;
      chart = value;
    },
  });
})();"""


# Resolves true once the web fonts have loaded and htmx has had no request in flight
# and no swap or settle under way for QUIET_MS on end (a lazy section's answer may hold
# another lazy section), or false after SETTLE_TIMEOUT_MS.
QUIET_MS = 100
SETTLE_TIMEOUT_MS = 10_000
_SETTLED = """async ([quietMs, timeoutMs]) => {
  const busy = () =>
    document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling") !== null;
  const start = performance.now();
  let quietSince = start;
  while (performance.now() - quietSince < quietMs) {
    if (performance.now() - start > timeoutMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (busy()) quietSince = performance.now();
  }
  await document.fonts.ready;
  return true;
}"""


def settle(page: Page) -> None:
    """Wait until the page's fonts and lazy HTMX sections have finished loading."""
    page.wait_for_load_state("load")
    if not page.evaluate(_SETTLED, [QUIET_MS, SETTLE_TIMEOUT_MS]):
        pytest.fail(
            f"{page.url} still had HTMX requests or swaps under way after "
            f"{SETTLE_TIMEOUT_MS} ms."
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


_REPORT_KEY = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.stash[_REPORT_KEY] = report
    return report


# --- Browser -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with `make browser`.")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@dataclass
class PageProblems:
    """What went wrong on our pages, and the HTTP errors a test said it expects."""

    problems: list[str] = field(default_factory=list)
    expected_statuses: set[tuple[str, int]] = field(default_factory=set)
    # Navigations of the main frame started so far, and for each request in flight
    # the count when it started (a navigation request counts itself): a request
    # aborted once a later navigation had started was cancelled by that navigation.
    navigations: int = 0
    started: dict[Request, int] = field(default_factory=dict)
    # Requests aborted before any later navigation was seen. The browser may report
    # the abort a moment before the navigation that caused it (a form submitted while
    # scripts still load): the next navigation clears them; those still here when
    # the problems are taken were aborted with no navigation after them. Each is
    # kept with its URL: one that turned out to be a download is not a failure.
    aborted: list[tuple[str, str]] = field(default_factory=list)
    # The URLs of the downloads the page started. The browser hands the response
    # to the download and ends the request as aborted, before or after it reports
    # the download.
    downloads: set[str] = field(default_factory=set)

    def expect_status(self, url: str, status: int) -> None:
        self.expected_statuses.add((url, status))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url") or (message.page.url if message.page else "")
        status = re.search(r"status of (\d{3})", message.text)
        if status and (url, int(status.group(1))) in self.expected_statuses:
            return
        self.problems.append(f"console error on {url or '?'}: {message.text}")

    def on_page_error(self, error: Exception) -> None:
        self.problems.append(f"uncaught JavaScript error: {error}")

    def on_request(self, request: Request) -> None:
        if request.is_navigation_request() and request.frame.parent_frame is None:
            self.navigations += 1
            self.aborted.clear()
        self.started[request] = self.navigations

    def on_request_finished(self, request: Request) -> None:
        self.started.pop(request, None)

    def on_request_failed(self, request: Request) -> None:
        # A font, an image or a lazily loaded HTMX section still in flight when the
        # journey moves to the next page is cancelled by the browser: not a failure
        # of ours, whether the navigation was seen before the abort or just after it
        # (``aborted``). Anything else that fails (a request aborted with no
        # navigation after it, a refused connection, a blocked address) still counts.
        started = self.started.pop(request, self.navigations)
        problem = f"request failed: {request.method} {request.url} ({request.failure})"
        if request.failure == "net::ERR_ABORTED":
            if self.navigations == started:
                self.aborted.append((request.url, problem))
            return
        self.problems.append(problem)

    def on_response(self, response: Response) -> None:
        if response.status < 400:
            return
        if (response.url, response.status) in self.expected_statuses:
            return
        self.problems.append(
            f"HTTP {response.status} for {response.request.method} {response.url}"
        )

    def on_download(self, download: Download) -> None:
        self.downloads.add(download.url)

    def take(self) -> list[str]:
        aborted = [
            problem for url, problem in self.aborted if url not in self.downloads
        ]
        found = [*self.problems, *aborted]
        self.problems, self.aborted = [], []
        return found


def _format_problems(problems: list[str]) -> str:
    return "The page reported problems:\n  - " + "\n  - ".join(problems)


def _guard_network(route: Route) -> None:
    """Let the browser reach the live server and nothing else."""
    if urlsplit(route.request.url).hostname == ALLOWED_HOST:
        route.continue_()
    else:
        route.abort("blockedbyclient")


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(
    browser: Browser,
    live_server: Any,
    page_problems: PageProblems,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies) pointed at the live server."""
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORT, locale="en-GB"
    )
    context.route("**/*", _guard_network)
    context.add_init_script(_CSP_REPORTER)
    context.add_init_script(_STILL_CHARTS)
    page = context.new_page()
    page.on("console", page_problems.on_console)
    page.on("pageerror", page_problems.on_page_error)
    page.on("request", page_problems.on_request)
    page.on("requestfinished", page_problems.on_request_finished)
    page.on("requestfailed", page_problems.on_request_failed)
    page.on("response", page_problems.on_response)
    page.on("download", page_problems.on_download)
    yield page
    report = request.node.stash.get(_REPORT_KEY, None)
    if report is not None and report.failed:
        folder = _artifacts_for(request.node)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=folder / "failure.png", full_page=True, caret="initial")
    elif report is not None:
        # What the last page still loads belongs to the test; closing the context
        # would cancel it unseen.
        settle(page)
    leftover = page_problems.take()
    context.close()
    if leftover:
        pytest.fail(_format_problems(leftover))


# --- Journeys ------------------------------------------------------------------------


def _artifacts_for(node: pytest.Item) -> Path:
    return ARTIFACTS / re.sub(r"[^\w.-]+", "_", node.name).strip("_")


@pytest.fixture(scope="session")
def _demo_snapshots(django_db_setup: None) -> Iterator[dict[str, DatabaseSnapshot]]:
    """The demo as the first journey of this test process seeded it."""
    snapshots: dict[str, DatabaseSnapshot] = {}
    yield snapshots
    for snapshot in snapshots.values():
        snapshot.close()


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> Path:
    """Each journey's report files (the demo's finished jobs, what the journey asks
    for) go to a folder of its own, never into the working tree."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def demo_data(
    transactional_db: None, _demo_snapshots: dict[str, DatabaseSnapshot]
) -> None:
    """The demo organisations and logins of `manage.py seed_demo`.

    Seeding costs thousands of queries, so only the first journey of a test process
    seeds; it keeps a ``DatabaseSnapshot`` that the journeys after it restore. Every
    journey starts from the same rows (and ids); the database is emptied after each,
    as after any transactional test.
    """
    snapshot = _demo_snapshots.pop("demo", None)
    if snapshot is not None and snapshot.restore():
        _demo_snapshots["demo"] = snapshot
        return
    if snapshot is not None:
        snapshot.close()
    call_command("seed_demo", force=True, stdout=io.StringIO())
    _demo_snapshots["demo"] = DatabaseSnapshot.take()


class Journey:
    """One user's walk through the site, with a screenshot and a health check per step."""

    def __init__(
        self, page: Page, problems: PageProblems, base_url: str, folder: Path
    ) -> None:
        self.page = page
        self.problems = problems
        self.base_url = base_url
        self.folder = folder
        self._steps = 0

    def goto(self, path: str, *, expect_status: int = 200) -> Response:
        """Open ``path`` by typing it into the address bar."""
        url = urljoin(self.base_url, path)
        if expect_status >= 400:
            self.problems.expect_status(url, expect_status)
        if self.page.url != "about:blank":
            settle(self.page)  # leave the current page once it has finished loading
        response = self.page.goto(url)
        assert response is not None, f"No response for {url}"
        assert response.status == expect_status, (
            f"{url} answered {response.status}, expected {expect_status}"
        )
        return response

    def log_in(
        self, email: str, password: str = DEMO_PASSWORD, *, readme: str | None = None
    ) -> None:
        """Log in through the real form and land on the organisation's home page."""
        self.goto("/accounts/login/")
        self.step("login", readme=readme)
        self.page.locator("input[name='username']").fill(email)
        self.page.locator("input[name='password']").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page).to_have_url(re.compile(r"/o/[\w-]+/$"))

    def step(self, name: str, *, readme: str | None = None) -> Path:
        """Check the page is healthy and styled, then screenshot it (full page)."""
        settle(self.page)
        problems = self.problems.take()
        if problems:
            pytest.fail(f"At step {name!r}: {_format_problems(problems)}")
        self.assert_styled(name)
        self._steps += 1
        path = self.folder / f"{self._steps:02d}-{name}.png"
        # caret="initial": hiding the caret sets an inline style on every input and
        # leaves style="" behind; htmx then copies that attribute onto the inputs it
        # swaps in, which the CSP (no inline styles) reports as a violation.
        self.page.screenshot(path=path, full_page=True, caret="initial")
        if readme and os.environ.get("HRMS_README_SCREENSHOTS") == "1":
            README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, README_SCREENSHOTS / f"{readme}.png")
        return path

    def assert_styled(self, name: str) -> None:
        style = self.page.evaluate(_STYLE_PROBE)
        expected = {
            "navbarDisplay": "flex",
            "navbarBackground": NAVBAR_BACKGROUND,
            "bootstrapPrimary": "#0d6efd",
            "iconFontLoaded": True,
        }
        if style != expected:
            pytest.fail(
                f"At step {name!r} the page looks unstyled: Bootstrap, app.css or the "
                f"icon font did not load (got {style}, expected {expected})."
            )


@pytest.fixture
def journey(
    page: Page,
    page_problems: PageProblems,
    live_server: Any,
    demo_data: None,
    request: pytest.FixtureRequest,
) -> Journey:
    folder = _artifacts_for(request.node)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Journey(page, page_problems, live_server.url, folder)
