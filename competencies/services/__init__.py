"""Writes of the competencies app, one module per aggregate: ``scales`` (rating
scales and the rules of their points), ``library`` (categories and competencies) and
``sets`` (competency sets)."""
