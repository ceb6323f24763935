"""Models of the competencies app (see DESIGN.md section 4)."""
