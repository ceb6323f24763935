"""The authorisation policy, one table per app (see ``tests/authz/policy.py``)."""
