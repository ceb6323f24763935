"""Forms and list filters of the feedback app: giving and editing feedback, the "my
feedback" filters and e-mail preferences; asking for feedback, answering and
declining; sending a client survey and answering one (the public page).

Choices are always built inside the request's tenant scope and narrowed to what the
member may use; the services re-check every rule. Choices that can be long (people to
ask, whom a request is about, engagements, the filters' people) are pickers
(``organizations.pickers``); whom feedback on a page is about stays a plain list (the
page's team).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

import django_filters
from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from engagements.models import Goal
from feedback.enums import FeedbackKind, Visibility
from feedback.models import Feedback, FeedbackRequest
from feedback.selectors.surveys import MAX_DAYS_VALID
from feedback.services.asks import MAX_ANSWER_LENGTH, MAX_REASON_LENGTH
from feedback.services.feedback import MAX_BODY
from feedback.services.requests import clean_questions
from feedback.services.surveys import (
    COMMENT_MAX_LENGTH,
    DEFAULT_DAYS_VALID,
    RATING_MAX,
    RATING_MIN,
)
from organizations.enums import NotificationKind
from organizations.errors import DomainError
from organizations.forms import set_choices
from organizations.models import Employee, Membership, User
from organizations.pickers import (
    PickerField,
    PickerFilter,
    PickerMultipleField,
    bind_pickers,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# --- Feedback ---------------------------------------------------------------------


class LoadedChoiceIterator(ModelChoiceIterator):
    """The choices from the queryset's rows, loaded by one query and kept, rather
    than from ``queryset.iterator()``: a server-side cursor on PostgreSQL, three
    round trips (declare, fetch, close) for a list of a few goals."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class GoalChoiceField(forms.ModelChoiceField):
    """Goals named with their owner, since one list can hold several people's."""

    iterator = LoadedChoiceIterator

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
        field = self.fields["subject"]
        if people is not None and isinstance(field, forms.ModelChoiceField):
            field.choices = [("", field.empty_label)] + [
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


class PreferencesForm(forms.ModelForm):
    """A member's own preferences: their language, optional e-mails on or off, and
    each kind of in-app notification on or off; only these change."""

    in_app = forms.MultipleChoiceField(
        label=_("Show in the app (the bell)"),
        choices=NotificationKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "Untick a kind to stop its in-app notifications; e-mail is set above."
        ),
    )

    class Meta:
        model = User
        fields = ["language", "optional_emails"]

    def __init__(
        self, *args: Any, organization_language: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        names = dict(settings.LANGUAGES)
        language = cast(forms.ChoiceField, self.fields["language"])
        language.choices = [
            (
                "",
                _("The organisation's language (%(language)s)")
                % {"language": names.get(organization_language, organization_language)},
            ),
            *settings.LANGUAGES,
        ]
        muted = set(self.instance.muted_notification_kinds or [])
        self.fields["in_app"].initial = [
            kind for kind in NotificationKind.values if kind not in muted
        ]

    def save(self, commit: bool = True) -> User:
        shown = set(self.cleaned_data["in_app"])
        self.instance.muted_notification_kinds = [
            kind for kind in NotificationKind.values if kind not in shown
        ]
        return super().save(commit=commit)


class FeedbackFilter(django_filters.FilterSet):
    """Filters of the "my feedback" tabs: engagement and kind, and the person the
    feedback is about on the team tab. The engagement and the person are pickers over
    the engagements of the feedback the member reads and the people of the team tab."""

    engagement = PickerFilter(
        source="feedback_engagements",
        label=_("Engagement"),
        empty_label=_("All engagements"),
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=FeedbackKind.choices, empty_label=_("Any kind")
    )
    subject = PickerFilter(
        source="feedback_people", label=_("Person"), empty_label=_("Everybody")
    )

    class Meta:
        model = Feedback
        fields = ["engagement", "kind", "subject"]

    def __init__(self, *args: Any, with_person: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_person:
            del self.filters["subject"]


# --- Feedback requests --------------------------------------------------------------


class RequestForm(forms.Form):
    """Ask colleagues for feedback about someone on an engagement."""

    subject = PickerField(
        source="feedback_subjects",
        label=_("Feedback about"),
        help_text=_("Yourself, someone who reports to you, or someone you review."),
    )
    engagement = PickerField(
        source="engagements",
        label=_("Engagement"),
        help_text=_("An engagement the person is staffed on."),
    )
    requestees = PickerMultipleField(
        source="colleagues",
        label=_("People to ask"),
        help_text=_("Between 1 and 20 colleagues with a login."),
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
        bind_pickers(self, membership)

    def clean_questions(self) -> str:
        try:
            return clean_questions(self.cleaned_data.get("questions", ""))
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
                max_length=MAX_ANSWER_LENGTH,
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
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The requester reads this, so they can ask someone else."),
    )


# --- Client surveys -----------------------------------------------------------------

RATING_PREFIX = "rating_"
SCALE = [(str(n), str(n)) for n in range(RATING_MIN, RATING_MAX + 1)]


class SendSurveyForm(forms.Form):
    """Who receives the survey and how long the link works."""

    contact_email = forms.EmailField(
        label=_("Client contact's e-mail"),
        max_length=254,
        help_text=_("The link goes to this address; no account is needed to answer."),
    )
    contact_name = forms.CharField(
        label=_("Contact name"),
        max_length=200,
        required=False,
        help_text=_("Optional. Used to greet the contact in the e-mail."),
    )
    days_valid = forms.IntegerField(
        label=_("Link works for (days)"),
        min_value=1,
        max_value=MAX_DAYS_VALID,
        initial=DEFAULT_DAYS_VALID,
        error_messages={
            "min_value": _("Choose at least 1 day."),
            "max_value": _("Choose at most %(limit_value)s days."),
        },
    )


def _scale_field(
    label: StrOrPromise, required: bool = False, missing: StrOrPromise = ""
) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=SCALE,
        required=required,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
        error_messages={
            "required": missing,
            "invalid_choice": _("Choose a rating from 1 to 5."),
        },
    )


class SurveyAnswerForm(forms.Form):
    """Overall satisfaction (required), a rating per staffed employee (optional) and a
    comment. Ratings posted for anyone not listed are refused, not ignored."""

    overall = _scale_field(
        _("Overall, how satisfied are you with our work?"),
        required=True,
        missing=_("Choose how satisfied you are overall, from 1 to 5."),
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us?"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(
        self, *args: Any, employees: Iterable[Employee] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.employees = list(employees)
        for employee in self.employees:
            self.fields[f"{RATING_PREFIX}{employee.pk}"] = _scale_field(
                employee.full_name
            )

    @property
    def rating_rows(self) -> list[tuple[Employee, forms.BoundField]]:
        return [(e, self[f"{RATING_PREFIX}{e.pk}"]) for e in self.employees]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        listed = {f"{RATING_PREFIX}{e.pk}" for e in self.employees}
        if self.data and any(
            key.startswith(RATING_PREFIX) and key not in listed for key in self.data
        ):
            raise forms.ValidationError(
                _("Only the people listed in the survey can be rated.")
            )
        return cleaned

    def ratings(self) -> dict[int, int]:
        """The ratings given, by employee id (unrated people left out)."""
        return {
            e.pk: int(self.cleaned_data[f"{RATING_PREFIX}{e.pk}"])
            for e in self.employees
            if self.cleaned_data.get(f"{RATING_PREFIX}{e.pk}")
        }
