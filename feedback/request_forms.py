"""Forms for feedback requests. Choices are always the current organisation's, set
inside the request's tenant scope; the services re-check every rule."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from engagements.models import Engagement
from feedback import requests as svc
from feedback.enums import FeedbackKind, Visibility
from feedback.models import FeedbackRequest
from organizations.errors import DomainError
from organizations.forms import set_choices
from organizations.models import Employee, Membership


class PersonChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name)


class PeopleChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name)


class EngagementChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} · {obj.client.name}"


class RequestForm(forms.Form):
    """Ask colleagues for feedback about someone on an engagement."""

    subject = PersonChoiceField(
        label=_("Feedback about"),
        queryset=Employee.objects.none(),
        help_text=_("Yourself, someone who reports to you, or someone you review."),
    )
    engagement = EngagementChoiceField(
        label=_("Engagement"),
        queryset=Engagement.objects.none(),
        help_text=_("An engagement the person is staffed on."),
    )
    requestees = PeopleChoiceField(
        label=_("People to ask"),
        queryset=Employee.objects.none(),
        help_text=_(
            "Between 1 and 20 colleagues with a login. Hold Ctrl (or ⌘) to choose "
            "several."
        ),
    )
    due_date = forms.DateField(
        label=_("Answer by"), widget=forms.DateInput(attrs={"type": "date"})
    )
    message = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    questions = forms.CharField(
        label=_("Questions"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Optional. One question per line, at most 10."),
    )
    anonymous = forms.BooleanField(
        label=_(
            "Anonymous answers: shown without names, and only once at least three "
            "exist (ask at least three people)"
        ),
        required=False,
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(
            self, "subject", svc.staffed_subjects(membership).order_by("full_name")
        )
        set_choices(
            self, "engagement", svc.engagement_choices(membership).order_by("name")
        )
        set_choices(self, "requestees", svc.askable_people())
        self.fields["requestees"].widget.attrs["size"] = 8

    def clean_questions(self) -> str:
        try:
            return svc.clean_questions(self.cleaned_data.get("questions", ""))
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc


class AnswerForm(forms.Form):
    """One text box per question (or one for the feedback), plus kind and visibility
    when the answer is named. Field names ``answer_<n>`` match the service's errors."""

    kind = forms.ChoiceField(
        label=_("Kind"), choices=FeedbackKind.choices, initial=FeedbackKind.PRAISE
    )
    visibility = forms.ChoiceField(
        label=_("Who can read it"),
        choices=Visibility.choices,
        initial=Visibility.SHARED,
        help_text=_(
            "Shared: the person it is about, their line manager and the "
            "engagement's reviewers. Managers only: without the person."
        ),
    )

    def __init__(self, *args: Any, request: FeedbackRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        questions = request.question_list
        labels = questions or [str(_("Your feedback"))]
        for index, label in enumerate(labels):
            self.fields[f"answer_{index}"] = forms.CharField(
                label=label,
                required=not questions,
                max_length=svc.MAX_ANSWER_LENGTH,
                widget=forms.Textarea(attrs={"rows": 4}),
            )
        if request.anonymous:
            del self.fields["kind"]
            del self.fields["visibility"]
        else:
            # Kind and visibility after the answers, as the page reads.
            self.order_fields([*(f"answer_{i}" for i in range(len(labels)))])
        self.answer_count = len(labels)

    def answers(self) -> list[str]:
        return [
            self.cleaned_data.get(f"answer_{i}", "") for i in range(self.answer_count)
        ]


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why you decline"),
        max_length=svc.MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The requester reads this, so they can ask someone else."),
    )
