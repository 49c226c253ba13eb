"""The Celery application; tasks are discovered in each installed app."""

import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def close_stale_connections(task=None, **kwargs) -> None:
    """Close a broken or expired database connection before a task, as Django does per request.

    Connections outlive tasks (CELERY_DB_REUSE_MAX): without this, one broken by
    a database restart would fail every task after it. Eager tasks are left
    alone: they run inside their caller's transaction.
    """
    if task is not None and not task.request.is_eager:
        from django.db import close_old_connections

        close_old_connections()
