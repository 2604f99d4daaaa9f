"""Django settings for Regio.

Every setting comes from a ``REGIO_*`` environment variable with an embedded default, so that a
fresh checkout runs with SQLite in ``var/`` and PostgreSQL is one variable away.
"""

import os
import sys
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(f"REGIO_{name}", default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name, "1" if default else "0").strip().lower()
    return value in {"1", "true", "yes", "on", "oui"}


VAR_DIR = Path(env("VAR_DIR", str(BASE_DIR / "var")))
# Real reference data and standards live beside the checkout, never inside it.
SHARED_DIR = Path(env("SHARED_DIR", str(BASE_DIR.parent / "shared")))

SECRET_KEY = env("SECRET_KEY", "regio-dev-only-secret-change-me-in-production-0123456789")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SITE_URL = env("SITE_URL", f"http://127.0.0.1:{env('PORT', '8000')}")

# The région this platform serves (INSEE code); the demo région is Hauts-de-France.
REGION_CODE = env("REGION", "32")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "regio.core",
    "regio.territory",
    "regio.accounts",
    "regio.catalog",
    "regio.participation",
    "regio.tabular",
    "regio.quality",
    "regio.crowdfunding",
    "regio.harvest",
    "regio.datarequests",
    "regio.finance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "regio.core.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "regio.urls"
WSGI_APPLICATION = "regio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "regio.core.context_processors.platform",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'regio.sqlite3'}"),
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while the worker writes; the busy timeout makes concurrent
    # writers wait instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "core:home"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "regio" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
TABULAR_ROOT = Path(env("TABULAR_ROOT", str(VAR_DIR / "tabular")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Mail: written to files in var/mail by default so confirmation links can be read locally.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Regio <ne-pas-repondre@regio.localhost>")

# Under pytest, jobs run immediately (deterministic tests); the "database" alias stays available
# so a test can exercise the real queue and `regio worker`.
_TESTING = "pytest" in Path(sys.argv[0]).as_posix()
_DEFAULT_TASK_BACKEND = "django_tasks.backends.immediate.ImmediateBackend" if _TESTING else "django_tasks_db.DatabaseBackend"
TASKS = {
    "default": {"BACKEND": env("TASK_BACKEND", _DEFAULT_TASK_BACKEND), "QUEUES": ["default"]},
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
}
# Catalogue resources given by URL are downloaded (SSRF-safe) and converted by regio.tabular; off
# under pytest, where tests opt in with a local server (tests never reach the network).
TABULAR_CATALOG_DOWNLOADS = env_bool("TABULAR_CATALOG_DOWNLOADS", not _TESTING)

# Outgoing HTTP (core.http): private, loopback and link-local targets are refused unless a test
# or a local deployment opts in explicitly.
HTTP_ALLOW_PRIVATE = env_bool("HTTP_ALLOW_PRIVATE", False)
HTTP_TIMEOUT_S = float(env("HTTP_TIMEOUT_S", "20"))
HTTP_MAX_BYTES = int(env("HTTP_MAX_BYTES", str(200 * 1024 * 1024)))
HTTP_USER_AGENT = env("HTTP_USER_AGENT", "Regio/0.1 (+https://github.com/regio)")

API_PAGE_SIZE = 20
API_MAX_PAGE_SIZE = 1000

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}

# Catalogue: largest resource file accepted on upload, in megabytes.
MAX_UPLOAD_MB = int(env("MAX_UPLOAD_MB", "100"))
REGIO_MAX_UPLOAD_MB = MAX_UPLOAD_MB
