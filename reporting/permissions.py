"""The reporting app's one permission entry point: which dashboards a member may
open. The figures inside follow ``reporting.scope.ReportScope``.

- HR admins: every dashboard.
- Line managers (anyone with someone in their line): the cycle overview, score
  distribution, competency heatmap, engagement analytics and trends of their line.
- Engagement planners, reviewers and approvers: the engagement analytics of their
  engagements.
- Reviewer consistency: HR admins only.
- Everyone else (an employee): none; their own trend is on their appraisal page.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied

from reporting.scope import ReportScope


class Dashboard(StrEnum):
    OVERVIEW = "overview"
    SCORES = "scores"
    COMPETENCIES = "competencies"
    ENGAGEMENTS = "engagements"
    REVIEWERS = "reviewers"
    TRENDS = "trends"


LINE_DASHBOARDS = frozenset(
    {
        Dashboard.OVERVIEW,
        Dashboard.SCORES,
        Dashboard.COMPETENCIES,
        Dashboard.ENGAGEMENTS,
        Dashboard.TRENDS,
    }
)


def dashboards_for(scope: ReportScope) -> list[Dashboard]:
    """The dashboards the member may open, in menu order. No query for HR admins;
    otherwise one or two (their line, their engagement roles)."""
    if scope.is_hr:
        return list(Dashboard)
    if scope.has_line():
        return [d for d in Dashboard if d in LINE_DASHBOARDS]
    if scope.engagements().exists():
        return [Dashboard.ENGAGEMENTS]
    return []


def require(scope: ReportScope, dashboard: Dashboard) -> None:
    """PermissionDenied unless the member may open ``dashboard`` (the same rule as
    ``dashboards_for``, with at most two queries)."""
    if scope.is_hr:
        return
    if dashboard == Dashboard.REVIEWERS:
        raise PermissionDenied
    if dashboard in LINE_DASHBOARDS and scope.has_line():
        return
    if dashboard == Dashboard.ENGAGEMENTS and scope.engagements().exists():
        return
    raise PermissionDenied
