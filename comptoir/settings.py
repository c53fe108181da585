"""One settings module, driven by the environment (see the configuration table in README.md)."""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("COMPTOIR_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment, else generated once into var/ (never committed)."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_rq",
    "django_tasks",
    "django_tasks_rq",
    "axes",
    "comptoir.core",
    "comptoir.crm",
    "comptoir.catalog",
    "comptoir.sales",
    "comptoir.billing",
    "comptoir.payments",
    "comptoir.bookings",
    "comptoir.portal",
    "comptoir.market",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "comptoir.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "comptoir.core.middleware.TenantMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "comptoir.urls"
WSGI_APPLICATION = "comptoir.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "comptoir" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "comptoir.core.context_processors.shell",
            ],
            "builtins": ["comptoir.core.templatetags.comptoir"],
        },
    }
]

# --- Database -------------------------------------------------------------------------------------
# SQLite by default (a file under var/, WAL, immediate transactions); PostgreSQL when DATABASE_URL is set.
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'comptoir.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
        ),
    }
    # Tests use a file (not memory) so that threads and worker processes share the database, as in production.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")} if env_bool("SQLITE_TEST_FILE", True) else {}
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    # Keep client-side parameter binding (server-side prepared statements can switch to generic plans).
    DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "comptoir.core.auth.EmailBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "manage:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", str(3 * 24 * 3600)))

# Lockout after repeated failed logins (django-axes): per e-mail and IP address.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "comptoir.core.views.accounts.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

# --- Sessions and security ------------------------------------------------------------------------
SESSION_COOKIE_AGE = 14 * 24 * 3600
# Payments (comptoir/payments/providers.py): Stripe when STRIPE_SECRET_KEY is set; else the offline "manual"
# provider, whose demo card form records a card payment without any money moving: on in development (DEBUG=1,
# `make run`) and off elsewhere unless PAYMENTS_OFFLINE_CHECKOUT=1 says otherwise.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_CONNECT_WEBHOOK_SECRET = os.environ.get("STRIPE_CONNECT_WEBHOOK_SECRET", "")
PAYMENTS_OFFLINE_CHECKOUT = "1" if env_bool("PAYMENTS_OFFLINE_CHECKOUT", DEBUG) else "0"

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and env_bool("HTTPS", False))
SESSION_COOKIE_SECURE = env_bool("HTTPS", False)
CSRF_COOKIE_SECURE = env_bool("HTTPS", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if env_bool("HTTPS") else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HTTPS", False)
SECURE_HSTS_PRELOAD = env_bool("HTTPS", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Internationalization -------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("Anglais"))]
LOCALE_PATHS = [BASE_DIR / "comptoir" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
# Off: with it, every integer in a template is grouped ("2 034"), ids and form values included. Amounts
# and counts are grouped where they are shown (the money filter, lists.count_label, number_format).
USE_THOUSAND_SEPARATOR = False
FORMAT_MODULE_PATH = ["comptoir.formats"]

# --- Static and media files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "comptoir" / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/sortablejs", NODE_MODULES / "sortablejs"),
]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": os.environ.get("FILE_STORAGE", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Cache, Redis, tasks --------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "comptoir"}}

TASK_BACKEND = os.environ.get("TASK_BACKEND", "immediate")  # immediate | rq
if TASK_BACKEND == "rq":
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 3600}}

# --- E-mail ---------------------------------------------------------------------------------------
# Django 6.1 mailers: SMTP when EMAIL_HOST is set; without it, files under var/mail in development (DEBUG=1,
# a developer reads them) and the machine's own mail server (localhost:25) in production.
if os.environ.get("EMAIL_HOST") or not (DEBUG or os.environ.get("EMAIL_BACKEND")):
    _email_host = os.environ.get("EMAIL_HOST", "")
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host or "localhost",
                "port": int(os.environ.get("EMAIL_PORT", "587" if _email_host else "25")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", bool(_email_host)),
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"),
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")}
            if os.environ.get("EMAIL_BACKEND", "filebased").endswith("filebased.EmailBackend")
            or not os.environ.get("EMAIL_BACKEND")
            else {},
        }
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Comptoir <no-reply@comptoir.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- SMS and document sealing ---------------------------------------------------------------------
# SMS_TRANSPORT: a class with send(message) -> provider id (comptoir.core.sms); the default only logs,
# the outbox table keeps every message.
SMS_TRANSPORT = os.environ.get("SMS_TRANSPORT", "comptoir.core.sms.LogTransport")
# Signed contracts are sealed (PAdES) with the organization's certificate: a self-signed one generated on
# first use, or a CA-issued PKCS#12 file when COMPTOIR_SEAL_PKCS12 names one (comptoir.sales.seal).
COMPTOIR_SEAL_PKCS12 = os.environ.get("COMPTOIR_SEAL_PKCS12", "")
COMPTOIR_SEAL_PKCS12_PASSWORD = os.environ.get("COMPTOIR_SEAL_PKCS12_PASSWORD", "")

# --- REST API -------------------------------------------------------------------------------------
API_RATE = os.environ.get("API_RATE", "1200/min")  # per token; "" disables the limit
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["comptoir.core.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["comptoir.core.api.permissions.HasModulePermission"],
    "DEFAULT_PAGINATION_CLASS": "comptoir.core.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": ["comptoir.core.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_SCHEMA_CLASS": "comptoir.core.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["comptoir.core.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": API_RATE},
    "EXCEPTION_HANDLER": "comptoir.core.api.errors.exception_handler",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Comptoir API",
    "DESCRIPTION": "REST API of Comptoir: flexible workspaces back office. Authenticate with "
    "`Authorization: Bearer TOKEN` (`comptoir apitoken --org SLUG --email EMAIL`).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and Redoc served from drf-spectacular-sidecar's static files: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayOperationId": False},
    "SERVE_AUTHENTICATION": [],
    "ENUM_NAME_OVERRIDES": {
        "RoleKindEnum": "comptoir.core.models.Role.Kind",
        "CompanyKindEnum": "comptoir.crm.models.Company.Kind",
        "CompanyStatusEnum": "comptoir.crm.models.Company.Status",
        "ActivityKindEnum": "comptoir.crm.models.Activity.Kind",
        "ActivityStatusEnum": "comptoir.crm.models.Activity.Status",
        "SpaceKindEnum": "comptoir.catalog.models.Space.Kind",
        "ProductKindEnum": "comptoir.catalog.models.Product.Kind",
        "GridDimensionEnum": "comptoir.catalog.models.PriceGridRule.Dimension",
        "ServiceTypeEnum": "comptoir.catalog.models.ServiceType",
        "VatRateEnum": "comptoir.catalog.models.VatRate",
        "LineKindEnum": "comptoir.sales.models.PricedLine.Kind",
        "PaymentMethodEnum": "comptoir.sales.models.PaymentMethod",
        "QuoteStatusEnum": "comptoir.sales.models.Quote.Status",
        "ContractStatusEnum": "comptoir.sales.models.Contract.Status",
        "ContractRenewalEnum": "comptoir.sales.models.Contract.Renewal",
        "InvoiceKindEnum": "comptoir.billing.models.Invoice.Kind",
        "InvoiceStatusEnum": "comptoir.billing.models.Invoice.Status",
        "InvoiceOriginEnum": "comptoir.billing.models.Invoice.Origin",
        "InvoiceLineSourceEnum": "comptoir.billing.models.InvoiceLine.Source",
        "VatCategoryEnum": "comptoir.billing.models.VatCategory",
        "ConsumptionKindEnum": "comptoir.billing.models.Consumption.Kind",
        "BillingRunStatusEnum": "comptoir.billing.models.BillingRun.Status",
        "ExportKindEnum": "comptoir.billing.models.ExportJob.Kind",
        "ExportStatusEnum": "comptoir.billing.models.ExportJob.Status",
        "PaymentReceivedMethodEnum": "comptoir.payments.models.Method",
        "ReminderChannelEnum": "comptoir.payments.models.Reminder.Channel",
        "DeliveryMethodEnum": "comptoir.billing.models.InvoiceDelivery.Method",
        "DeliveryStatusEnum": "comptoir.billing.models.InvoiceDelivery.Status",
    },
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,  # the choices' labels are French UI text
}

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "comptoir.core.context.RequestIdLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "rq.worker": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # one INFO line per login otherwise
    },
}

# Lists show exact counts up to this many rows, then "1 000+".
LIST_COUNT_LIMIT = 1000
