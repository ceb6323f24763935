"""Models of the feedback app (see DESIGN.md section 4)."""
