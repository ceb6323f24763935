"""Views of the engagements app, one module per area; each module owns its URLs."""
