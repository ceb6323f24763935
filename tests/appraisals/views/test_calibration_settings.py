"""The calibration half of HR's appraisal settings page: the five settings saved,
and bad values shown beside their field with nothing changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from appraisals.models import AppraisalSettings
from organizations.tenancy import tenant_context

pytestmark = pytest.mark.django_db


def _data(**changes: str) -> dict[str, str]:
    data = {
        "evaluation_days": "14",
        "calibration_shrinkage": "10",
        "calibration_guideline": "10,20,40,20,10",
        "calibration_tolerance": "5",
        "bands-TOTAL_FORMS": "1",
        "bands-INITIAL_FORMS": "0",
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "20",
        "bands-0-min_attainment": "0",
        "bands-0-rating": "3",
    }
    data.update(changes)
    return data


def _stored(org) -> tuple[bool, int, str, int, bool]:
    with tenant_context(org):
        settings = AppraisalSettings.objects.get()
    return (
        settings.calibration_required,
        settings.calibration_shrinkage,
        settings.calibration_guideline,
        settings.calibration_tolerance,
        settings.calibration_visible,
    )


def test_hr_saves_the_calibration_settings(org, hr_admin, client_as):
    response = client_as(hr_admin).post(
        reverse("appraisals:settings", args=[org.slug]),
        _data(
            calibration_required="on",
            calibration_shrinkage="0",
            calibration_guideline=" 5, 25,40 ,25,5",
            calibration_tolerance="50",
            calibration_visible="on",
        ),
    )

    assert response.status_code == 302
    assert _stored(org) == (True, 0, "5,25,40,25,5", 50, True)


def test_the_settings_page_shows_the_calibration_settings(org, hr_admin, client_as):
    page = client_as(hr_admin).get(reverse("appraisals:settings", args=[org.slug]))

    assert page.status_code == 200
    for name in (
        "calibration_required",
        "calibration_shrinkage",
        "calibration_guideline",
        "calibration_tolerance",
        "calibration_visible",
    ):
        assert f'name="{name}"' in page.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "calibration_guideline",
            "10,20,40,20",
            "The shares add up to 90; make them add up to 100.",
        ),
        (
            "calibration_guideline",
            "10,20,40.5,19.5,10",
            "Enter whole percents separated by commas",
        ),
        (
            "calibration_guideline",
            "100",
            "Enter a share for each band of the scale",
        ),
        (
            "calibration_tolerance",
            "51",
            "Enter a tolerance from 0 to 50 percentage points.",
        ),
        ("calibration_shrinkage", "-1", "greater than or equal to 0"),
    ],
)
def test_a_bad_calibration_setting_is_shown_beside_its_field_and_changes_nothing(
    org, hr_admin, client_as, field, value, message
):
    with tenant_context(org):
        AppraisalSettings.objects.create(organization=org, calibration_shrinkage=7)

    response = client_as(hr_admin).post(
        reverse("appraisals:settings", args=[org.slug]),
        _data(calibration_required="on", **{field: value}),
    )

    page = response.content.decode()
    assert response.status_code == 400
    beside = page.split(f'id="id_{field}-error"', 1)[1].split("</div>", 1)[0]
    assert message in beside
    assert _stored(org) == (False, 7, "10,20,40,20,10", 5, False)
