"""Forms and list filters of the feedback app. Choices are always built inside the
request's tenant scope and narrowed to what the member may use."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from engagements.models import Engagement, Goal
from feedback.enums import FeedbackKind, Visibility
from feedback.models import Feedback
from feedback.services import MAX_BODY
from organizations.forms import set_choices
from organizations.models import Employee, User


class GoalChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Goals named with their owner, since one list can hold several people's."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.plan.employee.full_name} · {obj.title}"


def _body_field() -> forms.CharField:
    return forms.CharField(
        label=_("Feedback"),
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_BODY}),
        help_text=_(
            "Plain text, up to 4000 characters. Be specific: what happened and what "
            "to keep or change. Web links starting with http:// or https:// become "
            "clickable."
        ),
        error_messages={
            "required": _("Write your feedback before sending it."),
            "max_length": _(
                "Feedback can be at most %(limit_value)d characters long; this is "
                "%(show_value)d. Shorten it, or split it into two notes."
            ),
        },
    )


def _kind_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Kind"),
        choices=FeedbackKind.choices,
        initial=FeedbackKind.PRAISE,
        error_messages={"required": _("Choose praise, improvement or note.")},
    )


def _visibility_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Who can read it"),
        choices=Visibility.choices,
        initial=Visibility.SHARED,
        help_text=_(
            "Managers only: the person's line manager and the engagement's reviewers "
            "and approvers (for general feedback, the line manager and HR)."
        ),
        error_messages={"required": _("Choose who can read this feedback.")},
    )


def _goal_field() -> GoalChoiceField:
    return GoalChoiceField(
        label=_("About the goal"),
        queryset=Goal.objects.none(),
        required=False,
        empty_label=_("No particular goal"),
        error_messages={
            "invalid_choice": _(
                "Choose one of the listed goals of this person, or no particular goal."
            )
        },
    )


class FeedbackForm(forms.Form):
    """Give feedback. ``subjects``: whom the member may write about here; with a
    single fixed ``subject`` (a plan or person page) the choice is hidden."""

    subject = forms.ModelChoiceField(
        label=_("About"),
        queryset=Employee.objects.none(),
        empty_label=_("Choose a person"),
        error_messages={
            "required": _("Choose whom this feedback is about."),
            "invalid_choice": _(
                "Choose one of the listed people: those staffed on this engagement "
                "whom you may give feedback about."
            ),
        },
    )
    kind = _kind_field()
    body = _body_field()
    visibility = _visibility_field()
    goal = _goal_field()

    def __init__(
        self,
        *args: Any,
        subjects: QuerySet[Employee],
        goals: QuerySet[Goal],
        fixed_subject: Employee | None = None,
        people: list[Employee] | None = None,
        **kwargs: Any,
    ) -> None:
        """``people``: ``subjects`` already loaded, shown as the choices without a
        second query (the submitted choice is still checked against ``subjects``)."""
        super().__init__(*args, **kwargs)
        set_choices(self, "subject", subjects)
        set_choices(self, "goal", goals)
        if people is not None:
            field = self.fields["subject"]
            field.choices = [("", field.empty_label)] + [  # type: ignore[attr-defined]
                (person.pk, person.full_name) for person in people
            ]
        if fixed_subject is not None:
            self.fields["subject"].initial = fixed_subject.pk
            self.fields["subject"].widget = forms.HiddenInput()
            self.fixed_subject = fixed_subject


class FeedbackEditForm(forms.Form):
    """Edit one's own feedback: what it says, its kind, visibility and goal (not its
    subject or engagement)."""

    kind = _kind_field()
    body = _body_field()
    visibility = _visibility_field()
    goal = _goal_field()

    def __init__(self, *args: Any, goals: QuerySet[Goal], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "goal", goals)


class PreferencesForm(forms.ModelForm):  # type: ignore[type-arg]
    """A member's own e-mail preferences; only the declared field changes."""

    class Meta:
        model = User
        fields = ["optional_emails"]


class FeedbackFilter(django_filters.FilterSet):
    """Filters of the "my feedback" tabs: engagement and kind, and the person the
    feedback is about on the team tab. Choices are narrowed to the tab's rows."""

    engagement = django_filters.ModelChoiceFilter(
        label=_("Engagement"), queryset=None, empty_label=_("All engagements")
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=FeedbackKind.choices, empty_label=_("Any kind")
    )
    subject = django_filters.ModelChoiceFilter(
        label=_("Person"), queryset=None, empty_label=_("Everybody")
    )

    class Meta:
        model = Feedback
        fields = ["engagement", "kind", "subject"]

    def __init__(self, *args: Any, with_person: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rows = self.queryset
        self.filters["engagement"].queryset = Engagement.objects.filter(
            pk__in=rows.values("engagement_id")
        ).order_by("name", "pk")
        if with_person:
            self.filters["subject"].queryset = Employee.objects.filter(
                pk__in=rows.values("subject_id")
            ).order_by("full_name", "pk")
        else:
            del self.filters["subject"]
