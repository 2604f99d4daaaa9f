import pytest

from regio.territory import selectors
from regio.territory.models import Commune

pytestmark = pytest.mark.django_db


def test_haversine_lille_amiens():
    lille = Commune.objects.get(code="59350")
    amiens = Commune.objects.get(code="80021")
    d = selectors.haversine_km(lille.lat, lille.lon, amiens.lat, amiens.lon)
    assert 95 < d < 105  # about 100 km as the crow flies


def test_within_radius_is_sorted_and_exact():
    lille = Commune.objects.get(code="59350")
    found = selectors.within_radius(selectors.communes(), lille.lat, lille.lon, 20)
    distances = [n.distance_km for n in found]
    assert distances == sorted(distances) and distances[0] == 0 and max(distances) <= 20
    codes = {n.obj.code for n in found}
    assert {"59512", "59599"} <= codes  # Roubaix, Tourcoing
    # Every commune outside the result is really farther than 20 km.
    outside = Commune.objects.filter(region_id="32").exclude(code__in=codes)
    assert all(selectors.haversine_km(lille.lat, lille.lon, c.lat, c.lon) > 20 for c in outside)


def test_nearest_k():
    amiens = Commune.objects.get(code="80021")
    found = selectors.nearest(selectors.communes(), amiens.lat, amiens.lon, 5)
    assert len(found) == 5 and found[0].obj.code == "80021"


def test_search_accent_and_case_insensitive():
    assert [c.code for c in selectors.search_communes("chateau thierry")][:1] == ["02168"]
    assert [c.code for c in selectors.search_communes("CHÂTEAU-THIERRY")][:1] == ["02168"]
    assert selectors.search_communes("st omer").first().code == "62765"
    assert "80021" in [c.code for c in selectors.search_communes("80000")]


def test_search_prefers_prefix_then_population():
    names = [c.name for c in selectors.search_communes("lille")[:3]]
    assert names[0] == "Lille"


def test_per_inhabitant_and_urban_rural_split():
    amounts = {"59350": 1_000_000.0, "59512": 500_000.0, "02024": 1000.0}
    by_epci = selectors.per_inhabitant(amounts, "epci")
    mel = by_epci["200093201"]
    assert mel["total"] == 1_500_000.0
    assert mel["population"] > 1_000_000 and mel["per_inhabitant"] == pytest.approx(1_500_000 / mel["population"])
    by_commune = selectors.per_inhabitant(amounts, "commune")
    lille_pop = Commune.objects.get(code="59350").population
    assert by_commune["59350"]["per_inhabitant"] == pytest.approx(1_000_000 / lille_pop)
    split = selectors.urban_rural_split({**amounts, "99999": 5.0})
    assert split == {"urbain": 1_500_000.0, "rural": 1000.0, "inconnu": 5.0}


def test_commune_by_postal_code_prefers_most_populated():
    assert selectors.commune_by_code_or_postal_code("59000").code == "59350"
    assert selectors.commune_by_code_or_postal_code("02168").name == "Château-Thierry"
    assert selectors.commune_by_code_or_postal_code("00000") is None
