import pytest

pytestmark = pytest.mark.django_db


def test_home_shows_region_and_key_figures(client):
    html = client.get("/").content.decode()
    assert "Région Hauts-de-France" in html
    import re

    assert re.search(r"3[\s\u202f\xa0]?782</span> <span class=\"figure-label\">communes", html)
    assert 'action="/territoire/recherche"' in html


def test_commune_page(client):
    r = client.get("/territoire/02168")
    html = r.content.decode()
    assert r.status_code == 200
    for expected in ["Château-Thierry", "02400", "Aisne", "Centres urbains intermédiaires", "<svg", "Communes voisines"]:
        assert expected in html
    assert "Brasles" in html  # a neighbour within 10 km


def test_epci_and_departement_pages_list_communes(client):
    html = client.get("/territoire/epci/200093201").content.decode()
    assert "Roubaix" in html and "Lille" in html
    html = client.get("/territoire/departement/02").content.decode()
    assert "Saint-Quentin" in html and "Page 1 sur" in html


def test_unknown_commune_page_is_404_in_french(client):
    r = client.get("/territoire/99999")
    import html

    assert r.status_code == 404 and "La commune 99999 n'existe pas." in html.unescape(r.content.decode())


def test_search_page(client):
    html = client.get("/territoire/recherche", {"q": "amiens"}).content.decode()
    assert "/territoire/80021" in html


def test_pages_load_no_third_party_asset(client):
    import re

    html = client.get("/territoire/59350").content.decode()
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not url.startswith(("http://", "https://", "//")), url
    assert "default-src 'self'" in client.get("/")["Content-Security-Policy"]
