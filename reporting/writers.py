"""Writing an export's rows to a CSV or XLSX file, one row at a time, with every text
cell neutralised against formula injection (docs/security.md, "Known traps").

- **CSV** (``csv`` module, UTF-8 with a byte-order mark so spreadsheet programs read
  accents right): a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a leading ``'``, which spreadsheet programs show as text.
- **XLSX** (openpyxl's write-only workbook, which keeps no rows in memory): every text
  cell is written with the string type (``s``), never as a formula, whatever it
  begins with; numbers stay numbers (scores with two decimal places), dates and
  times are real dates in the organisation's time zone.

Values arrive as Python values (``str``, ``Decimal``, ``int``, ``date``,
``datetime``, ``None``); the datasets (``reporting.exports``) turn choices into
their translated labels before they get here.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone

# What a spreadsheet program may read as the start of a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Excel's format of the scores: two decimal places.
DECIMAL_FORMAT = "0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"

Progress = Callable[[int], None]


def neutralise(text: str) -> str:
    """``text`` made safe for a CSV cell: a leading ``'`` when it could start a
    formula."""
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def local_naive(value: datetime, zone: tzinfo) -> datetime:
    """An aware time as the wall-clock time of ``zone``, without a zone (spreadsheets
    know none), to the minute."""
    if timezone.is_aware(value):
        value = timezone.localtime(value, zone)
    return value.replace(tzinfo=None, second=0, microsecond=0)


def _csv_value(value: Any, zone: tzinfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_naive(value, zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return neutralise(str(value))


def write_csv(
    stream: IO[str],
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    zone: tzinfo,
    progress: Progress | None = None,
    every: int = 2000,
) -> int:
    """Write ``headers`` and ``rows`` to ``stream`` (a text file opened with
    ``newline=""``) as CSV. Calls ``progress(rows written)`` every ``every`` rows.
    Returns how many rows were written."""
    writer = csv.writer(stream)
    writer.writerow([neutralise(str(h)) for h in headers])
    count = 0
    for row in rows:
        writer.writerow([_csv_value(value, zone) for value in row])
        count += 1
        if progress is not None and count % every == 0:
            progress(count)
    return count


def write_xlsx(
    path: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    zone: tzinfo,
    sheet_title: str,
    progress: Progress | None = None,
    every: int = 2000,
) -> int:
    """Write ``headers`` and ``rows`` to a new XLSX file at ``path`` with a
    write-only workbook (rows go to disk as they come). Returns how many rows."""
    from openpyxl import Workbook  # noqa: PLC0415 - a heavy import, only for XLSX
    from openpyxl.cell import WriteOnlyCell  # noqa: PLC0415 - as above
    from openpyxl.styles import Font  # noqa: PLC0415 - as above

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(sheet_title))
    bold = Font(bold=True)

    def cell(value: Any) -> Any:
        if value is None:
            return None
        made = WriteOnlyCell(sheet)
        if isinstance(value, datetime):
            made.value = local_naive(value, zone)
            made.number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            made.value = value
            made.number_format = DATE_FORMAT
        elif isinstance(value, Decimal):
            made.value = value
            made.number_format = DECIMAL_FORMAT
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            made.value = value
        else:
            made.value = str(value)
            # Text is text: openpyxl would store "=..." as a formula.
            made.data_type = "s"
        return made

    header_cells = []
    for header in headers:
        made = cell(str(header))
        made.font = bold
        header_cells.append(made)
    sheet.append(header_cells)
    count = 0
    for row in rows:
        sheet.append([cell(value) for value in row])
        count += 1
        if progress is not None and count % every == 0:
            progress(count)
    workbook.save(path)
    return count


def _sheet_title(title: str) -> str:
    """A worksheet title Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = "".join(c for c in title if c not in "[]:*?/\\").strip("'")
    return (cleaned or "Report")[:31]
