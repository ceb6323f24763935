"""The feedback app's picker sources (see ``organizations.pickers``): whom a feedback
request may be about and whom it may ask, and the people and engagements of the
feedback a member reads (the "my feedback" filters). Registered in
``FeedbackConfig.ready``."""

from __future__ import annotations

from django.db.models import QuerySet

from engagements.models import Engagement
from engagements.pickers import engagement_source
from feedback.selectors.access import feedback_visible_to, team_feedback
from feedback.selectors.requests import askable_people, staffed_subjects
from organizations.models import Employee, Membership
from organizations.pickers import people_source


def team_subjects(membership: Membership) -> QuerySet[Employee]:
    """The people the member reads feedback about on the "My team and engagements"
    tab. Builds only."""
    return Employee.objects.filter(
        pk__in=team_feedback(membership).values("subject_id")
    )


def feedback_engagements(membership: Membership) -> QuerySet[Engagement]:
    """The engagements of the feedback the member reads. Builds only."""
    return Engagement.objects.filter(
        pk__in=feedback_visible_to(membership).values("engagement_id")
    )


# Every member; each list is narrowed to what the member may ask about or read.
SOURCES = (
    people_source("feedback_subjects", staffed_subjects),
    people_source("colleagues", lambda m: askable_people()),
    people_source("feedback_people", team_subjects),
    engagement_source("feedback_engagements", feedback_engagements),
)
