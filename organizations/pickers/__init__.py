"""Searchable pickers: every choice of people, managers, clients, engagements, job
titles, business units or competencies that can be long.

A picker never renders the organisation into the page. Its widget (``widgets``)
renders only the chosen options; ``static/js/pickers.js``
turns it into a Tom Select box that asks the JSON endpoint ``organizations:picker``
(``/o/<slug>/pick/<source>/?q=&page=``) for ``PAGE_SIZE`` rows at a time.

Sources
    A ``PickerSource`` says what a member may choose in one kind of field:
    ``choices(membership)`` (a queryset, built only), ``allowed(membership)`` (who may
    use it at all: the endpoint answers 403 to the others and ``queryset_for`` gives
    them nothing), the columns a search matches, the order and the label. A form or
    filter validates against the queryset of the same source the endpoint lists (or a
    narrower one, such as "active people but the plan's own employee"), so what the
    box offers and what a submit accepts agree. ``sources`` holds the registry and the
    directory's own sources; every other app registers its own in
    ``AppConfig.ready``. ``fields`` holds the form fields and the filter-bar picker.

Without JavaScript
    Under the ``<select>``, which then holds only the current choice, a text box reads
    "Or type ...": the member types the key of what they want (a person's code or
    e-mail address, a client's name, an engagement's code, the name of a job title,
    business unit or competency; several separated by commas
    in a multiple choice). Keys match exactly, ignoring case, among what the member may
    choose; a key that matches nothing, or more than one row, is refused beside the
    field.
"""

from organizations.pickers.fields import (
    PickerField,
    PickerFilter,
    PickerMultipleField,
    bind_pickers,
)
from organizations.pickers.sources import (
    PAGE_SIZE,
    PickerPage,
    PickerSource,
    PickerTexts,
    active_people,
    everyone,
    get_source,
    hr_admins,
    line_managers,
    named_source,
    page_number,
    people_source,
    people_without_login,
    pick_page,
    register,
    source_named,
)

__all__ = [
    "PAGE_SIZE",
    "PickerField",
    "PickerFilter",
    "PickerMultipleField",
    "PickerPage",
    "PickerSource",
    "PickerTexts",
    "active_people",
    "bind_pickers",
    "everyone",
    "get_source",
    "hr_admins",
    "line_managers",
    "named_source",
    "page_number",
    "people_source",
    "people_without_login",
    "pick_page",
    "register",
    "source_named",
]
