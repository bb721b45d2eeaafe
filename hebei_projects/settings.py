"""Settings for the Hebei key-project tracker.

Everything that differs between a laptop and production comes from the environment (SPEC §4).
With no variables set the app runs on its embedded default: a SQLite file, Celery tasks in-process,
mail to the console.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from hebei_projects.cache import caches_for

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    # Only ever used on a developer's machine: production (DEBUG=0) refuses to start without one.
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
else:
    SECRET_KEY = env("SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if not SECRET_KEY or not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DEBUG=0 requires the SECRET_KEY and ALLOWED_HOSTS environment variables.")

SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL] if SITE_URL.startswith("https://") else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    "axes",
    "django_filters",
    "import_export",
    "django_celery_beat",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "actions",
    "projects",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hebei_projects.sessions.SessionMiddleware",  # Django's, renewing an idle session at most once a minute
    "hebei_projects.middleware.ChineseFirstLocaleMiddleware",
    "hebei_projects.middleware.DatabaseConnectionLostMiddleware",  # issue 21: a read retried, a save's error page
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during authentication into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hebei_projects.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "projects.inbox.context_processors.inbox",  # the menu's 待办 (n), issue 26
                "projects.pages.context_processors.menu",  # the menu's cache key
            ],
        },
    },
]

WSGI_APPLICATION = "hebei_projects.wsgi.application"

# --- Database ----------------------------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    # WAL lets the web process read while a background import writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery ----------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# The cache is an accelerator: with Redis unreachable every call answers as an empty cache would and the
# site computes from the database (hebei_projects/cache.py). A call waits at most CACHE_SOCKET_TIMEOUT
# seconds; after a failure Redis is tried again only every CACHE_DOWN_RETRY_SECONDS.
CACHES = caches_for(
    REDIS_URL,
    socket_timeout=env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
    down_retry_seconds=env.float("CACHE_DOWN_RETRY_SECONDS", default=10.0),
)
# Sessions live in the database, never in the cache alone: a Redis outage or flush logs nobody out; a save
# whose connection was cut is done again on a fresh one (hebei_projects/sessions.py).
SESSION_ENGINE = "hebei_projects.sessions"

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
# With Redis down, queuing a task must fail fast (the work stays recorded in the database and the catch-up
# queues it): the result backend's own reconnection policy (20 tries, one a second) made every enqueue of a
# web request or a dispatch wait about 19 s before giving up. Nothing reads task results.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
}
# Without Redis there is no worker: tasks run in-process so the embedded default still works.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# In-process tasks behave as on a worker: a failure is recorded (and logged), not raised into the
# caller, and a retry runs at once.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message a worker took and never acknowledged (the whole worker died) returns to the queue after
# this long. It must exceed any countdown (DIGEST_RETRY_MAX_COUNTDOWN) plus a task's run time, or Redis
# hands a waiting task to a second worker. Work must not wait for it: a lost digest is queued again by
# the catch-up task once its lease (DIGEST_CLAIM_SECONDS) expires, a lost import shows as interrupted
# after IMPORT_HEARTBEAT_STALE_SECONDS (see README "Background work").
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- REST API (/api/v1/, issue 12) ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "projects.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the browser's session, with CSRF
    ],
    "DEFAULT_PERMISSION_CLASSES": ["projects.api.permissions.ModelPermissions"],
    "DEFAULT_THROTTLE_CLASSES": ["projects.api.throttling.PerTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env("API_THROTTLE_RATE", default="600/minute")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "EXCEPTION_HANDLER": "projects.api.views.exception_handler",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "ALLOWED_VERSIONS": ["v1"],
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# API tokens are knox's (stored as a SHA-512 digest, with an expiry), in our model with a read-only flag.
KNOX_TOKEN_MODEL = "projects.ApiToken"
# knox's own migrations create its default token table even when the model is swapped for ours; without
# them nothing creates it (a swapped model has no table), and no stray table holds a key to our users.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {"TOKEN_TTL": None, "AUTH_HEADER_PREFIX": "Token"}
SPECTACULAR_SETTINGS = {
    "TITLE": "河北省重点项目调度平台 API",
    "DESCRIPTION": "Projects, plans, monthly reports, problems, catalogues and the dashboard summary of the Hebei "
                   "key-project tracker, scoped to the caller's region. Amounts are decimal strings in 万元 (10,000 yuan).",
    "VERSION": None,  # the API's version (v1) is the schema's version: no "v1 (v1)"
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets named by what they are, not by a field name several share (drf-spectacular would make up
    # "Status8fcEnum" and "Level67eEnum", and name one set twice: IssuerLevelEnum).
    "ENUM_NAME_OVERRIDES": {
        "ProjectStatusEnum": "projects.domain.choices.Status",
        "SupervisionLevelEnum": "projects.domain.choices.SupervisionLevel",
    },
}

# --- Mail ------------------------------------------------------------------------------------------
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif env("EMAIL_HOST", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="重点项目调度平台 <noreply@example.org>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Authentication and login hardening ----------------------------------------------------------
AUTH_USER_MODEL = "projects.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "projects.accounts.backends.UserBackend",  # ModelBackend reading the user with their region
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Lock a username *from one address*: a whole office behind one NAT address is not locked out by one
# person's typos, and one attacker address cannot lock out a user everywhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)

LOGIN_URL = "login"
# The inbox for those who report or review, the dashboard for the province and leaders (issue 26).
LOGIN_REDIRECT_URL = "start"
LOGOUT_REDIRECT_URL = "login"
# Idle sessions end after a working day: a request renews the session (its idle end and its cookie's age) when
# its last renewal is SESSION_RENEW_SECONDS old, not on every request (hebei_projects.sessions).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_RENEW_SECONDS = env.int("SESSION_RENEW_SECONDS", default=60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise expects it even before collectstatic has run
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # "evidence" (site photos and project documents, issue 26) is added under "Evidence" below.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # django-axes logs every login at INFO; lockouts still come through as warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Domain settings (SPEC §2: "thresholds are settings") -----------------------------------------
# Points (percentage points) an annual completion rate may lag time progress before the light turns.
TRAFFIC_LIGHT_YELLOW_LAG = env.float("TRAFFIC_LIGHT_YELLOW_LAG", default=10.0)
TRAFFIC_LIGHT_RED_LAG = env.float("TRAFFIC_LIGHT_RED_LAG", default=30.0)
# The monthly report for month M is due by this day of month M+1 (how it is counted: the mode below).
MONTHLY_REPORT_DEADLINE_DAY = env.int("MONTHLY_REPORT_DEADLINE_DAY", default=5)
# "calendar": due on that calendar day, moved to the next working day when it is a rest day (法定节假日,
# 调休 and weekends, see projects.domain.workdays). "workday": due on that working day of the month (the 5th
# working day), for provinces that count it so.
MONTHLY_REPORT_DEADLINE_MODE = env("MONTHLY_REPORT_DEADLINE_MODE", default="calendar")
RANKING_VISIBLE_TO_COUNTIES = env.bool("RANKING_VISIBLE_TO_COUNTIES", default=True)  # cities and counties see the ranking (issue 28)
# A signed investment-promotion item (招商引资) not registered within this many months of its signing is
# behind: a yellow light of its own reason (issue 25).
INVESTMENT_REGISTER_WITHIN_MONTHS = env.int("INVESTMENT_REGISTER_WITHIN_MONTHS", default=6)
AXES_VERBOSE = False

# --- Checks before a monthly figure counts (数据校验, issue 8): each is a warning the editor confirms
# with a note. Completed this year above this share of the annual plan:
REPORT_CHECK_PLAN_RATIO = env.float("REPORT_CHECK_PLAN_RATIO", default=1.5)
# A month more than this many times the project's average month this year, and above this amount (万元):
REPORT_CHECK_MONTH_MULTIPLE = env.float("REPORT_CHECK_MONTH_MULTIPLE", default=3.0)
REPORT_CHECK_MONTH_MIN = env.float("REPORT_CHECK_MONTH_MIN", default=1000.0)
# A project under construction reporting nothing for this many months in a row:
REPORT_CHECK_IDLE_MONTHS = env.int("REPORT_CHECK_IDLE_MONTHS", default=3)
# Plausibility beyond the columns' limit: a total investment above this (万元; 5,000 亿元 is more than any
# Hebei project has had) is a unit mistake and refused; a single month above the project's total
# investment is a check that wants a note (month_over_total).
FIGURE_MAX_TOTAL_INVESTMENT = env.float("FIGURE_MAX_TOTAL_INVESTMENT", default=50_000_000.0)

# --- Supervision (督办, issue 13) ---------------------------------------------------------------------
# An item must be handled within this many working days, else it goes one level up (county → city →
# province → the project's 包联 leader) with as many days again.
SUPERVISION_TIME_LIMIT_WORKDAYS = env.int("SUPERVISION_TIME_LIMIT_WORKDAYS", default=5)
# A problem still not resolved this many days after it was raised opens an item.
SUPERVISION_PROBLEM_DAYS = env.int("SUPERVISION_PROBLEM_DAYS", default=30)
# A monthly report still missing this many working days after its deadline opens an item.
SUPERVISION_REPORT_OVERDUE_WORKDAYS = env.int("SUPERVISION_REPORT_OVERDUE_WORKDAYS", default=5)

# --- Security audit trail (issue 22; projects/audit/) ---------------------------------------------------
# Events (logins, lockouts, password and role changes, tokens, exports, import confirms) are kept this many
# days, then pruned by the beat task 安全审计日志清理 (or manage.py prune_audit). Level 3 asks for six months.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=180)

# --- Digests (issue #3) ------------------------------------------------------------------------------
# Problems open longer than this many days are listed in the digest.
DIGEST_PROBLEM_AGE_DAYS = env.int("DIGEST_PROBLEM_AGE_DAYS", default=30)
# SMTP failures are retried with exponential backoff (60 s, 120 s, ... capped below the visibility
# timeout) this many times before the delivery is marked failed.
DIGEST_MAX_RETRIES = env.int("DIGEST_MAX_RETRIES", default=5)
# The first retry's countdown (seconds); it doubles with every retry, up to DIGEST_RETRY_MAX_COUNTDOWN.
DIGEST_RETRY_COUNTDOWN = env.int("DIGEST_RETRY_COUNTDOWN", default=60)
DIGEST_RETRY_MAX_COUNTDOWN = 1800
# A sending attempt holds its delivery this long (rendering plus SMTP, each connection bounded by
# EMAIL_TIMEOUT); a claim older than this belongs to a dead attempt and is taken over.
DIGEST_CLAIM_SECONDS = env.int("DIGEST_CLAIM_SECONDS", default=600)
# A queued delivery no worker has started after this long is queued again (Redis lost the message).
DIGEST_QUEUE_GRACE_SECONDS = env.int("DIGEST_QUEUE_GRACE_SECONDS", default=1800)
# The catch-up task looks after deliveries of periods that ended at most this many days ago.
DIGEST_CATCH_UP_DAYS = env.int("DIGEST_CATCH_UP_DAYS", default=40)
# How many red / yellow projects a digest lists by name.
DIGEST_LIST_LIMIT = 30

# --- Imports (issue #5) -------------------------------------------------------------------------------
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=20 * 2**20)
# An xlsx is a zip: refuse one whose contents would unpack past this before parsing it.
IMPORT_MAX_UNPACKED_BYTES = env.int("IMPORT_MAX_UNPACKED_BYTES", default=300 * 2**20)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=100_000)
# Lists longer than this are checked and imported by a Celery worker, with a progress page: about two
# seconds of work, so that no web request runs an import for long.
IMPORT_BACKGROUND_ROWS = env.int("IMPORT_BACKGROUND_ROWS", default=2000)
# A check or import that has not reported progress for this long has died (its worker was killed):
# its page offers to start it again, and recover_background_work restarts it.
IMPORT_HEARTBEAT_STALE_SECONDS = env.int("IMPORT_HEARTBEAT_STALE_SECONDS", default=300)

# --- Two-factor login and password reset (issue 22; projects/security/) ----------------------------------
# django-otp: TOTP devices (an authenticator app) and static devices (the single-use recovery codes).
# projects.security's AdminConfig stands in for django.contrib.admin so that the default admin site is
# projects.security.sites.TwoFactorAdminSite: it refuses a session that still owes its second factor.
INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.admin")] = "projects.security.apps.SecurityAdminConfig"
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static", "projects.security"]
# OTPMiddleware marks request.user as verified by a device; ours then sends a user who owes a code (or
# must still enrol) to that page, from every site page, the admin and session calls of the API.
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "django_otp.middleware.OTPMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
                  "projects.security.middleware.TwoFactorMiddleware")
# On in production, off by default on a developer's machine (DEBUG), so that the demo logins printed by
# bin/run work without an authenticator; whoever enrolled is asked for a code either way.
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=not DEBUG)
# The roles (projects.domain.choices.Role values) that must enrol when it is on; a superuser counts as province_admin.
TWO_FACTOR_REQUIRED_ROLES = env.list("TWO_FACTOR_REQUIRED_ROLES", default=["province_admin", "city_coordinator"])
# The issuer an authenticator app shows beside the account name.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="河北省重点项目调度平台")
# Recovery codes stay out of the admin (django-otp's own device admins are replaced by ours).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Self-service password reset: at most this many reset mails asked for one address, and this many
# requests from one client address, per window (seconds); the link is valid PASSWORD_RESET_TIMEOUT seconds.
PASSWORD_RESET_LIMIT_PER_EMAIL = env.int("PASSWORD_RESET_LIMIT_PER_EMAIL", default=3)
PASSWORD_RESET_LIMIT_PER_IP = env.int("PASSWORD_RESET_LIMIT_PER_IP", default=20)
PASSWORD_RESET_LIMIT_WINDOW = env.int("PASSWORD_RESET_LIMIT_WINDOW", default=3600)

# --- Evidence: site photos and project documents (issue 26; projects/evidence/) --------------------------
# Files go through Django's storage API, alias "evidence": the local file system under MEDIA_ROOT by default;
# any S3-compatible store (several web hosts share it) with EVIDENCE_STORAGE=s3 and the AWS_* variables
# django-storages reads. There is no public media URL: files are served only by projects.evidence.views,
# which checks that the reader may see the project (a private bucket; the app streams what it serves).
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
EVIDENCE_STORAGE = env("EVIDENCE_STORAGE", default="local")
if EVIDENCE_STORAGE == "s3":
    # django-storages reads these settings; the endpoint names any S3-compatible store (MinIO, OSS, COS …).
    AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
    AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default=None)
    AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID", default=None)
    AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY", default=None)
    STORAGES["evidence"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "location": env("EVIDENCE_S3_PREFIX", default="evidence"),
        "default_acl": "private", "querystring_auth": True, "file_overwrite": False,
    }}
else:
    STORAGES["evidence"] = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {
        "location": str(Path(MEDIA_ROOT) / "evidence"), "base_url": None,
        "file_permissions_mode": 0o640, "directory_permissions_mode": 0o750,
    }}
# The office a bulletin is issued by, per division code, e.g. BULLETIN_ISSUERS=130000=河北省重点项目建设领导小组办公室;
# a scope not named is issued by its development and reform commission (河北省发展和改革委员会).
BULLETIN_ISSUERS = dict(item.split("=", 1) for item in env.list("BULLETIN_ISSUERS", default=[]) if "=" in item)
# The monthly bulletins (调度通报, issue 28; projects/bulletin/): the same storage as evidence, a folder (or
# bucket prefix) of their own, served only by projects.bulletin.views to those who may see the scope.
STORAGES["bulletins"] = {**STORAGES["evidence"], "OPTIONS": {**STORAGES["evidence"]["OPTIONS"], "location": (
    env("BULLETINS_S3_PREFIX", default="bulletins") if EVIDENCE_STORAGE == "s3" else str(Path(MEDIA_ROOT) / "bulletins"))}}
EVIDENCE_MAX_PHOTO_BYTES = env.int("EVIDENCE_MAX_PHOTO_BYTES", default=15 * 2**20)
EVIDENCE_MAX_DOCUMENT_BYTES = env.int("EVIDENCE_MAX_DOCUMENT_BYTES", default=30 * 2**20)
# An Office file is a zip: refused when it would unpack past this.
EVIDENCE_MAX_UNPACKED_BYTES = env.int("EVIDENCE_MAX_UNPACKED_BYTES", default=200 * 2**20)
# Pixels an uploaded image may have (a phone's 50-megapixel camera fits); above it is a decompression bomb.
EVIDENCE_MAX_IMAGE_PIXELS = env.int("EVIDENCE_MAX_IMAGE_PIXELS", default=60_000_000)
# The longest edge of a stored photo and of its thumbnail (pixels): photos are re-encoded, never kept as sent.
EVIDENCE_IMAGE_MAX_EDGE = env.int("EVIDENCE_IMAGE_MAX_EDGE", default=2560)
EVIDENCE_THUMBNAIL_EDGE = env.int("EVIDENCE_THUMBNAIL_EDGE", default=320)
# A photo taken farther than this from the project's position is a warning the reviewer sees.
PHOTO_MAX_DISTANCE_KM = env.float("PHOTO_MAX_DISTANCE_KM", default=5.0)
