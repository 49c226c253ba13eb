"""Settings shared by every environment; everything that varies comes from the environment."""

from datetime import timedelta
from pathlib import Path

import environ

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# SQLite database, the server-less broker's queue, exports, the simulator's log.
VAR_DIR = Path(env("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
# Older secret keys whose sessions and tokens still verify while a new one takes over.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "django_celery_beat",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "portal",
    "messaging",
    "messaging.hooks",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Providers' webhooks are answered here: they need none of what follows.
    "messaging.webhooks.WebhookMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.AccountTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it answers a login that tripped the lockout (portal/logins.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    """PostgreSQL when DATABASE_URL is set, else SQLite in WAL mode under var/."""
    if env("DATABASE_URL", default=""):
        database = env.db("DATABASE_URL")
        # Reused connections: opening one per request costs 5-8x on webhooks.
        database["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
        database["CONN_HEALTH_CHECKS"] = True
        # No JIT: the dashboard's per-campaign subqueries are estimated costly
        # and run in microseconds, and compiling them took 265 ms of a 275 ms
        # page on a 10M-message table (bench/scale.py).
        database.setdefault("OPTIONS", {})["options"] = "-c jit=off"
        return database
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env("SQLITE_PATH", default=str(VAR_DIR / "portal.sqlite3")),
        "OPTIONS": {
            # WAL lets the web process read while a worker writes; IMMEDIATE takes
            # the write lock at BEGIN so two writers queue instead of deadlocking.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request without it
STATICFILES_DIRS = [BASE_DIR / "static"]
# Export files. Not served as media (no MEDIA_URL route): they hold people's
# numbers, so the API and the portal hand them out after checking the account.
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media"))

LOGIN_URL = "admin:login"

# Login throttling (django-axes) on the portal and support logins: after
# AXES_FAILURE_LIMIT failures with one username, or from one address, logging
# in with it or from there is refused, even with the right password, until
# AXES_COOLOFF_MINUTES have passed since the last failure. API tokens are not
# passwords and are not throttled here (the API has its own rate limit).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Tries during a lockout do not prolong it: the page can say when it ends.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "portal.logins.login_client_address"
AXES_LOCKOUT_CALLABLE = "portal.logins.lockout_response"
AXES_ENABLE_ADMIN = False  # the support site shows the attempts (portal/admin.py)
AXES_VERBOSE = False  # no banner in every command's output
# Proxies in front of the portal that append the client's address to
# X-Forwarded-For; 0: the connection's own address is the client's.
PORTAL_PROXY_COUNT = env.int("PORTAL_PROXY_COUNT", default=0)

# Message lifecycle defaults (ARCHITECTURE.md section 2-3); accounts may override.
PORTAL_VALIDITY_HOURS = env.int("PORTAL_VALIDITY_HOURS", default=16)
# Hold texts outside each recipient's sending window (messaging/quiet_hours.py).
# Off only where no quiet-hours rule applies (tests that are not about them).
PORTAL_QUIET_HOURS = env.bool("PORTAL_QUIET_HOURS", default=True)
# Hours, fractions allowed: `make run` shortens both so a demo campaign ends in minutes.
PORTAL_RECEIPT_WAIT_HOURS = env.float("PORTAL_RECEIPT_WAIT_HOURS", default=72)
PORTAL_CLOSE_WINDOW_HOURS = env.float("PORTAL_CLOSE_WINDOW_HOURS", default=48)

# Celery: a broker URL selects Redis or RabbitMQ; without one, the server-less
# filesystem transport keeps the embedded default free of services.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A Redis that accepts connections but does not answer (hung, or half of
    # a broken network) would hang a publishing web request for ever. Workers
    # poll with 1 s BRPOPs, well inside the read timeout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
if CELERY_BROKER_URL.startswith("filesystem"):
    # The transport lists its folder before anything is published: on a fresh
    # clone the worker would stop at once if it were missing. Its exchanges go
    # beside it, not into the working directory.
    (VAR_DIR / "broker").mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "messaging.send_message_batch": {"queue": "dispatch"},
    "messaging.apply_status_batch": {"queue": "status"},
}
# Publishing to a broker that is down fails within about two seconds instead of
# hanging a web request: the database keeps the work and a sweep publishes it
# again once the broker is back (portal/publishing.py).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless
# this is set; a new PostgreSQL connection costs more than a whole batch's queries.
# Broken or old connections are closed before each task (portal/celery.py).
CELERY_DB_REUSE_MAX = 200
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The sweeps (ARCHITECTURE.md section 3); beat copies these into its database.
CELERY_BEAT_SCHEDULE = {
    # Webhooks are recorded by the view and applied here within about a second;
    # ticks a stopped worker missed expire instead of piling up in the broker.
    "apply-webhooks": {
        "task": "messaging.apply_status_batch",
        "schedule": 1.0,
        "options": {"expire_seconds": 10},
    },
    "requeue-due": {"task": "messaging.requeue_due", "schedule": 60.0},
    # A dead worker's claims are settled a minute or so after its last renewal.
    "release-stuck": {"task": "messaging.release_stuck", "schedule": 30.0},
    "expire": {"task": "messaging.expire_messages", "schedule": 300.0},
    # At least four looks per receipt wait, so a short demo wait is kept too.
    "mark-unknown": {
        "task": "messaging.mark_unknown",
        "schedule": min(900.0, PORTAL_RECEIPT_WAIT_HOURS * 900),
    },
    # Also publish again the jobs whose task was lost with the broker.
    "fail-stalled-exports": {
        "task": "messaging.fail_stalled_exports",
        "schedule": 60.0,
    },
    "fail-stalled-imports": {
        "task": "campaigns.fail_stalled_imports",
        "schedule": 60.0,
    },
    # Launches whose fan-out never reached a worker (broker down, task lost).
    "resume-fan-outs": {"task": "campaigns.resume_fan_outs", "schedule": 60.0},
    "refresh-campaigns": {"task": "campaigns.refresh_states", "schedule": 5.0},
    # The delivery monitor's alerts: raised and cleared within about a minute.
    "sweep-alerts": {"task": "campaigns.sweep_alerts", "schedule": 60.0},
    # Sequences' later steps, and scheduled launches; a tick missed by a
    # stopped worker is taken up by the next one.
    "send-due-steps": {
        "task": "campaigns.send_due_steps",
        "schedule": 60.0,
        "options": {"expire_seconds": 60},
    },
    "launch-scheduled": {
        "task": "campaigns.launch_scheduled",
        "schedule": 30.0,
        "options": {"expire_seconds": 30},
    },
    # Every write adds count rows; folding them keeps the dashboard's sums short.
    "squash-counts": {"task": "messaging.squash_counts", "schedule": 30.0},
    # Outbound webhooks: retries that are due, and batches whose nudge was lost.
    "deliver-hooks": {"task": "hooks.deliver_due", "schedule": 10.0},
}
# Outbound webhooks may go to http:// and to loopback or private addresses only
# while debugging (and in tests); production refuses both (SSRF).
HOOKS_ALLOW_LOCAL_URLS = env.bool("HOOKS_ALLOW_LOCAL_URLS", default=DEBUG)
# The simulated provider: seconds before receipts arrive, and the outcome seed.
SIMULATOR_RECEIPT_DELAY = env.int("SIMULATOR_RECEIPT_DELAY", default=3)
SIMULATOR_SEED = env.int("SIMULATOR_SEED", default=0)
# The simulator's own record of each send, where it looks sends up (off when empty).
SIMULATOR_SEND_LOG = env(
    "SIMULATOR_SEND_LOG", default=str(VAR_DIR / "simulator-sends.sqlite3")
)

# Requests per API token (DRF's "N/second|minute|hour|day"); over it, 429 with
# Retry-After. Counted in the default cache: per process unless CACHES is shared.
API_THROTTLE_RATE = env("API_THROTTLE_RATE", default="1200/min")
# The change feeds (?updated_after=) hold back rows changed this recently, so a
# transaction that commits late cannot slip behind a poller's cursor (API docs).
API_FEED_SAFETY_SECONDS = env.float("API_FEED_SAFETY_SECONDS", default=5.0)
REST_FRAMEWORK = {
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "portal.api.lists.SearchFilter",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.auth.HasAccount"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.lists.PageNumberPagination",
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.throttle.TokenRateThrottle"],
    # Bodies are JSON; only the lead import takes a multipart upload (its own parsers).
    "DEFAULT_PARSER_CLASSES": ["portal.api.parsers.JSONBodyParser"],
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Campaign portal API",
    "DESCRIPTION": (
        "Leads, campaigns, messages with every failure explained, exports.\n\n"
        "Authenticate with `Authorization: Bearer <token>` (tokens are made in the "
        "portal under API tokens). A campaign from start to end: upload a CSV to "
        "`POST /api/v1/leads/import/` with a list name; find your sender with "
        "`GET /api/v1/senders/`; `POST /api/v1/campaigns/` with the sender and the "
        "list; `POST /api/v1/campaigns/{id}/launch/` (with an `Idempotency-Key` "
        "header, so a retry is safe); follow the change feed "
        "`GET /api/v1/messages/?campaign={id}&updated_after=2000-01-01T00:00:00Z` "
        "and `GET /api/v1/campaigns/{id}/` until its state is `done`. Every failed "
        "message carries `error_code`, `error_title`, `error_meaning` and "
        "`error_resolution`. `POST /api/v1/campaigns/{id}/exports/` starts a CSV "
        "export: poll `GET /api/v1/exports/{id}/` until `status` is `done`, then "
        "GET its `download_url`. `GET /api/v1/` lists every resource.\n\n"
        "**Change feeds.** Messages, campaigns, leads and opt-outs take "
        "`updated_after` (any ISO 8601 time). With it, a list is a change feed: "
        "rows changed after that time, oldest change first by `(updated_at, id)`, "
        "and each page answers `next` (more is ready now, or null) and `cursor`. "
        "Poll again later with the same query plus that `cursor`. The guarantee: "
        "following the cursor, you see every change at least once, never missing "
        "one, even when a transaction commits a row stamped earlier than one you "
        "have seen: a page stops at the start of the oldest transaction still open "
        "(PostgreSQL), and in any case a few seconds ago (`API_FEED_SAFETY_SECONDS`"
        ", 5 by default), so changes show after that delay. A row changed again "
        "comes again. Deleted leads come with `deleted_at` set. An opt-in deletes "
        "its opt-out: the opt-out list's feed does not show it. Do not resume "
        "from the last `updated_at` alone: many rows share one time. A cursor that "
        "this API did not give is 400 `invalid` naming `cursor`.\n\n"
        "**Attempts.** A resend is a new message (`attempt`, `retry_of`); the "
        "attempt it replaces becomes `superseded`. Lists, counts and exports show "
        "the current attempt of each message, as the dashboard does; "
        "`attempts=all` (or `superseded=true`) shows history.\n\n"
        "**Search.** Every list with text to search takes `search`, and `q` as "
        "its alias (e.g. `/api/v1/errors/?q=30008`): every word must match one of "
        "the list's fields (each list documents which).\n\n"
        "**Times** are ISO 8601 in any form (`Z` or an offset; a `+` sent "
        "unencoded arrives as a space and is read as `+`). Invalid input answers "
        "400 `invalid`, with `fields` naming each parameter and `detail` saying "
        "what is wrong.\n\n"
        "**Rate limit.** Each token may make `API_THROTTLE_RATE` requests "
        "(1200 a minute by default); past it the API answers 429 `throttled` with "
        "a `Retry-After` header in seconds.\n\n"
        'Errors answer `{"code": ..., "detail": ...}`; `code` is stable.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set: several models have a "status", and the error's
    # category and advice appear under two field names.
    "ENUM_NAME_OVERRIDES": {
        "MessageStatusEnum": "messaging.statuses.Status",
        "LeadImportStatusEnum": "campaigns.models.LeadImport.Status",
        "ExportStatusEnum": "messaging.models.MessageExport.Status",
        "ErrorCategoryEnum": "messaging.models.ErrorCode.Category",
        "NumberAdviceEnum": "messaging.models.ErrorCode.NumberAdvice",
    },
    # Docs assets come from drf-spectacular-sidecar: nothing loads from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Fernet keys for sender credentials at rest (production refuses to start without
# one): the key encrypts; it and the fallbacks, older keys kept during a rotation,
# decrypt (README, "Rotating the credentials key").
PORTAL_CREDENTIALS_KEY = env("PORTAL_CREDENTIALS_KEY", default="")
PORTAL_CREDENTIALS_KEY_FALLBACKS = env.list(
    "PORTAL_CREDENTIALS_KEY_FALLBACKS", default=[]
)
# The public base URL providers post webhooks to (behind a proxy, the Host
# header cannot be trusted to rebuild it), e.g. https://sms.example.org
PORTAL_PUBLIC_URL = env("PORTAL_PUBLIC_URL", default="http://127.0.0.1:8000")
# Delivery alerts are emailed to accounts' owners (campaigns/alerts.py).
EMAIL_HOST = env("DJANGO_EMAIL_HOST", default="localhost")
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="portal@localhost")
# Provider API base URLs: settings so that tests and staging point them at fakes.
TWILIO_API_URL = env("TWILIO_API_URL", default="https://api.twilio.com")
TELNYX_API_URL = env("TELNYX_API_URL", default="https://api.telnyx.com")
BANDWIDTH_API_URL = env("BANDWIDTH_API_URL", default="https://messaging.bandwidth.com")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}
