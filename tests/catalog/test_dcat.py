"""DCAT-AP export: validated with pyshacl against the official DCAT-AP 3.0.1 SHACL shapes."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, SKOS

from regio.catalog import services
from regio.catalog.models import RegionalTheme

pytestmark = pytest.mark.django_db
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")


SH = Namespace("http://www.w3.org/ns/shacl#")


@pytest.fixture(scope="module")
def shapes(shared_dir):
    """The official DCAT-AP 3.0.1 shapes: cardinalities (dcat-ap-SHACL.ttl) and ranges (ranges.ttl).

    ranges.ttl, as released, lists on dcat:DistributionShape a few ``sh:property`` shapes it never
    defines (pyshacl refuses such a graph): those dangling references, and only them, are dropped.
    """
    g = Graph()
    for name in ("dcat-ap-SHACL.ttl", "ranges.ttl"):
        g.parse(shared_dir / "standards" / "dcat-ap" / "3.0.1" / name)
    dangling = [(s, p, o) for s, p, o in g.triples((None, SH.property, None)) if g.value(o, SH.path) is None]
    assert len(dangling) < 10
    for triple in dangling:
        g.remove(triple)
    return g


@pytest.fixture
def rich_dataset(agent, amiens, dataset, shared_dir, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    RegionalTheme.objects.create(code="VIE-ASSO", label="Vie associative", eu_theme="SOCI")
    services.update_dataset(agent, dataset, {
        "keywords": ["subventions", "associations"], "themes": ["ECON", "GOVE", "VIE-ASSO"], "frequency": "ANNUAL",
        "temporal_start": "2024-01-01", "temporal_end": "2024-12-31", "contact_name": "Service des données",
        "contact_email": "donnees@amiens.fr", "territories": ["80021", "200070969", "80"],
        "conforms_to": "https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json",
    })
    content = (shared_dir / "standards" / "schemas" / "scdl-subventions" / "exemple_valide.csv").read_bytes()
    services.add_resource(agent, dataset, title="Fichier déposé", upload=SimpleUploadedFile("subventions.csv", content, "text/csv"),
                          schema="https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json")
    services.create_dataset(agent, amiens, {"title": "Minimal", "licence": "cc-zero"}, publish=True)
    return dataset


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


def assert_conforms(data: Graph, shapes: Graph):
    conforms, _report_graph, report = validate(data, shacl_graph=shapes, inference="rdfs", allow_warnings=True)
    assert conforms, report


@pytest.mark.parametrize("fmt,parser", [("ttl", "turtle"), ("rdf", "xml"), ("jsonld", "json-ld")])
def test_catalog_has_zero_shacl_violations(client, rich_dataset, shapes, fmt, parser):
    response = client.get(f"/catalog.{fmt}")
    assert response.status_code == 200
    assert response.streaming
    g = Graph().parse(data=body(response), format=parser)
    assert len(list(g.subjects(RDF.type, DCAT.Dataset))) == 2
    assert len(list(g.subjects(RDF.type, DCAT.Distribution))) == 2
    assert_conforms(g, shapes)


def test_dataset_export_carries_the_metadata(client, rich_dataset, shapes):
    g = Graph().parse(data=client.get(f"/donnees/{rich_dataset.slug}/dcat.ttl").content.decode(), format="turtle")
    ds = URIRef(f"http://testserver/donnees/{rich_dataset.slug}#jeu-de-donnees")
    assert (ds, RDF.type, DCAT.Dataset) in g
    assert str(g.value(ds, DCTERMS.title)) == "Subventions versées aux associations"
    themes = {str(t) for t in g.objects(ds, DCAT.theme)}
    # The regional theme, and the EU theme it maps to.
    assert themes == {"http://publications.europa.eu/resource/authority/data-theme/ECON",
                      "http://publications.europa.eu/resource/authority/data-theme/GOVE",
                      "http://testserver/donnees/themes/VIE-ASSO",
                      "http://publications.europa.eu/resource/authority/data-theme/SOCI"}
    regional = URIRef("http://testserver/donnees/themes/VIE-ASSO")
    scheme = URIRef("http://testserver/donnees/themes")
    assert (regional, RDF.type, SKOS.Concept) in g and (scheme, RDF.type, SKOS.ConceptScheme) in g
    assert g.value(regional, SKOS.prefLabel) == Literal("Vie associative", lang="fr")
    assert g.value(regional, SKOS.inScheme) == scheme
    assert str(g.value(regional, SKOS.broadMatch)) == "http://publications.europa.eu/resource/authority/data-theme/SOCI"
    assert str(g.value(ds, DCTERMS.accrualPeriodicity)) == "http://publications.europa.eu/resource/authority/frequency/ANNUAL"
    assert {str(s) for s in g.objects(ds, DCTERMS.spatial)} == {
        "http://id.insee.fr/geo/commune/80021", "http://id.insee.fr/geo/intercommunalite/200070969",
        "http://id.insee.fr/geo/departement/80"}
    licences = {str(o) for o in g.objects(None, DCTERMS.license)}
    assert licences == {"https://www.etalab.gouv.fr/licence-ouverte-open-licence/"}
    assert_conforms(g, shapes)


def test_paging_is_described_with_hydra(client, agent, amiens):
    for i in range(5):
        services.create_dataset(agent, amiens, {"title": f"Jeu {i}", "licence": "lov2"}, publish=True)
    g = Graph().parse(data=body(client.get("/catalog.ttl?page=2&page_size=2")), format="turtle")
    assert len(list(g.subjects(RDF.type, DCAT.Dataset))) == 2
    page = next(g.subjects(RDF.type, HYDRA.PagedCollection))
    assert int(g.value(page, HYDRA.totalItems)) == 5
    assert str(g.value(page, HYDRA.nextPage)).endswith("page=3&page_size=2")
    assert str(g.value(page, HYDRA.previousPage)).endswith("page=1&page_size=2")
    assert str(g.value(page, HYDRA.lastPage)).endswith("page=3&page_size=2")
    full = Graph().parse(data=body(client.get("/catalog.jsonld?page_size=all")), format="json-ld")
    assert len(list(full.subjects(RDF.type, DCAT.Dataset))) == 5


def test_bad_paging_parameters_get_a_french_message(client):
    response = client.get("/catalog.ttl?page=0")
    assert response.status_code == 400
    assert "« page » doit être ≥ 1" in response.content.decode()
    assert client.get("/catalog.ttl?page_size=abc").status_code == 400


def test_drafts_and_archived_datasets_are_not_exported(client, agent, amiens, dataset):
    services.create_dataset(agent, amiens, {"title": "Brouillon", "licence": "lov2"})
    services.archive_dataset(agent, dataset)
    text = body(client.get("/catalog.jsonld"))
    assert json.loads(text)["@graph"]
    assert "Brouillon" not in text and "Subventions" not in text


def test_the_shapes_do_catch_a_broken_export(client, rich_dataset, shapes):
    """Guard: the validation is not vacuous — without accessURL and title, the export is rejected."""
    g = Graph().parse(data=body(client.get("/catalog.ttl")), format="turtle")
    g.remove((None, DCAT.accessURL, None))
    g.remove((None, DCTERMS.title, None))
    conforms, _graph, report = validate(g, shacl_graph=shapes, inference="rdfs", allow_warnings=True)
    assert not conforms
    assert "accessURL" in report and "title" in report


def test_streamed_turtle_escapes_literals_and_iris(client, agent, dataset, shapes):
    """The N-Triples written directly (no rdflib graph) stay valid Turtle whatever the text holds:
    quotes, backslashes and line breaks escaped, characters forbidden in an IRI percent-encoded."""
    from regio.catalog.models import Dataset, Resource

    title = 'Le "budget" \\ primitif'
    description = "Ligne 1\nLigne 2\r\nFin « guillemets »"
    Dataset.objects.filter(pk=dataset.pk).update(title=title, description=description)
    Resource.objects.filter(dataset=dataset).update(url="https://data.amiens.fr/a b<c>.csv")
    g = Graph().parse(data=body(client.get("/catalog.ttl")), format="turtle")
    ds = URIRef(f"http://testserver/donnees/{dataset.slug}#jeu-de-donnees")
    assert g.value(ds, DCTERMS.title) == Literal(title, lang="fr")
    assert g.value(ds, DCTERMS.description) == Literal(description, lang="fr")
    distribution = g.value(ds, DCAT.distribution)
    assert str(g.value(distribution, DCAT.accessURL)) == "https://data.amiens.fr/a%20b%3Cc%3E.csv"
    assert_conforms(g, shapes)
