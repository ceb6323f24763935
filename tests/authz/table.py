"""The whole authorisation policy: every app's table (``tests/authz/policies/``) joined,
with the POST bodies and the preparations of every URL, by URL name. The URLconf
checks, the engagement-role test and the query budgets read it; each app's matrix
reads its own table."""

from __future__ import annotations

from tests.authz.policies import (
    appraisals,
    competencies,
    engagements,
    feedback,
    organizations,
    reporting,
)
from tests.authz.policy import UrlPolicy
from tests.authz.world import PostBody, Prepare

APP_TABLES: dict[str, dict[str, UrlPolicy]] = {
    "organizations": organizations.POLICY,
    "competencies": competencies.POLICY,
    "engagements": engagements.POLICY,
    "feedback": feedback.POLICY,
    "appraisals": appraisals.POLICY,
    "reporting": reporting.POLICY,
}

POLICY: dict[str, UrlPolicy] = {
    name: policy for table in APP_TABLES.values() for name, policy in table.items()
}
POST_DATA: dict[str, PostBody] = {
    **organizations.POST_DATA,
    **competencies.POST_DATA,
    **engagements.POST_DATA,
    **feedback.POST_DATA,
    **appraisals.POST_DATA,
    **reporting.POST_DATA,
}
PREPARE: dict[str, Prepare] = {
    **engagements.PREPARE,
    **appraisals.PREPARE,
    **reporting.PREPARE,
}
