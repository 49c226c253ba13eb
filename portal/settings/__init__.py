"""The settings modules, and the one rule that picks one for every entry point.

manage.py (commands), portal/wsgi.py (gunicorn) and portal/celery.py (workers
and beat) each call settings_module_choose() before Django reads a setting.
"""

import os

DEVELOPMENT = "portal.settings.local"
PRODUCTION = "portal.settings.production"


def settings_module_choose(*, server: bool) -> str:
    """Keep DJANGO_SETTINGS_MODULE when set; else production for servers, development for commands.

    Servers are gunicorn, the Celery workers and beat: started without a
    settings module they run production, which refuses to start without its
    secrets, rather than the development settings and their public keys.
    """
    return os.environ.setdefault(
        "DJANGO_SETTINGS_MODULE", PRODUCTION if server else DEVELOPMENT
    )
