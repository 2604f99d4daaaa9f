"""Harvest runs through the ingest engine, on real payloads served from loopback: paging, identity,
origins, loops, deletions, and the failure cases of the issue."""

import copy
import json

import pytest
from django.conf import settings

from regio.catalog.models import Dataset
from regio.core.ingest.engine import run_source
from regio.core.ingest.models import Run
from regio.core.models import PublicationStatus
from regio.harvest import services
from regio.harvest.models import DatasetOrigin

from .conftest import ckan_page_route, make_source, real_bytes, real_json, slow_body

pytestmark = pytest.mark.django_db


def datasud_packages():
    return real_json("apis/ckan/datasud_package_search.json")["result"]["results"]


def test_ckan_paging_rows_start_then_unchanged(portal, somme):
    packages = datasud_packages()
    portal.json_route("/api/3/action/package_search", ckan_page_route(packages))
    source = make_source("ckan", portal.base, owner=somme, filters={"page_size": 2, "organization": "gap"})
    run = run_source(source)
    assert run.status == Run.Status.SUCCEEDED and run.complete, run.message
    assert (run.created, run.pages_done) == (7, 4)
    starts = [q["start"] for path, q in portal.requests]
    assert starts == ["0", "2", "4", "6"] and portal.requests[0][1]["fq"] == 'organization:"gap"'
    ds = Dataset.objects.get(harvest_source=str(source.pk), remote_id="cfa98601-185f-4194-bc0f-119fc23a194b")
    assert ds.origin == "harvested" and ds.status == PublicationStatus.PUBLISHED
    assert ds.licence == "lov2" and "ENVI" in ds.themes and ds.keywords == ["chien", "canispace"]
    assert ds.publisher == somme  # publisher unknown to the platform: the source's owner, with a warning
    origin = ds.harvest_origins.get()
    assert any("Gap-Tallard-Durance" in w for w in origin.warnings)
    assert ds.resources.order_by("position").first().format == "shp"
    assert ds.source_url.startswith("https://www.datasud.fr/")
    assert {t.code for t in ds.territories.all()} == {"80"}  # the owner's territory
    again = run_source(source)
    assert (again.created, again.updated, again.unchanged, again.archived) == (0, 0, 7, 0)


def test_harvested_datasets_are_searchable_and_link_to_the_original(portal, somme, client):
    from regio.catalog.selectors import search_datasets

    portal.json_route("/api/3/action/package_search", ckan_page_route(datasud_packages()))
    run_source(make_source("ckan", portal.base + "/api/3/action/package_search", owner=somme))
    result = search_datasets("canispaces", {}, "relevance")
    assert [d.title for d in result.queryset] == ["Canispaces - Ville de Gap"]
    ds = Dataset.objects.get(title="Canispaces - Ville de Gap")
    page = client.get(ds.get_absolute_url()).content.decode()
    assert "https://www.datasud.fr/explorer/fr/jeux-de-donnees/canispaces----ville-de-gap" in page
    assert "Moissonné depuis" in page and "voir l'original" in page


def test_ckan_static_file_through_shared_server(shared_http_server, allow_private_http, somme):
    url = shared_http_server + "/standards/apis/ckan/datasud_package_search.json"
    run = run_source(make_source("ckan", url, owner=somme))
    assert run.status == "succeeded" and run.created == 7


def test_udata_next_page_paging_and_organisation_filter(portal, amiens):
    data = real_json("apis/udata/organizations_with-datasets-3.body.json")
    pages = {"1": data[:10], "2": data[10:]}

    def route(q):
        page = q.get("page", "1")
        nxt = f"{portal.base}/api/1/datasets/?page=2&organization={q['organization']}" if page == "1" else None
        return {"data": pages[page], "page": int(page), "page_size": 10, "total": len(data), "next_page": nxt}

    portal.json_route("/api/1/datasets/", route)
    source = make_source("udata", portal.base, owner=amiens, filters={"organization": "538346d6a3a72906c7ec5c36"})
    run = run_source(source)
    assert run.status == "succeeded", run.message
    assert run.pages_done == 2 and run.created + run.failed == 18
    assert all(q["organization"] == "538346d6a3a72906c7ec5c36" for _p, q in portal.requests)
    ds = Dataset.objects.get(title="Nomenclature des déchets")
    assert ds.licence == "odc-odbl" and ds.frequency == "ANNUAL"


def test_ods_v21_offset_paging_with_export_links(portal, amiens):
    example = real_json("apis/opendatasoft/explore-api-v2.1.openapi.json")["components"]["examples"]["datasets-v2.1"]["value"]
    results = []
    for i, ds in enumerate(example["results"] * 3):  # 6 datasets built from the real ones
        ds = copy.deepcopy(ds)
        ds["dataset_id"] = f"{ds['dataset_id']}-{i}"
        ds["metas"]["default"]["license"] = "Licence Ouverte v2.0 (Etalab)"
        results.append(ds)
    portal.json_route("/api/explore/v2.1/catalog/datasets", lambda q: {
        "total_count": len(results), "results": results[int(q["offset"]):int(q["offset"]) + int(q["limit"])]})
    source = make_source("ods", portal.base, owner=amiens, filters={"page_size": 4})
    run = run_source(source)
    assert run.status == "succeeded" and run.created == 6 and run.pages_done == 2, run.message
    ds = Dataset.objects.filter(harvest_source=str(source.pk)).first()
    assert any(r.url.endswith("/exports/csv") and r.format == "csv" for r in ds.resources.all())


def test_dcat_hydra_paging(portal, amiens):
    page1 = real_bytes("apis/udata/data.gouv.fr_catalog_dcat.rdf.xml").decode()
    page1 = page1.replace('<hydra:first ', f'<hydra:next rdf:resource="{portal.base}/catalog.rdf?page=2"/>\n    <hydra:first ', 1)
    page2 = real_bytes("apis/opendatasoft/capatlantique_v2.1_catalog_exports_dcat.rdf.xml")

    def route(q):
        body = page2 if q.get("page") == "2" else page1.encode()
        return 200, {"Content-Type": "application/rdf+xml"}, body

    portal.routes["/catalog.rdf"] = route
    run = run_source(make_source("dcat", portal.base + "/catalog.rdf", owner=amiens))
    assert run.pages_done == 2 and run.status == "succeeded", run.message
    # data.gouv.fr's records say "License Not Specified": kept with the "non précisée" licence and a warning
    assert run.created == 3 and run.failed == 0 and not run.errors.exists()
    unspecified = Dataset.objects.filter(licence="non-precisee")
    assert unspecified.count() == 2
    for ds in unspecified:
        assert any("Licence non précisée par la source (« License Not Specified »)" in w for w in ds.harvest_origins.get().warnings)
    assert Dataset.objects.get(title="Arrêtés du CCAS de Guérande").licence == "lov2"


def test_unspecified_licence_dcat_export_has_no_licence_and_zero_shacl_violations(portal, amiens, client, shared_dir):
    """The real data.gouv.fr DCAT payload ("License Not Specified"): exported without a licence statement."""
    from pyshacl import validate
    from rdflib import Graph, Namespace
    from rdflib.namespace import DCAT, DCTERMS, RDF

    from regio.quality.catalog_link import refresh_dataset_quality

    body = real_bytes("apis/udata/data.gouv.fr_catalog_dcat.rdf.xml")
    portal.routes["/catalog.rdf"] = lambda q: (200, {"Content-Type": "application/rdf+xml"}, body)
    run = run_source(make_source("dcat", portal.base + "/catalog.rdf", owner=amiens))
    assert run.status == "succeeded" and run.created == 2 and run.failed == 0, run.message
    ds = Dataset.objects.filter(licence="non-precisee").first()
    g = Graph().parse(data=client.get(f"/donnees/{ds.slug}/dcat.ttl").content.decode(), format="turtle")
    assert list(g.subjects(RDF.type, DCAT.Distribution)) and not list(g.objects(None, DCTERMS.license))
    shapes = Graph()
    for name in ("dcat-ap-SHACL.ttl", "ranges.ttl"):
        shapes.parse(shared_dir / "standards" / "dcat-ap" / "3.0.1" / name)
    sh = Namespace("http://www.w3.org/ns/shacl#")
    for triple in [(s, p, o) for s, p, o in shapes.triples((None, sh.property, None)) if shapes.value(o, sh.path) is None]:
        shapes.remove(triple)  # dangling references of the released ranges.ttl (see tests/catalog/test_dcat.py)
    conforms, _graph, report = validate(g, shacl_graph=shapes, inference="rdfs", allow_warnings=True)
    assert conforms, report
    quality = refresh_dataset_quality(ds)
    licence = next(c for c in quality_criteria(quality) if c["key"] == "licence")
    assert licence["points"] == 0 and "Licence non précisée par le portail d'origine" in licence["explanation"]


def quality_criteria(quality) -> list[dict]:
    return quality.criteria if isinstance(quality.criteria, list) else quality.criteria.get("criteria", [])


def test_csw_start_position_paging_and_bbox_territory(portal, amiens):
    page1 = real_bytes("apis/csw-iso19139/geo-ide_csw_GetRecords_iso19139_page-1.xml")
    page2 = real_bytes("apis/csw-iso19139/geo-ide_csw_GetRecords_iso19139_single-dataset.xml")
    portal.routes["/csw"] = lambda q: (200, {"Content-Type": "application/xml"}, page1 if q["startPosition"] == "1" else page2)
    run = run_source(make_source("csw", portal.base + "/csw", owner=amiens))
    assert run.status == "succeeded" and run.created == 3 and run.pages_done == 2, run.message
    assert [q["startPosition"] for _p, q in portal.requests] == ["1", "3"]
    ds = Dataset.objects.get(title="Plan local d'urbanisme de la commune de Cartigny")
    assert ds.licence == "fr-lo" and ds.frequency in ("UNKNOWN", "IRREG", "NEVER", "ANNUAL")
    assert ds.territories.exists() and not ds.territories.filter(code="80021", level="commune").exists()


def test_scdl_catalogue_file(tmp_path, settings, amiens):
    from .test_backends import scdl_catalogue_csv

    settings.INGEST_FILE_ROOTS = [tmp_path]
    path = tmp_path / "catalogue.csv"
    path.write_bytes(scdl_catalogue_csv())
    source = make_source("scdl-catalog", file_path=str(path), owner=amiens)
    run = run_source(source)
    assert run.created == 2 and run.failed == 1
    second = Dataset.objects.get(title="Second jeu")
    assert second.licence == "odc-odbl" and list(second.territories.values_list("code", flat=True)) == ["80021"]
    assert run.errors.get().message == "Ligne 4 : identifiant (ID) vide."


# --------------------------------------------------------------------------- identity and lifecycle


def test_renamed_dataset_is_updated_not_duplicated(portal, somme):
    packages = datasud_packages()[:3]
    for p in packages:
        p["extras"] = [{"key": "uri", "value": f"https://www.datasud.fr/dataset/{p['id']}"}]
    state = {"packages": packages}
    portal.json_route("/api/3/action/package_search", lambda q: ckan_page_route(state["packages"])(q))
    source = make_source("ckan", portal.base, owner=somme)
    assert run_source(source).created == 3
    renamed = copy.deepcopy(packages)
    renamed[0]["id"] = "nouvel-identifiant"  # re-slugged at the source, same URI
    renamed[0]["name"] = "canispaces-gap"
    renamed[0]["title"] = "Canispaces (Gap)"
    state["packages"] = renamed
    run = run_source(source)
    assert (run.created, run.updated, run.archived) == (1, 0, 1)  # engine items: new remote id, old one vanished
    assert Dataset.objects.filter(harvest_source=str(source.pk)).count() == 3
    ds = Dataset.objects.get(title="Canispaces (Gap)")
    assert ds.status == PublicationStatus.PUBLISHED and ds.remote_id == "nouvel-identifiant"
    assert ds.harvest_origins.get().remote_id == "nouvel-identifiant"


def test_same_resources_match_before_remote_id(portal, somme):
    packages = datasud_packages()[:1]
    state = {"packages": packages}
    portal.json_route("/api/3/action/package_search", lambda q: ckan_page_route(state["packages"])(q))
    source = make_source("ckan", portal.base, owner=somme)
    run_source(source)
    moved = copy.deepcopy(packages)
    moved[0]["id"] = "autre-id"  # no URI; same resource URLs
    state["packages"] = moved
    run_source(source)
    assert Dataset.objects.filter(origin="harvested").count() == 1


def test_same_dataset_through_two_sources_appears_once_with_both_origins(portal, amiens, somme):
    packages = datasud_packages()[:2]
    for p in packages:
        p["extras"] = [{"key": "uri", "value": f"https://data.amiens.fr/dataset/{p['name']}"}]
        p["organization"]["title"] = amiens.name  # the commune's own datasets
    portal.json_route("/commune/api/3/action/package_search", ckan_page_route(packages))
    reexposed = copy.deepcopy(packages)
    for p in reexposed:
        p["id"] = "dep-" + p["id"]
        p["url"] = f"https://data.somme.fr/dataset/{p['name']}"
    portal.json_route("/departement/api/3/action/package_search", ckan_page_route(reexposed))
    dep = make_source("ckan", portal.base + "/departement", owner=somme, name="Portail de la Somme")
    com = make_source("ckan", portal.base + "/commune", owner=amiens, name="Portail d'Amiens")
    run_source(dep)  # the département's portal is harvested first
    run_source(com)
    assert Dataset.objects.filter(origin="harvested").count() == 2
    ds = Dataset.objects.get(title=packages[0]["title"])
    assert ds.publisher == amiens  # original publisher kept
    origins = list(ds.harvest_origins.order_by("-primary", "id"))
    assert [(o.source_id, o.primary) for o in origins] == [(com.pk, True), (dep.pk, False)]
    assert ds.harvest_source == str(com.pk)
    run_source(dep)  # re-harvesting the re-exposing portal changes nothing
    assert Dataset.objects.filter(origin="harvested").count() == 2


def test_own_catalogue_harvested_back_is_a_loop(portal, amiens, client):
    from regio.catalog import services as catalog_services
    from tests.catalog.conftest import make_user, member_of

    agent = member_of(make_user("agent@amiens.fr"), amiens)
    local = catalog_services.create_dataset(agent, amiens, {"title": "Budget primitif", "licence": "lov2"}, publish=True)
    ttl = b"".join(client.get("/catalog.ttl").streaming_content)
    portal.routes["/catalog.ttl"] = lambda q: (200, {"Content-Type": "text/turtle"}, ttl)
    source = make_source("dcat", portal.base + "/catalog.ttl", owner=amiens)
    run = run_source(source)
    assert run.status == "succeeded", run.message
    assert Dataset.objects.count() == 1
    local.refresh_from_db()
    assert local.origin == "local" and local.title == "Budget primitif" and local.publisher == amiens
    origin = DatasetOrigin.objects.get(source=source)
    assert origin.loop and origin.dataset == local and "Boucle" in origin.warnings[0]


def test_deletion_archived_after_complete_run_only(portal, somme):
    state = {"packages": datasud_packages(), "fail": False}

    def route(q):
        if state["fail"] and q.get("start") == "4":
            return 500, {}, b"erreur"
        return 200, {"Content-Type": "application/json"}, json.dumps(ckan_page_route(state["packages"])(q)).encode()

    portal.routes["/api/3/action/package_search"] = route
    source = make_source("ckan", portal.base, owner=somme, filters={"page_size": 2, "retries": 0})
    run_source(source)
    gone = state["packages"][0]
    state["packages"] = state["packages"][1:]
    state["fail"] = True
    failed = run_source(source)
    assert failed.status == "failed" and failed.archived == 0
    assert Dataset.objects.get(remote_id=gone["id"]).status == PublicationStatus.PUBLISHED
    state["fail"] = False
    run = run_source(source)
    assert run.status == "succeeded" and run.archived == 1
    ds = Dataset.objects.get(remote_id=gone["id"])
    assert ds.status == PublicationStatus.ARCHIVED
    origin = ds.harvest_origins.get()
    assert origin.archived_at is not None
    assert ds.activity.filter(action="archive").exists()


# --------------------------------------------------------------------------- failures


def test_http_500_on_page_3(portal, somme):
    packages = datasud_packages()

    def route(q):
        if q["start"] == "4":
            return 500, {}, b"Internal Server Error"
        return 200, {"Content-Type": "application/json"}, json.dumps(ckan_page_route(packages)(q)).encode()

    portal.routes["/api/3/action/package_search"] = route
    source = make_source("ckan", portal.base, owner=somme, filters={"page_size": 2, "retries": 0})
    run = run_source(source)
    assert run.status == "failed" and run.pages_done == 2 and run.created == 4 and not run.complete
    assert "a répondu 500" in run.message and run.archived == 0
    assert run.can_resume  # the next run resumes after page 2
    portal.routes["/api/3/action/package_search"] = lambda q: (200, {"Content-Type": "application/json"}, json.dumps(ckan_page_route(packages)(q)).encode())
    resumed = run_source(source)
    assert resumed.resumed_from_id == run.pk and resumed.status == "succeeded"
    assert portal.requests[-2][1]["start"] == "4"
    assert Dataset.objects.filter(origin="harvested").count() == 7 and resumed.archived == 0


def test_invalid_json(portal, somme):
    portal.routes["/api/3/action/package_search"] = lambda q: (200, {"Content-Type": "application/json"}, b"{\"success\": true, \"result\": ")
    run = run_source(make_source("ckan", portal.base, owner=somme))
    assert run.status == "failed" and "n'est pas un JSON valide" in run.message


def test_truncated_page(portal, somme):
    body = json.dumps(ckan_page_route(datasud_packages())({"rows": 100, "start": 0})).encode()
    portal.routes["/api/3/action/package_search"] = lambda q: (200, {"Content-Length": str(len(body))}, body[: len(body) // 2])
    run = run_source(make_source("ckan", portal.base, owner=somme, filters={"retries": 0}))
    assert run.status == "failed" and run.created == 0
    assert "Connexion impossible" in run.message or "JSON valide" in run.message


def test_page_announcing_more_than_it_delivers(portal, somme):
    packages = datasud_packages()
    portal.json_route("/api/3/action/package_search", lambda q: {"success": True, "result": {
        "count": 50, "results": packages[int(q["start"]):int(q["start"]) + int(q["rows"])]}})
    run = run_source(make_source("ckan", portal.base, owner=somme, filters={"page_size": 5}))
    assert run.status == "failed" and "Page tronquée" in run.message and run.archived == 0


def test_pagination_loop(portal, amiens):
    data = real_json("apis/udata/organizations_with-datasets-3.body.json")[:3]
    portal.json_route("/api/1/datasets/", lambda q: {"data": data, "next_page": f"{portal.base}/api/1/datasets/?page=1"})
    run = run_source(make_source("udata", portal.base, owner=amiens))
    assert run.status == "failed" and "Boucle de pagination" in run.message


def test_csw_static_page_loops(shared_http_server, allow_private_http, amiens):
    url = shared_http_server + "/standards/apis/csw-iso19139/geo-ide_csw_GetRecords_iso19139_page-1.xml"
    run = run_source(make_source("csw", url, owner=amiens))  # a static file answers nextRecord=3 forever
    assert run.status == "failed" and "Boucle de pagination" in run.message


def test_response_far_over_the_size_cap_is_streamed_and_refused(portal, somme, settings):
    settings.HTTP_MAX_BYTES = 1024 * 1024
    sent = {"bytes": 0}

    def huge():
        chunk = b" " * 65536
        for _ in range(2000):  # up to 128 MB, never all produced: the client stops reading at the cap
            sent["bytes"] += len(chunk)
            yield chunk

    portal.routes["/api/3/action/package_search"] = lambda q: (200, {"Content-Type": "application/json"}, huge())
    run = run_source(make_source("ckan", portal.base, owner=somme, filters={"retries": 0}))
    assert run.status == "failed" and "dépasse la taille maximale autorisée (1 Mo)" in run.message
    assert sent["bytes"] < 100 * 1024 * 1024


def test_slow_server_times_out(portal, somme):
    portal.routes["/api/3/action/package_search"] = lambda q: (200, {"Content-Type": "application/json"}, slow_body(3))
    run = run_source(make_source("ckan", portal.base, owner=somme, filters={"timeout_s": 0.5, "retries": 0}))
    assert run.status == "failed" and "Délai dépassé" in run.message


def test_redirect_to_a_private_address_is_refused(portal, somme, settings, monkeypatch):
    from regio.core import http

    settings.HTTP_ALLOW_PRIVATE = False
    original = http.check_url

    def only_portal_allowed(url, *, allow_private=None):  # the test portal is on loopback; nothing else is
        return original(url, allow_private=url.startswith(portal.base))

    monkeypatch.setattr(http, "check_url", only_portal_allowed)
    portal.routes["/api/3/action/package_search"] = lambda q: (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    run = run_source(make_source("ckan", portal.base, owner=somme, filters={"retries": 0}))
    assert run.status == "failed" and "Adresse refusée" in run.message and "169.254.169.254" in run.message


def test_source_that_disappears_keeps_its_datasets_flagged_stale(portal, somme, client):
    portal.json_route("/api/3/action/package_search", ckan_page_route(datasud_packages()))
    source = make_source("ckan", portal.base, owner=somme, filters={"retries": 0})
    run_source(source)
    portal.routes.clear()  # the portal is gone: 404 everywhere
    run = run_source(source)
    assert run.status == "failed" and run.archived == 0
    assert Dataset.objects.filter(origin="harvested", status=PublicationStatus.PUBLISHED).count() == 7
    source.refresh_from_db()
    assert services.HarvestSource.objects.get(pk=source.pk).is_stale
    ds = Dataset.objects.filter(origin="harvested").first()
    assert ds.harvest_origins.get().is_stale
    assert "informations possiblement périmées" in client.get(ds.get_absolute_url()).content.decode()
    api = client.get("/api/1/harvest/sources").json()
    assert api["data"][0]["stale"] is True and api["data"][0]["last_run"]["status"] == "failed"


def test_dry_run_preview_lists_what_would_be_created(portal, somme):
    portal.json_route("/api/3/action/package_search", ckan_page_route(datasud_packages()))
    source = make_source("ckan", portal.base, owner=somme)
    result = services.preview(source)
    assert len(result["items"]) == 7 and result["error"] == ""
    assert {i["action"] for i in result["items"]} == {"création"}
    assert any("inconnu de la plateforme" in w for i in result["items"] for w in i["warnings"])
    assert Dataset.objects.count() == 0
    run = run_source(source, dry_run=True)
    assert run.created == 7 and Dataset.objects.count() == 0


def test_demo_sources_read_real_payloads(db):
    from regio.harvest.demo import load_demo

    runs = load_demo()
    assert len(runs) == 6 and all(r.status == "succeeded" for r in runs), [(r.source.name, r.message) for r in runs]
    assert Dataset.objects.filter(origin="harvested").count() >= 20
    assert load_demo() == []  # idempotent
    assert str(settings.SHARED_DIR) in runs[0].source.file_path
