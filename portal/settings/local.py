"""Development and command-line settings: throwaway keys are acceptable here."""

import base64
import hashlib

from portal.settings.base import *  # noqa: F403
from portal.settings.base import PORTAL_CREDENTIALS_KEY, SECRET_KEY

# Commands such as `manage.py explain` must work on a fresh clone; the keys only
# sign sessions and hide demo credentials, and production.py refuses to start
# without real ones.
SECRET_KEY = SECRET_KEY or "insecure-development-key-do-not-use-in-production"
PORTAL_CREDENTIALS_KEY = (
    PORTAL_CREDENTIALS_KEY
    or base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
)
