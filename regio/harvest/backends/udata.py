"""udata API v1 (data.gouv.fr and its clones): ``/api/1/datasets/`` paged by ``next_page``, organisation filter."""

from __future__ import annotations

from urllib.parse import urlencode

from regio.core.ingest.registry import IngestError, Page

from .base import HarvestBackend, LoopGuard, as_list, json_of, parse_items


def parse_dataset(ds: dict, organization: dict | None = None, resources: list | None = None) -> dict:
    if not isinstance(ds, dict):
        raise ValueError("Le jeu de données n'est pas un objet JSON.")
    org = ds.get("organization") or organization or {}
    if not isinstance(org, dict):
        org = {}
    spatial = ds.get("spatial") or {}
    insee, bbox = [], None
    for zone in as_list(spatial.get("zones")):
        zid = zone if isinstance(zone, str) else (zone.get("id") or zone.get("code") or "")
        # udata zone ids: "fr:commune:80021", "fr:departement:80", "fr:commune:80021@1942-01-01"
        parts = str(zid).split("@", 1)[0].split(":")
        if len(parts) >= 3 and parts[0] == "fr":
            insee.append(parts[-1])
    geom = spatial.get("geom")
    if isinstance(geom, dict):
        from .ckan import _bbox_of_geojson

        bbox = _bbox_of_geojson(geom)
    temporal = ds.get("temporal_coverage") or {}
    contact = (as_list(ds.get("contact_points")) or [{}])[0]
    res_list = resources if resources is not None else ds.get("resources")
    return {
        "title": ds.get("title") or "",
        "description": ds.get("description") or "",
        "identifier": ds.get("uri") or (ds.get("harvest") or {}).get("remote_url") or "",
        "landing_page": ds.get("page") or "",
        "publisher": org.get("name") or "",
        "licence": ds.get("license") or "",
        "themes": [str(t) for t in as_list(ds.get("themes"))],
        "keywords": [str(t) for t in as_list(ds.get("tags"))],
        "frequency": ds.get("frequency") or "",
        "insee": insee,
        "bbox": bbox,
        "temporal_start": temporal.get("start") if isinstance(temporal, dict) else None,
        "temporal_end": temporal.get("end") if isinstance(temporal, dict) else None,
        "contact_name": contact.get("name", "") if isinstance(contact, dict) else "",
        "contact_email": contact.get("email", "") if isinstance(contact, dict) else "",
        "resources": [
            {"title": r.get("title") or "", "url": r.get("url") or r.get("latest") or "", "format": r.get("format") or r.get("mime") or "",
             "description": r.get("description") or "", "schema": r.get("schema")}
            for r in as_list(res_list) if isinstance(r, dict)
        ],
        "modified": ds.get("last_modified") or ds.get("last_update") or "",
    }


def parse_response(data) -> tuple[list[tuple[dict, dict | None, list | None]], str]:
    """A page ``{data, next_page}``, a bare list, one dataset, or udata's fixture dump → ((ds, org, res)…, next)."""
    if isinstance(data, dict) and "data" in data and isinstance(data["data"], list):
        return [(d, None, None) for d in data["data"]], data.get("next_page") or ""
    if isinstance(data, dict) and isinstance(data.get("datasets"), list):  # udata fixtures dump
        return [(d.get("dataset", d), d.get("organization"), d.get("resources")) for d in data["datasets"]], ""
    if isinstance(data, list):
        return [(d, None, None) for d in data], ""
    if isinstance(data, dict) and "title" in data:
        return [(data, None, None)], ""
    raise IngestError("Réponse udata inattendue : ni « data » ni jeu de données.")


def first_url(source) -> str:
    url = source.url.rstrip("/")
    options = source.filters or {}
    if "/api/1/" not in url:
        url += "/api/1/datasets/"
    elif not url.endswith("/"):
        url += "/"
    params = {"page_size": options.get("page_size", 100)}
    if options.get("organization"):
        params["organization"] = options["organization"]
    return url + ("&" if "?" in url else "?") + urlencode(params)


class UdataBackend(HarvestBackend):
    label = "udata"
    prefetch_pages = True  # read() touches no database: the next page is fetched while one is written

    def _page(self, items):
        def parse(item):
            ds, org, res = item
            if isinstance(ds, dict) and (ds.get("private") or ds.get("deleted") or ds.get("archived")):
                return None
            return parse_dataset(ds, org, res)

        def remote_id(item, index):
            ds = item[0]
            return str(ds.get("id") or ds.get("slug") or f"#{index}") if isinstance(ds, dict) else f"#{index}"

        return parse_items(items, parse, remote_id)

    def read(self, source, cursor, fetch):
        path = fetch.local_path()
        if path is not None:
            items, _next = parse_response(json_of(fetch.document(), path.name))
            records, errors = self._page(items)
            yield Page(records, cursor="done", errors=errors)
            return
        guard = LoopGuard(source)
        url = cursor or first_url(source)
        while url:
            guard.pointer(url)
            items, next_url = parse_response(json_of(fetch(url, headers={"Accept": "application/json"}), url))
            records, errors = self._page(items)
            guard.records([r.remote_id for r in records])
            yield Page(records, cursor=next_url or "", errors=errors)
            url = next_url
