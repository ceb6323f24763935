"""Models of the engagements app (see DESIGN.md section 4)."""
