"""The calibration session forms: opening a session, moving a person (a calibrated
score by hand or from the nine-box) and removing an adjustment. Rules are
``services.calibration``'s; these forms check the shape of the input."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from appraisals.enums import CalibrationScope
from engagements.models import ReviewCycle
from organizations.forms import set_choices
from organizations.models import Membership
from organizations.pickers import PickerField, PickerMultipleField, bind_pickers

if TYPE_CHECKING:
    pass

NOT_APPLICABLE = "na"
TEXT = forms.Textarea(attrs={"rows": 2})


# --- Calibration sessions -------------------------------------------------------------


class CalibrationSessionForm(forms.Form):
    """HR opens a calibration session: a cycle in review, a name, a scope (with its
    business units, job titles or manager) and the participating managers."""

    cycle = forms.ModelChoiceField(
        label=_("Review cycle"),
        queryset=ReviewCycle.objects.none(),
        empty_label=_("Choose a cycle in review"),
        error_messages={
            "invalid_choice": _(
                "Choose a cycle that is in review; sessions calibrate cycles in "
                "review only."
            )
        },
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    scope = forms.ChoiceField(
        label=_("Who is calibrated"),
        choices=CalibrationScope.choices,
        initial=CalibrationScope.ORGANIZATION,
        widget=forms.RadioSelect,
    )
    business_units = PickerMultipleField(
        source="business_units",
        label=_("Business units"),
        required=False,
        help_text=_("For the scope “Business units”: the people of these units."),
    )
    job_titles = PickerMultipleField(
        source="job_titles",
        label=_("Job titles"),
        required=False,
        help_text=_("For the scope “Job titles”: the people with these titles."),
    )
    manager = PickerField(
        source="managers",
        label=_("Manager"),
        required=False,
        help_text=_(
            "For the scope “A manager's line”: everyone below this manager, at any "
            "depth."
        ),
    )
    participants = PickerMultipleField(
        source="managers",
        label=_("Participating managers"),
        required=False,
        help_text=_(
            "Managers taking part see the people in scope and adjust those below "
            "them in their line. HR admins always take part."
        ),
    )

    def __init__(
        self,
        *args: Any,
        membership: Membership,
        cycles: QuerySet[ReviewCycle],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, membership)
        set_choices(self, "cycle", cycles)

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        scope = data.get("scope")
        needed = {
            CalibrationScope.BUSINESS_UNITS: (
                "business_units",
                _("Choose at least one business unit for this scope."),
            ),
            CalibrationScope.JOB_TITLES: (
                "job_titles",
                _("Choose at least one job title for this scope."),
            ),
            CalibrationScope.MANAGER_LINE: (
                "manager",
                _("Choose the manager whose line is calibrated."),
            ),
        }
        if scope in needed:
            name, message = needed[CalibrationScope(scope)]
            value = data.get(name)
            if name not in self.errors and (
                value is None or (hasattr(value, "exists") and not value.exists())
            ):
                self.add_error(name, message)
        return data


class CalibrationMoveForm(forms.Form):
    """Set an appraisal's calibrated final score by hand (from the suggestions
    table or a nine-box move): the target score and the reason, recorded."""

    calibrated_final = forms.DecimalField(
        label=_("Calibrated final score"),
        max_digits=6,
        decimal_places=2,
        error_messages={
            "required": _("Enter the calibrated final score, e.g. 3.50."),
            "invalid": _("Enter the calibrated final score as a number, e.g. 3.50."),
        },
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=TEXT,
        error_messages={
            "required": _(
                "Say why the score is calibrated; it is recorded in the history."
            )
        },
    )
    box = forms.ChoiceField(
        choices=[("", ""), ("low", "low"), ("medium", "medium"), ("high", "high")],
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(
        self, *args: Any, smin: Decimal | None, smax: Decimal | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.smin, self.smax = smin, smax
        if smin is not None and smax is not None:
            self.fields["calibrated_final"].help_text = _(
                "Between %(low)s and %(high)s, the ends of the cycle's scale."
            ) % {"low": smin.normalize(), "high": smax.normalize()}

    def clean_calibrated_final(self) -> Decimal:
        value: Decimal = self.cleaned_data["calibrated_final"]
        if (
            self.smin is not None
            and self.smax is not None
            and not self.smin <= value <= self.smax
        ):
            raise forms.ValidationError(
                _("Enter a score between %(low)s and %(high)s."),
                params={
                    "low": self.smin.normalize(),
                    "high": self.smax.normalize(),
                },
            )
        return value


class CalibrationRemoveForm(forms.Form):
    """Remove the adjustment in force, with a reason."""

    reason = forms.CharField(
        label=_("Why remove the adjustment"),
        max_length=2000,
        error_messages={
            "required": _(
                "Say why the adjustment is removed; it is recorded in the history."
            )
        },
    )
