"""The SSRF-safe client, against a real local HTTP server."""

import http.server
import threading

import pytest

from regio.core.http import FetchError, TooLargeError, UnsafeURLError, check_url, fetch


class Handler(http.server.BaseHTTPRequestHandler):
    calls: dict = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        Handler.calls[self.path] = Handler.calls.get(self.path, 0) + 1
        if self.path == "/ok":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/big":
            self.send_response(200)
            self.end_headers()  # no Content-Length: the cap must apply while streaming
            for _ in range(100):
                self.wfile.write(b"x" * 10_000)
        elif self.path == "/flaky":
            if Handler.calls[self.path] < 3:
                self.send_response(503)
                self.end_headers()
            else:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
        elif self.path == "/to-private":
            self.send_response(302)
            self.send_header("Location", "http://10.0.0.1/secret")
            self.end_headers()
        elif self.path == "/broken":
            self.send_response(500)
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()


@pytest.fixture
def server():
    Handler.calls = {}
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/", "http://localhost/", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data",
     "http://[::1]/", "http://192.168.0.1/", "file:///etc/passwd", "ftp://example.org/", "http://user:pw@example.org/"],
)
def test_refuses_private_and_odd_urls_by_default(url, settings):
    settings.HTTP_ALLOW_PRIVATE = False
    with pytest.raises(UnsafeURLError) as exc:
        check_url(url)
    assert "refusée" in str(exc.value)


def test_loopback_refused_without_opt_in(server, settings):
    settings.HTTP_ALLOW_PRIVATE = False
    with pytest.raises(UnsafeURLError):
        fetch(server + "/ok")


def test_fetch_and_conditional_get(server, allow_private_http):
    first = fetch(server + "/ok")
    assert first.status == 200 and first.json() == {"ok": True} and first.etag == '"v1"'
    again = fetch(server + "/ok", etag=first.etag)
    assert again.not_modified and again.status == 304


def test_size_cap_applies_while_streaming(server, allow_private_http, tmp_path):
    with pytest.raises(TooLargeError):
        fetch(server + "/big", max_bytes=50_000)
    target = tmp_path / "big.bin"
    with pytest.raises(TooLargeError):
        fetch(server + "/big", max_bytes=50_000, to_file=target)
    assert not target.exists()


def test_retries_transient_errors(server, allow_private_http):
    assert fetch(server + "/flaky", retries=3, backoff_s=0.01).content == b"ok"
    assert Handler.calls["/flaky"] == 3


def test_server_error_is_reported_in_french(server, allow_private_http):
    with pytest.raises(FetchError) as exc:
        fetch(server + "/broken", retries=0)
    assert "a répondu 500" in str(exc.value)


def test_redirect_to_private_address_is_refused(server, settings):
    # The first hop (loopback) is allowed for the test; the redirect target is checked separately.
    settings.HTTP_ALLOW_PRIVATE = False
    from regio.core import http as http_module

    original = http_module.check_url

    def allow_only_loopback(url, *, allow_private=None):
        if url.startswith(server):
            return None
        return original(url, allow_private=False)

    http_module.check_url = allow_only_loopback
    try:
        with pytest.raises(UnsafeURLError):
            fetch(server + "/to-private")
    finally:
        http_module.check_url = original
