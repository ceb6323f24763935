"""The band name of a final score: the rating scale's labelled point nearest it."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from appraisals.selectors.appraisals import ScoreBands, band_label

LEVELS = ((D(1), "Poor"), (D(3), "Meets"), (D(4), "Exceeds"), (D(5), "Outstanding"))


@pytest.mark.parametrize(
    ("score", "label"),
    [
        (D("3.83"), "4 · Exceeds"),
        (D("3.49"), "3 · Meets"),
        (D("3.50"), "4 · Exceeds"),  # halfway rounds up
        (D("2.00"), "3 · Meets"),  # halfway between 1 and 3 rounds up too
        (D("1.90"), "1 · Poor"),
        (D("5.00"), "5 · Outstanding"),
    ],
)
def test_band_label_names_the_nearest_labelled_point(score, label):
    assert band_label(score, LEVELS) == label


def test_band_label_is_empty_without_a_score_or_labelled_points():
    assert (band_label(None, LEVELS), band_label(D(4), ())) == ("", "")


def test_score_bands_name_a_score_by_its_cycle_scale():
    bands = ScoreBands({7: LEVELS, 8: ((D(2), "Half"),)})

    assert [bands.label(7, D(4)), bands.label(8, D(4)), bands.label(9, D(4))] == [
        "4 · Exceeds",
        "2 · Half",
        "",
    ]
