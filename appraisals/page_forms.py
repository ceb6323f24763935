"""Forms of the appraisal pages: acknowledge, reopen, and the bulk selections of the
cycle progress page. Only declared fields reach the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_BATCH = 1000


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


class IdListField(forms.Field):
    """Several integer ids from checkboxes of one name (duplicates dropped)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        try:
            ids = [int(v) for v in values]
        except (TypeError, ValueError):
            raise ValidationError(
                _("The selection is not valid; reload the page and select again."),
                code="invalid",
            ) from None
        if len(ids) > MAX_BATCH:
            raise ValidationError(
                _("Select at most %(max)s rows at a time."),
                code="too_many",
                params={"max": MAX_BATCH},
            )
        return list(dict.fromkeys(ids))


class BulkFinaliseForm(forms.Form):
    appraisals = IdListField(
        label=_("Appraisals"),
        error_messages={"required": _("Select at least one appraisal to finalise.")},
    )


class BulkRemindForm(forms.Form):
    evaluations = IdListField(
        label=_("Evaluations"),
        error_messages={
            "required": _("Select at least one evaluation to remind about.")
        },
    )
