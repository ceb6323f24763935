"""The files an export writes: formulas neutralised in CSV and XLSX (hostile
employee, client and goal names), scores as numbers with two places, times in the
organisation's time zone, and rows streamed from a server-side cursor."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from openpyxl import load_workbook

from organizations.tenancy import tenant_context
from reporting.enums import FileFormat, JobStatus
from reporting.exports.base import CHUNK
from reporting.exports.registry import get_dataset
from reporting.scope import ReportScope
from reporting.writers import neutralise
from tests.reporting.jobs.conftest import (
    HOSTILE_CLIENT,
    HOSTILE_EMPLOYEE,
    HOSTILE_GOAL,
    HOSTILE_MANAGER,
)
from tests.reporting.jobs.helpers import read_csv, run
from tests.reporting_factories import ReportJobFactory

pytestmark = pytest.mark.django_db


def _job(tenant, kind, file_format):
    return ReportJobFactory(
        organization=tenant.org,
        requested_by=tenant.hr_admin.user,
        kind=kind,
        file_format=file_format,
        parameters={"cycle": tenant.cycle.pk},
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Plain name", "Plain name"),
        ("a=b", "a=b"),
    ],
)
def test_neutralise_prefixes_what_could_start_a_formula(text, expected):
    assert neutralise(text) == expected


def test_csv_neutralises_hostile_names_and_keeps_numbers(home):
    appraisals = run(_job(home, "appraisals", FileFormat.CSV))
    goals = run(_job(home, "goals", FileFormat.CSV))
    surveys = run(_job(home, "client_surveys", FileFormat.CSV))

    appraisal_rows = read_csv(appraisals)
    goal_rows = read_csv(goals)
    survey_rows = read_csv(surveys)

    assert appraisal_rows[0][:2] == ["Employee", "Employee code"]
    assert appraisal_rows[1][0] == f"'{HOSTILE_EMPLOYEE}"
    assert appraisal_rows[1][4] == f"'{HOSTILE_MANAGER}"
    assert appraisal_rows[1][6:10] == ["3.25", "4.10", "3.75", "75.00"]
    assert goal_rows[1][2] == f"'{HOSTILE_GOAL}"
    assert survey_rows[1][1] == f"'{HOSTILE_CLIENT}"


def test_xlsx_writes_hostile_names_as_strings_and_scores_as_numbers(home):
    job = run(_job(home, "appraisals", FileFormat.XLSX))
    goals = run(_job(home, "goals", FileFormat.XLSX))
    surveys = run(_job(home, "client_surveys", FileFormat.XLSX))

    with default_storage.open(job.file.name, "rb") as stored:
        sheet = load_workbook(stored).active
    with default_storage.open(goals.file.name, "rb") as stored:
        goal_sheet = load_workbook(stored).active
    with default_storage.open(surveys.file.name, "rb") as stored:
        survey_sheet = load_workbook(stored).active

    name, manager = sheet["A2"], sheet["E2"]
    assert (name.value, name.data_type) == (HOSTILE_EMPLOYEE, "s")
    assert (manager.value, manager.data_type) == (HOSTILE_MANAGER, "s")
    final = sheet["I2"]
    assert (final.value, final.data_type, final.number_format) == (3.75, "n", "0.00")
    assert (goal_sheet["C2"].value, goal_sheet["C2"].data_type) == (HOSTILE_GOAL, "s")
    client = survey_sheet["B2"]
    assert (client.value, client.data_type) == (HOSTILE_CLIENT, "s")
    assert all(
        cell.data_type != "f"
        for ws in (sheet, goal_sheet, survey_sheet)
        for row in ws.iter_rows()
        for cell in row
    )


def test_times_are_in_the_organisations_time_zone(home):
    job = run(_job(home, "client_surveys", FileFormat.XLSX))
    csv_job = run(_job(home, "client_surveys", FileFormat.CSV))

    with default_storage.open(job.file.name, "rb") as stored:
        sent = load_workbook(stored).active["C2"].value
    csv_sent = read_csv(csv_job)[1][2]

    local = home.survey.sent_at.astimezone(ZoneInfo(home.org.timezone))
    expected = local.replace(tzinfo=None, second=0, microsecond=0)
    assert sent == expected
    assert csv_sent == expected.strftime("%Y-%m-%d %H:%M")


def test_a_finished_job_records_rows_and_a_file_under_the_organisation(home):
    job = run(_job(home, "appraisals", FileFormat.CSV))

    assert (job.status, job.progress, job.row_count) == (JobStatus.DONE, 100, 2)
    assert job.file.name.startswith(f"reports/{home.org.pk}/")
    assert job.file.name.endswith(".csv")
    assert default_storage.exists(job.file.name)


def test_rows_are_read_through_a_server_side_cursor_in_chunks(home):
    """The rows come from a named (server-side) cursor, fetched CHUNK at a time, and
    the dataset hands them out as a generator: a 10,000-row export never holds its
    rows in Python at once."""
    dataset = get_dataset("appraisals")
    assert dataset is not None
    cursors = []

    def watch(execute, sql, params, many, context):
        cursors.append((sql, getattr(context["cursor"].cursor, "name", None)))
        return execute(sql, params, many, context)

    with tenant_context(home.org), connection.execute_wrapper(watch):
        rows = dataset.rows(ReportScope(home.hr_admin), {"cycle": home.cycle.pk})
        assert cursors == []  # nothing read before the first row is asked for
        first = next(iter(rows))
        rest = list(rows)

    selects = [name for sql, name in cursors if "appraisals_appraisal" in sql]
    assert first[0] == HOSTILE_EMPLOYEE
    assert len(rest) == 1
    assert len(selects) == 1
    assert selects[0]  # a named cursor: DECLARE ... CURSOR on PostgreSQL
    assert CHUNK == 2000


def test_scores_keep_two_places(home):
    job = run(_job(home, "evaluations", FileFormat.CSV))

    rows = read_csv(job)

    assert rows[1][6:9] == ["3.50", "4.00", "3.80"]
    assert Decimal(rows[1][8]) == Decimal("3.80")
