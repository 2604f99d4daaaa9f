"""CSW 2.0.2 ``GetRecords`` with ISO 19139 (gmd) records, as GeoNetwork serves them; paged by
``startPosition`` / ``nextRecord``. Parsed with the standard library's ElementTree.

An answer holding an ``rdf:RDF`` (outputSchema ``http://www.w3.org/ns/dcat#``: DCAT or GeoDCAT-AP,
as GeoNetwork 4 serves them; asked for with ``filters.output_schema = "dcat"``) is read by the DCAT
backend's parser."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from regio.core.ingest.registry import IngestError, Page, Record, RecordError

from .base import HarvestBackend, LoopGuard, parse_items

NS = {
    "csw": "http://www.opengis.net/cat/csw/2.0.2",
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gco": "http://www.isotc211.org/2005/gco",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "srv": "http://www.isotc211.org/2005/srv",
    "xlink": "http://www.w3.org/1999/xlink",
    "ows": "http://www.opengis.net/ows",
}
GMD_SCHEMA = "http://www.isotc211.org/2005/gmd"
DCAT_SCHEMA = "http://www.w3.org/ns/dcat#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
INSEE_RE = re.compile(r"\b(\d[\dAB]\d{3})\b")


def _text(node) -> str:
    if node is None:
        return ""
    for path in ("gco:CharacterString", "gmx:Anchor", "gco:Date", "gco:DateTime", "gmd:URL", "gco:Decimal"):
        child = node.find(path, NS)
        if child is not None and (child.text or "").strip():
            return child.text.strip()
    return (node.text or "").strip()


def _all(node, path) -> list[str]:
    return [t for t in (_text(n) for n in node.findall(path, NS)) if t]


def _first(node, *paths):
    for path in paths:
        found = node.find(path)
        if found is not None:
            return found
    return None


def parse_metadata(md) -> dict:
    ident = md.find("gmd:identificationInfo/*", NS)
    if ident is None:
        raise ValueError("Fiche sans gmd:identificationInfo.")
    citation = ident.find("gmd:citation/gmd:CI_Citation", NS)
    title = _text(citation.find("gmd:title", NS)) if citation is not None else ""
    identifiers = _all(citation, "gmd:identifier/*/gmd:code") if citation is not None else []
    parties = ident.findall("gmd:pointOfContact/gmd:CI_ResponsibleParty", NS) + md.findall("gmd:contact/gmd:CI_ResponsibleParty", NS)
    publisher, contact_name, contact_email = "", "", ""
    for party in parties:
        role = party.find("gmd:role/gmd:CI_RoleCode", NS)
        role_value = role.get("codeListValue", "") if role is not None else ""
        org = _text(party.find("gmd:organisationName", NS))
        email = _text(party.find("gmd:contactInfo/gmd:CI_Contact/gmd:address/gmd:CI_Address/gmd:electronicMailAddress", NS))
        if org and (not publisher or role_value in ("owner", "publisher", "custodian")):
            if not publisher or role_value in ("owner", "publisher"):
                publisher = org
        contact_name = contact_name or org or _text(party.find("gmd:individualName", NS))
        contact_email = contact_email or email
    keywords, themes = [], []
    for kw_block in ident.findall("gmd:descriptiveKeywords/gmd:MD_Keywords", NS):
        words = _all(kw_block, "gmd:keyword")
        thesaurus = _text(kw_block.find("gmd:thesaurusName/gmd:CI_Citation/gmd:title", NS)).lower()
        if "inspire" in thesaurus or "theme" in thesaurus or "thème" in thesaurus:
            themes += words
        keywords += words
    themes += [t.text.strip() for t in ident.findall("gmd:topicCategory/gmd:MD_TopicCategoryCode", NS) if t.text]
    constraints = []
    for c in ident.findall("gmd:resourceConstraints/*", NS):
        constraints += _all(c, "gmd:otherConstraints") + _all(c, "gmd:useLimitation")
        for anchor in c.findall("gmd:otherConstraints/gmx:Anchor", NS):
            href = anchor.get(f"{{{NS['xlink']}}}href")
            if href:
                constraints.append(href)
    licence = next((c for c in constraints if re.search(r"licen[cs]e|odbl|etalab|creative|cc[- ]?by|cc0", c, re.I)), "")
    freq = ident.find("gmd:resourceMaintenance/gmd:MD_MaintenanceInformation/gmd:maintenanceAndUpdateFrequency/gmd:MD_MaintenanceFrequencyCode", NS)
    bbox = None
    box = ident.find(".//gmd:EX_GeographicBoundingBox", NS)
    if box is not None:
        try:
            bbox = [float(_text(box.find(f"gmd:{k}", NS)).replace(",", ".")) for k in
                    ("westBoundLongitude", "southBoundLatitude", "eastBoundLongitude", "northBoundLatitude")]
        except ValueError:
            bbox = None
    insee = []
    for desc in ident.findall(".//gmd:EX_GeographicDescription/gmd:geographicIdentifier/*/gmd:code", NS):
        insee += INSEE_RE.findall(_text(desc))
    temporal = ident.find(".//gmd:EX_TemporalExtent", NS)
    start = end = None
    if temporal is not None:
        begin = _first(temporal, ".//{http://www.opengis.net/gml/3.2}beginPosition", ".//{http://www.opengis.net/gml}beginPosition")
        finish = _first(temporal, ".//{http://www.opengis.net/gml/3.2}endPosition", ".//{http://www.opengis.net/gml}endPosition")
        start = (begin.text or "").strip() if begin is not None else None
        end = (finish.text or "").strip() if finish is not None else None
    resources = []
    for online in md.findall("gmd:distributionInfo/gmd:MD_Distribution/gmd:transferOptions/gmd:MD_DigitalTransferOptions/gmd:onLine/gmd:CI_OnlineResource", NS):
        url = _text(online.find("gmd:linkage", NS))
        protocol = _text(online.find("gmd:protocol", NS))
        name = _text(online.find("gmd:name", NS))
        resources.append({"title": name or _text(online.find("gmd:description", NS))[:100] or protocol,
                          "url": url, "format": protocol if protocol.upper().startswith("OGC") else (name if name.lower() in ("csv", "shp", "geojson") else ""),
                          "description": _text(online.find("gmd:description", NS))})
    file_id = _text(md.find("gmd:fileIdentifier", NS))
    return {
        "title": title,
        "description": _text(ident.find("gmd:abstract", NS)),
        "identifier": file_id,
        "other_identifiers": identifiers,
        "landing_page": "",
        "publisher": publisher,
        "licence": licence,
        "themes": themes,
        "keywords": keywords,
        "frequency": freq.get("codeListValue", "") if freq is not None else "",
        "insee": list(dict.fromkeys(insee)),
        "bbox": bbox,
        "temporal_start": start,
        "temporal_end": end,
        "contact_name": contact_name,
        "contact_email": contact_email,
        "resources": resources,
        "modified": _text(md.find("gmd:dateStamp", NS)),
    }


def parse_response(data: bytes) -> tuple[list[Record], list[RecordError], int, int]:
    """→ (records, errors, numberOfRecordsMatched, nextRecord)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise IngestError(f"Réponse CSW illisible (XML invalide : {exc}).") from exc
    if root.tag.endswith("ExceptionReport"):
        text = " ".join(t.strip() for t in root.itertext() if t.strip())
        raise IngestError(f"Le service CSW a répondu une exception : {text[:300]}")
    results = root.find("csw:SearchResults", NS)
    if results is None:
        raise IngestError("Réponse CSW inattendue : pas de csw:SearchResults.")
    matched = int(results.get("numberOfRecordsMatched") or 0)
    next_record = int(results.get("nextRecord") or 0)
    rdfs = results.findall(f"{{{RDF_NS}}}RDF")
    if rdfs:  # outputSchema http://www.w3.org/ns/dcat# (DCAT or GeoDCAT-AP, GeoNetwork 4): one rdf:RDF per record
        from .dcat import parse_catalog, parse_graph

        graph = parse_graph(ET.tostring(rdfs[0]), "xml", "réponse CSW (DCAT)")
        for rdf in rdfs[1:]:
            graph += parse_graph(ET.tostring(rdf), "xml", "réponse CSW (DCAT)")
        records, errors, _next = parse_catalog(graph)
        return records, errors, matched, next_record

    def parse(md):
        level = md.find("gmd:hierarchyLevel/gmd:MD_ScopeCode", NS)
        if level is not None and level.get("codeListValue") not in ("dataset", "series", None):
            return None  # services and other non-dataset records
        return parse_metadata(md)

    records, errors = parse_items(
        results.findall("gmd:MD_Metadata", NS), parse,
        lambda md, index: _text(md.find("gmd:fileIdentifier", NS)) or f"#{index + 1}", unreadable="Fiche ISO 19139 illisible",
    )
    return records, errors, matched, next_record


class CswBackend(HarvestBackend):
    label = "CSW (ISO 19139)"

    def read(self, source, cursor, fetch):
        path = fetch.local_path()
        if path is not None:
            records, errors, _m, _n = parse_response(path.read_bytes())
            yield Page(records, cursor="done", errors=errors)
            return
        size = self.page_size(source, 50)
        start = int(cursor or 1)
        guard = LoopGuard(source)
        while True:
            guard.pointer(str(start))
            params = {"service": "CSW", "version": "2.0.2", "request": "GetRecords", "typeNames": "gmd:MD_Metadata",
                      "resultType": "results", "elementSetName": "full",
                      "outputSchema": DCAT_SCHEMA if (source.filters or {}).get("output_schema") == "dcat" else GMD_SCHEMA,
                      "startPosition": start, "maxRecords": size}
            result = fetch(source.url, params=params, headers={"Accept": "application/xml"})
            records, errors, matched, next_record = parse_response(result.content)
            guard.records([r.remote_id for r in records])
            yield Page(records, cursor=str(next_record or ""), errors=errors)
            if not next_record or next_record > matched:
                return
            if next_record <= start:
                raise IngestError(
                    f"Boucle de pagination détectée sur la source « {source.name} » : nextRecord={next_record} "
                    f"n'avance pas (startPosition={start}) ; passage arrêté, rien n'a été archivé."
                )
            start = next_record
