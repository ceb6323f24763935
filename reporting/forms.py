"""Forms of the reporting app."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from engagements.models import ReviewCycle
from organizations.forms import set_choices
from reporting.enums import EXPORT_FORMAT_CHOICES, FileFormat
from reporting.exports.base import Dataset
from reporting.exports.registry import listed_datasets


class ExportForm(forms.Form):
    """What to export: a report the exports page lists, a review cycle of this
    organisation and a file format. Accepts every listed report, so that one the
    member may not export is refused by the service (403) rather than passed off as
    a typing mistake; offers only ``offered``."""

    kind = forms.ChoiceField(label=_("Report"), widget=forms.RadioSelect)
    cycle = forms.ModelChoiceField(
        label=_("Review cycle"),
        queryset=ReviewCycle.objects.none(),
        empty_label=_("Choose a cycle"),
        error_messages={
            "invalid_choice": _("Choose one of the cycles listed."),
            "required": _("Choose the review cycle to export."),
        },
    )
    file_format = forms.ChoiceField(
        label=_("Format"),
        choices=EXPORT_FORMAT_CHOICES,
        initial=FileFormat.XLSX,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose CSV or XLSX.")},
    )

    def __init__(self, *args: Any, offered: list[Dataset], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        if not isinstance(kind, forms.ChoiceField):
            raise TypeError("kind is not a choice field.")
        kind.choices = [(d.kind, d.label) for d in listed_datasets()]
        kind.error_messages.update(
            invalid_choice=_("Choose one of the reports listed."),
            required=_("Choose the report to export."),
        )
        # Only what the member may export is shown; validation accepts every listed
        # report (see the class's docstring).
        kind.widget.choices = [(d.kind, d.label) for d in offered]
        if len(offered) == 1:
            kind.initial = offered[0].kind
        set_choices(self, "cycle", ReviewCycle.objects.order_by("-start_date", "-pk"))

    def parameters(self) -> dict[str, Any]:
        """The job's parameters, as JSON values."""
        return {"cycle": self.cleaned_data["cycle"].pk}
