"""Forms of the client surveys: sending one (tenant page) and answering one (public)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from feedback.surveys import (
    COMMENT_MAX_LENGTH,
    DEFAULT_DAYS_VALID,
    MAX_DAYS_VALID,
    RATING_MAX,
    RATING_MIN,
)
from organizations.models import Employee

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

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
