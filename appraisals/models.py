"""Models of the appraisals app (see DESIGN.md section 4)."""
