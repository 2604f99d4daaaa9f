"""Each backend's parser on the real payloads of ../shared/standards (no database, no network)."""

import csv
import io
import json

import pytest

from regio.core.ingest.registry import IngestError
from regio.harvest.backends import ckan, csw, dcat, ods, scdl, udata

from .conftest import make_source, real_bytes, real_json


def test_ckan_package_search_datasud():
    packages, count = ckan.parse_response(real_json("apis/ckan/datasud_package_search.json"))
    assert count == 7 and len(packages) == 7
    rec = ckan.parse_package(packages[0])
    assert rec["title"] == "Canispaces - Ville de Gap"
    assert rec["licence"] == "lov2"
    assert rec["publisher"] == "Communauté d'Agglomération de Gap-Tallard-Durance"
    assert "Environnement et climat" in rec["themes"]
    assert rec["keywords"] == ["chien", "canispace"]
    assert rec["resources"][0]["format"] == "Shapefile (zip)"
    assert rec["landing_page"].startswith("https://www.datasud.fr/")


@pytest.mark.parametrize("name", [
    "demo.ckan.org_package_show_1.json", "demo.ckan.org_package_show_2.json", "demo.ckan.org_package_show_3.json",
    "transportdata.be_package_show_cambio-belgium.json", "datasud_package_show_parkings-ville-de-gap.json",
])
def test_ckan_package_show_shapes(name):
    packages, _ = ckan.parse_response(real_json(f"apis/ckan/{name}"))
    rec = ckan.parse_package(packages[0])
    assert rec["title"]
    assert all(r["url"] for r in rec["resources"])


def test_ckan_spatial_extra_and_dcat_scheming_fields():
    rec = ckan.parse_package(ckan.parse_response(real_json("apis/ckan/demo.ckan.org_package_show_1.json"))[0][0])
    assert rec["bbox"] == pytest.approx([-0.3715, 50.8168, -0.2155, 50.8747])
    full = ckan.parse_package(real_json("apis/ckan/ckanext-dcat_ckan_full_dataset_dcat_ap.json"))
    assert full["identifier"] == "xx-some-dataset-id-yy"
    assert full["frequency"] == "monthly"
    assert full["bbox"] is not None


def test_ckan_dkan_list_result_and_error_envelope():
    pkg = real_json("apis/ckan/datasud_package_show_parkings-ville-de-gap.json")["result"]
    packages, count = ckan.parse_response({"success": True, "result": [pkg]})  # DKAN answers a list
    assert count is None and packages[0]["name"] == "parkings-ville-de-gap"
    with pytest.raises(IngestError, match="erreur"):
        ckan.parse_response({"success": False, "error": {"message": "Not found"}})


def test_udata_organisation_datasets():
    items, next_page = udata.parse_response(real_json("apis/udata/organizations_with-datasets-3.body.json"))
    assert len(items) == 18 and next_page == ""
    rec = udata.parse_dataset(*items[0])
    assert rec["title"] == "Nomenclature des déchets"
    assert rec["licence"] == "odc-odbl" and rec["frequency"] == "annual"
    assert rec["publisher"] == "Angers Loire Métropole"
    assert rec["landing_page"] == "https://demo.data.gouv.fr/fr/datasets/nomenclature-des-dechets/"


def test_udata_fixture_dump_and_single_dataset():
    items, _ = udata.parse_response(real_json("apis/udata/data.gouv.fr_fixtures_results.json"))
    assert len(items) == 15
    assert all(udata.parse_dataset(*i)["title"] for i in items)
    items, _ = udata.parse_response(real_json("apis/udata/datasets_metz.body.json"))
    assert len(items) == 1 and udata.parse_dataset(*items[0])["resources"]


def test_ods_v1_search_inspire_and_attachments():
    items, total = ods.parse_response(real_json("apis/opendatasoft/ods_v1_datasets_search.json"))
    assert total == 3 and len(items) == 4
    inspire = ods.parse_dataset(real_json("apis/opendatasoft/ods_v1_dataset_inspire.json"), "https://data.exemple.fr")
    assert inspire["bbox"] == pytest.approx([0.1568, 46.4944, 0.5084, 46.6848])
    assert inspire["identifier"] == "{73E--sfA386709}"
    assert any(r["url"].endswith("format=csv") for r in inspire["resources"])
    attach = ods.parse_dataset(real_json("apis/opendatasoft/ods_v1_dataset_with-attachments.json"), "https://data.exemple.fr")
    assert any(r["format"] == "application/pdf" for r in attach["resources"])


def test_ods_v21_catalogue_with_export_links():
    spec = real_json("apis/opendatasoft/explore-api-v2.1.openapi.json")
    page = spec["components"]["examples"]["datasets-v2.1"]["value"]
    items, total = ods.parse_response(page)
    assert total == 19
    rec = ods.parse_dataset(items[0], "https://data.exemple.fr")
    assert rec["title"] == "World Administrative Boundaries - Countries and Territories"
    assert "https://data.exemple.fr/api/explore/v2.1/catalog/datasets/world-administrative-boundaries-countries-and-territories/exports/csv" in [r["url"] for r in rec["resources"]]


@pytest.mark.parametrize("rel,count", [
    ("apis/udata/data.gouv.fr_catalog_dcat.rdf.xml", 2),
    ("apis/opendatasoft/capatlantique_v2.1_catalog_exports_dcat.rdf.xml", 1),
    ("dcat-ap/examples/ckanext-dcat_catalog.rdf", 2),
    ("dcat-ap/examples/ckanext-dcat_dataset.rdf", 1),
    ("dcat-ap/examples/open-datara_dataset_5a26b0f6.rdf.xml", 1),
    ("dcat-ap/examples/sig-oreme_geonetwork.rdf", 1),
])
def test_dcat_rdf_documents(rel, count):
    data = real_bytes(rel)
    records, errors, _next = dcat.parse_catalog(dcat.parse_graph(data, dcat.guess_format(rel, "", data), rel))
    assert len(records) == count and not errors
    assert all(r.payload["title"] for r in records)


def test_dcat_details_geodcat_bbox_and_licence():
    data = real_bytes("dcat-ap/examples/open-datara_dataset_5a26b0f6.rdf.xml")
    rec = dcat.parse_catalog(dcat.parse_graph(data, "xml", "x"))[0][0].payload
    assert rec["bbox"] == pytest.approx([2.06287814767608, 44.1154926129761, 7.18556459920588, 46.8042870493687])
    cap = real_bytes("apis/opendatasoft/capatlantique_v2.1_catalog_exports_dcat.rdf.xml")
    rec = dcat.parse_catalog(dcat.parse_graph(cap, "xml", "x"))[0][0].payload
    assert "ETALAB-Licence-Ouverte-v2.0" in rec["licence"]
    assert rec["publisher"] == "CCAS Guérande"


def test_dcat_turtle_and_jsonld_roundtrip_from_real_graph():
    data = real_bytes("dcat-ap/examples/ckanext-dcat_catalog.rdf")
    graph = dcat.parse_graph(data, "xml", "x")
    for fmt in ("turtle", "json-ld"):
        out = graph.serialize(format=fmt).encode()
        records, _e, _n = dcat.parse_catalog(dcat.parse_graph(out, dcat.guess_format("", "", out), "x"))
        assert len(records) == 2


def test_dcat_jsonld_remote_context_is_never_fetched():
    data = real_bytes("dcat-ap/examples/evian_arcgis-hub_dcat-us.json")
    assert "project-open-data.cio.gov" in json.loads(data)["@context"]
    graph = dcat.parse_graph(data, "json-ld", "evian")  # would fail offline if the context were fetched
    assert len(graph) > 0


def test_dcat_invalid_turtle_is_a_french_error():
    data = real_bytes("dcat-ap/examples/ckanext-dcat_dataset.ttl")  # real file using an unbound prefix
    with pytest.raises(IngestError, match="Document DCAT illisible"):
        dcat.parse_graph(data, "turtle", "ckanext-dcat_dataset.ttl")


def test_csw_iso19139_page():
    records, errors, matched, next_record = csw.parse_response(real_bytes("apis/csw-iso19139/geo-ide_csw_GetRecords_iso19139_page-1.xml"))
    assert (matched, next_record, len(records), errors) == (6, 3, 2, [])
    rec = records[0].payload
    assert rec["title"] == "Plan local d'urbanisme de la commune de Cartigny"
    assert rec["identifier"] == "fr-120066022-ldd-56fce164-04b2-41ae-be87-9f256f39dd44"
    assert rec["publisher"].startswith("DDTM 80")
    assert "Licence Ouverte" in rec["licence"]
    assert rec["bbox"] is not None and len(rec["bbox"]) == 4
    assert rec["resources"]


def test_csw_exception_report_is_a_french_error():
    with pytest.raises(IngestError, match="exception"):
        csw.parse_response(b'<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows"><ows:Exception><ows:ExceptionText>bad</ows:ExceptionText></ows:Exception></ows:ExceptionReport>')
    with pytest.raises(IngestError, match="XML invalide"):
        csw.parse_response(real_bytes("apis/csw-iso19139/geo-ide_csw_GetRecords_iso19139_page-1.xml")[:5000])


def scdl_catalogue_csv(delimiter=",", encoding="utf-8") -> bytes:
    """A catalogue file built from the example values of the real SCDL "catalogue" schema."""
    schema = real_json("schemas/scdl-catalogue/schema.json")
    names = [f["name"] for f in schema["fields"]]
    row = {f["name"]: str(f.get("example", "")) for f in schema["fields"]}
    row["ID"] = "prenoms-des-nouveaux-nes-a-rennes-en-2017"
    second = dict(row, ID="second", TITRE="Second jeu", LICENCE="ODbL", COUV_SPAT_NOM="Amiens", URL="https://data.exemple.fr/second")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=names, delimiter=delimiter)
    writer.writeheader()
    writer.writerow(row)
    writer.writerow(second)
    writer.writerow(dict(row, ID="", TITRE="Sans identifiant"))
    return buf.getvalue().encode(encoding)


def test_scdl_catalogue_csv():
    records, errors = scdl.parse_csv(scdl_catalogue_csv(";", "cp1252"))
    assert [r.remote_id for r in records] == ["prenoms-des-nouveaux-nes-a-rennes-en-2017", "second"]
    rec = records[0].payload
    assert rec["title"] == "Prénoms des nouveaux-nés à Rennes en 2017"
    assert rec["licence"] == "Licence Ouverte-LO" and rec["frequency"] == "Semestrielle"
    assert rec["keywords"] == ["scdl", "prenoms", "etat-civil"] and rec["publisher_siren"] == "213502388"
    assert errors[0].message == "Ligne 4 : identifiant (ID) vide." and errors[0].field == "ID"
    with pytest.raises(IngestError, match="colonne"):
        scdl.parse_csv(b"a,b\n1,2\n")


@pytest.mark.parametrize("name,count", [("geo2france_csw_GetRecords_dcat_page-1.xml", 2), ("geo2france_csw_GetRecords_geodcatap_page-1.xml", 2)])
def test_csw_dcat_and_geodcatap_answers_are_read(name, count):
    from regio.harvest.backends.csw import parse_response

    records, errors, matched, next_record = parse_response(real_bytes(f"apis/csw-iso19139/{name}"))
    assert (len(records), errors, matched, next_record) == (count, [], 6, 3)
    titles = {r.payload["title"] for r in records}
    assert "INSEE - Part des ménages présents depuis 5 ans ou plus dans leur logement actuel (2010)" in titles
    for r in records:
        assert r.payload["description"] and r.payload["resources"]
        assert r.payload["identifier"]  # the dataset's URI (or GeoNetwork's identifier when it has none)


@pytest.mark.django_db
def test_csw_dcat_answer_is_harvested_with_unspecified_licence(portal, amiens):
    from regio.catalog.models import Dataset
    from regio.core.ingest.engine import run_source

    body = real_bytes("apis/csw-iso19139/geo2france_csw_GetRecords_geodcatap_page-1.xml").replace(b'nextRecord="3"', b'nextRecord="0"')
    portal.routes["/csw"] = lambda q: (200, {"Content-Type": "application/xml"}, body)
    source = make_source("csw", portal.base + "/csw", owner=amiens, filters={"output_schema": "dcat"})
    run = run_source(source)
    assert run.status == "succeeded" and run.created == 2 and run.failed == 0, run.message
    assert portal.requests[0][1]["outputSchema"] == "http://www.w3.org/ns/dcat#"
    ds = Dataset.objects.get(title="INSEE - Part des ménages présents depuis 5 ans ou plus dans leur logement actuel (2010)")
    assert ds.resources.exists() and ds.description


def test_one_unreadable_item_becomes_a_french_error_and_the_page_goes_on():
    packages = real_json("apis/ckan/datasud_package_search.json")["result"]["results"][:3]
    records, errors = ckan.CkanBackend()._page(None, [packages[0], "pas un jeu de données", packages[1], {**packages[2], "private": True}], 10)
    assert [r.remote_id for r in records] == [packages[0]["id"], packages[1]["id"]]  # the private one is left out
    assert [(e.remote_id, e.message) for e in errors] == [("#11", "Jeu de données illisible : Le jeu de données n'est pas un objet JSON.")]
    # A record error raised by a parser keeps its French message and its field (SCDL line without ID).
    from regio.core.ingest.registry import IngestItemError
    from regio.harvest.backends.base import parse_items

    def parse(item):
        if not item.get("ID"):
            raise IngestItemError("Ligne sans identifiant.", field="ID")
        return item

    records, errors = parse_items([{"ID": "a"}, {"ID": ""}], parse, lambda item, index: item.get("ID") or f"#{index}")
    assert [r.remote_id for r in records] == ["a"]
    assert [(e.remote_id, e.message, e.field) for e in errors] == [("#1", "Ligne sans identifiant.", "ID")]
