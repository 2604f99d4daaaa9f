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


def pytest_collection_modifyitems(config, items):
    # Browser tests use a transactional live server that empties the database afterwards:
    # run them last so the session-wide reference data stays for everything else.
    # The same for any other test on the live server (e.g. API clients driven over HTTP).
    items.sort(
        key=lambda item: item.get_closest_marker("browser") is not None or "live_server" in getattr(item, "fixturenames", ())
    )


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
def mailbox(settings):
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox
