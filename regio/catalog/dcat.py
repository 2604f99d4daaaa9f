"""DCAT-AP 3 export of the catalogue (Turtle, RDF/XML, JSON-LD), paged with Hydra and streamed.

The response is built one chunk of datasets at a time (one small rdflib graph per chunk, serialised
and sent), so memory stays flat whatever the size of the catalogue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.urls import reverse
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
CHUNK = 500


PREFIXES = (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("skos", SKOS), ("vcard", VCARD),
            ("spdx", SPDX), ("hydra", HYDRA), ("xsd", XSD), ("rdfs", RDFS), ("adms", ADMS))


def _bind(g: Graph) -> Graph:
    for prefix, ns in PREFIXES:
        g.bind(prefix, ns, override=True)
    return g


class _CachedNamespace:
    """An rdflib namespace whose terms, once looked up, are plain attributes (rdflib resolves
    ``DCAT.Dataset`` on every access: ~80 lookups per exported dataset)."""

    def __init__(self, namespace):
        self._namespace = namespace

    def __getattr__(self, name: str):
        term = getattr(self._namespace, name)
        setattr(self, name, term)
        return term


# The mapping below reads its constants through the cached namespaces.
RDF, DCAT, DCTERMS, FOAF, SKOS, XSD, VCARD, SPDX, HYDRA = (
    _CachedNamespace(ns) for ns in (RDF, DCAT, DCTERMS, FOAF, SKOS, XSD, VCARD, SPDX, HYDRA)
)


class Builder:
    """Adds datasets and their context to a graph; ``base`` is the site root (``https://host/``).

    The mapping is written once, against three term factories (``iri``, ``lit``, ``bnode``) and a
    graph-like ``g.add((s, p, o))``. This class builds rdflib terms for an rdflib ``Graph``;
    :class:`NTriplesBuilder` builds N-Triples text for an :class:`NTriplesSink` (the streamed
    Turtle export: no rdflib graph per dataset).
    """

    def __init__(self, base: str):
        self.base = base.rstrip("/") + "/"

    iri = staticmethod(URIRef)
    bnode = staticmethod(BNode)

    @staticmethod
    def lit(value, lang: str | None = None, datatype=None):
        return Literal(value, lang=lang, datatype=datatype)

    def uri(self, path: str):
        return self.iri(self.base + path.lstrip("/"))

    def catalog_uri(self) -> URIRef:
        return self.uri("catalog")

    @cached_property
    def regional(self) -> dict:
        return regional_themes()

    def eu_theme(self, g: Graph, code: str) -> URIRef:
        theme = self.iri(THEME_BASE + code)
        g.add((theme, RDF.type, SKOS.Concept))
        g.add((theme, SKOS.prefLabel, self.lit(THEMES.get(code, code), lang="fr")))
        g.add((theme, SKOS.inScheme, THEME_SCHEME))
        g.add((THEME_SCHEME, RDF.type, SKOS.ConceptScheme))
        g.add((THEME_SCHEME, DCTERMS.title, self.lit("Data theme", lang="en")))
        return theme

    def regional_theme(self, g: Graph, theme) -> URIRef:
        """A theme of the région's own: a concept of the platform's concept scheme."""
        node = self.iri(regional_theme_uri(theme.code, self.base))
        scheme = self.uri("donnees/themes")
        g.add((node, RDF.type, SKOS.Concept))
        g.add((node, SKOS.prefLabel, self.lit(theme.label, lang="fr")))
        g.add((node, SKOS.notation, self.lit(theme.code)))
        g.add((node, SKOS.inScheme, scheme))
        g.add((scheme, RDF.type, SKOS.ConceptScheme))
        g.add((scheme, DCTERMS.title, self.lit("Thèmes régionaux", lang="fr")))
        if theme.eu_theme:
            g.add((node, SKOS.broadMatch, self.eu_theme(g, theme.eu_theme)))
        return node

    def agent(self, g: Graph, org) -> URIRef:
        node = self.uri(f"donnees/producteurs/{org.slug}")
        g.add((node, RDF.type, FOAF.Agent))
        g.add((node, FOAF.name, self.lit(org.name, lang="fr")))
        return node

    def catalog(self, g: Graph, region_org=None) -> URIRef:
        node = self.catalog_uri()
        g.add((node, RDF.type, DCAT.Catalog))
        g.add((node, DCTERMS.title, self.lit(f"Catalogue de données ouvertes — {region_org.name if region_org else 'Regio'}", lang="fr")))
        g.add((node, DCTERMS.description, self.lit(
            "Jeux de données publiés par la région, les collectivités de son territoire, des associations et des entreprises.", lang="fr")))
        g.add((node, FOAF.homepage, self.uri("donnees/")))
        g.add((self.uri("donnees/"), RDF.type, FOAF.Document))
        if region_org is not None:
            g.add((node, DCTERMS.publisher, self.agent(g, region_org)))
        return node

    def dataset(self, g: Graph, d: Dataset, catalog: URIRef | None = None, *, resources=None, territories=None) -> URIRef:
        """``resources`` and ``territories`` default to the dataset's own (``d.resources.all()`` …)."""
        landing_url = f"{self.base}donnees/{d.slug}"
        landing = self.iri(landing_url)
        node = self.iri(f"{landing_url}#jeu-de-donnees")
        g.add((node, RDF.type, DCAT.Dataset))
        if catalog is not None:
            g.add((catalog, DCAT.dataset, node))
        g.add((node, DCTERMS.identifier, self.lit(str(d.uid))))
        g.add((node, DCTERMS.title, self.lit(d.title, lang="fr")))
        g.add((node, DCTERMS.description, self.lit(d.description.strip() or d.title, lang="fr")))
        g.add((node, DCTERMS.publisher, self.agent(g, d.publisher)))
        g.add((node, DCAT.landingPage, landing))
        g.add((landing, RDF.type, FOAF.Document))
        g.add((node, DCTERMS.issued, self.lit((d.published_at or d.created_at).isoformat(), datatype=XSD.dateTime)))
        g.add((node, DCTERMS.modified, self.lit(d.metadata_modified_at.isoformat(), datatype=XSD.dateTime)))
        for kw in d.keywords:
            g.add((node, DCAT.keyword, self.lit(kw, lang="fr")))
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
            freq = self.iri(FREQUENCY_BASE + d.frequency)
            g.add((node, DCTERMS.accrualPeriodicity, freq))
            g.add((freq, RDF.type, DCTERMS.Frequency))
            g.add((freq, SKOS.prefLabel, self.lit(FREQUENCIES.get(d.frequency, d.frequency), lang="fr")))
        for t in d.territories.all() if territories is None else territories:
            place = self.iri(f"{INSEE_GEO}{INSEE_PATH.get(t.level, t.level)}/{t.code}")
            g.add((node, DCTERMS.spatial, place))
            g.add((place, RDF.type, DCTERMS.Location))
            if t.name:
                g.add((place, SKOS.prefLabel, self.lit(t.name, lang="fr")))
        if d.temporal_start or d.temporal_end:
            period = self.bnode()
            g.add((node, DCTERMS.temporal, period))
            g.add((period, RDF.type, DCTERMS.PeriodOfTime))
            if d.temporal_start:
                g.add((period, DCAT.startDate, self.lit(d.temporal_start.isoformat(), datatype=XSD.date)))
            if d.temporal_end:
                g.add((period, DCAT.endDate, self.lit(d.temporal_end.isoformat(), datatype=XSD.date)))
        if d.contact_name or d.contact_email:
            contact = self.bnode()
            g.add((node, DCAT.contactPoint, contact))
            g.add((contact, RDF.type, VCARD.Kind))
            g.add((contact, VCARD.fn, self.lit(d.contact_name or d.publisher.name)))
            if d.contact_email:
                g.add((contact, VCARD.hasEmail, self.iri(f"mailto:{d.contact_email}")))
        if d.conforms_to:
            std = self.iri(d.conforms_to)
            g.add((node, DCTERMS.conformsTo, std))
            g.add((std, RDF.type, DCTERMS.Standard))
        if d.source_url:  # the harvested original's page (dct:source would need a dcat:Dataset: SHACL violation)
            original = self.iri(d.source_url)
            g.add((node, FOAF.page, original))
            g.add((original, RDF.type, FOAF.Document))
        licence = LICENCES.get(d.licence)
        for r in d.resources.all() if resources is None else resources:
            self.distribution(g, node, r, licence)
        return node

    def distribution(self, g: Graph, dataset_node: URIRef, r, licence) -> URIRef:
        node = self.uri(f"donnees/ressources/{r.uid}")
        g.add((dataset_node, DCAT.distribution, node))
        g.add((node, RDF.type, DCAT.Distribution))
        g.add((node, DCTERMS.title, self.lit(r.title, lang="fr")))
        if r.description:
            g.add((node, DCTERMS.description, self.lit(r.description, lang="fr")))
        access = self.iri(r.url) if (r.url and not r.file) else self.uri(r.download_path())
        g.add((node, DCAT.accessURL, access))
        g.add((node, DCAT.downloadURL, access))
        g.add((node, DCTERMS.modified, self.lit(r.last_modified.isoformat(), datatype=XSD.dateTime)))
        if licence is not None:
            lic = self.iri(licence.uri)
            g.add((node, DCTERMS.license, lic))
            g.add((lic, RDF.type, DCTERMS.LicenseDocument))
            g.add((lic, DCTERMS.title, self.lit(licence.title, lang="fr")))
        if r.format:
            ft = EU_FILE_TYPES.get(r.format)
            fmt = self.iri(FILE_TYPE + ft) if ft else self.iri(f"{FILE_TYPE}{r.format.upper()}")
            g.add((node, DCTERMS.format, fmt))
            g.add((fmt, RDF.type, DCTERMS.MediaTypeOrExtent))
        media = r.media_type or FORMATS.get(r.format, "")
        if media and "/" in media and " " not in media:
            mt = self.iri(IANA + media.split(";")[0].strip())
            g.add((node, DCAT.mediaType, mt))
            g.add((mt, RDF.type, DCTERMS.MediaType))
        if r.size is not None and r.size >= 0:
            g.add((node, DCAT.byteSize, self.lit(r.size, datatype=XSD.nonNegativeInteger)))
        if r.checksum_sha256:
            checksum = self.bnode()
            g.add((node, SPDX.checksum, checksum))
            g.add((checksum, RDF.type, SPDX.Checksum))
            g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
            g.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
            g.add((checksum, SPDX.checksumValue, self.lit(r.checksum_sha256, datatype=XSD.hexBinary)))
        if r.schema:
            schema = self.iri(r.schema)
            g.add((node, DCTERMS.conformsTo, schema))
            g.add((schema, RDF.type, DCTERMS.Standard))
        return node

    def paging(self, g: Graph, page_url, page: int, page_size: int, total: int) -> None:
        node = URIRef(page_url(page))
        last = max(1, -(-total // page_size))
        g.add((node, RDF.type, HYDRA.PagedCollection))
        g.add((node, HYDRA.totalItems, self.lit(total, datatype=XSD.integer)))
        g.add((node, HYDRA.itemsPerPage, self.lit(page_size, datatype=XSD.integer)))
        g.add((node, HYDRA.firstPage, self.lit(page_url(1))))
        g.add((node, HYDRA.lastPage, self.lit(page_url(last))))
        if page > 1:
            g.add((node, HYDRA.previousPage, self.lit(page_url(page - 1))))
        if page < last:
            g.add((node, HYDRA.nextPage, self.lit(page_url(page + 1))))


_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _percent(match: re.Match) -> str:
    return "".join(f"%{b:02X}" for b in match.group().encode())


class NTriplesBuilder(Builder):
    """The same mapping, writing N-Triples terms (plain strings) instead of rdflib terms."""

    def __init__(self, base: str):
        super().__init__(base)
        self._bnodes = 0

    @staticmethod
    def iri(value: str) -> str:
        value = str(value)
        if _IRI_UNSAFE.search(value):  # characters N-Triples forbids in an IRI: percent-encoded
            value = _IRI_UNSAFE.sub(_percent, value)
        return f"<{value}>"

    @staticmethod
    def lit(value, lang: str | None = None, datatype=None) -> str:
        text = str(value)
        if "\\" in text or '"' in text or "\n" in text or "\r" in text:  # str.translate is ~10x slower
            text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        if lang:
            return f'"{text}"@{lang}'
        if datatype is not None:
            return f'"{text}"^^<{datatype}>'
        return f'"{text}"'

    def bnode(self) -> str:
        self._bnodes += 1
        return f"_:dcat{self._bnodes}"


class NTriplesSink:
    """A graph-like ``add`` collecting N-Triples lines, without duplicates (like an rdflib graph).

    Terms are the strings of :class:`NTriplesBuilder`, or rdflib ``URIRef`` constants
    (``RDF.type``, ``DCAT.Dataset`` …) written as ``<iri>``.
    """

    __slots__ = ("lines", "_seen")

    def __init__(self):
        self.lines: list[str] = []
        self._seen: set[str] = set()

    def add(self, triple) -> None:
        s, p, o = triple
        line = (
            f"{s if type(s) is str else f'<{s}>'} {p if type(p) is str else f'<{p}>'} "
            f"{o if type(o) is str else f'<{o}>'} .\n"
        )
        if line not in self._seen:
            self._seen.add(line)
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)


class _Row:
    """A light, read-only stand-in for a model instance (attributes only), for the export."""

    def __init__(self, **values):
        self.__dict__.update(values)


class _ResourceRow(_Row):
    _download_prefix: str | None = None

    def download_path(self) -> str:
        if _ResourceRow._download_prefix is None:
            probe = "00000000-0000-0000-0000-000000000000"
            _ResourceRow._download_prefix = reverse("catalog:resource_download", args=[probe]).replace(probe, "{}")
        return _ResourceRow._download_prefix.format(self.uid)


_DATASET_FIELDS = ("id", "uid", "slug", "title", "description", "publisher_id", "published_at", "created_at",
                   "metadata_modified_at", "keywords", "themes", "frequency", "temporal_start", "temporal_end",
                   "contact_name", "contact_email", "conforms_to", "source_url", "licence")
_RESOURCE_FIELDS = ("dataset_id", "uid", "title", "description", "url", "file", "format", "media_type", "size",
                    "checksum_sha256", "schema", "last_modified")


def export_chunks(qs, size: int = CHUNK) -> Iterator[list[tuple[_Row, list[_Row], list[_Row]]]]:
    """(dataset, resources, territories) of the datasets of ``qs`` (in id order), ``size`` at a time.

    Rows are read with ``values()`` by id ranges (no model instances, no ORM prefetch machinery),
    publishers once each: the memory held is one chunk's.
    """
    from regio.accounts.models import Organisation

    from .models import DatasetTerritory, Resource

    publishers: dict[int, _Row] = {}
    sliced = qs.query.low_mark or qs.query.high_mark is not None
    if sliced:  # a page: at most MAX_PAGE_SIZE ids
        page_ids = list(qs.values_list("id", flat=True))
        id_chunks = iter([page_ids[i : i + size] for i in range(0, len(page_ids), size)])
    else:
        id_chunks = None
    base = qs.model.objects.all() if sliced else qs.order_by("id")
    last = 0
    while True:
        if id_chunks is not None:
            ids = next(id_chunks, None)
            if not ids:
                return
            rows = list(base.filter(id__in=ids).order_by("id").values(*_DATASET_FIELDS))
        else:
            rows = list(base.filter(id__gt=last).values(*_DATASET_FIELDS)[:size])
            if not rows:
                return
            last = rows[-1]["id"]
            ids = [r["id"] for r in rows]
        missing = {r["publisher_id"] for r in rows} - publishers.keys()
        if missing:
            for pk, slug, name in Organisation.objects.filter(id__in=missing).values_list("id", "slug", "name"):
                publishers[pk] = _Row(slug=slug, name=name)
        resources: dict[int, list[_Row]] = {}
        for values in Resource.objects.filter(dataset_id__in=ids).order_by("dataset_id", "position", "id").values(*_RESOURCE_FIELDS):
            resources.setdefault(values["dataset_id"], []).append(_ResourceRow(**values))
        territories: dict[int, list[_Row]] = {}
        for dataset_id, level, code, name in DatasetTerritory.objects.filter(dataset_id__in=ids).order_by("id").values_list(
            "dataset_id", "level", "code", "name"
        ):
            territories.setdefault(dataset_id, []).append(_Row(level=level, code=code, name=name))
        chunk = []
        for values in rows:
            d = _Row(**values, publisher=publishers[values["publisher_id"]])
            chunk.append((d, resources.get(d.id, []), territories.get(d.id, [])))
        yield chunk


def _region_org():
    from regio.accounts.models import Organisation

    return Organisation.objects.filter(kind="region", region_id=settings.REGION_CODE).first()


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
        # The head is pretty Turtle (prefixes); the datasets follow as N-Triples (a subset of
        # Turtle) written directly by NTriplesBuilder, one chunk at a time: one valid document.
        yield _serialize(head, fmt)
        writer = NTriplesBuilder(base)
        catalog_term = writer.catalog_uri()
        for batch in export_chunks(datasets):
            sink = NTriplesSink()
            for d, resources, territories in batch:
                writer.dataset(sink, d, catalog_term, resources=resources, territories=territories)
            yield "\n" + sink.text()
    elif fmt == "rdf":
        yield _rdfxml_header()
        yield _strip_rdfxml(_serialize(head, fmt))
        for batch in export_chunks(datasets):
            g = _bind(Graph())
            for d, resources, territories in batch:
                builder.dataset(g, d, catalog, resources=resources, territories=territories)
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
    for batch in export_chunks(datasets):
        g = _bind(Graph())
        for d, resources, territories in batch:
            builder.dataset(g, d, catalog, resources=resources, territories=territories)
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
    qs = public_datasets().order_by("id")
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
