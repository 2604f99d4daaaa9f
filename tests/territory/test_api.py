import pytest

pytestmark = pytest.mark.django_db


def test_communes_search_envelope(client):
    r = client.get("/api/1/communes", {"q": "chateau thierry"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"data", "page", "page_size", "total", "next_page"}
    assert body["data"][0]["code"] == "02168" and body["data"][0]["name"] == "Château-Thierry"
    assert body["data"][0]["departement"] == {"code": "02", "name": "Aisne"}


def test_communes_by_postal_code_and_paging(client):
    body = client.get("/api/1/communes", {"postal_code": "59", "page_size": 10}).json()
    assert body["total"] > 600 and len(body["data"]) == 10
    assert "page=2" in body["next_page"]
    page2 = client.get(body["next_page"]).json()
    assert page2["page"] == 2 and page2["data"][0]["code"] != body["data"][0]["code"]


def test_communes_near_a_commune_sorted_by_distance(client):
    body = client.get("/api/1/communes/near", {"commune": "59350", "radius_km": 20, "page_size": 200}).json()
    distances = [c["distance_km"] for c in body["data"]]
    assert distances == sorted(distances) and distances[0] == 0 and distances[-1] <= 20
    assert body["total"] == len(body["data"])


def test_communes_near_a_point(client):
    body = client.get("/api/1/communes/near", {"lat": 49.894, "lon": 2.2957, "radius_km": 3}).json()
    assert body["data"][0]["code"] == "80021"


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"lat": "abc", "lon": 2}, "lat : doit être un nombre"),
        ({"lat": 95, "lon": 2}, "lat : doit être inférieur ou égal à 90"),
        ({"commune": "59350", "radius_km": -3}, "radius_km : doit être supérieur à 0"),
        ({"commune": "59350", "radius_km": 5000}, "radius_km : doit être inférieur ou égal à 500"),
        ({"radius_km": 3}, "Indiquez soit une commune"),
    ],
)
def test_bad_coordinates_and_radius_are_422_in_french(client, params, fragment):
    r = client.get("/api/1/communes/near", params)
    assert r.status_code == 422
    assert r["Content-Type"] == "application/problem+json"
    assert fragment in r.json()["detail"]


def test_unknown_commune_is_problem_json_404(client):
    r = client.get("/api/1/communes/99999")
    assert r.status_code == 404 and r["Content-Type"] == "application/problem+json"
    assert r.json()["detail"] == "La commune 99999 n'existe pas."
    assert client.get("/api/1/communes/near", {"commune": "99999"}).status_code == 404


def test_epci_departement_region_detail(client):
    epci = client.get("/api/1/epci/200093201").json()
    assert epci["name"] == "Métropole Européenne de Lille" and len(epci["communes"]) == epci["nb_communes"]
    dept = client.get("/api/1/departements/80").json()
    assert dept["region"]["code"] == "32" and dept["communes_count"] == 771
    region = client.get("/api/1/regions/32").json()
    assert [d["code"] for d in region["departements"]] == ["02", "59", "60", "62", "80"]
    assert client.get("/api/1/regions/00").status_code == 404


def test_openapi_documented(client):
    spec = client.get("/api/1/openapi.json").json()
    assert "/api/1/communes/near" in spec["paths"] and "/api/1/organizations" in spec["paths"]
    assert client.get("/api/1/docs").status_code == 200
