"""The picker fields and the filter-bar picker: their querysets come from a source
(``organizations.pickers.sources``), their widget (``.widgets``) renders only the
chosen options, and they resolve what a member typed without JavaScript."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from functools import reduce
from operator import or_
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, Q, QuerySet
from django.forms.models import ModelChoiceIterator, ModelChoiceIteratorValue
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from organizations.models import Membership
from organizations.pickers.sources import PickerSource, get_source
from organizations.pickers.widgets import PickerSelect, PickerSelectMultiple, Typed

MAX_TYPED = 50


def _choices(field: forms.ModelChoiceField) -> QuerySet[Any]:
    """The field's queryset; ImproperlyConfigured while none was set for the request."""
    if field.queryset is None:
        raise ImproperlyConfigured(
            "Set the picker field's queryset (set_choices or bind_pickers) first."
        )
    return field.queryset


def _chosen_rows(
    field: PickerField | PickerMultipleField, ids: list[str], typed: list[Typed]
) -> list[Model]:
    """The rows of ``field``'s queryset with these ids or keys, in one query.

    ValidationError (beside the field) for an id that is not a choice, or a key that
    matches no row or several."""
    source = field.source
    if len(typed) > MAX_TYPED:
        raise forms.ValidationError(
            _("Type at most %(max)s at a time."), params={"max": MAX_TYPED}
        )
    keys = [Q(**{f"{key}__iexact": text}) for key in source.keys for text in typed]
    rows = list(_choices(field).filter(reduce(or_, keys, Q(pk__in=ids))))
    by_id = {str(row.pk): row for row in rows}
    if any(pk not in by_id for pk in ids):
        raise forms.ValidationError(
            field.error_messages["invalid_choice"],
            code="invalid_choice",
            params={"value": next(pk for pk in ids if pk not in by_id)},
        )
    found = [by_id[pk] for pk in ids]
    for text in typed:
        hits = [
            row
            for row in rows
            if any(
                str(getattr(row, key)).upper() == text.upper() for key in source.keys
            )
        ]
        if not hits:
            raise forms.ValidationError(
                source.texts.not_found, code="invalid_choice", params={"typed": text}
            )
        if len(hits) > 1:
            raise forms.ValidationError(
                _(
                    "“%(typed)s” matches more than one choice. Type something that "
                    "names just one, such as a code."
                ),
                code="ambiguous",
                params={"typed": text},
            )
        found.append(hits[0])
    return list(dict.fromkeys(found))


def _choose(source: str) -> str:
    return str(get_source(source).texts.choose)


# The source's "Choose ..." text, read when shown: forms are declared before the apps
# register their sources.
choose_text = lazy(_choose, str)


class PickerMixin:
    """What both picker fields share: their source and its labels."""

    source_name: str

    def has_queryset(self) -> bool:
        """Whether the field has its choices (or knows how to build them), without
        building them."""
        return getattr(self, "_queryset", None) is not None or bool(
            getattr(self, "_build", None)
        )

    @property
    def source(self) -> PickerSource:
        return get_source(self.source_name)

    def label_from_instance(self, obj: Any) -> str:
        return self.source.label(obj)


class _LazyIterator(ModelChoiceIterator):
    """The choices of a ``PickerField``, reading its queryset only when iterated
    (Django's iterator reads it when made, which would build a lazy field's
    choices): each use goes through Django's iterator, made then."""

    def __init__(self, field: forms.ModelChoiceField) -> None:
        self.field = field

    def _now(self) -> ModelChoiceIterator:
        return ModelChoiceIterator(self.field)

    def __iter__(self) -> Iterator[tuple[ModelChoiceIteratorValue | str, str]]:
        return iter(self._now())

    def __len__(self) -> int:
        return len(self._now())

    def __bool__(self) -> bool:
        return bool(self._now())


class PickerField(PickerMixin, forms.ModelChoiceField):
    """One choice from a source. The queryset comes from ``bind_pickers`` (the
    source's, for a member) or from the form (``set_choices``), never from the
    declaration: it is built per request, inside the tenant scope. Validating costs
    one query. The empty choice reads the source's ``texts.choose`` unless the field
    names its own ``empty_label`` (what leaving it empty means, when it may be).

    ``queryset`` may also be a function that builds it (``PickerFilter``'s): built
    the first time the field reads it, so that a filter bar whose picker is left
    empty never builds its choices (a member's visible engagements, a union of four
    subqueries, cost milliseconds to build for nothing)."""

    widget = PickerSelect
    iterator = _LazyIterator

    def __init__(
        self,
        *,
        source: str,
        queryset: QuerySet[Any] | Callable[[], QuerySet[Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        self.source_name = source
        self._build: Callable[[], QuerySet[Any]] | None = None
        if callable(queryset) and not isinstance(queryset, QuerySet):
            self._build, queryset = queryset, None
        kwargs.setdefault("empty_label", choose_text(source))
        super().__init__(queryset, **kwargs)

    def _get_lazy_queryset(self) -> QuerySet[Any] | None:
        built: QuerySet[Any] | None = self.__dict__.get("_queryset")
        if built is None and self._build is not None:
            build, self._build = self._build, None
            self._set_lazy_queryset(build())
            built = self.__dict__["_queryset"]
        return built

    def _set_lazy_queryset(self, queryset: QuerySet[Any] | None) -> None:
        # As ModelChoiceField's setter (its ``choices`` is this same iterator).
        self.__dict__["_queryset"] = None if queryset is None else queryset.all()
        self.widget.choices = self.iterator(self)

    queryset = property(_get_lazy_queryset, _set_lazy_queryset)

    def __deepcopy__(self, memo: dict[int, Any]) -> PickerField:
        """A form's copy of the field, as Django's ``Field`` copies one, then with
        choices of its own (as ``ModelChoiceField``'s copy makes, Django ticket
        11183) without reading the queryset: a builder not run yet is kept, and each
        copy builds when it first needs the choices."""
        result = copy.copy(self)
        memo[id(self)] = result
        result.widget = copy.deepcopy(self.widget, memo)
        result.error_messages = self.error_messages.copy()
        result.validators = self.validators[:]
        result._set_lazy_queryset(self.__dict__.get("_queryset"))
        return result

    def to_python(self, value: Any) -> Any:
        if isinstance(value, Typed):
            return _chosen_rows(self, [], [value])[0]
        return super().to_python(value)


class PickerMultipleField(PickerMixin, forms.ModelMultipleChoiceField):
    """Several choices from a source (see ``PickerField``). ``clean`` returns a
    queryset of the chosen rows; validating costs one query."""

    widget = PickerSelectMultiple

    def __init__(
        self, *, source: str, queryset: QuerySet[Any] | None = None, **kwargs: Any
    ) -> None:
        self.source_name = source
        super().__init__(queryset, **kwargs)

    def clean(self, value: Any) -> QuerySet[Any]:
        values = value if isinstance(value, list | tuple) else [value]
        typed = [v for v in values if isinstance(v, Typed)]
        ids = [
            str(v)
            for v in values
            if not isinstance(v, Typed) and v not in self.empty_values
        ]
        if not ids and not typed:
            if self.required:
                raise forms.ValidationError(
                    self.error_messages["required"], code="required"
                )
            return _choices(self).none()
        if bad := next((pk for pk in ids if not pk.isdigit()), None):
            raise forms.ValidationError(
                self.error_messages["invalid_pk_value"],
                code="invalid_pk_value",
                params={"pk": bad},
            )
        rows = _chosen_rows(self, ids, typed)
        self.run_validators(value)
        return _choices(self).filter(pk__in=[row.pk for row in rows])


def bind_pickers(form: forms.BaseForm, membership: Membership) -> None:
    """Give every picker field of ``form`` its source's choices for ``membership``."""
    for field in form.fields.values():
        if isinstance(field, PickerField | PickerMultipleField):
            field.queryset = field.source.queryset_for(membership)


class PickerFilter(django_filters.ModelChoiceFilter):
    """A filter-bar choice from a source: ``PickerFilter(source="people",
    label=...)``. Its choices are the source's for the request's member, so the
    filterset must get ``request`` (FilterView passes it)."""

    field_class = PickerField

    def __init__(self, *args: Any, source: str, **kwargs: Any) -> None:
        def choices(request: Any) -> Callable[[], QuerySet[Any]]:
            # The field builds the choices when it first needs them (``PickerField``).
            membership = getattr(request, "membership", None)
            if not isinstance(membership, Membership):
                raise ImproperlyConfigured("A PickerFilter needs the tenant request.")
            return lambda: get_source(source).queryset_for(membership)

        kwargs.setdefault("queryset", choices)
        super().__init__(*args, source=source, **kwargs)
