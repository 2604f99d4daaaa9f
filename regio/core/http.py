"""The one way Regio fetches anything from outside: SSRF-safe, bounded, retried, conditional.

Every outgoing request in every app goes through :func:`fetch`. It refuses URLs whose host
resolves to a private, loopback, link-local, multicast or reserved address (unless the deployment
or a test opts in with ``REGIO_HTTP_ALLOW_PRIVATE`` / ``allow_private=True``), re-checks every
redirect hop, streams the body with a byte cap, retries transient failures with back-off, and
sends ``If-None-Match`` / ``If-Modified-Since`` when given a previous validator.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings

ALLOWED_SCHEMES = {"http", "https"}
MAX_REDIRECTS = 5
RETRY_STATUSES = {429, 502, 503, 504}


class FetchError(Exception):
    """A fetch failed; ``str(exc)`` is a French sentence fit for a report."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class UnsafeURLError(FetchError):
    pass


class TooLargeError(FetchError):
    pass


@dataclass
class FetchResult:
    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    path: Path | None = None
    not_modified: bool = False

    @property
    def etag(self) -> str:
        return self.headers.get("etag", "")

    @property
    def last_modified(self) -> str:
        return self.headers.get("last-modified", "")

    def text(self, encoding: str = "utf-8") -> str:
        data = self.path.read_bytes() if self.path else self.content
        return data.decode(encoding, errors="replace")

    def json(self):
        import json

        try:
            return json.loads(self.path.read_bytes() if self.path else self.content)
        except ValueError as exc:
            raise FetchError(f"La réponse de {self.url} n'est pas un JSON valide ({exc}).", url=self.url) from exc


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


def check_url(url: str, *, allow_private: bool | None = None) -> None:
    """Raise :class:`UnsafeURLError` unless ``url`` may be fetched."""
    if allow_private is None:
        allow_private = settings.HTTP_ALLOW_PRIVATE
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeURLError(f"Adresse refusée : seuls les schémas http et https sont acceptés ({url}).", url=url)
    if not parts.hostname:
        raise UnsafeURLError(f"Adresse refusée : nom d'hôte manquant ({url}).", url=url)
    if parts.username or parts.password:
        raise UnsafeURLError("Adresse refusée : les identifiants dans l'URL ne sont pas acceptés.", url=url)
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise FetchError(f"Le nom d'hôte {parts.hostname} est introuvable ({exc}).", url=url) from exc
    for info in infos:
        address = info[4][0]
        if not _is_public(address):
            raise UnsafeURLError(
                f"Adresse refusée : {parts.hostname} désigne une adresse privée, locale ou réservée ({address}).",
                url=url,
            )


def fetch(
    url: str,
    *,
    method: str = "GET",
    params: dict | None = None,
    data: bytes | dict | None = None,
    json_body=None,
    headers: dict[str, str] | None = None,
    etag: str = "",
    last_modified: str = "",
    max_bytes: int | None = None,
    timeout: float | None = None,
    retries: int = 2,
    backoff_s: float = 0.5,
    to_file: Path | None = None,
    allow_private: bool | None = None,
    client: httpx.Client | None = None,
) -> FetchResult:
    """Fetch ``url`` safely. Raise :class:`FetchError` (French message) on any failure."""
    max_bytes = max_bytes or settings.HTTP_MAX_BYTES
    timeout = timeout or settings.HTTP_TIMEOUT_S
    request_headers = {"User-Agent": settings.HTTP_USER_AGENT, **(headers or {})}
    if etag:
        request_headers["If-None-Match"] = etag
    if last_modified:
        request_headers["If-Modified-Since"] = last_modified
    own_client = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)
    try:
        attempt = 0
        while True:
            try:
                return _fetch_following_redirects(
                    client, method, url, params, data, json_body, request_headers, max_bytes, to_file, allow_private
                )
            except FetchError as exc:
                transient = exc.status in RETRY_STATUSES or (exc.status is None and isinstance(exc.__cause__, httpx.TransportError))
                if not transient or attempt >= retries or isinstance(exc, UnsafeURLError | TooLargeError):
                    raise
            attempt += 1
            time.sleep(backoff_s * (2 ** (attempt - 1)))
    finally:
        if own_client:
            client.close()


def _fetch_following_redirects(client, method, url, params, data, json_body, headers, max_bytes, to_file, allow_private):
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        check_url(current, allow_private=allow_private)
        kwargs = {"params": params, "headers": headers}
        if isinstance(data, dict):
            kwargs["data"] = data
        elif data is not None:
            kwargs["content"] = data
        if json_body is not None:
            kwargs["json"] = json_body
        try:
            with client.stream(method, current, **kwargs) as response:
                if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
                    current = urljoin(str(response.url), response.headers["location"])
                    params = None
                    if response.status_code == 303:
                        method, data, json_body = "GET", None, None
                    continue
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status_code == 304:
                    return FetchResult(url=current, status=304, headers=response_headers, not_modified=True)
                if response.status_code >= 400:
                    raise FetchError(
                        f"Le serveur {urlsplit(current).hostname} a répondu {response.status_code} pour {current}.",
                        url=current,
                        status=response.status_code,
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise TooLargeError(_too_large(current, max_bytes), url=current)
                return _read_body(response, current, response_headers, max_bytes, to_file)
        except httpx.TimeoutException as exc:
            raise FetchError(f"Délai dépassé en interrogeant {current}.", url=current) from exc
        except httpx.TransportError as exc:
            raise FetchError(f"Connexion impossible à {current} ({exc.__class__.__name__}).", url=current) from exc
    raise FetchError(f"Trop de redirections à partir de {url}.", url=url)


def _too_large(url: str, max_bytes: int) -> str:
    return f"Le fichier {url} dépasse la taille maximale autorisée ({max_bytes // (1024 * 1024)} Mo)."


def _read_body(response, url, headers, max_bytes, to_file) -> FetchResult:
    received = 0
    if to_file is not None:
        to_file.parent.mkdir(parents=True, exist_ok=True)
        with open(to_file, "wb") as out:
            for chunk in response.iter_bytes(64 * 1024):
                received += len(chunk)
                if received > max_bytes:
                    out.close()
                    to_file.unlink(missing_ok=True)
                    raise TooLargeError(_too_large(url, max_bytes), url=url)
                out.write(chunk)
        return FetchResult(url=url, status=response.status_code, headers=headers, path=to_file)
    chunks = []
    for chunk in response.iter_bytes(64 * 1024):
        received += len(chunk)
        if received > max_bytes:
            raise TooLargeError(_too_large(url, max_bytes), url=url)
        chunks.append(chunk)
    return FetchResult(url=url, status=response.status_code, headers=headers, content=b"".join(chunks))
