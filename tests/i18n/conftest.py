"""The German page walk reuses the query budget's organisation, where every page has
something to show."""

from tests.organizations.views.test_query_counts import directory  # noqa: F401
