"""Fault tests: the application in real processes (gunicorn, Celery) while PostgreSQL
or Redis fails underneath, through a TCP proxy that can cut connections
(``tests.faults.proxy``) and the process helpers of ``tests.faults.web``."""
