"""Models of the reporting app (see DESIGN.md section 4)."""
