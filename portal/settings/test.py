"""Test settings: fast hashing, tasks run eagerly unless a test starts real workers."""

import os

from portal.settings.base import *  # noqa: F403
from portal.settings.base import DATABASES, VAR_DIR

SECRET_KEY = "test-secret-key"
PORTAL_CREDENTIALS_KEY = (
    "ryb2V78e69MopdT5kzu0xFX8bcar93i1EFxC_K5sUeA="  # a test-only Fernet key
)
PORTAL_CREDENTIALS_KEY_FALLBACKS = []
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
# Outbound webhooks go to pytest-httpserver on 127.0.0.1.
HOOKS_ALLOW_LOCAL_URLS = True
# Fuzzing and flows make hundreds of calls; the throttle test sets its own rate.
API_THROTTLE_RATE = None
# Tests poll right after writing; the concurrent feed test sets its own margin.
API_FEED_SAFETY_SECONDS = 0.0
CELERY_BROKER_TRANSPORT_OPTIONS = {}
# Tests run at any hour: the quiet-hours tests turn it on with a frozen clock.
PORTAL_QUIET_HOURS = False
# Off unless a test (or the workers it starts) asks for the simulator's record.
SIMULATOR_SEND_LOG = os.environ.get("SIMULATOR_SEND_LOG", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so threads and live_server share one database; one
    # per process so that two test runs on one machine do not collide.
    DATABASES["default"]["TEST"] = {
        "NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")
    }  # noqa: F405
