"""The Celery application.

Tasks run eagerly (in-process) when ``REDIS_URL`` is unset, so the embedded demo needs
no services; with Redis they go to real workers. Tasks that touch tenant data take an
``organization_id`` and enter the tenant scope themselves (see
``organizations.tasks.tenant_task``).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hrms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
