"""The code's shape, checked: no import circle between modules of the project.

import-linter (``make lint``) checks the direction between apps; this checks that no
two modules import each other at run time, within an app too. Imports made only for
the type checker (``if TYPE_CHECKING:``) do not count: they never run.
"""

from __future__ import annotations

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
