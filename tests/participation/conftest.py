"""Fixtures of the debates registry tests: a programmable loopback HTTP server and demo people."""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest
from django.utils import timezone

from regio.accounts.models import Membership, User


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}
    calls: list = []

    def log_message(self, *args):
        pass

    def _answer(self, method):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        self.calls.append((method, self.path, body))
        handler = self.routes.get(self.path)
        if handler is None:
            self.send_response(404)
            self.end_headers()
            return
        status, content_type, payload, delay = handler(method, body)
        if delay:
            time.sleep(delay)
        data = payload if isinstance(payload, bytes) else (json.dumps(payload).encode() if not isinstance(payload, str) else payload.encode())
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that gave up (time-out tests) is expected, not an error


@pytest.fixture
def local_server(allow_private_http):
    """A loopback server; tests set ``server.routes[path] = fn(method, body) -> (status, type, payload, delay)``."""
    handler = type("Handler", (_Handler,), {"routes": {}, "calls": []})
    server = _QuietServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    server.routes = handler.routes
    server.calls = handler.calls
    yield server
    server.shutdown()
    server.server_close()


def _user(email, **flags):
    return User.objects.create_user(email, "motdepasse-solide-123", is_active=True, email_confirmed_at=timezone.now(), **flags)


@pytest.fixture
def agent(amiens):
    user = _user("agent@amiens.test")
    Membership.objects.create(user=user, organisation=amiens, role=Membership.Role.EDITOR, status=Membership.Status.ACTIVE)
    return user


@pytest.fixture
def moderator():
    return _user("moderation@region.test", is_moderator=True)
