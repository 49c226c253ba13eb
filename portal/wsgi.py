"""WSGI entry point (gunicorn portal.wsgi): production settings unless told otherwise."""

from django.core.wsgi import get_wsgi_application

from portal.settings import settings_module_choose

settings_module_choose(server=True)

application = get_wsgi_application()
