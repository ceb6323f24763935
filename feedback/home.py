"""Home page sections of the feedback app (open feedback requests)."""
