"""OpenDataSoft: Explore API v2.1 catalogue (``/api/explore/v2.1/catalog/datasets``, limit/offset) with
export links, and the older v1 search (``/api/datasets/1.0/search``, rows/start)."""

from __future__ import annotations

import re

from regio.core.ingest.registry import IngestError, Page

from .base import HarvestBackend, LoopGuard, as_list, json_of, parse_items

EXPORTS = ("csv", "json", "geojson", "shp")


def _base(url: str) -> str:
    m = re.match(r"(https?://[^/]+)", url)
    return m.group(1) if m else ""


def parse_dataset(ds: dict, portal: str = "") -> dict:
    if not isinstance(ds, dict):
        raise ValueError("Le jeu de données n'est pas un objet JSON.")
    dataset_id = ds.get("dataset_id") or ds.get("datasetid") or ""
    metas = ds.get("metas") or {}
    default = metas.get("default") if isinstance(metas.get("default"), dict) else metas
    inspire = (ds.get("interop_metas") or metas).get("inspire") or {}
    bbox = None
    try:
        if inspire.get("extend_bounding_box_westbound_longitude"):
            bbox = [float(inspire[f"extend_bounding_box_{k}"]) for k in
                    ("westbound_longitude", "southbound_latitude", "eastbound_longitude", "northbound_latitude")]
    except (KeyError, ValueError, TypeError):
        bbox = None
    insee = []
    for value in as_list(default.get("territory")) + as_list(default.get("geographic_reference")):
        insee += re.findall(r"\b(\d[\dAB]\d{3})\b", str(value))
    v2 = "dataset_id" in ds
    resources = []
    if portal and dataset_id and (ds.get("has_records") or ds.get("features")):
        for fmt in EXPORTS:
            if fmt in ("geojson", "shp") and "geo" not in (ds.get("features") or []) and v2 is False:
                continue
            url = (f"{portal}/api/explore/v2.1/catalog/datasets/{dataset_id}/exports/{fmt}" if v2
                   else f"{portal}/explore/dataset/{dataset_id}/download/?format={fmt}")
            resources.append({"title": f"Export {fmt.upper()}", "url": url, "format": fmt})
    for att in as_list(ds.get("attachments")):
        if isinstance(att, dict):
            url = att.get("href") or att.get("url") or ""
            if not url and portal and att.get("id"):
                url = f"{portal}/api/datasets/1.0/{dataset_id}/attachments/{att['id']}/"
            resources.append({"title": att.get("title") or (att.get("metas") or {}).get("title") or att.get("id") or "",
                              "url": url, "format": att.get("mimetype") or (att.get("metas") or {}).get("mime-type") or ""})
    keywords = as_list(default.get("keyword"))
    themes = as_list(default.get("theme"))
    if len(themes) == 1 and isinstance(themes[0], str) and "," in themes[0] and v2 is False:
        themes = [themes[0]]
    return {
        "title": default.get("title") or dataset_id,
        "description": default.get("description") or "",
        "identifier": inspire.get("file_identifier") or ds.get("dataset_uid") or "",
        "landing_page": f"{portal}/explore/dataset/{dataset_id}/" if portal and dataset_id else "",
        "publisher": default.get("publisher") or "",
        "licence": default.get("license") or default.get("license_url") or "",
        "themes": [str(t) for t in themes],
        "keywords": [str(k) for k in keywords],
        "frequency": (metas.get("dcat") or {}).get("accrualperiodicity") or "" if isinstance(metas.get("dcat"), dict) else "",
        "insee": insee,
        "bbox": bbox,
        "contact_name": inspire.get("contact_individual_name") or "",
        "contact_email": inspire.get("contact_email") or "",
        "resources": resources,
        "modified": default.get("modified") or default.get("data_processed") or "",
    }


def parse_response(data) -> tuple[list[dict], int | None]:
    if isinstance(data, dict) and isinstance(data.get("results"), list):  # v2.1
        return data["results"], data.get("total_count")
    if isinstance(data, dict) and isinstance(data.get("datasets"), list):  # v1
        return data["datasets"], data.get("nhits")
    if isinstance(data, dict) and ("dataset_id" in data or "datasetid" in data):
        return [data], 1
    raise IngestError("Réponse OpenDataSoft inattendue : ni « results » (v2.1) ni « datasets » (v1).")


class OdsBackend(HarvestBackend):
    label = "OpenDataSoft"
    prefetch_pages = True  # read() touches no database: the next page is fetched while one is written

    def _page(self, items, portal):
        return parse_items(
            items, lambda ds: parse_dataset(ds, portal),
            lambda ds, index: str((ds.get("dataset_id") or ds.get("datasetid")) if isinstance(ds, dict) else "") or f"#{index}",
        )

    def read(self, source, cursor, fetch):
        options = source.filters or {}
        portal = (options.get("portal_url") or _base(source.url)).rstrip("/")
        path = fetch.local_path()
        if path is not None:
            items, _total = parse_response(json_of(fetch.document(), path.name))
            records, errors = self._page(items, portal)
            yield Page(records, cursor="done", errors=errors)
            return
        url = source.url.rstrip("/")
        v1 = "/datasets/1.0/" in url
        if not v1 and "/catalog/datasets" not in url:
            url = portal + "/api/explore/v2.1/catalog/datasets"
        size = self.page_size(source, 100)
        offset = int(cursor or 0)
        guard = LoopGuard(source)
        while True:
            guard.pointer(str(offset))
            params = {"rows": size, "start": offset} if v1 else {"limit": size, "offset": offset}
            if options.get("where") and not v1:
                params["where"] = options["where"]
            items, total = parse_response(json_of(fetch(url, params=params, headers={"Accept": "application/json"}), url))
            records, errors = self._page(items, portal)
            guard.records([r.remote_id for r in records])
            offset += len(items)
            yield Page(records, cursor=str(offset), errors=errors)
            if not items or (total is not None and offset >= total) or (total is None and len(items) < size):
                return
