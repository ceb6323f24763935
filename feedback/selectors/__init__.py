"""Reads of the feedback app: ``access`` (who reads what, and the access gates),
``feedback``, ``requests`` and ``surveys``."""
