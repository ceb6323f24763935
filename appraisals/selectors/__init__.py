"""Reads of the appraisals app: access gates and visibility, evaluations, appraisals
and settings; import from the modules."""
