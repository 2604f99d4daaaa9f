"""CKAN Action API (2.8–2.11, DKAN-compatible): ``package_search`` paged with ``rows`` / ``start``."""

from __future__ import annotations

import json
import re

from regio.core.ingest.registry import IngestError, Page

from .base import HarvestBackend, LoopGuard, as_list, json_of, parse_items

INSEE_RE = re.compile(r"\b(\d[\dAB]\d{3})\b")


def _extras(pkg: dict) -> dict:
    extras = pkg.get("extras") or []
    if isinstance(extras, dict):
        return extras
    return {e.get("key"): e.get("value") for e in extras if isinstance(e, dict)}


def _bbox_of_geojson(value) -> list[float] | None:
    try:
        geo = json.loads(value) if isinstance(value, str) else value
        coords = []

        def walk(c):
            if isinstance(c, list | tuple) and c and isinstance(c[0], int | float):
                coords.append(c)
            elif isinstance(c, list | tuple):
                for x in c:
                    walk(x)

        walk(geo.get("coordinates"))
        if not coords:
            return None
        xs, ys = [c[0] for c in coords], [c[1] for c in coords]
        return [min(xs), min(ys), max(xs), max(ys)]
    except (ValueError, TypeError, AttributeError, IndexError):
        return None


def parse_package(pkg: dict) -> dict:
    """One CKAN package dict (package_show / package_search result) → normalised record."""
    if not isinstance(pkg, dict):
        raise ValueError("Le jeu de données n'est pas un objet JSON.")
    extras = _extras(pkg)
    org = pkg.get("organization") or {}
    tags = [t.get("display_name") or t.get("name") if isinstance(t, dict) else t for t in as_list(pkg.get("tags"))]
    themes = [g.get("title") or g.get("name") for g in as_list(pkg.get("groups")) if isinstance(g, dict)]
    themes += [c.get("title") or c.get("name") for c in as_list(pkg.get("category")) if isinstance(c, dict)]
    themes += [str(t) for t in as_list(pkg.get("theme"))] + [str(t) for t in as_list(extras.get("theme"))]
    spatial = pkg.get("spatial") or extras.get("spatial")
    bbox = _bbox_of_geojson(spatial) if spatial else None
    insee = []
    for value in (extras.get("spatial-uri"), extras.get("spatial_uri"), pkg.get("spatial_uri"), extras.get("code_insee")):
        for v in as_list(value):
            insee += INSEE_RE.findall(str(v))
    for cov in as_list(pkg.get("spatial_coverage")):
        if isinstance(cov, dict):
            insee += INSEE_RE.findall(str(cov.get("uri") or ""))
            bbox = bbox or _bbox_of_geojson(cov.get("bbox") or cov.get("geom"))
    temporal = (as_list(pkg.get("temporal_coverage")) or [{}])[0]
    resources = []
    for res in as_list(pkg.get("resources")):
        if not isinstance(res, dict) or res.get("state", "active") != "active":
            continue
        resources.append({"title": res.get("name") or res.get("title") or "", "url": res.get("url") or res.get("access_url") or "",
                          "format": res.get("format") or res.get("mimetype") or "", "description": res.get("description") or "",
                          "schema": res.get("schema") or res.get("conforms_to") or ""})
    landing = pkg.get("url") if str(pkg.get("url") or "").startswith("http") else ""
    return {
        "title": pkg.get("title") or pkg.get("name") or "",
        "description": pkg.get("notes") or pkg.get("description") or "",
        "identifier": pkg.get("uri") or extras.get("uri") or extras.get("dcat_identifier") or pkg.get("identifier") or extras.get("identifier") or extras.get("guid") or "",
        "landing_page": landing or extras.get("landing_page") or "",
        "publisher": org.get("title") or org.get("name") or pkg.get("author") or "",
        "licence": pkg.get("license_id") or pkg.get("license_url") or pkg.get("license_title") or extras.get("license") or "",
        "themes": [t for t in themes if t],
        "keywords": [t for t in tags if t],
        "frequency": pkg.get("frequency") or extras.get("frequency") or extras.get("accrual_periodicity") or extras.get("update_frequency") or "",
        "insee": list(dict.fromkeys(insee)),
        "bbox": bbox,
        "temporal_start": (temporal.get("start") if isinstance(temporal, dict) else None) or extras.get("temporal_start"),
        "temporal_end": (temporal.get("end") if isinstance(temporal, dict) else None) or extras.get("temporal_end"),
        "contact_name": pkg.get("maintainer") or pkg.get("author") or "",
        "contact_email": pkg.get("maintainer_email") or pkg.get("author_email") or "",
        "resources": resources,
        "modified": pkg.get("metadata_modified") or "",
    }


def parse_response(data) -> tuple[list[dict], int | None]:
    """package_search (2.8–2.11, DKAN: result list), package_show or a bare package list → (packages, count)."""
    if isinstance(data, dict) and "success" in data:
        if not data.get("success"):
            err = data.get("error") or {}
            raise IngestError(f"Le portail CKAN a répondu une erreur : {err.get('message') or err}.")
        data = data.get("result")
    if isinstance(data, dict) and "results" in data:
        return list(data.get("results") or []), data.get("count")
    if isinstance(data, dict) and ("name" in data or "id" in data):
        return [data], 1
    if isinstance(data, list):
        return data, None
    raise IngestError("Réponse CKAN inattendue : ni « results » ni jeu de données.")


def endpoint(url: str) -> str:
    url = url.rstrip("/")
    if "/action/" in url or url.endswith(".json"):
        return url
    return url + "/api/3/action/package_search"


class CkanBackend(HarvestBackend):
    label = "CKAN"
    prefetch_pages = True  # read() touches no database: the next page is fetched while one is written

    def _page(self, source, packages, start):
        return parse_items(
            packages, lambda pkg: None if isinstance(pkg, dict) and pkg.get("private") else parse_package(pkg),
            lambda pkg, index: str((pkg.get("id") or pkg.get("name")) if isinstance(pkg, dict) else f"#{start + index}"),
        )

    def read(self, source, cursor, fetch):
        path = fetch.local_path()
        if path is not None:
            packages, _count = parse_response(json_of(fetch.document(), path.name))
            records, errors = self._page(source, packages, 0)
            yield Page(records, cursor="done", errors=errors)
            return
        rows = self.page_size(source)
        start = int(cursor or 0)
        guard = LoopGuard(source)
        options = source.filters or {}
        params_base = {"rows": rows}
        if options.get("fq") or options.get("organization"):
            params_base["fq"] = options.get("fq") or f'organization:"{options["organization"]}"'
        if options.get("q"):
            params_base["q"] = options["q"]
        url = endpoint(source.url)
        while True:
            guard.pointer(str(start))
            result = fetch(url, params={**params_base, "start": start}, headers={"Accept": "application/json"})
            packages, count = parse_response(json_of(result, f"page commençant à {start}"))
            records, errors = self._page(source, packages, start)
            guard.records([r.remote_id for r in records])
            start += len(packages)
            yield Page(records, cursor=str(start), errors=errors)
            if not packages:
                if count is not None and start < count:
                    raise IngestError(
                        f"Page tronquée : le portail annonce {count} jeux de données mais n'en renvoie plus après {start} ; "
                        "rien n'a été archivé."
                    )
                return
            if (count is not None and start >= count) or (count is None and len(packages) < rows):
                return
