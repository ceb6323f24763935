"""Checks shared by the models of cycles, templates and plans: a percentage between
0 and 100."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


def percent_check(
    field: str, name: str, nullable: bool = False
) -> models.CheckConstraint:
    condition = Q(**{f"{field}__gte": 0}) & Q(**{f"{field}__lte": 100})
    if nullable:
        condition |= Q(**{f"{field}__isnull": True})
    return models.CheckConstraint(condition=condition, name=name)
