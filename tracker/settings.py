"""Settings for the obligation tracker, grouped by topic.

Everything that differs between a laptop, CI and production comes from the environment, and
each environment variable is read exactly once, here. With no environment at all the project
runs on embedded defaults: a SQLite file and a filesystem Celery broker under ./var, so that
`make run` works on a fresh machine. The sections: Django and the apps · database · broker
(Celery) · security · language and time · static and uploaded files · email · API · logging ·
the product's rules.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TRACKER_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# =============================================================================================
# Django and the apps
# =============================================================================================
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105 (refused when DEBUG is off)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "accounts.axes_app.AxesConfig",  # django-axes, named in Chinese
    "csp",
    "django_cas_ng",  # its service-ticket table serves CAS single logout (installed whether CAS is on or off)
    # The project's own apps, bottom floor first (tests/test_architecture.py keeps imports pointing down).
    "core",
    "accounts",
    "regulations",
    "obligations",
    "notifications",
    "reports",
    "dashboard",
]

MIDDLEWARE = [
    # First: every request gets its id (X-Request-ID), every 5xx one JSON log line with its traceback.
    "core.requestlog.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Oversized bodies (413) and undocumented API query parameters (400), before anything reads them.
    "core.middleware.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Cache-Control: private, no-store on everything a logged-in person is answered.
    "core.middleware.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so that it turns the lockout flag set during authenticate() into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tracker.urls"
WSGI_APPLICATION = "tracker.wsgi.application"

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
                "notifications.context_processors.notifications",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# =============================================================================================
# Database: DATABASE_URL (postgres://user@host:5432/name, psycopg 3) or a SQLite file under var/.
# =============================================================================================
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        # Persistent connections: opening one costs more than most requests' queries. Checked
        # before reuse, so a restarted database costs one failed check, not a failed request.
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # The web app, the worker and beat write to one file at once: WAL, immediate transactions and
    # a busy timeout keep them from failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

# =============================================================================================
# Broker: Celery on Redis when REDIS_URL is set; otherwise kombu's filesystem transport, which
# needs no server and still carries messages between the web, worker and beat processes.
# =============================================================================================
REDIS_URL = os.environ.get("REDIS_URL", "")


def filesystem_broker_options(broker_dir: Path) -> dict:
    """kombu's filesystem transport under broker_dir (made here): queue, processed, control."""
    for sub in ("queue", "processed", "control"):
        (broker_dir / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "processed_folder": str(broker_dir / "processed"),
        # Broadcast (control) exchanges; the default is ./control in the working directory.
        "control_folder": str(broker_dir / "control"),
        "store_processed": False,
        # How often an idle worker looks for new files (kombu's default is 1 s): a decision's
        # notice is queued like any task and must not wait for the next look.
        "polling_interval": 0.1,
    }


if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # kombu's Redis transport, except that an acknowledgement Redis did not answer still frees its
    # slot: a frozen Redis otherwise leaves the worker alive and consuming nothing (core/broker.py).
    # A named class wins over the URL's scheme: REDIS_URL is redis:// or rediss://, not sentinel://.
    CELERY_BROKER_TRANSPORT = "core.broker:Transport"
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # An unacknowledged message (its worker died) goes back to the queue after this long.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
        # A web request that queues a task after its commit must not hang on an unreachable broker
        # (a dropped route waits for the OS connect timeout, minutes): give up connecting after this
        # many seconds; the outbox row is committed and the beat delivers it later.
        "socket_connect_timeout": env_int("CELERY_BROKER_CONNECT_TIMEOUT", 2),
        # A frozen Redis (a stopped process, a full network buffer) still accepts connections but
        # answers nothing: without a read timeout a request waits for minutes and holds its web
        # thread. Any Redis reply taking longer than this is an error; the save has committed, its
        # outbox row waits for deliver_outbox. Above the worker's 1 s BRPOP poll.
        "socket_timeout": env_int("REDIS_SOCKET_TIMEOUT", 3),
        "socket_keepalive": True,
    }
    # The result backend (the same Redis) has its own connections: the same limits. A web process
    # subscribes to a task's result when it queues the task, so an unbounded read hangs it too.
    CELERY_REDIS_SOCKET_TIMEOUT = CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"]
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"]
    CELERY_REDIS_SOCKET_KEEPALIVE = True
    CELERY_BROKER_CONNECTION_TIMEOUT = CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"]
    # Celery retries a result-backend call 20 times by default (a minute and more at the timeouts
    # above); three tries ride out a Redis restart without holding a caller for long.
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"max_retries": 3}}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "broker")
    CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_ENABLE_UTC = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Group robots (notifications/addresses.py): the hosts a webhook may point at. Public robot APIs
# (resolved and checked to be public when sending); gateways on the internal network may be on
# private addresses. Anything else is refused when saved and when sent.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", ["qyapi.weixin.qq.com", "oapi.dingtalk.com"])
WEBHOOK_INTERNAL_HOSTS = env_list("WEBHOOK_INTERNAL_HOSTS", [])

# Schedules kept in code: django-celery-beat's DatabaseScheduler copies them into its tables when
# beat starts (the reminder sweep and the audit checkpoints were put there by migrations).
CELERY_BEAT_SCHEDULE = {
    "台账预览清理（每小时）": {
        "task": "obligations.tasks.remove_expired_ledger_previews",
        "schedule": 3600,
        "options": {"expires": 50 * 60},
    },
    "报告导出任务补排队（每10分钟）": {
        "task": "reports.tasks.requeue_export_jobs",
        "schedule": 600,
        "options": {"expires": 9 * 60},
    },
    "法规修订到期结转（每小时）": {
        "task": "obligations.tasks.apply_due_amendments",
        "schedule": 3600,
        "options": {"expires": 50 * 60},
    },
    "证据半成品文件清理（每小时）": {
        "task": "obligations.tasks.remove_stale_evidence_partials",
        "schedule": 3600,
        "options": {"expires": 50 * 60},
    },
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Two lanes. A decision's notice (one task per event, queued after the commit) has the queue
# `notices` to itself; everything else (sweeps, retries, reports, bulk deliveries) takes the
# default queue. A worker started without -Q serves both; `make run` and docs/deployment.md run
# one small worker on `notices` alone and the main one on `celery`, so that no backlog on the
# default queue (a prefetched window, both pool processes busy with a sweep or an export) stands
# in front of a fresh decision. Neither transport serves one queue before another by itself.
NOTICE_QUEUE = "notices"
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name), routing_key=name) for name in (NOTICE_QUEUE, CELERY_TASK_DEFAULT_QUEUE)
)
CELERY_TASK_ROUTES = {"notifications.tasks.deliver_outbox_message": {"queue": NOTICE_QUEUE}}
# The reminder tasks ack late (set on the tasks themselves: they are idempotent); a worker then
# holds one message at a time, so a crash hands back only the task it was running.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if not REDIS_URL:
    # The filesystem transport runs Celery's blocking loop, which acknowledges finished tasks only
    # between its 2-second waits for news: with one message per process in hand a worker took
    # one task per second, however short. A window of many keeps the queue moving at the speed of
    # its tasks (make run's demo; a crash loses what is held, and the beat's catch-up delivers it).
    CELERY_WORKER_PREFETCH_MULTIPLIER = 256
# No task runs for ever: past the soft limit it gets SoftTimeLimitExceeded (and can clean up),
# past the hard limit its worker process is replaced. Tasks that need longer say so themselves.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)

# =============================================================================================
# Security: passwords, login throttling, sessions, cookies, HTTPS, CSP.
# Production (DEBUG=0) is secure by default; every switch below is an environment variable so
# that `python manage.py check --deploy` passes with DEBUG=0, SECRET_KEY and ALLOWED_HOSTS alone.
# docs/deployment.md explains each one.
# =============================================================================================
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "accounts.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Spaces only, or spaces around: refused.
    {"NAME": "accounts.password_validation.WhitespaceValidator"},
]

# Login throttling (django-axes): 5 failures for one username from one IP lock that pair out for
# 15 minutes; 20 from one IP over all usernames lock that IP out. Axes' backend must come first;
# it only refuses locked-out pairs, ModelBackend logs in.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
    # The unified identity service; each authenticates no one while its switch below is off.
    "accounts.oidc.OidcBackend",
    "accounts.cas.CasBackend",
]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_VERBOSE = False
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Password spraying (one address, many usernames): the address is locked out too once its failures
# over all usernames reach this many within the cool-off (accounts/lockout.py). 0 turns it off.
AXES_HANDLER = "accounts.lockout.LoginLockoutHandler"
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 20)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_HTTP_RESPONSE_CODE = 429
# Failed attempts during a lockout do not extend it: an attacker cannot keep a colleague locked
# out for ever by retrying every 14 minutes.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_COOLOFF_MESSAGE = "登录失败次数过多，账户已暂时锁定，请稍后再试。"
AXES_PERMALOCK_MESSAGE = "登录失败次数过多，账户已锁定，请联系系统管理员解锁。"
# Behind reverse proxies the client address is in X-Forwarded-For: TRUSTED_PROXY_COUNT says how
# many proxies (each appending one address) stand in front of the app; 0 means REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"

# Sign-in through the unified identity service (统一身份认证): OpenID Connect (authorization code
# with PKCE, mozilla-django-oidc) and CAS 2.0/3.0 (django-cas-ng), each switched on here. The
# local form stays for the admin and break-glass accounts. docs/deployment.md: how to connect one.
OIDC_ENABLED = env_bool("OIDC_ENABLED", False)
OIDC_OP_ISSUER = os.environ.get("OIDC_OP_ISSUER", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_OP_LOGOUT_ENDPOINT = os.environ.get("OIDC_OP_LOGOUT_ENDPOINT", "")  # end_session_endpoint
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid profile email")
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of the RP-initiated logout
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
if OIDC_ENABLED:
    _missing = [
        name
        for name in (
            "OIDC_OP_ISSUER",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
            "OIDC_RP_CLIENT_ID",
            "OIDC_RP_CLIENT_SECRET",
        )
        if not globals()[name]
    ]
    if _missing:
        raise ImproperlyConfigured(f"OIDC_ENABLED=1 needs {', '.join(_missing)}")
CAS_ENABLED = env_bool("CAS_ENABLED", False)
CAS_SERVER_URL = os.environ.get("CAS_SERVER_URL", "")
CAS_VERSION = os.environ.get("CAS_VERSION", "3")  # "2" or "3" (attributes in p3/serviceValidate)
CAS_LOGIN_MSG = None
CAS_LOGGED_MSG = None
CAS_REDIRECT_URL = "/"
CAS_CREATE_USER = False  # accounts.sso creates people, through the admin's mapping
if CAS_ENABLED and not CAS_SERVER_URL:
    raise ImproperlyConfigured("CAS_ENABLED=1 needs CAS_SERVER_URL")
# Whom a person whose identity maps to no body here should ask (shown on the refusal page).
SSO_HELP_CONTACT = os.environ.get("SSO_HELP_CONTACT", "本单位负责本系统账号的系统管理员")

# Sessions: a working day, optionally ending when the browser closes.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The CSRF cookie stays readable by our own scripts (htmx sends it as X-CSRFToken); Django's
# docs explain why HttpOnly on it adds nothing. CSRF_COOKIE_HTTPONLY=1 if templates carry the token.
CSRF_COOKIE_HTTPONLY = env_bool("CSRF_COOKIE_HTTPONLY", False)

# HTTPS. TLS usually ends at nginx: then set SECURE_PROXY_SSL_HEADER=1 (nginx must set
# X-Forwarded-Proto itself, overwriting what the client sent). SECURE_SSL_REDIRECT=0 when nginx
# already redirects port 80.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
_TLS_AT_PROXY = env_bool("SECURE_PROXY_SSL_HEADER", False)
if _TLS_AT_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer probes over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = []
if not SECURE_SSL_REDIRECT and _TLS_AT_PROXY:
    # A deliberate choice: the TLS-terminating proxy redirects HTTP to HTTPS, not the app.
    SILENCED_SYSTEM_CHECKS.append("security.W008")

# Content-Security-Policy (django-csp): only our own scripts, styles and images. Templates have
# no inline <script>, <style> or on* handlers; data goes through data-* or json_script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# =============================================================================================
# Language and time: Simplified Chinese, Asia/Shanghai (core.clock.today() follows TIME_ZONE).
# =============================================================================================
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# Chinese for third-party apps that lack it (django-axes, parts of django-celery-beat).
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True
CELERY_TIMEZONE = TIME_ZONE

# =============================================================================================
# Static and uploaded files
# =============================================================================================
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Front-end libraries come from npm (package.json) and are served by the app itself:
# government networks are closed, nothing may load from a CDN.
NODE_MODULES = BASE_DIR / "node_modules"
for _prefix, _path in [("vendor/echarts", "echarts/dist"), ("vendor/htmx", "htmx.org/dist")]:
    if (NODE_MODULES / _path).is_dir():
        STATICFILES_DIRS.append((_prefix, NODE_MODULES / _path))
# Static files are ours alone: no Access-Control-Allow-Origin: * (WhiteNoise's default).
WHITENOISE_ALLOW_ALL_ORIGINS = False
STORAGES = {
    # Evidence: each file written once, whole (core.storage), so a backup can copy while uploads go on.
    "default": {"BACKEND": "core.storage.WriteOnceStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Evidence files live outside the static root and are only served through a permission check.
MEDIA_ROOT = Path(os.environ.get("EVIDENCE_ROOT", VAR_DIR / "evidence"))
# Never routed: evidence is downloaded only through a view that checks permissions.
MEDIA_URL = "/_private-not-served/"
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 50 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Uploaded files keep the name as sent (`client_name`), to be refused rather than silently repaired.
FILE_UPLOAD_HANDLERS = [
    "core.uploads.ClientNameUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Finished exports live next to the evidence store (never under the static root), served after a check.
REPORTS_ROOT = Path(os.environ.get("REPORTS_ROOT", MEDIA_ROOT.parent / "exports"))

# =============================================================================================
# Email: console in development, SMTP in production (EMAIL_BACKEND / EMAIL_HOST ...).
# =============================================================================================
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "督办系统 <noreply@tracker.local>")
# The base of the links in emails and robot messages.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# =============================================================================================
# API (Django REST framework, drf-spectacular)
# =============================================================================================
REST_FRAMEWORK = {
    # Token authentication before the session: the first class names the scheme in
    # WWW-Authenticate, so an anonymous API call gets 401 rather than 403. Hashed tokens only.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON written by orjson (the same JSON as DRF's encoder for what the serializers produce;
    # docs/benchmarks.md: the dashboard grid's 26,000 cells 26 → 17 ms); the browsable API stays.
    "DEFAULT_RENDERER_CLASSES": [
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        # JSON nested deeper than any documented body is 400, not a RecursionError's 500.
        "core.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        # Refuses a multipart body cut short (400 incomplete_body) instead of dropping its last part.
        "core.parsers.CompleteMultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter with boolean filters that refuse what they do not understand.
        "core.filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
        "obligations.api.filters.StrictOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # One error shape for every API error: {"code", "message", "details"}.
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "法规义务督办系统 API",
    "DESCRIPTION": "将法规中“应当”条款转化为可督办的义务：进度、佐证材料、期限与核验。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Logged-in users only in production, unless API_DOCS_PUBLIC=1 (core/api_docs.py).
    "SERVE_PERMISSIONS": ["core.api_docs.DocsPermission"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from the app (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" or "kind": name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "ObligationStatusEnum": "obligations.models.Obligation.Status",
        "EvidenceKindEnum": "obligations.models.Evidence.Kind",
        "ClauseKindEnum": "regulations.models.Clause.Kind",
        "ReportFormatEnum": "reports.models.ExportJob.Format",
        "AmendmentTableFormatEnum": ["xlsx", "pdf"],
    },
}

API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", DEBUG)

# =============================================================================================
# Logging
# =============================================================================================
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.requestlog.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "core.requestlog.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "plain"},
        "errors": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "json"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # axes logs every successful login at INFO; failures and lockouts are WARNING and stay.
        "axes": {"level": "WARNING"},
        # Every 5xx, as one JSON line with request id and traceback (core/requestlog.py).
        "tracker.errors": {"handlers": ["errors"], "level": "ERROR", "propagate": False},
    },
}

# =============================================================================================
# The product's rules
# =============================================================================================
# The regulation's coordinating department (第五条: 工业和信息化部门 leads).
LEAD_DEPARTMENT_CODE = os.environ.get("LEAD_DEPARTMENT_CODE", "JN-GXJ")
# Whether Jinan's functional zones (高新区, 起步区, 南部山区) share the duties the text gives to
# 区县人民政府. The text does not say; the city decides.
ZONES_SHARE_DISTRICT_DUTIES = env_bool("ZONES_SHARE_DISTRICT_DUTIES", False)
# Password of the demo accounts `seed_demo` creates.
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-pass-2025")
# A body may object to an assignment within this many working days (statutory holidays skipped).
OBJECTION_WINDOW_DAYS = env_int("OBJECTION_WINDOW_DAYS", 10)
# 督查督办 亮灯: a due date within this many working days lights yellow, on every page, API,
# reminder and report (obligations.models.LightWindow).
YELLOW_WORKING_DAYS = env_int("YELLOW_WORKING_DAYS", 3)
# The admin's holiday schedule (core.calendar) is read once per this many seconds per process; the
# process that saves an edit sees it at once, the other processes within this time.
CALENDAR_CACHE_SECONDS = env_int("CALENDAR_CACHE_SECONDS", 60)
# Digest of new audit entries (and of evidence): "sha256" or "sm3" (GB/T 32905). Each entry
# records its own algorithm, so switching keeps the existing chain verifiable.
AUDIT_DIGEST_ALGORITHM = os.environ.get("AUDIT_DIGEST_ALGORITHM", "sha256").strip().lower() or "sha256"
if AUDIT_DIGEST_ALGORITHM not in {"sha256", "sm3"}:
    raise ImproperlyConfigured(f"AUDIT_DIGEST_ALGORITHM must be sha256 or sm3, got {AUDIT_DIGEST_ALGORITHM!r}")
# Signed checkpoints of the audit chain's head (obligations.audit): an HMAC key that lives only
# in the environment (never in the database), and a log file outside the database that every
# checkpoint is appended to, for the operator to ship off the machine (docs/deployment.md).
# Without a key no checkpoint is written (check --deploy warns).
AUDIT_CHECKPOINT_KEY = os.environ.get("AUDIT_CHECKPOINT_KEY", "")
if AUDIT_CHECKPOINT_KEY and len(AUDIT_CHECKPOINT_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_CHECKPOINT_KEY must be at least 32 characters")
# Keys used before the current one (comma-separated): checkpoints they signed still verify.
AUDIT_CHECKPOINT_RETIRED_KEYS = env_list("AUDIT_CHECKPOINT_RETIRED_KEYS", [])
AUDIT_CHECKPOINT_LOG = Path(os.environ.get("AUDIT_CHECKPOINT_LOG", VAR_DIR / "audit-checkpoints.log"))
# Above this many obligations an export runs as a Celery task instead of in the request.
REPORT_SYNC_MAX_ROWS = env_int("REPORT_SYNC_MAX_ROWS", 2000)
# An uploaded regulation file above this many bytes (or a PDF of more than 100 pages, or an
# amendment of a regulation with more than 200 obligations) is read and previewed by a Celery task,
# the page showing its progress; smaller work is done in the request (obligations/regulation_upload.py).
REGULATION_SYNC_MAX_BYTES = env_int("REGULATION_SYNC_MAX_BYTES", 1024 * 1024)
# The CJK TrueType font the PDF reports embed (a subset of it): wqy-zenhei.ttc from Debian's
# fonts-wqy-zenhei. Empty: found with fc-match or at Debian's path (reports/fonts.py).
REPORT_FONT_FILE = os.environ.get("REPORT_FONT_FILE", "")
# A PDF is laid out in memory (page numbers need the page count); above this many obligations the
# PDF export is a ZIP of one PDF per responsible body, built one body at a time.
REPORT_PDF_MAX_ROWS = env_int("REPORT_PDF_MAX_ROWS", 10000)
