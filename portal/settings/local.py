"""Development and command-line settings: a throwaway secret key is acceptable here."""

from portal.settings.base import *  # noqa: F403
from portal.settings.base import SECRET_KEY

# Commands such as `manage.py explain` must work on a fresh clone; the key only
# signs sessions, and production.py refuses to start without a real one.
SECRET_KEY = SECRET_KEY or "insecure-development-key-do-not-use-in-production"
