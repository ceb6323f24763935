"""Writes of the appraisals app, one module per aggregate; import from the modules."""
