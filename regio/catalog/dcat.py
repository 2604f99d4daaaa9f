"""DCAT-AP 3 export of the catalogue (Turtle, RDF/XML, JSON-LD), paged with Hydra and streamed.

The response is built one chunk of datasets at a time (one small rdflib graph per chunk, serialised
and sent), so memory stays flat whatever the size of the catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, SKOS, XSD

from .models import Dataset, regional_theme_uri, regional_themes
from .selectors import get_public_dataset, public_datasets
from .vocabularies import FREQUENCIES, FREQUENCY_BASE, LICENCES, THEME_BASE, THEMES

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
IANA = "https://www.iana.org/assignments/media-types/"
INSEE_GEO = "http://id.insee.fr/geo/"
INSEE_PATH = {"region": "region", "departement": "departement", "commune": "commune", "epci": "intercommunalite"}
THEME_SCHEME = URIRef("http://publications.europa.eu/resource/authority/data-theme")
FORMATS = {
    "csv": "text/csv", "json": "application/json", "geojson": "application/geo+json", "xml": "application/xml",
    "pdf": "application/pdf", "zip": "application/zip", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet", "txt": "text/plain", "html": "text/html",
}
EU_FILE_TYPES = {"csv": "CSV", "json": "JSON", "geojson": "GEOJSON", "xml": "XML", "pdf": "PDF", "zip": "ZIP",
                 "xlsx": "XLSX", "ods": "ODS", "txt": "TXT", "html": "HTML", "gtfs": "GTFS", "wms": "WMS_SRVC", "wfs": "WFS_SRVC"}
CONTENT_TYPES = {"ttl": "text/turtle", "rdf": "application/rdf+xml", "jsonld": "application/ld+json"}
RDFLIB_FORMATS = {"ttl": "turtle", "rdf": "pretty-xml", "jsonld": "json-ld"}
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
CHUNK = 200


def _bind(g: Graph) -> Graph:
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("skos", SKOS), ("vcard", VCARD),
                       ("spdx", SPDX), ("hydra", HYDRA), ("xsd", XSD), ("rdfs", RDFS), ("adms", ADMS)):
        g.bind(prefix, ns, override=True)
    return g


class Builder:
    """Adds datasets and their context to a graph; ``base`` is the site root (``https://host/``)."""

    def __init__(self, base: str):
        self.base = base.rstrip("/") + "/"

    def uri(self, path: str) -> URIRef:
        return URIRef(self.base + path.lstrip("/"))

    def catalog_uri(self) -> URIRef:
        return self.uri("catalog")

    @cached_property
    def regional(self) -> dict:
        return regional_themes()

    def eu_theme(self, g: Graph, code: str) -> URIRef:
        theme = URIRef(THEME_BASE + code)
        g.add((theme, RDF.type, SKOS.Concept))
        g.add((theme, SKOS.prefLabel, Literal(THEMES.get(code, code), lang="fr")))
        g.add((theme, SKOS.inScheme, THEME_SCHEME))
        g.add((THEME_SCHEME, RDF.type, SKOS.ConceptScheme))
        g.add((THEME_SCHEME, DCTERMS.title, Literal("Data theme", lang="en")))
        return theme

    def regional_theme(self, g: Graph, theme) -> URIRef:
        """A theme of the région's own: a concept of the platform's concept scheme."""
        node = URIRef(regional_theme_uri(theme.code, self.base))
        scheme = self.uri("donnees/themes")
        g.add((node, RDF.type, SKOS.Concept))
        g.add((node, SKOS.prefLabel, Literal(theme.label, lang="fr")))
        g.add((node, SKOS.notation, Literal(theme.code)))
        g.add((node, SKOS.inScheme, scheme))
        g.add((scheme, RDF.type, SKOS.ConceptScheme))
        g.add((scheme, DCTERMS.title, Literal("Thèmes régionaux", lang="fr")))
        if theme.eu_theme:
            g.add((node, SKOS.broadMatch, self.eu_theme(g, theme.eu_theme)))
        return node

    def agent(self, g: Graph, org) -> URIRef:
        node = self.uri(f"donnees/producteurs/{org.slug}")
        g.add((node, RDF.type, FOAF.Agent))
        g.add((node, FOAF.name, Literal(org.name, lang="fr")))
        return node

    def catalog(self, g: Graph, region_org=None) -> URIRef:
        node = self.catalog_uri()
        g.add((node, RDF.type, DCAT.Catalog))
        g.add((node, DCTERMS.title, Literal(f"Catalogue de données ouvertes — {region_org.name if region_org else 'Regio'}", lang="fr")))
        g.add((node, DCTERMS.description, Literal(
            "Jeux de données publiés par la région, les collectivités de son territoire, des associations et des entreprises.", lang="fr")))
        g.add((node, FOAF.homepage, self.uri("donnees/")))
        g.add((self.uri("donnees/"), RDF.type, FOAF.Document))
        if region_org is not None:
            g.add((node, DCTERMS.publisher, self.agent(g, region_org)))
        return node

    def dataset(self, g: Graph, d: Dataset, catalog: URIRef | None = None) -> URIRef:
        landing = self.uri(f"donnees/{d.slug}")
        node = URIRef(f"{landing}#jeu-de-donnees")
        g.add((node, RDF.type, DCAT.Dataset))
        if catalog is not None:
            g.add((catalog, DCAT.dataset, node))
        g.add((node, DCTERMS.identifier, Literal(str(d.uid))))
        g.add((node, DCTERMS.title, Literal(d.title, lang="fr")))
        g.add((node, DCTERMS.description, Literal(d.description.strip() or d.title, lang="fr")))
        g.add((node, DCTERMS.publisher, self.agent(g, d.publisher)))
        g.add((node, DCAT.landingPage, landing))
        g.add((landing, RDF.type, FOAF.Document))
        g.add((node, DCTERMS.issued, Literal((d.published_at or d.created_at).isoformat(), datatype=XSD.dateTime)))
        g.add((node, DCTERMS.modified, Literal(d.metadata_modified_at.isoformat(), datatype=XSD.dateTime)))
        for kw in d.keywords:
            g.add((node, DCAT.keyword, Literal(kw, lang="fr")))
        eu_codes = [c for c in d.themes if c in THEMES]
        for code in d.themes:
            regional = self.regional.get(code)
            if regional is not None:
                g.add((node, DCAT.theme, self.regional_theme(g, regional)))
                if regional.eu_theme and regional.eu_theme not in eu_codes:
                    eu_codes.append(regional.eu_theme)
        for code in eu_codes:
            g.add((node, DCAT.theme, self.eu_theme(g, code)))
        if d.frequency:
            freq = URIRef(FREQUENCY_BASE + d.frequency)
            g.add((node, DCTERMS.accrualPeriodicity, freq))
            g.add((freq, RDF.type, DCTERMS.Frequency))
            g.add((freq, SKOS.prefLabel, Literal(FREQUENCIES.get(d.frequency, d.frequency), lang="fr")))
        for t in d.territories.all():
            place = URIRef(f"{INSEE_GEO}{INSEE_PATH.get(t.level, t.level)}/{t.code}")
            g.add((node, DCTERMS.spatial, place))
            g.add((place, RDF.type, DCTERMS.Location))
            if t.name:
                g.add((place, SKOS.prefLabel, Literal(t.name, lang="fr")))
        if d.temporal_start or d.temporal_end:
            period = BNode()
            g.add((node, DCTERMS.temporal, period))
            g.add((period, RDF.type, DCTERMS.PeriodOfTime))
            if d.temporal_start:
                g.add((period, DCAT.startDate, Literal(d.temporal_start.isoformat(), datatype=XSD.date)))
            if d.temporal_end:
                g.add((period, DCAT.endDate, Literal(d.temporal_end.isoformat(), datatype=XSD.date)))
        if d.contact_name or d.contact_email:
            contact = BNode()
            g.add((node, DCAT.contactPoint, contact))
            g.add((contact, RDF.type, VCARD.Kind))
            g.add((contact, VCARD.fn, Literal(d.contact_name or d.publisher.name)))
            if d.contact_email:
                g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{d.contact_email}")))
        if d.conforms_to:
            std = URIRef(d.conforms_to)
            g.add((node, DCTERMS.conformsTo, std))
            g.add((std, RDF.type, DCTERMS.Standard))
        if d.source_url:  # the harvested original's page (dct:source would need a dcat:Dataset: SHACL violation)
            original = URIRef(d.source_url)
            g.add((node, FOAF.page, original))
            g.add((original, RDF.type, FOAF.Document))
        licence = LICENCES.get(d.licence)
        for r in d.resources.all():
            self.distribution(g, node, r, licence)
        return node

    def distribution(self, g: Graph, dataset_node: URIRef, r, licence) -> URIRef:
        node = self.uri(f"donnees/ressources/{r.uid}")
        g.add((dataset_node, DCAT.distribution, node))
        g.add((node, RDF.type, DCAT.Distribution))
        g.add((node, DCTERMS.title, Literal(r.title, lang="fr")))
        if r.description:
            g.add((node, DCTERMS.description, Literal(r.description, lang="fr")))
        access = URIRef(r.url) if (r.url and not r.file) else self.uri(r.download_path())
        g.add((node, DCAT.accessURL, access))
        g.add((node, DCAT.downloadURL, access))
        g.add((node, DCTERMS.modified, Literal(r.last_modified.isoformat(), datatype=XSD.dateTime)))
        if licence is not None:
            lic = URIRef(licence.uri)
            g.add((node, DCTERMS.license, lic))
            g.add((lic, RDF.type, DCTERMS.LicenseDocument))
            g.add((lic, DCTERMS.title, Literal(licence.title, lang="fr")))
        if r.format:
            ft = EU_FILE_TYPES.get(r.format)
            fmt = URIRef(FILE_TYPE + ft) if ft else URIRef(f"{FILE_TYPE}{r.format.upper()}")
            g.add((node, DCTERMS.format, fmt))
            g.add((fmt, RDF.type, DCTERMS.MediaTypeOrExtent))
        media = r.media_type or FORMATS.get(r.format, "")
        if media and "/" in media and " " not in media:
            mt = URIRef(IANA + media.split(";")[0].strip())
            g.add((node, DCAT.mediaType, mt))
            g.add((mt, RDF.type, DCTERMS.MediaType))
        if r.size is not None and r.size >= 0:
            g.add((node, DCAT.byteSize, Literal(r.size, datatype=XSD.nonNegativeInteger)))
        if r.checksum_sha256:
            checksum = BNode()
            g.add((node, SPDX.checksum, checksum))
            g.add((checksum, RDF.type, SPDX.Checksum))
            g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
            g.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
            g.add((checksum, SPDX.checksumValue, Literal(r.checksum_sha256, datatype=XSD.hexBinary)))
        if r.schema:
            g.add((node, DCTERMS.conformsTo, URIRef(r.schema)))
            g.add((URIRef(r.schema), RDF.type, DCTERMS.Standard))
        return node

    def paging(self, g: Graph, page_url, page: int, page_size: int, total: int) -> None:
        node = URIRef(page_url(page))
        last = max(1, -(-total // page_size))
        g.add((node, RDF.type, HYDRA.PagedCollection))
        g.add((node, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
        g.add((node, HYDRA.itemsPerPage, Literal(page_size, datatype=XSD.integer)))
        g.add((node, HYDRA.firstPage, Literal(page_url(1))))
        g.add((node, HYDRA.lastPage, Literal(page_url(last))))
        if page > 1:
            g.add((node, HYDRA.previousPage, Literal(page_url(page - 1))))
        if page < last:
            g.add((node, HYDRA.nextPage, Literal(page_url(page + 1))))


def _region_org():
    from regio.accounts.models import Organisation

    return Organisation.objects.filter(kind="region", region_id=settings.REGION_CODE).first()


def _chunks(qs, size: int = CHUNK) -> Iterator[list[Dataset]]:
    batch: list[Dataset] = []
    for d in qs.iterator(chunk_size=size):
        batch.append(d)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _serialize(g: Graph, fmt: str) -> str:
    return g.serialize(format=RDFLIB_FORMATS[fmt] if fmt != "rdf" else "xml")


def _strip_rdfxml(text: str) -> str:
    start = text.find("<rdf:RDF")
    start = text.find(">", start) + 1
    end = text.rfind("</rdf:RDF>")
    return text[start:end]


def _rdfxml_header() -> str:
    g = _bind(Graph())
    ns = "".join(f'\n   xmlns:{p}="{u}"' for p, u in g.namespaces() if p in
                 {"dcat", "dct", "foaf", "skos", "vcard", "spdx", "hydra", "xsd", "rdfs", "adms", "rdf"})
    return f'<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF{ns}\n>'


def stream_catalog(fmt: str, base: str, datasets, *, head: Graph) -> Iterator[str]:
    """Serialise ``head`` (catalogue, paging) then the datasets chunk by chunk, as one document."""
    builder = Builder(base)
    catalog = builder.catalog_uri()
    if fmt == "ttl":
        # The head is pretty Turtle (prefixes); the datasets follow as N-Triples, a subset of
        # Turtle that rdflib writes ~15 times faster than grouped Turtle: one valid document.
        yield _serialize(head, fmt)
        for batch in _chunks(datasets):
            g = Graph()
            for d in batch:
                builder.dataset(g, d, catalog)
            yield "\n" + g.serialize(format="nt")
    elif fmt == "rdf":
        yield _rdfxml_header()
        yield _strip_rdfxml(_serialize(head, fmt))
        for batch in _chunks(datasets):
            g = _bind(Graph())
            for d in batch:
                builder.dataset(g, d, catalog)
            yield _strip_rdfxml(_serialize(g, fmt))
        yield "</rdf:RDF>\n"
    else:
        yield '{"@graph": ['
        first = True
        for g in _graphs(head, datasets, builder, catalog):
            for node in json.loads(g.serialize(format="json-ld")):
                yield ("" if first else ",\n") + json.dumps(node, ensure_ascii=False)
                first = False
        yield "]}\n"


def _graphs(head, datasets, builder, catalog):
    yield head
    for batch in _chunks(datasets):
        g = _bind(Graph())
        for d in batch:
            builder.dataset(g, d, catalog)
        yield g


def _base(request) -> str:
    return request.build_absolute_uri("/")


def catalog_view(request, fmt: str):
    try:
        page = int(request.GET.get("page", "1"))
        raw_size = request.GET.get("page_size", str(DEFAULT_PAGE_SIZE))
        page_size = None if raw_size == "all" else int(raw_size)
    except ValueError:
        return HttpResponseBadRequest("Paramètres « page » et « page_size » : nombres entiers attendus.", content_type="text/plain; charset=utf-8")
    if page < 1 or (page_size is not None and not 1 <= page_size <= MAX_PAGE_SIZE):
        return HttpResponseBadRequest(
            f"« page » doit être ≥ 1 et « page_size » entre 1 et {MAX_PAGE_SIZE} (ou « all »).", content_type="text/plain; charset=utf-8"
        )
    qs = public_datasets().select_related("publisher").prefetch_related("resources", "territories").order_by("id")
    total = qs.count()
    base = _base(request)
    builder = Builder(base)
    head = _bind(Graph())
    builder.catalog(head, _region_org())
    if page_size is not None:
        start = (page - 1) * page_size
        qs = qs[start : start + page_size]

        def page_url(n: int) -> str:
            params = request.GET.copy()
            params["page"] = str(n)
            params["page_size"] = str(page_size)
            return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

        builder.paging(head, page_url, page, page_size, total)
    response = StreamingHttpResponse(stream_catalog(fmt, base, qs, head=head), content_type=f"{CONTENT_TYPES[fmt]}; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    return response


def dataset_view(request, slug: str, fmt: str):
    try:
        dataset = get_public_dataset(slug)
    except ObjectDoesNotExist:
        raise Http404("Jeu de données introuvable.")
    builder = Builder(_base(request))
    g = _bind(Graph())
    builder.dataset(g, dataset)
    text = _serialize(g, fmt)
    from django.http import HttpResponse

    return HttpResponse(text, content_type=f"{CONTENT_TYPES[fmt]}; charset=utf-8")
