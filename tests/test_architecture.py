"""The code's shape, checked: no import circle between modules of the project, and
background work started only through the outbox.

import-linter (``make lint``) checks the direction between apps; this checks that no
two modules import each other at run time, within an app too. Imports made only for
the type checker (``if TYPE_CHECKING:``) do not count: they never run.
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp

PACKAGES = (
    "organizations",
    "competencies",
    "engagements",
    "feedback",
    "appraisals",
    "reporting",
    "demo",
    "config",
)


def _circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return circles


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph(
        *PACKAGES, include_external_packages=False, exclude_type_checking_imports=True
    )

    assert _circles(graph) == []


# --- Background work goes through the outbox ---------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# The relay is the one place that hands work to Celery (organizations/outbox.py).
RELAY_MODULE = ROOT / "organizations" / "outbox.py"
STARTS_CELERY_WORK = re.compile(r"\.(delay|apply_async|send_task)\(")


def _project_sources() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def test_only_the_outbox_relay_starts_celery_work() -> None:
    """``.delay()``, ``.apply_async()`` and ``send_task()`` outside the relay would
    start work that no outbox row records, lost if the broker is down (docs/
    architecture.md, "Background work"): everything else calls ``enqueue``."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _project_sources()
        if path != RELAY_MODULE
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if STARTS_CELERY_WORK.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []
    assert STARTS_CELERY_WORK.search(RELAY_MODULE.read_text())


def test_only_the_outbox_relay_reads_across_organisations() -> None:
    """The relay's row-security setting admits every organisation's outbox rows: no
    other module may set it."""
    setting_users = [
        str(path.relative_to(ROOT))
        for path in _project_sources()
        if "RELAY_SETTING" in path.read_text() or "app.outbox_relay" in path.read_text()
    ]
    assert sorted(setting_users) == [
        "organizations/outbox.py",
        "organizations/tenancy.py",
    ]


def test_only_the_report_dispatcher_reads_subscriptions_across_organisations() -> None:
    """The dispatcher's row-security setting admits every organisation's report
    subscriptions (and no other table): only the dispatcher may set it."""
    setting_users = [
        str(path.relative_to(ROOT))
        for path in _project_sources()
        if "DISPATCH_SETTING" in path.read_text()
        or "app.report_dispatch" in path.read_text()
    ]
    assert sorted(setting_users) == [
        "organizations/tenancy.py",
        "reporting/dispatch.py",
    ]
