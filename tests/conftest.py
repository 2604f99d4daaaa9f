"""Shared fixtures: the real territory data of région 32 loaded once, and a local HTTP server.

Tests never touch the network: the local server serves the real files of ``../shared``.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest
from django.conf import settings

SHARED = Path(settings.SHARED_DIR)
TERRITORY_DIR = SHARED / "data" / "territory"


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config, items):
    # Transactional tests (live server, real concurrency) empty the database when they end: run
    # them last so the session-wide reference data stays for everything else. Those that need the
    # territory load it themselves (``reference_territory_tx``).
    items.sort(key=_is_transactional)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"Données de référence introuvables : {SHARED} (REGIO_SHARED_DIR).")
    return SHARED


def load_reference_territory():
    from regio.accounts.services import sync_collectivites
    from regio.territory.loader import load_territory

    load_territory(str(TERRITORY_DIR), region_code="32", force=True)
    sync_collectivites("32")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_reference_territory()


@pytest.fixture
def reference_territory_tx(transactional_db):
    """For transactional tests: the reference territory, loaded into the emptied database."""
    load_reference_territory()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def shared_http_server(shared_dir):
    """Serve ``../shared`` on a loopback port; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(shared_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def allow_private_http(settings):
    """Tests opt in explicitly to fetching from loopback servers."""
    settings.HTTP_ALLOW_PRIVATE = True


@pytest.fixture
def amiens():
    """The organisation of the commune of Amiens (80021)."""
    from regio.accounts.models import Organisation

    return Organisation.objects.get(kind="commune", commune_id="80021")


@pytest.fixture
def lille():
    """The organisation of the commune of Lille (59350)."""
    from regio.accounts.models import Organisation

    return Organisation.objects.get(kind="commune", commune_id="59350")


@pytest.fixture
def region_org():
    """The organisation of the région (32)."""
    from regio.accounts.models import Organisation

    return Organisation.objects.get(kind="region", region_id="32")


@pytest.fixture
def queued_tasks(settings):
    """Jobs go to the real database queue instead of running immediately (the test default)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def mailbox(settings):
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox
