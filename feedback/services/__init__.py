"""Writes of the feedback app, one module per aggregate: ``feedback``, ``requests``
(asking), ``asks`` (answering, declining, reminders) and ``surveys``."""
