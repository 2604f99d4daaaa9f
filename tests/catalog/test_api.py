import pytest

from regio.accounts.models import ApiToken
from regio.catalog import services
from regio.catalog.models import Dataset, Reuse

pytestmark = pytest.mark.django_db


def bearer(user):
    _token, secret = ApiToken.issue(user, "tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_list_envelope_with_resources(client, dataset):
    body = client.get("/api/1/datasets?q=subvention&page=1&page_size=10").json()
    assert set(body) == {"data", "page", "page_size", "total", "next_page", "facets"}
    assert body["total"] == 1 and body["next_page"] is None
    item = body["data"][0]
    assert item["slug"] == dataset.slug and item["publisher"]["slug"] == "amiens-80021"
    assert item["resources"] == [
        {**item["resources"][0], "url": "https://data.amiens.fr/subventions-2024.csv", "format": "csv"}
    ]
    assert set(item["resources"][0]) >= {"id", "url", "format"}
    assert item["licence"]["url"] == "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


def test_facet_filters_and_counts(client, dataset, agent, region_org):
    from tests.factories import member_of

    member_of(agent, region_org)
    services.create_dataset(agent, region_org, {"title": "Lycées", "licence": "odc-odbl", "themes": ["EDUC"]}, publish=True)
    body = client.get("/api/1/datasets?licence=odc-odbl").json()
    assert [d["title"] for d in body["data"]] == ["Lycées"]
    body = client.get("/api/1/datasets?facets=true&publisher_kind=commune").json()
    assert body["total"] == 1
    assert body["facets"]["theme"] == [{"value": "ECON", "label": "Économie et finances", "count": 1}]
    assert client.get("/api/1/datasets?territory=commune:80021").json()["total"] == 1
    assert client.get("/api/1/datasets?format=csv").json()["total"] == 1


def test_paging(client, agent, amiens):
    for i in range(3):
        services.create_dataset(agent, amiens, {"title": f"Jeu {i}", "licence": "lov2"}, publish=True)
    body = client.get("/api/1/datasets?page_size=2").json()
    assert body["total"] == 3 and len(body["data"]) == 2 and "page=2" in body["next_page"]
    bad = client.get("/api/1/datasets?page=0")
    assert bad.status_code == 422 and bad["Content-Type"] == "application/problem+json"


def test_detail_by_slug_uuid_or_id_and_drafts_hidden(client, dataset, agent, amiens):
    for key in (dataset.slug, str(dataset.uid), str(dataset.pk)):
        assert client.get(f"/api/1/datasets/{key}").json()["id"] == str(dataset.uid)
    draft = services.create_dataset(agent, amiens, {"title": "Brouillon", "licence": "lov2"})
    response = client.get(f"/api/1/datasets/{draft.slug}")
    assert response.status_code == 404 and response.json()["detail"] == "Jeu de données introuvable."
    assert client.get(f"/api/1/datasets/{draft.slug}", **bearer(agent)).status_code == 404  # GET is anonymous


def test_create_update_delete_with_token(client, agent):
    headers = bearer(agent)
    created = client.post(
        "/api/1/datasets", {"title": "Bornes de recharge", "licence": "cc-by", "publisher": "amiens-80021",
                            "themes": ["TRAN"], "territories": ["80021"], "publish": True},
        content_type="application/json", **headers,
    )
    assert created.status_code == 201, created.content
    slug = created.json()["slug"]
    assert created.json()["status"] == "published"
    updated = client.put(f"/api/1/datasets/{slug}", {"description": "Mise à jour"}, content_type="application/json", **headers)
    assert updated.status_code == 200 and updated.json()["description"] == "Mise à jour"
    res = client.post(f"/api/1/datasets/{slug}/resources", {"title": "IRVE", "url": "https://example.org/irve.csv"},
                      content_type="application/json", **headers)
    assert res.status_code == 201 and res.json()["format"] == "csv"
    deleted = client.delete(f"/api/1/datasets/{slug}", **headers)
    assert deleted.status_code == 200 and deleted.json()["status"] == "archived"
    assert Dataset.objects.get(slug=slug).resources.count() == 1  # archived, nothing lost


def test_write_needs_a_token(client):
    response = client.post("/api/1/datasets", {"title": "X"}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Authentification requise")


def test_bad_input_through_the_api_in_french(client, agent, dataset):
    headers = bearer(agent)
    missing = client.post("/api/1/datasets", {"publisher": "amiens-80021"}, content_type="application/json", **headers)
    assert missing.status_code == 422
    assert "title : Le titre est obligatoire." in missing.json()["detail"]
    assert "licence : La licence est obligatoire" in missing.json()["detail"]
    unknown = client.post("/api/1/datasets", {"publisher": "amiens-80021", "title": "X", "licence": "beerware"},
                          content_type="application/json", **headers)
    assert "Licence inconnue : « beerware »" in unknown.json()["detail"]
    dup = client.post("/api/1/datasets", {"publisher": "amiens-80021", "title": "X", "licence": "lov2", "slug": dataset.slug},
                      content_type="application/json", **headers)
    assert dup.status_code == 422 and "est déjà utilisé" in dup.json()["detail"]


def test_editor_of_another_organisation_gets_403_problem(client, dataset, lille_agent):
    response = client.put(f"/api/1/datasets/{dataset.slug}", {"title": "Piraté"}, content_type="application/json", **bearer(lille_agent))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "dont vous n'êtes pas éditeur" in response.json()["detail"]
    assert client.delete(f"/api/1/datasets/{dataset.slug}", **bearer(lille_agent)).status_code == 403
    created = client.post("/api/1/datasets", {"publisher": "amiens-80021", "title": "X", "licence": "lov2"},
                          content_type="application/json", **bearer(lille_agent))
    assert created.status_code == 403


def test_reuses(client, dataset, lille_agent):
    created = client.post("/api/1/reuses", {"title": "Carte des subventions", "url": "https://carto.example.org",
                                            "kind": "visualization", "datasets": [dataset.slug]},
                          content_type="application/json", **bearer(lille_agent))
    assert created.status_code == 201
    body = client.get(f"/api/1/reuses?dataset={dataset.slug}").json()
    assert body["total"] == 1 and body["data"][0]["datasets"] == [dataset.slug]
    assert Reuse.objects.get().created_by == lille_agent
    bad = client.post("/api/1/reuses", {"title": "X", "url": "https://x.org", "datasets": ["inconnu"]},
                      content_type="application/json", **bearer(lille_agent))
    assert bad.status_code == 422 and "jeu de données inconnu : inconnu" in bad.json()["detail"]


def test_openapi_documents_the_catalogue(client):
    paths = client.get("/api/1/openapi.json").json()["paths"]
    assert {"/api/1/datasets", "/api/1/datasets/{key}", "/api/1/reuses", "/api/1/organizations"} <= set(paths)
