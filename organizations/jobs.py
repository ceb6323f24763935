"""Starting Celery tasks by name, for services.

Services start background work with ``start_after_commit(name, **kwargs)``: by name, so
no service imports a ``tasks`` module (tasks call services, so the other direction
would be an import circle), and after commit, so a rolled-back change starts nothing
and the task reads what was committed.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction


def start_task(name: str, **kwargs: Any) -> None:
    """Start the Celery task called ``name`` with ``kwargs`` now.

    A process that has not loaded the task modules yet (a web process) lets Celery's
    autodiscovery load them first; the registered task's ``apply_async`` honours
    ``task_always_eager`` (``send_task`` would not).
    """
    if name not in current_app.tasks:
        current_app.autodiscover_tasks(force=True)
    current_app.tasks[name].apply_async(kwargs=kwargs)


def start_after_commit(name: str, **kwargs: Any) -> None:
    """Start the task called ``name`` once the current transaction commits (at once
    outside a transaction)."""
    transaction.on_commit(lambda: start_task(name, **kwargs))
