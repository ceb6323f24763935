"""The picker widgets (see ``organizations.pickers``): a ``<select>`` that holds only
the chosen options, for ``static/js/pickers.js`` to enhance, and under it the text box
that lets a member choose without JavaScript.

The widget reads what it shows from its field (``choices.field``): the field's
``source`` (``PickerSource``) for the endpoint's name and the texts, and its queryset
for the labels of the chosen options (one query, only when something is chosen).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django_scopes import get_scope

from organizations.widget_markup import select_markup

# The no-JavaScript text box is posted as "<field name><FIND_SUFFIX>".
FIND_SUFFIX = "-find"

NO_RESULTS = _("Nothing matches. Check the spelling, or type less of the name.")
LOADING = _("Loading more…")
FAILED = _("The list could not be loaded. Try again in a moment.")


class Typed(str):
    """Text typed in a picker's no-JavaScript box: keys to look up, not ids."""


def split_values(value: Any) -> tuple[list[str], list[Typed]]:
    """A picker's value as (ids, typed keys): a single value or a list, each an id,
    a model instance or ``Typed`` text. Ids that are not whole numbers are dropped."""
    values = value if isinstance(value, list | tuple) else [value]
    ids, typed = [], []
    for item in values:
        if isinstance(item, Typed):
            typed.append(item)
        elif hasattr(item, "pk"):
            ids.append(str(item.pk))
        elif item is not None and str(item).isdigit():
            ids.append(str(item))
    return ids, typed


def organization_slug() -> str:
    """The slug of the organisation whose scope is active (the tenant middleware's).
    Raises ImproperlyConfigured outside a scope: a picker belongs to one tenant."""
    organization = get_scope().get("organization")
    slug = getattr(organization, "slug", None)
    if not slug:
        raise ImproperlyConfigured("A picker renders only inside an organisation.")
    return str(slug)


class PickerSelect(forms.Select):
    """One choice: the chosen option only, plus the no-JavaScript text box."""

    def _field(self) -> Any:
        field = getattr(self.choices, "field", None)
        if field is None or not field.has_queryset():
            raise ImproperlyConfigured(
                "Set the picker field's queryset (set_choices or bind_pickers) first."
            )
        return field

    def use_required_attribute(self, initial: Any) -> bool:
        # Select's own check reads the first choice, which could run the whole
        # queryset; the server refuses an empty required choice anyway.
        return False

    def value_from_datadict(
        self, data: Mapping[str, Any], files: MultiValueDict, name: str
    ) -> Any:
        typed = str(data.get(name + FIND_SUFFIX) or "").strip()
        if typed:
            return Typed(typed)
        return super().value_from_datadict(data, files, name)

    def value_omitted_from_data(
        self, data: Mapping[str, Any], files: MultiValueDict, name: str
    ) -> bool:
        return name not in data and name + FIND_SUFFIX not in data

    def optgroups(
        self, name: str, value: list[str], attrs: dict[str, Any] | None = None
    ) -> list[tuple[str | None, list[dict[str, Any]], int | None]]:
        """The empty choice (for a single choice that has one) and the chosen rows,
        never the rest of the queryset. One query when something is chosen."""
        field = self._field()
        ids = [v for v in value if v.isdigit()]
        options: list[tuple[Any, Any]] = []
        if not self.allow_multiple_selected and field.empty_label is not None:
            options.append(("", field.empty_label))
        if ids:
            rows = field.queryset.filter(pk__in=ids)
            options += [(row.pk, field.label_from_instance(row)) for row in rows]
        return [
            (
                None,
                [self.create_option(name, pk, label, str(pk) in value, i, attrs=attrs)],
                i,
            )
            for i, (pk, label) in enumerate(options)
        ]

    def get_context(
        self, name: str, value: Any, attrs: dict[str, Any] | None
    ) -> dict[str, Any]:
        ids, typed = split_values(value)
        context = super().get_context(name, ids, attrs)
        source = self._field().source
        widget_attrs = context["widget"]["attrs"]
        css = str(widget_attrs.get("class", "")).replace("form-control", "")
        widget_attrs["class"] = f"form-select {css}".strip()
        widget_id = widget_attrs.get("id") or name
        widget_attrs.update(
            {
                "data-picker-url": reverse(
                    "organizations:picker", args=[organization_slug(), source.name]
                ),
                "data-picker-find": f"{widget_id}{FIND_SUFFIX}-box",
                "data-picker-placeholder": str(source.texts.prompt),
                "data-picker-empty": str(NO_RESULTS),
                "data-picker-loading": str(LOADING),
                "data-picker-failed": str(FAILED),
            }
        )
        texts = source.texts
        context["find"] = {
            "id": f"{widget_id}{FIND_SUFFIX}",
            "name": name + FIND_SUFFIX,
            "value": ", ".join(typed),
            "label": texts.find_many
            if self.allow_multiple_selected
            else texts.find_one,
            "described": widget_attrs.get("aria-describedby", ""),
            "invalid": widget_attrs.get("aria-invalid", ""),
        }
        return context

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        context = self.get_context(name, value, attrs)
        # select.html's markup, written without a template render per option and
        # per attribute list (a filter bar draws two pickers on every dashboard).
        select = select_markup(context["widget"])
        find = context["find"]
        box = format_html(
            '<div class="picker-find mt-1" id="{}-box">'
            '<label class="form-label small text-body-secondary mb-1" for="{}">{}</label>'
            '<input type="text" class="form-control form-control-sm" name="{}" id="{}"'
            ' value="{}" autocomplete="off"{}{}></div>',
            find["id"],
            find["id"],
            find["label"],
            find["name"],
            find["id"],
            find["value"],
            format_html(' aria-describedby="{}"', find["described"])
            if find["described"]
            else "",
            format_html(' aria-invalid="{}"', find["invalid"])
            if find["invalid"]
            else "",
        )
        return format_html("{}{}", select, box)


class PickerSelectMultiple(PickerSelect):
    """Several choices: the chosen options only, plus the text box for several keys."""

    allow_multiple_selected = True

    def value_from_datadict(
        self, data: Mapping[str, Any], files: MultiValueDict, name: str
    ) -> Any:
        getlist = getattr(data, "getlist", None)
        chosen = list(getlist(name)) if getlist else list(data.get(name) or [])
        typed = str(data.get(name + FIND_SUFFIX) or "")
        keys = [part.strip() for part in typed.replace(";", ",").split(",")]
        return chosen + [Typed(key) for key in keys if key]

    def value_omitted_from_data(
        self, data: Mapping[str, Any], files: MultiValueDict, name: str
    ) -> bool:
        return False  # an empty multiple choice is not posted at all
