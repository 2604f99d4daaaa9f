"""Harvested resources carry the schema the portal gives (udata ``schema``, CKAN ``schema``, DCAT
``dct:conformsTo``), written on the catalogue Resource so that SCDL import and tabular validation see it."""

import copy
import json

import pytest
from rdflib import URIRef
from rdflib.namespace import DCAT, DCTERMS

from regio.catalog.models import Resource
from regio.core.ingest.engine import run_source
from regio.finance.services import scdl_kind_of_schema
from regio.harvest.backends import ckan, dcat, udata
from regio.harvest.mapping import map_record, schema_url

from .conftest import ckan_page_route, make_source, real_bytes, real_json

IRVE = "https://schema.data.gouv.fr/schemas/etalab/schema-irve-statique/2.2.0/schema.json"
SUBVENTIONS = "https://schema.data.gouv.fr/schemas/scdl/subventions/2.1.3/schema.json"


@pytest.mark.parametrize("raw,expected", [
    ({"name": "etalab/schema-irve-statique", "version": "2.2.0", "url": None}, IRVE),
    ({"name": "etalab/schema-irve-statique", "version": None, "url": None},
     "https://schema.data.gouv.fr/schemas/etalab/schema-irve-statique/latest/schema.json"),
    ({"name": None, "version": None, "url": None}, ""),
    ({"name": "mon-schema", "url": "https://exemple.fr/schemas/arbres.json", "version": "1.0"}, "https://exemple.fr/schemas/arbres.json"),
    (SUBVENTIONS, SUBVENTIONS),
    (json.dumps({"url": SUBVENTIONS}), SUBVENTIONS),
    (json.dumps({"name": "scdl/budget", "version": "0.8.1"}), "https://schema.data.gouv.fr/schemas/scdl/budget/0.8.1/schema.json"),
    (json.dumps({"fields": [{"name": "id", "type": "integer"}]}), ""),  # inline Table Schema: no address
    ("{pas du json", ""),
    ("Standard 1", ""),
    ("https://www.iso.org/standard/32557.html", ""),  # ISO 19115: a metadata standard, not a table schema
    ("http://data.europa.eu/930/", ""),
    ("http://www.opengeospatial.org/standards/wms", ""),
    (["http://data.europa.eu/r5r/", SUBVENTIONS], SUBVENTIONS),
    (None, ""), ("", ""),
])
def test_schema_url(raw, expected):
    assert schema_url(raw) == expected


def test_udata_resources_with_a_schema_in_the_real_fixtures(db):
    items, _ = udata.parse_response(real_json("apis/udata/data.gouv.fr_fixtures_results.json"))
    schemas = {}
    for ds, org, res in items:
        for resource in map_record(udata.parse_dataset(ds, org, res)).resources:
            schemas[resource["url"]] = resource["schema"]
    with_schema = {u: s for u, s in schemas.items() if s}
    # Two real records say which schema their files follow (IRVE 2.2.0; the low-emission vehicles one without a version).
    assert IRVE in with_schema.values()
    assert "https://schema.data.gouv.fr/schemas/etalab/schema-vehicules-faibles-emissions-renouvellement-parc/latest/schema.json" in with_schema.values()
    assert len(with_schema) == 3 and len(schemas) > 50  # every other resource ({name: null…} or null) has none


def test_ckan_resource_schema_url_or_json():
    # No real CKAN payload of ../shared/standards carries a resource schema: it is added to a copy of a
    # real DataSud record, in memory, in the two shapes ckanext-validation / scheming use.
    pkg = copy.deepcopy(real_json("apis/ckan/datasud_package_search.json")["result"]["results"][0])
    assert len(pkg["resources"]) >= 2
    pkg["resources"][0]["schema"] = SUBVENTIONS
    pkg["resources"][1]["schema"] = json.dumps({"name": "scdl/budget", "version": "0.8.1"})
    resources = map_record(ckan.parse_package(pkg)).resources
    assert resources[0]["schema"] == SUBVENTIONS and scdl_kind_of_schema(resources[0]["schema"]) == "subventions"
    assert resources[1]["schema"] == "https://schema.data.gouv.fr/schemas/scdl/budget/0.8.1/schema.json"
    assert all(r["schema"] == "" for r in resources[2:])
    plain = map_record(ckan.parse_package(real_json("apis/ckan/datasud_package_search.json")["result"]["results"][0]))
    assert all(r["schema"] == "" for r in plain.resources)


def test_dcat_conforms_to_on_the_distribution_then_the_dataset(db):
    # A real GeoDCAT-AP record whose dct:conformsTo (a blank-node reference system) is no schema.
    graph = dcat.parse_graph(real_bytes("dcat-ap/examples/open-datara_dataset_5a26b0f6.rdf.xml"), "xml", "open-datara")
    (ds,) = set(graph.subjects(DCAT.distribution, None))
    assert list(graph.objects(ds, DCTERMS.conformsTo))
    assert all(schema_url(r["schema"]) == "" for r in dcat.parse_dataset(graph, ds)["resources"])
    # The real Cap Atlantique export names no schema; added in memory to its graph: a schema on the
    # dataset applies to every distribution, one on a distribution wins for that one.
    graph = dcat.parse_graph(real_bytes("apis/opendatasoft/capatlantique_v2.1_catalog_exports_dcat.rdf.xml"), "xml", "cap")
    (ds,) = set(graph.subjects(DCAT.distribution, None))
    assert all(r["schema"] == "" for r in map_record(dcat.parse_dataset(graph, ds)).resources)
    dists = sorted(graph.objects(ds, DCAT.distribution), key=str)
    assert len(dists) >= 2
    graph.add((ds, DCTERMS.conformsTo, URIRef(IRVE)))
    graph.add((dists[0], DCTERMS.conformsTo, URIRef(SUBVENTIONS)))
    resources = {r["url"]: r["schema"] for r in map_record(dcat.parse_dataset(graph, ds)).resources}
    first_url = str(graph.value(dists[0], DCAT.downloadURL) or graph.value(dists[0], DCAT.accessURL))
    assert resources.pop(first_url) == SUBVENTIONS
    assert resources and set(resources.values()) == {IRVE}


@pytest.mark.django_db
def test_harvested_resources_get_their_schema_and_follow_its_changes(portal, somme):
    packages = copy.deepcopy(real_json("apis/ckan/datasud_package_search.json")["result"]["results"][:3])
    packages[0]["resources"][0]["schema"] = SUBVENTIONS  # added in memory (see above)
    portal.json_route("/api/3/action/package_search", ckan_page_route(packages))
    source = make_source("ckan", portal.base, owner=somme, filters={"page_size": 1000})
    run = run_source(source)
    assert run.status == "succeeded" and run.created == 3, run.message
    url = packages[0]["resources"][0]["url"]
    assert Resource.objects.get(url=url, dataset__harvest_source=str(source.pk)).schema == SUBVENTIONS
    assert Resource.objects.filter(dataset__harvest_source=str(source.pk)).exclude(schema="").count() == 1
    packages[0]["resources"][0]["schema"] = IRVE  # the portal now names another schema
    packages[1]["resources"][0]["schema"] = {"name": "scdl/budget", "version": "0.8.1"}
    run = run_source(source)
    assert run.status == "succeeded" and run.updated == 2 and run.unchanged == 1, run.message
    assert Resource.objects.get(url=url, dataset__harvest_source=str(source.pk)).schema == IRVE
    assert Resource.objects.get(url=packages[1]["resources"][0]["url"], dataset__harvest_source=str(source.pk)).schema == \
        "https://schema.data.gouv.fr/schemas/scdl/budget/0.8.1/schema.json"


@pytest.mark.django_db
def test_a_harvested_scdl_file_is_imported_by_finance(
    portal, somme, settings, tmp_path, shared_http_server, django_capture_on_commit_callbacks,
):
    """End to end: a CKAN record whose resource names the SCDL subventions schema (added in memory to a
    copy of a real DataSud record) points at the real Somme conventions file; after the harvest, finance's
    automatic SCDL import has read it."""
    from regio.finance.models import ImportBatch

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
    settings.MEDIA_ROOT = tmp_path / "media"
    pkg = copy.deepcopy(real_json("apis/ckan/datasud_package_search.json")["result"]["results"][0])
    pkg["organization"] = dict(pkg["organization"], title=somme.name)
    conventions = f"{shared_http_server}/standards/schemas/scdl-subventions/real/DEP_Somme_TB_20180330_DONNEES_CONVENTIONS.csv"
    pkg["resources"] = [{"name": "Conventions", "url": conventions, "format": "CSV", "state": "active",
                         "schema": "https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json"}]
    portal.json_route("/api/3/action/package_search", ckan_page_route([pkg]))
    source = make_source("ckan", portal.base, owner=somme)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_source(source)
    assert run.status == "succeeded" and run.created == 1, run.message
    batch = ImportBatch.objects.get(origin="catalog")
    assert batch.organisation == somme and batch.rows_imported == 11
