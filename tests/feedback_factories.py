"""factory-boy factories for the feedback app (shared by every feedback test module)."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from feedback.enums import AskStatus, FeedbackKind, Visibility
from feedback.models import (
    ClientSurvey,
    ClientSurveyRating,
    Feedback,
    FeedbackAnswer,
    FeedbackAsk,
    FeedbackRequest,
)
from tests.engagement_factories import EngagementFactory
from tests.factories import EmployeeFactory, OrganizationFactory, TenantFactory


class FeedbackFactory(TenantFactory):
    class Meta:
        model = Feedback

    organization = factory.SubFactory(OrganizationFactory)
    author = factory.SubFactory(
        EmployeeFactory, organization=factory.SelfAttribute("..organization")
    )
    subject = factory.SubFactory(
        EmployeeFactory, organization=factory.SelfAttribute("..organization")
    )
    engagement = factory.SubFactory(
        EngagementFactory, organization=factory.SelfAttribute("..organization")
    )
    kind = FeedbackKind.PRAISE
    body = factory.Sequence(lambda n: f"Feedback text {n:04d}")
    visibility = Visibility.SHARED


class FeedbackRequestFactory(TenantFactory):
    class Meta:
        model = FeedbackRequest

    organization = factory.SubFactory(OrganizationFactory)
    requested_by = factory.SubFactory(
        EmployeeFactory, organization=factory.SelfAttribute("..organization")
    )
    subject = factory.SelfAttribute("requested_by")
    engagement = factory.SubFactory(
        EngagementFactory, organization=factory.SelfAttribute("..organization")
    )
    message = "How did the workshop go?"
    questions = ""
    due_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=7))
    anonymous = False


class FeedbackAskFactory(TenantFactory):
    class Meta:
        model = FeedbackAsk

    request = factory.SubFactory(FeedbackRequestFactory)
    organization = factory.LazyAttribute(lambda o: o.request.organization)
    requestee = factory.SubFactory(
        EmployeeFactory, organization=factory.SelfAttribute("..organization")
    )
    status = AskStatus.OPEN


class FeedbackAnswerFactory(TenantFactory):
    class Meta:
        model = FeedbackAnswer

    request = factory.SubFactory(FeedbackRequestFactory, anonymous=True)
    organization = factory.LazyAttribute(lambda o: o.request.organization)
    answers = factory.LazyFunction(lambda: [{"question": "", "answer": "Good work"}])
    submitted_on = factory.LazyFunction(timezone.localdate)


class ClientSurveyFactory(TenantFactory):
    class Meta:
        model = ClientSurvey

    organization = factory.SubFactory(OrganizationFactory)
    engagement = factory.SubFactory(
        EngagementFactory, organization=factory.SelfAttribute("..organization")
    )
    contact_name = "Dana Client"
    contact_email = factory.Sequence(lambda n: f"contact{n}@client.test")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))


class ClientSurveyRatingFactory(TenantFactory):
    class Meta:
        model = ClientSurveyRating

    survey = factory.SubFactory(ClientSurveyFactory)
    organization = factory.LazyAttribute(lambda o: o.survey.organization)
    employee = factory.SubFactory(
        EmployeeFactory, organization=factory.SelfAttribute("..organization")
    )
    rating = 4
