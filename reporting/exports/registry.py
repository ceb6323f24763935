"""The registry of export datasets: kind → ``Dataset``. The exports page lists the
registered datasets (``listed_datasets``); report jobs look theirs up by kind
(``get_dataset``).

The six built-in datasets are registered here, in the order the exports page
offers them. Another dataset (a dashboard's export of what it shows, with its
filters applied) is registered once, from its app's ``AppConfig.ready``::

    from django.utils.translation import gettext_lazy as _

    from reporting.exports.base import CHUNK, Column, ColumnType, Dataset, two_places
    from reporting.exports.registry import register

    def _rows(scope, params):
        qs = scope.appraisals().filter(cycle_id=params["cycle"])
        rows = qs.order_by("employee__full_name").values_list(
            "employee__full_name", "final_score"
        )
        for name, score in rows.iterator(chunk_size=CHUNK):
            yield (name, two_places(score))

    register(Dataset(
        kind="dashboard-scores",
        label=_("Scores dashboard"),
        description=_("The scores the dashboard shows, with its filters."),
        columns=(
            Column("employee", _("Employee")),
            Column("final", _("Final score"), ColumnType.DECIMAL),
        ),
        rows=_rows,
        count=None,  # or (scope, params) -> int: a progress bar that moves
        available=lambda scope: scope.has_line(),
        listed=False,  # started from the dashboard, not offered on the exports page
    ))

and started with ``reporting.services.request_export(actor=..., kind=...,
file_format=..., parameters={...})`` (``parameters``: JSON values, validated by the
dashboard's own form; ``rows`` reads them back). Rows must start from the viewer's
``ReportScope`` and stream (``.iterator(chunk_size=CHUNK)``); the writers neutralise
text against formulas, numbers stay numbers.
"""

from __future__ import annotations

from reporting.exports.appraisals import (
    APPRAISALS,
    COMPETENCY_RATINGS,
    EVALUATIONS,
)
from reporting.exports.base import Dataset
from reporting.exports.feedback import CLIENT_SURVEYS, FEEDBACK_COUNTS
from reporting.exports.goals import GOALS
from reporting.scope import ReportScope

BUILT_IN = (
    APPRAISALS,
    EVALUATIONS,
    GOALS,
    COMPETENCY_RATINGS,
    FEEDBACK_COUNTS,
    CLIENT_SURVEYS,
)

_REGISTRY: dict[str, Dataset] = {dataset.kind: dataset for dataset in BUILT_IN}


def register(dataset: Dataset) -> Dataset:
    """Add ``dataset`` to the registry; its ``kind`` must be new. Returns it."""
    if dataset.kind in _REGISTRY:
        raise ValueError(f"A dataset of kind {dataset.kind!r} is registered already.")
    _REGISTRY[dataset.kind] = dataset
    return dataset


def get_dataset(kind: str) -> Dataset | None:
    return _REGISTRY.get(kind)


def listed_datasets() -> list[Dataset]:
    """The datasets the exports page offers, in the order registered."""
    return [dataset for dataset in _REGISTRY.values() if dataset.listed]


def available_datasets(scope: ReportScope) -> list[Dataset]:
    """The listed datasets ``scope``'s viewer may export (one query per dataset for
    members other than HR admins)."""
    return [dataset for dataset in listed_datasets() if dataset.available(scope)]
