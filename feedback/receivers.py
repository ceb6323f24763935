"""Signal receivers of the feedback app."""
