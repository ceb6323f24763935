"""The figures every report shows, in one place: the dashboards' pages, their
exports and (later) the PDF reports call these functions and nothing else.

Each module computes one dashboard's figures with set-based SQL (GROUP BY,
conditional aggregates) over what ``reporting.scope.ReportScope`` lets the viewer
count, and returns plain frozen dataclasses. Each function's docstring states its
query count, which does not grow with the organisation's size.
"""
