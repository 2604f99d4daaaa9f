"""Page-level (bulk) harvesting: a constant number of queries per page, identity resolved per page,
records interacting within a page, and the one-at-a-time fallback when a page's bulk write fails."""

import copy

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from regio.catalog import services as catalog_services
from regio.catalog.models import Dataset, Resource
from regio.core.ingest.engine import run_source
from regio.core.ingest.models import Item
from regio.harvest.models import DatasetOrigin

from .conftest import ckan_page_route, make_source, real_json

pytestmark = pytest.mark.django_db


def variants(start: int, count: int) -> list[dict]:
    """Distinct CKAN packages built from the real DataSud records (like the benchmark's portal)."""
    base = real_json("apis/ckan/datasud_package_search.json")["result"]["results"]
    out = []
    for i in range(start, start + count):
        pkg = copy.deepcopy(base[i % len(base)])
        pkg["id"], pkg["name"], pkg["title"] = f"v-{i}", f"{pkg['name']}-{i}", f"{pkg['title']} ({i})"
        pkg["url"] = f"https://portail.exemple.fr/dataset/{pkg['name']}"
        for n, res in enumerate(pkg.get("resources") or []):
            res["url"] = f"https://portail.exemple.fr/dataset/{i}/resource/{n}/download/"
        out.append(pkg)
    return out


def harvest_counting_queries(portal, path, packages, owner):
    portal.json_route(f"{path}/api/3/action/package_search", ckan_page_route(packages))
    source = make_source("ckan", portal.base + path, owner=owner, name=f"Portail {path}", filters={"page_size": 1000})
    with CaptureQueriesContext(connection) as ctx:
        run = run_source(source)
    assert run.status == "succeeded" and run.created == len(packages) and run.pages_done == 1, run.message
    return source, len(ctx.captured_queries)


def test_queries_per_page_do_not_grow_with_the_page(portal, somme):
    small_source, small = harvest_counting_queries(portal, "/petit", variants(0, 7), somme)
    big_source, big = harvest_counting_queries(portal, "/grand", variants(1000, 42), somme)
    # 35 more datasets (each with resources, keywords, territory, origin, item, search document) on the
    # same page: a few more INSERT batches at most, nothing per record.
    assert big - small <= 4, (small, big)
    assert big < 120
    assert Dataset.objects.filter(harvest_source=str(big_source.pk)).count() == 42
    assert Resource.objects.filter(dataset__harvest_source=str(big_source.pk)).count() == 42 * 3
    with CaptureQueriesContext(connection) as ctx:
        again = run_source(big_source)
    assert (again.unchanged, again.created, again.updated) == (42, 0, 0)
    assert len(ctx.captured_queries) <= 15


def test_new_changed_and_unchanged_records_of_one_page(portal, somme):
    packages = variants(0, 6)
    state = {"packages": packages}
    portal.json_route("/api/3/action/package_search", lambda q: ckan_page_route(state["packages"])(q))
    source = make_source("ckan", portal.base, owner=somme)
    run_source(source)
    changed = copy.deepcopy(packages)
    changed[1]["title"] = "Titre modifié à la source"
    changed[1]["resources"] = changed[1]["resources"][:1]
    changed[1]["tags"] = [{"name": "nouveau-mot"}]
    changed.append(variants(50, 1)[0])
    state["packages"] = changed
    run = run_source(source)
    assert (run.created, run.updated, run.unchanged, run.failed) == (1, 1, 5, 0)
    ds = Dataset.objects.get(remote_id="v-1")
    assert ds.title == "Titre modifié à la source" and ds.resources.count() == 1 and ds.keywords == ["nouveau-mot"]
    assert list(ds.terms.filter(kind="keyword").values_list("value", flat=True)) == ["nouveau-mot"]
    assert "\nkeyword:nouveau-mot\n" in ds.facet_terms
    assert ds.activity.filter(action="update").exists()
    from regio.catalog.selectors import search_datasets

    assert [d.pk for d in search_datasets("modifié", {}, "relevance").queryset] == [ds.pk]


def test_same_uri_twice_in_one_page_gives_one_dataset(portal, somme):
    packages = variants(0, 3)
    twin = copy.deepcopy(packages[0])
    twin["id"], twin["name"] = "jumeau", "jumeau"
    for p in (packages[0], twin):
        p["extras"] = [{"key": "uri", "value": "https://portail.exemple.fr/dataset/le-meme"}]
    packages.insert(2, twin)
    portal.json_route("/api/3/action/package_search", ckan_page_route(packages))
    source = make_source("ckan", portal.base, owner=somme)
    run = run_source(source)
    assert run.status == "succeeded" and run.failed == 0 and run.created == 4  # four items…
    assert Dataset.objects.filter(harvest_source=str(source.pk)).count() == 3  # …three datasets
    origin = DatasetOrigin.objects.get(identifier="https://portail.exemple.fr/dataset/le-meme")
    assert origin.remote_id == "jumeau"  # the later record of the page, written after the others


def test_a_failing_bulk_write_is_retried_record_by_record(portal, somme, monkeypatch):
    original = catalog_services.save_harvested_datasets

    def breaks_on_pages(entries, **kw):
        if len(entries) > 1:
            raise IntegrityError("contrainte violée par un lot")
        return original(entries, **kw)

    monkeypatch.setattr(catalog_services, "save_harvested_datasets", breaks_on_pages)
    portal.json_route("/api/3/action/package_search", ckan_page_route(variants(0, 5)))
    source = make_source("ckan", portal.base, owner=somme)
    run = run_source(source)
    assert (run.created, run.failed) == (5, 0), run.message
    assert Dataset.objects.filter(harvest_source=str(source.pk)).count() == 5
    assert DatasetOrigin.objects.filter(source=source).count() == 5 and Item.objects.filter(source=source).count() == 5


def test_one_bad_record_in_the_fallback_gets_its_own_french_error(portal, somme, monkeypatch):
    original = catalog_services.save_harvested_datasets

    def breaks_on_one(entries, **kw):
        if any(e.remote_id == "v-2" for e in entries):
            raise IntegrityError("valeur refusée par la base")
        return original(entries, **kw)

    monkeypatch.setattr(catalog_services, "save_harvested_datasets", breaks_on_one)
    portal.json_route("/api/3/action/package_search", ckan_page_route(variants(0, 5)))
    source = make_source("ckan", portal.base, owner=somme)
    run = run_source(source)
    assert (run.created, run.failed) == (4, 1)
    error = run.errors.get()
    assert error.remote_id == "v-2" and error.page == 1
    assert "Enregistrement impossible en base de données : IntegrityError : valeur refusée par la base" in error.describe()
    assert not Dataset.objects.filter(remote_id="v-2").exists()


def test_bulk_inserted_datasets_read_back_like_orm_written_ones(portal, somme):
    """Datasets, activity log and terms go in with one prepared INSERT (SQLite) or COPY (PostgreSQL):
    JSON, UUID, dates and defaults must come back as the ORM writes them."""
    import uuid

    from regio.catalog.models import ActivityLog, DatasetTerm

    packages = variants(0, 3)
    source, _queries = harvest_counting_queries(portal, "/types", packages, somme)
    datasets = list(Dataset.objects.filter(harvest_source=str(source.pk)).order_by("remote_id"))
    assert [d.remote_id for d in datasets] == ["v-0", "v-1", "v-2"]
    for d, pkg in zip(datasets, packages, strict=True):
        d.refresh_from_db()
        assert isinstance(d.uid, uuid.UUID) and d.created_at is not None and d.updated_at is not None
        assert isinstance(d.keywords, list) and d.keywords == list(dict.fromkeys(
            (t.get("display_name") or t.get("name")).strip().lower() for t in pkg["tags"]))
        assert isinstance(d.themes, list)
        assert d.views_count == 0 and d.status == "published" and d.origin == "harvested"
        assert sorted(DatasetTerm.objects.filter(dataset=d, kind="keyword").values_list("value", flat=True)) == sorted(d.keywords)
        log = ActivityLog.objects.get(dataset=d)
        assert log.changes == {"moissonnage": [None, source.name]}
    assert len({d.uid for d in datasets}) == 3
