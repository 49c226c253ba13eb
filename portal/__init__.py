"""The portal project: settings, tenancy, the celery app and the dashboard frame."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
