"""The authorisation matrix over the competencies app's URLs: every target x every
actor x GET and POST against ``tests/authz/policies/competencies.py``, and POSTs that
name another organisation's object."""

from __future__ import annotations

from tests.authz.engine import AppMatrix
from tests.authz.policies.competencies import POLICY


class TestCompetenciesMatrix(AppMatrix):
    policy = POLICY
    foreign_references = [
        ("competencies:competency_create", "category", "category"),
        ("competencies:competency_sets", "job_titles", "job_title"),
        ("competencies:competency_set_item_add", "competency", "competency"),
    ]
