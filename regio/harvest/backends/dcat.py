"""DCAT catalogues (RDF/XML, Turtle, JSON-LD) read with rdflib: DCAT-AP 2 and 3, GeoDCAT-AP, Hydra paging."""

from __future__ import annotations

import re

from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from regio.core.ingest.registry import IngestError, IngestItemError, Page, Record, RecordError

from .base import HarvestBackend, LoopGuard, parse_items

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
INSEE_RE = re.compile(r"(?:id\.insee\.fr/geo/(?:commune|departement|region|communeDeleguee)/|fr:(?:commune|departement):|COG/|/commune/)([\dAB]\d{1,4})")

FORMATS = {".ttl": "turtle", ".rdf": "xml", ".xml": "xml", ".jsonld": "json-ld", ".json": "json-ld", ".nt": "nt", ".n3": "n3"}
CONTENT_TYPES = {"text/turtle": "turtle", "application/rdf+xml": "xml", "application/ld+json": "json-ld",
                 "application/n-triples": "nt", "application/xml": "xml", "text/xml": "xml", "application/json": "json-ld"}


def guess_format(name: str, content_type: str = "", data: bytes = b"") -> str:
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype in CONTENT_TYPES and ctype not in ("application/json", "application/xml", "text/xml"):
        return CONTENT_TYPES[ctype]
    lowered = name.lower().split("?", 1)[0]
    for ext, fmt in FORMATS.items():
        if lowered.endswith(ext):
            return fmt
    head = data[:500].lstrip()
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"{", b"[")):
        return "json-ld"
    return "turtle"


LOCAL_CONTEXT = {
    "dcat": str(DCAT), "dct": str(DCTERMS), "dcterms": str(DCTERMS), "foaf": str(FOAF), "vcard": str(VCARD),
    "hydra": str(HYDRA), "locn": str(LOCN), "adms": str(ADMS), "rdfs": str(RDFS), "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#", "schema": "http://schema.org/",
}


def _inline_contexts(data: bytes) -> bytes:
    """Never let the JSON-LD parser fetch a remote ``@context``: replace it by a local prefix map."""
    import json

    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise IngestError(f"Document JSON-LD illisible : {exc}") from exc

    def walk(node):
        if isinstance(node, dict):
            ctx = node.get("@context")
            if isinstance(ctx, str) or (isinstance(ctx, list) and any(isinstance(c, str) for c in ctx)):
                kept = [c for c in (ctx if isinstance(ctx, list) else [ctx]) if isinstance(c, dict)]
                node["@context"] = [LOCAL_CONTEXT, *kept]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return json.dumps(doc).encode()


def parse_graph(data: bytes, fmt: str, where: str) -> Graph:
    graph = Graph()
    if fmt == "json-ld":
        data = _inline_contexts(data)
    try:
        graph.parse(data=data, format=fmt)
    except Exception as exc:  # rdflib raises many parser-specific exceptions
        raise IngestError(f"Document DCAT illisible ({where}, format {fmt}) : {exc.__class__.__name__} : {str(exc)[:300]}") from exc
    return graph


def _lit(graph, subject, predicate, lang="fr") -> str:
    values = list(graph.objects(subject, predicate))
    if not values:
        return ""
    for v in values:
        if isinstance(v, Literal) and v.language == lang:
            return str(v)
    for v in values:
        if isinstance(v, Literal) and not v.language:
            return str(v)
    return str(values[0])


def _name(graph, node) -> str:
    if node is None:
        return ""
    for pred in (FOAF.name, VCARD.fn, VCARD["organization-name"], DCTERMS.title):
        value = _lit(graph, node, pred)
        if value:
            return value
    return str(node) if isinstance(node, Literal) else ""


def _bbox(graph, node) -> list[float] | None:
    for pred in (DCAT.bbox, LOCN.geometry):
        for value in graph.objects(node, pred):
            text = str(value)
            if "POLYGON" in text.upper() or "coordinates" in text or "<gml" in text:
                numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text.split(">", 1)[-1] if text.startswith("<") else text)]
                pairs = list(zip(numbers[::2], numbers[1::2], strict=False))
                if pairs:
                    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
                    return [min(xs), min(ys), max(xs), max(ys)]
    return None


def parse_dataset(graph: Graph, ds) -> dict:
    publisher = graph.value(ds, DCTERMS.publisher)
    insee, bbox = [], None
    for spatial in graph.objects(ds, DCTERMS.spatial):
        insee += INSEE_RE.findall(str(spatial))
        bbox = bbox or _bbox(graph, spatial)
        for ident in graph.objects(spatial, DCTERMS.identifier):
            insee += INSEE_RE.findall(str(ident))
    licence = str(graph.value(ds, DCTERMS.license) or "")
    rights = ""
    resources = []
    # A standard the dataset conforms to applies to its distributions that name none of their own.
    dataset_standards = [str(c) for c in graph.objects(ds, DCTERMS.conformsTo) if not isinstance(c, BNode)]
    for dist in graph.objects(ds, DCAT.distribution):
        url = graph.value(dist, DCAT.downloadURL) or graph.value(dist, DCAT.accessURL)
        fmt = graph.value(dist, DCTERMS["format"]) or graph.value(dist, DCAT.mediaType)
        if fmt is not None and not isinstance(fmt, Literal) and graph.value(fmt, RDF.value):
            fmt = graph.value(fmt, RDF.value)
        lic_node = graph.value(dist, DCTERMS.license)
        if isinstance(lic_node, URIRef):
            licence = licence or str(lic_node)
        if lic_node is not None and not licence.startswith("http"):
            licence = licence or _lit(graph, lic_node, DCTERMS.title) or _lit(graph, lic_node, RDFS.label)
        rights = rights or _lit(graph, dist, DCTERMS.rights)
        resources.append({"title": _lit(graph, dist, DCTERMS.title) or _lit(graph, dist, DCTERMS.description)[:100],
                          "url": str(url or ""), "format": str(fmt or ""), "description": _lit(graph, dist, DCTERMS.description),
                          "schema": [str(c) for c in graph.objects(dist, DCTERMS.conformsTo) if not isinstance(c, BNode)] + dataset_standards})
    lic_node = graph.value(ds, DCTERMS.license)
    if lic_node is not None and not isinstance(lic_node, Literal) and not str(lic_node).startswith("http"):
        licence = _lit(graph, lic_node, DCTERMS.title) or _lit(graph, lic_node, RDFS.label) or licence
    contact = graph.value(ds, DCAT.contactPoint)
    email = str(graph.value(contact, VCARD.hasEmail) or "") if contact is not None else ""
    temporal = graph.value(ds, DCTERMS.temporal)
    start = end = None
    if temporal is not None:
        start = graph.value(temporal, DCAT.startDate) or graph.value(temporal, Namespace("http://schema.org/").startDate)
        end = graph.value(temporal, DCAT.endDate) or graph.value(temporal, Namespace("http://schema.org/").endDate)
    themes = [str(t) for t in graph.objects(ds, DCAT.theme) if not isinstance(t, BNode)]
    for t in graph.objects(ds, DCAT.theme):
        label = _lit(graph, t, Namespace("http://www.w3.org/2004/02/skos/core#").prefLabel)
        if label:
            themes.append(label)
    return {
        "title": _lit(graph, ds, DCTERMS.title),
        "description": _lit(graph, ds, DCTERMS.description) or _lit(graph, ds, DCTERMS.abstract),
        "identifier": str(ds) if isinstance(ds, URIRef) else _lit(graph, ds, DCTERMS.identifier),
        "other_identifiers": [str(i) for i in graph.objects(ds, DCTERMS.identifier)],
        "landing_page": str(graph.value(ds, DCAT.landingPage) or ""),
        "publisher": _name(graph, publisher),
        "licence": licence or rights,
        "themes": themes,
        "keywords": [str(k) for k in graph.objects(ds, DCAT.keyword)],
        "frequency": str(graph.value(ds, DCTERMS.accrualPeriodicity) or ""),
        "insee": list(dict.fromkeys(insee)),
        "bbox": bbox,
        "temporal_start": str(start) if start else None,
        "temporal_end": str(end) if end else None,
        "contact_name": _name(graph, contact),
        "contact_email": email.removeprefix("mailto:"),
        "resources": resources,
        "modified": str(graph.value(ds, DCTERMS.modified) or ""),
    }


def parse_catalog(graph: Graph) -> tuple[list[Record], list[RecordError], str]:
    def remote_id(ds, _index):
        return ((str(ds) if isinstance(ds, URIRef) else "") or _lit(graph, ds, DCTERMS.identifier))[:500]

    def parse(ds):
        if not remote_id(ds, 0):
            raise IngestItemError(
                "Jeu de données sans URI ni dct:identifier : impossible de le suivre d'un passage à l'autre.", field="dct:identifier"
            )
        payload = parse_dataset(graph, ds)
        if isinstance(ds, URIRef):
            payload["identifier"] = str(ds)
        return payload

    records, errors = parse_items(sorted(set(graph.subjects(RDF.type, DCAT.Dataset)), key=str), parse, remote_id)
    next_page = ""
    for pred in (HYDRA.nextPage, HYDRA.next):
        value = next(iter(graph.objects(None, pred)), None)
        if value is not None:
            next_page = str(value)
            break
    return records, errors, next_page


class DcatBackend(HarvestBackend):
    label = "DCAT"

    def read(self, source, cursor, fetch):
        path = fetch.local_path()
        if path is not None:
            data = path.read_bytes()
            records, errors, _next = parse_catalog(parse_graph(data, guess_format(path.name, "", data), path.name))
            yield Page(records, cursor="done", errors=errors)
            return
        guard = LoopGuard(source)
        url = cursor or source.url
        while url:
            guard.pointer(url)
            result = fetch(url, headers={"Accept": "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8"})
            data = result.content
            graph = parse_graph(data, guess_format(url, result.headers.get("content-type", ""), data), url)
            records, errors, next_url = parse_catalog(graph)
            guard.records([r.remote_id for r in records])
            yield Page(records, cursor=next_url, errors=errors)
            url = next_url
