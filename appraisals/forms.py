"""Forms of the appraisals app: the evaluation form and approval decisions, reviewer
assignment, the appraisal settings and bands, acknowledging and reopening an appraisal,
the bulk actions of the cycle progress page, and calibration sessions (opening one,
setting or removing an adjustment). Choices come from the active tenant
scope; only the fields declared here ever reach a service (no mass assignment)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from appraisals.enums import EvaluationKind, Potential
from appraisals.models import AppraisalSettings, Evaluation
from appraisals.selectors.evaluations import (
    EvaluationSheet,
    reviewer_choices,
    takes_potential,
)
from appraisals.services.ratings import RatingInput
from engagements.selectors.competencies import ScalePoint
from organizations.forms import set_choices
from organizations.pickers import PickerField

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

NOT_APPLICABLE = "na"
TEXT = forms.Textarea(attrs={"rows": 2})


def _rating_choices(points: Sequence[ScalePoint]) -> list[tuple[str, str]]:
    return [
        ("", str(_("— not rated yet —"))),
        *[(format(p.value.normalize(), "f"), p.text) for p in points],
        (NOT_APPLICABLE, str(_("N/A (does not apply)"))),
    ]


def rating_initial(rating: Any) -> str:
    """The select's value for a stored rating ("" when not rated)."""
    if rating is None:
        return ""
    if rating.not_applicable:
        return NOT_APPLICABLE
    return format(rating.value.normalize(), "f") if rating.value is not None else ""


class EvaluationForm(forms.Form):
    """Every goal and competency of the plan: a rating (a scale point or N/A) and a
    comment each, a reason for a goal rating that differs from the suggested one
    (reviews), and the overall comments; on the general plan's review also the
    person's potential (optional, never part of a score). Field names:
    ``goal_<id>_value``, ``goal_<id>_reason``, ``goal_<id>_comment``,
    ``competency_<id>_value``, ``competency_<id>_comment``, ``potential``."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    comments = forms.CharField(
        label=_("Overall comments"),
        required=False,
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        evaluation: Evaluation,
        sheet: EvaluationSheet,
    ) -> None:
        initial: dict[str, Any] = {
            "version": evaluation.version,
            "comments": evaluation.comments,
            "potential": evaluation.potential,
        }
        for row in sheet.goals:
            prefix = f"goal_{row.goal.pk}"
            initial[f"{prefix}_value"] = rating_initial(row.rating)
            initial[f"{prefix}_comment"] = row.rating.comment if row.rating else ""
            initial[f"{prefix}_reason"] = (
                row.rating.override_reason if row.rating else ""
            )
        for item in sheet.competencies:
            prefix = f"competency_{item.row.item.pk}"
            initial[f"{prefix}_value"] = rating_initial(item.rating)
            initial[f"{prefix}_comment"] = item.rating.comment if item.rating else ""
        super().__init__(data, initial=initial)
        self.review = evaluation.kind == EvaluationKind.REVIEW
        if takes_potential(evaluation):
            self.fields["potential"] = forms.ChoiceField(
                label=_("Potential"),
                choices=[("", _("— not rated —")), *Potential.choices],
                required=False,
                help_text=_(
                    "Optional: your view of the person's potential. It places them "
                    "on the calibration nine-box grid and never counts toward any "
                    "score."
                ),
                error_messages={
                    "invalid_choice": _(
                        "Choose Low, Medium or High, or leave the potential not rated."
                    )
                },
            )
        self.goal_ids = [row.goal.pk for row in sheet.goals]
        self.competency_ids = [item.row.item.pk for item in sheet.competencies]
        choices = _rating_choices(sheet.points)
        for row in sheet.goals:
            self._rating_fields(f"goal_{row.goal.pk}", row.goal.title, choices)
            if self.review:
                self.fields[f"goal_{row.goal.pk}_reason"] = forms.CharField(
                    label=_("Reason for a different rating"),
                    required=False,
                    max_length=2000,
                    widget=TEXT,
                )
        for item in sheet.competencies:
            self._rating_fields(
                f"competency_{item.row.item.pk}",
                item.row.item.competency.name,
                choices,
            )

    def _rating_fields(
        self, prefix: str, label: str, choices: list[tuple[str, str]]
    ) -> None:
        self.fields[f"{prefix}_value"] = forms.ChoiceField(
            label=_("Rating of “%(item)s”") % {"item": label},
            choices=choices,
            required=False,
        )
        self.fields[f"{prefix}_comment"] = forms.CharField(
            label=_("Comment"), required=False, max_length=4000, widget=TEXT
        )

    def bind_rows(self, sheet: EvaluationSheet) -> None:
        """Attach each row's bound fields, for the template."""
        for row in sheet.goals:
            prefix = f"goal_{row.goal.pk}"
            names = (
                ("value", "comment", "reason") if self.review else ("value", "comment")
            )
            row.fields = {name: self[f"{prefix}_{name}"] for name in names}
        for item in sheet.competencies:
            prefix = f"competency_{item.row.item.pk}"
            item.fields = {
                name: self[f"{prefix}_{name}"] for name in ("value", "comment")
            }

    def _rating(self, prefix: str, reason: bool) -> RatingInput:
        raw = self.cleaned_data.get(f"{prefix}_value") or ""
        value = None
        if raw and raw != NOT_APPLICABLE:
            try:
                value = Decimal(raw)
            except InvalidOperation:  # the choice field already refuses it
                value = None
        return RatingInput(
            value=value,
            not_applicable=raw == NOT_APPLICABLE,
            comment=self.cleaned_data.get(f"{prefix}_comment", ""),
            override_reason=self.cleaned_data.get(f"{prefix}_reason", "")
            if reason
            else "",
        )

    def potential(self) -> str | None:
        """The potential entered (``""``: not rated); None when the evaluation does
        not record one."""
        if "potential" not in self.fields:
            return None
        return str(self.cleaned_data.get("potential") or "")

    def goal_ratings(self) -> dict[int, RatingInput]:
        return {pk: self._rating(f"goal_{pk}", self.review) for pk in self.goal_ids}

    def competency_ratings(self) -> dict[int, RatingInput]:
        return {
            pk: self._rating(f"competency_{pk}", False) for pk in self.competency_ids
        }


class DecisionForm(forms.Form):
    """An approver's comment: optional when approving, required when returning."""

    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if required:
            field = self.fields["comment"]
            field.required = True
            field.label = _("What should the reviewer change?")
            field.error_messages["required"] = _(
                "Say what the reviewer should change: a comment is required to return."
            )


class AssignReviewerForm(forms.Form):
    """HR names the reviewer: a picker over the active people (the source "people"),
    the employee left out."""

    reviewer = PickerField(
        source="people",
        label=_("Reviewer"),
        error_messages={
            "invalid_choice": _(
                "Choose an active person other than the employee: search by name, or "
                "type their code or e-mail address."
            )
        },
    )

    def __init__(self, *args: Any, evaluation: Evaluation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "reviewer", reviewer_choices(evaluation))


class SettingsForm(forms.ModelForm):
    class Meta:
        model = AppraisalSettings
        fields = [
            "dual_approval",
            "evaluation_days",
            "calibration_required",
            "calibration_shrinkage",
            "calibration_guideline",
            "calibration_tolerance",
            "calibration_visible",
        ]

    def clean_evaluation_days(self) -> int:
        days = self.cleaned_data["evaluation_days"]
        if days < 1:
            raise forms.ValidationError(_("Give reviewers at least one day."))
        return int(days)

    def clean_calibration_shrinkage(self) -> int:
        k = self.cleaned_data["calibration_shrinkage"]
        if k < 0:
            raise forms.ValidationError(_("Enter 0 or more (10 is usual)."))
        return int(k)

    def clean_calibration_tolerance(self) -> int:
        tolerance = self.cleaned_data["calibration_tolerance"]
        if not 0 <= tolerance <= 50:
            raise forms.ValidationError(
                _("Enter a tolerance from 0 to 50 percentage points.")
            )
        return int(tolerance)

    def clean_calibration_guideline(self) -> str:
        return guideline_text(self.cleaned_data["calibration_guideline"])


def guideline_text(value: str) -> str:
    """A guideline distribution as stored ("10,20,40,20,10"): whole percents from
    the lowest band to the highest, separated by commas, adding up to 100;
    ValidationError with what to change otherwise."""
    parts = [part.strip() for part in value.split(",")]
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise forms.ValidationError(
            _(
                "Enter whole percents separated by commas, from the lowest band to "
                "the highest, e.g. 10,20,40,20,10."
            )
        )
    shares = [int(part) for part in parts]
    if len(shares) < 2:
        raise forms.ValidationError(
            _("Enter a share for each band of the scale, e.g. 10,20,40,20,10.")
        )
    if sum(shares) != 100:
        raise forms.ValidationError(
            _("The shares add up to %(total)s; make them add up to 100.")
            % {"total": sum(shares)}
        )
    return ",".join(str(share) for share in shares)


class BandForm(forms.Form):
    min_attainment = forms.DecimalField(
        label=_("From attainment (%)"),
        max_digits=6,
        decimal_places=1,
        min_value=0,
        required=False,
    )
    rating = forms.DecimalField(
        label=_("Suggested rating"), max_digits=4, decimal_places=1, required=False
    )

    def __init__(
        self, *args: Any, points: Sequence[Decimal] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.points = list(points)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, rating = cleaned.get("min_attainment"), cleaned.get("rating")
        if (start is None) != (rating is None) and not self.errors:
            missing = "rating" if rating is None else "min_attainment"
            self.add_error(
                missing, _("Fill in both values, or neither to drop the band.")
            )
        if rating is not None and self.points and rating not in self.points:
            self.add_error(
                "rating",
                _("Use a point of the rating scale: %(points)s.")
                % {"points": ", ".join(f"{p.normalize():f}" for p in self.points)},
            )
        return cleaned


class BaseBandFormSet(forms.BaseFormSet):
    def _construct_form(self, i: int, **kwargs: Any) -> forms.Form:
        # Every row is read, also one left as shown (e.g. the band from 0 %):
        # an empty row is how a band is dropped, so "unchanged" must not mean "empty".
        kwargs["empty_permitted"] = False
        return super()._construct_form(i, **kwargs)  # type: ignore[misc]  # a private hook of BaseFormSet that django-stubs does not declare

    def bands(self) -> list[tuple[Decimal, Decimal]]:
        """The filled rows, in the order given."""
        return [
            (form.cleaned_data["min_attainment"], form.cleaned_data["rating"])
            for form in self.forms
            if form.cleaned_data.get("min_attainment") is not None
        ]

    def clean(self) -> None:
        if any(form.errors for form in self.forms):
            return
        starts = [start for start, _rating in self.bands()]
        if len(set(starts)) != len(starts):
            raise forms.ValidationError(_("Two bands start at the same attainment."))
        if starts != sorted(starts):
            raise forms.ValidationError(
                _("List the bands from the lowest start to the highest.")
            )
        if not starts:
            raise forms.ValidationError(_("Keep at least one band."))


BandFormSet = forms.formset_factory(
    BandForm, formset=BaseBandFormSet, extra=2, max_num=20, validate_max=True
)


class VersionedForm(forms.Form):
    """Carries the version of the appraisal the form was rendered from, so a stale
    submit is refused instead of overwriting someone else's change."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def clean(self) -> dict[str, Any] | None:
        # A hidden field's error would not show beside any field: say it above.
        if "version" in self.errors:
            self.add_error(
                None,
                _(
                    "This form is out of date or incomplete; reload the page and try "
                    "again."
                ),
            )
        return super().clean()


class AcknowledgeForm(VersionedForm):
    comment = forms.CharField(
        label=_("Your comment (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Anything you want HR and your line manager to know about this appraisal. "
            "Acknowledging says you have read it, not that you agree."
        ),
    )


class ReopenForm(VersionedForm):
    reason = forms.CharField(
        label=_("Reason for reopening"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the history; the employee sees it on the appraisal."),
        error_messages={"required": _("Say why the appraisal is reopened.")},
    )


def _expected(nothing_to_do: StrOrPromise) -> forms.IntegerField:
    """The number of rows a bulk action's button showed. The rows themselves are the
    cycle progress page's filters, posted beside it (``appraisals.filters``); the
    number lets the service refuse a list that changed since the page was loaded."""
    reload = _("Reload the page and press the button again.")
    return forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": reload,
            "invalid": reload,
            "min_value": nothing_to_do,
        },
    )


class BulkFinaliseForm(forms.Form):
    expected = _expected(_("No appraisal matching these filters is ready to finalise."))


class BulkRemindForm(forms.Form):
    expected = _expected(
        _("No evaluation matches these filters; there is nobody to remind.")
    )
