"""The quality score in every dataset object of /api/1/datasets and of the CKAN Action API
(``quality_score``, an ``extras`` entry, the ``quality`` facet in CKAN's shape), the latter through
the real ``ckanapi`` client over HTTP."""

from __future__ import annotations

import pytest
from ckanapi import RemoteCKAN, ValidationError

from regio.catalog import services as catalog
from regio.quality.models import DatasetQuality
from tests.factories import make_user, member_of

GOOD = {
    "title": "Subventions aux associations", "licence": "lov2", "frequency": "ANNUAL", "temporal_start": "2024-01-01",
    "territories": ["commune:80021"], "description": "Subventions versées par la commune aux associations, au format SCDL. " * 5,
}
POOR = {"title": "Notes en vrac", "licence": "lov2"}


def _catalogue(amiens):
    agent = member_of(make_user("donnees@amiens.fr"), amiens)
    good = catalog.create_dataset(agent, amiens, GOOD, publish=True)
    catalog.add_resource(agent, good, title="Subventions", url="https://data.amiens.fr/subventions.csv", format="csv")
    poor = catalog.create_dataset(agent, amiens, POOR, publish=True)
    return good, poor


@pytest.mark.django_db
def test_api_datasets_list_and_detail_carry_the_stored_score(amiens, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        good, poor = _catalogue(amiens)
    stored = {d.slug: DatasetQuality.objects.get(dataset=d).score for d in (good, poor)}
    assert stored[good.slug] > stored[poor.slug]
    listed = client.get("/api/1/datasets", {"page_size": 50}).json()
    by_slug = {d["slug"]: d for d in listed["data"]}
    assert all(isinstance(d["quality_score"], int) and 0 <= d["quality_score"] <= 100 for d in listed["data"])
    assert {s: by_slug[s]["quality_score"] for s in stored} == stored
    detail = client.get(f"/api/1/datasets/{good.slug}").json()
    assert detail["quality_score"] == stored[good.slug]
    # Sorted and filtered by score, each object still carries it.
    best = client.get("/api/1/datasets", {"sort": "quality", "quality": "0-49"}).json()["data"]
    assert [d["slug"] for d in best] == [poor.slug] and best[0]["quality_score"] == stored[poor.slug]


@pytest.mark.django_db
def test_a_dataset_not_scored_yet_is_scored_when_read(amiens, client):
    good, _poor = _catalogue(amiens)  # no on_commit: the rescoring has not run
    DatasetQuality.objects.filter(dataset=good).delete()
    detail = client.get(f"/api/1/datasets/{good.slug}").json()
    assert detail["quality_score"] == DatasetQuality.objects.get(dataset=good).score > 0


@pytest.fixture
def ckan_site(live_server, reference_territory_tx):
    from regio.accounts.models import Organisation

    amiens = Organisation.objects.get(kind="commune", commune_id="80021")
    good, poor = _catalogue(amiens)  # transactional: the rescoring ran after each commit
    return {"url": live_server.url, "good": good, "poor": poor}


def test_ckan_packages_carry_the_score_and_the_quality_facet(ckan_site):
    good, poor = ckan_site["good"], ckan_site["poor"]
    scores = {d.slug: DatasetQuality.objects.get(dataset=d).score for d in (good, poor)}
    assert 50 <= scores[good.slug] < 80 and scores[poor.slug] < 50  # good: its link is not checked yet, no schema
    with RemoteCKAN(ckan_site["url"], user_agent="regio-tests") as ckan:
        shown = ckan.action.package_show(id=good.slug)
        assert shown["quality_score"] == scores[good.slug]
        assert {"key": "quality_score", "value": str(scores[good.slug])} in shown["extras"]
        found = ckan.action.package_search(rows=10, **{"facet.field": ["quality", "organization"]})
        assert {p["name"]: p["quality_score"] for p in found["results"]} == scores
        assert all({"key": "quality_score", "value": str(p["quality_score"])} in p["extras"] for p in found["results"])
        # CKAN's facet shapes: {value: count} and search_facets items {name, display_name, count}.
        assert found["facets"]["quality"] == {"50-79": 1, "0-49": 1}
        items = {i["name"]: i for i in found["search_facets"]["quality"]["items"]}
        assert found["search_facets"]["quality"]["title"] == "quality"
        assert items["50-79"] == {"name": "50-79", "display_name": "Moyenne (50 à 79)", "count": 1}
        assert items["0-49"]["count"] == 1
        only_good = ckan.action.package_search(fq="quality:50-79")
        assert [p["name"] for p in only_good["results"]] == [good.slug]
        ranked = ckan.action.package_search(sort="quality_score desc")
        assert [p["name"] for p in ranked["results"]] == [good.slug, poor.slug]
        org = ckan.action.organization_show(id=good.publisher.slug, include_datasets=True)
        assert {p["name"]: p["quality_score"] for p in org["packages"]} == scores
        with pytest.raises(ValidationError):
            ckan.action.package_search(**{"facet.field": ["qualite"]})
