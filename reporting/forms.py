"""Forms of the reporting app."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from engagements.models import ReviewCycle
from organizations.forms import set_choices
from organizations.models import Membership
from organizations.pickers import PickerField, PickerMultipleField, bind_pickers
from reporting.enums import (
    EXPORT_FORMAT_CHOICES,
    CycleEvent,
    FileFormat,
    Frequency,
    SubscriptionKind,
    Weekday,
)
from reporting.exports.base import Dataset
from reporting.exports.registry import listed_datasets
from reporting.models import ReportSubscription


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


# What a new subscription's schedule starts as.
NEW_SCHEDULE = {
    "frequency": Frequency.WEEKLY,
    "weekday": Weekday.MONDAY,
    "time_of_day": "07:00",
}
# The subscriptions whose report is about one cycle (the current one by default).
CYCLE_KINDS = (SubscriptionKind.CYCLE_DIGEST, SubscriptionKind.TEAM_SUMMARY)


class SubscriptionForm(forms.ModelForm):
    """A report subscription: which report, with its cycle or engagement, to whom
    (HR admins choose; other members subscribe themselves) and when. The rules of
    who may subscribe whom to what are ``reporting.subscriptions``'; this form
    checks only that each schedule names its day or event."""

    cycle = forms.ModelChoiceField(
        label=_("Review cycle"),
        queryset=ReviewCycle.objects.none(),
        required=False,
        empty_label=_("The current cycle at each sending"),
        help_text=_("For the cycle digest and the team summary."),
        error_messages={"invalid_choice": _("Choose one of the cycles listed.")},
    )
    engagement = PickerField(
        source="report_engagements",
        label=_("Engagement"),
        required=False,
        empty_label=_("Choose an engagement"),
        help_text=_("For engagement analytics: the engagement to report on."),
    )
    recipients = PickerMultipleField(
        source="report_recipients",
        label=_("Recipients"),
        required=False,
        help_text=_(
            "Members of the organisation with a login. Each receives what their own "
            "access allows."
        ),
    )

    class Meta:
        model = ReportSubscription
        fields = [
            "title",
            "kind",
            "frequency",
            "weekday",
            "day_of_month",
            "cycle_event",
            "time_of_day",
        ]
        widgets = {
            "kind": forms.RadioSelect,
            "frequency": forms.RadioSelect,
            "time_of_day": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "day_of_month": forms.NumberInput(attrs={"min": 1, "max": 31}),
        }
        help_texts = {
            "title": _("How the subscription is listed, and the e-mail's subject."),
            "time_of_day": _("In the organisation's time zone."),
            "weekday": _("For a weekly e-mail."),
            "cycle_event": _("For an e-mail when a cycle moves: sent at once."),
        }

    def __init__(
        self,
        *args: Any,
        membership: Membership,
        kinds: list[SubscriptionKind],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership
        bind_pickers(self, membership)
        set_choices(self, "cycle", ReviewCycle.objects.order_by("-start_date", "-pk"))
        kind = self.fields["kind"]
        if isinstance(kind, forms.ChoiceField):
            kind.choices = [(k.value, k.label) for k in kinds]
            kind.error_messages["invalid_choice"] = _(
                "Choose one of the reports listed."
            )
        frequency = self.fields["frequency"]
        if isinstance(frequency, forms.ChoiceField):
            frequency.choices = Frequency.choices  # no empty choice among the radios
        weekday = self.fields["weekday"]
        if isinstance(weekday, forms.TypedChoiceField):
            weekday.choices = [("", _("Choose a weekday")), *Weekday.choices]
        cycle_event = self.fields["cycle_event"]
        cycle_event.required = False
        if isinstance(cycle_event, forms.ChoiceField):
            cycle_event.choices = [("", _("Choose a cycle event")), *CycleEvent.choices]
        if not membership.is_hr_admin:
            del self.fields["recipients"]
        instance = self.instance
        if instance.pk is not None:
            filters = instance.filters or {}
            self.initial.setdefault("cycle", filters.get("cycle"))
            self.initial.setdefault("engagement", filters.get("engagement"))
        else:
            # A new subscription starts as the most common one: Mondays at 07:00 (the
            # instance's empty values are in ``initial`` already, so set, not default).
            for name, value in NEW_SCHEDULE.items():
                if not self.initial.get(name):
                    self.initial[name] = value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        frequency = data.get("frequency")
        if frequency == Frequency.WEEKLY and data.get("weekday") is None:
            self.add_error("weekday", _("Choose the weekday it is sent on."))
        if frequency == Frequency.MONTHLY:
            day = data.get("day_of_month")
            if day is None or not 1 <= day <= 31:
                self.add_error(
                    "day_of_month", _("Give a day of the month from 1 to 31.")
                )
        if frequency == Frequency.CYCLE_EVENT and not data.get("cycle_event"):
            self.add_error("cycle_event", _("Choose the cycle event that sends it."))
        kind = data.get("kind")
        if kind == SubscriptionKind.ENGAGEMENT_ANALYTICS and not data.get("engagement"):
            self.add_error("engagement", _("Choose the engagement to report on."))
        if (
            "recipients" in self.fields
            and "recipients" not in self.errors
            and not data.get("recipients")
        ):
            self.add_error("recipients", _("Choose at least one recipient."))
        return data

    def prepared(self) -> ReportSubscription:
        """The instance with its filters and only the schedule fields its frequency
        uses (not saved)."""
        subscription = self.instance
        data = self.cleaned_data
        kind = data["kind"]
        filters: dict[str, Any] = {}
        cycle = data.get("cycle")
        if cycle is not None and kind in CYCLE_KINDS:
            filters["cycle"] = cycle.pk
        if kind == SubscriptionKind.ENGAGEMENT_ANALYTICS:
            filters["engagement"] = data["engagement"].pk
        subscription.filters = filters
        frequency = data["frequency"]
        if frequency != Frequency.WEEKLY:
            subscription.weekday = None
        if frequency != Frequency.MONTHLY:
            subscription.day_of_month = None
        if frequency != Frequency.CYCLE_EVENT:
            subscription.cycle_event = ""
        return subscription

    def chosen_recipients(self) -> list[Membership]:
        """The recipients' memberships: those chosen (HR admins), else the member
        themselves. One query for HR admins."""
        if "recipients" not in self.fields:
            return [self.membership]
        people = self.cleaned_data["recipients"]
        return list(
            Membership.objects.select_related("user").filter(
                user_id__in=[p.user_id for p in people if p.user_id is not None]
            )
        )
