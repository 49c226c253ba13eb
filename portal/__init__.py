"""The portal project: settings, tenancy, the celery app and the dashboard frame.

Importing the package chooses no settings: each entry point does (see
portal/settings/__init__.py). The Celery app is loaded by PortalConfig.ready()
in Django processes, and by `celery -A portal`, which finds portal.celery.
"""
