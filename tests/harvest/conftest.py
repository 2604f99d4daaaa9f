"""Fixtures of the harvest tests: real payloads from ../shared/standards and a scriptable loopback portal."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from regio.accounts.models import Organisation


def standards() -> Path:
    return Path(settings.SHARED_DIR) / "standards"


def real_json(rel: str):
    return json.loads((standards() / rel).read_text(encoding="utf-8"))


def real_bytes(rel: str) -> bytes:
    return (standards() / rel).read_bytes()


class Portal:
    """A loopback HTTP server; ``routes[path] = fn(query) -> (status, headers, body)`` (body: bytes or iterator)."""

    def __init__(self):
        self.routes: dict = {}
        self.requests: list[tuple[str, dict]] = []
        portal = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                portal.requests.append((parts.path, query))
                route = portal.routes.get(parts.path)
                if route is None:
                    status, headers, body = 404, {}, b"not found"
                else:
                    status, headers, body = route(query)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                try:
                    if isinstance(body, bytes | str):
                        data = body.encode() if isinstance(body, str) else body
                        if "Content-Length" not in headers:
                            self.send_header("Content-Length", str(len(data)))
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.wfile.write(data)
                    else:  # streamed without length, connection closed at the end
                        self.send_header("Connection", "close")
                        self.end_headers()
                        for chunk in body:
                            self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def json_route(self, path, fn):
        self.routes[path] = lambda q: (200, {"Content-Type": "application/json"}, json.dumps(fn(q)).encode())

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def portal(allow_private_http):
    p = Portal()
    yield p
    p.close()


def slow_body(seconds: float):
    def gen():
        time.sleep(seconds)
        yield b"{}"
    return gen()


@pytest.fixture
def region_org(db):
    return Organisation.objects.get(kind="region", region_id="32")


@pytest.fixture
def amiens(db):
    return Organisation.objects.get(kind="commune", commune_id="80021")


@pytest.fixture
def somme(db):
    return Organisation.objects.get(kind="departement", departement_id="80")


def ckan_page_route(packages: list[dict]):
    """package_search over real packages, paged with rows/start like CKAN."""
    def route(q):
        rows, start = int(q.get("rows", 10)), int(q.get("start", 0))
        return {"help": "", "success": True, "result": {"count": len(packages), "results": packages[start:start + rows]}}
    return route


def make_source(kind, url="", owner=None, **kw):
    from regio.harvest.models import HarvestSource

    return HarvestSource.objects.create(kind=kind, name=kw.pop("name", f"Portail {kind}"), url=url, owner=owner, **kw)
