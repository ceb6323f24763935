"""A PDF document kind: the object it is about (found through the access function of
that object's own page, so whoever may open the page may have the PDF, and nobody
else), and its HTML."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from organizations.models import Membership

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Document:
    """One kind of PDF report.

    - ``subject(membership, params)``: the object the document is about if the
      member may open its page, else None. Asked when the job is requested, when it
      runs and when its file is downloaded.
    - ``html(membership, subject)``: the whole document, its CSS inline; what the
      member may see of the subject (the same rules as its page).
    - ``title(subject)``: the document's title, for the job list and the file name.
    """

    kind: str
    label: Any
    subject: Callable[[Membership, Params], Any | None]
    html: Callable[[Membership, Any], str]
    title: Callable[[Any], str]
