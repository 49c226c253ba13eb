"""The Celery application; tasks are discovered in each installed app."""

from celery import Celery
from celery.signals import task_prerun

from portal.settings import settings_module_choose

# Before the app is made: Celery's Django fixup reads the variable then.
settings_module_choose(server=True)

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
