"""The région's own themes next to the EU data-theme vocabulary."""

import io

import pytest
from django.core.exceptions import ValidationError

from regio.catalog import selectors, services
from regio.catalog.demo import load_demo
from regio.catalog.models import Dataset, RegionalTheme
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def littoral():
    return RegionalTheme.objects.create(code="littoral", label="Littoral et baie de Somme", eu_theme="ENVI")


def test_code_is_upper_cased_and_must_not_be_an_eu_code(littoral):
    assert littoral.code == "LITTORAL"
    with pytest.raises(ValidationError) as exc:
        RegionalTheme(code="ENVI", label="Environnement bis").full_clean()
    assert "déjà un code du vocabulaire européen" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        RegionalTheme(code="mer et côte", label="x").full_clean()
    assert "lettres, chiffres, tirets et soulignés" in str(exc.value)


def test_create_and_update_accept_eu_and_regional_themes(agent, amiens, littoral):
    ds = services.create_dataset(agent, amiens, {"title": "Traits de côte", "licence": "lov2", "themes": ["envi", "littoral"]}, publish=True)
    assert ds.themes == ["ENVI", "LITTORAL"]
    assert [t["label"] for t in ds.theme_items] == ["Environnement", "Littoral et baie de Somme"]
    assert ds.theme_items[1]["uri"].endswith("/donnees/themes/LITTORAL")
    services.update_dataset(agent, ds, {"themes": ["LITTORAL"]})
    assert Dataset.objects.get(pk=ds.pk).themes == ["LITTORAL"]


def test_unknown_theme_is_refused_in_french(agent, amiens, littoral):
    with pytest.raises(ValidationError) as exc:
        services.create_dataset(agent, amiens, {"title": "X", "licence": "lov2", "themes": ["PLAGES"]})
    message = exc.value.message_dict["themes"][0]
    assert message.startswith("Thème inconnu : PLAGES.")
    assert "ENVI" in message and "LITTORAL" in message


def test_regional_theme_is_a_facet_and_a_filter(client, agent, amiens, littoral, dataset):
    ds = services.create_dataset(agent, amiens, {"title": "Érosion du littoral", "licence": "lov2", "themes": ["LITTORAL"]}, publish=True)
    result = selectors.search_datasets("", {})
    assert {"value": "LITTORAL", "label": "Littoral et baie de Somme", "count": 1} in result.facets["theme"]
    assert [d.pk for d in selectors.search_datasets("", {"theme": "LITTORAL"}).queryset] == [ds.pk]
    assert [d.pk for d in selectors.search_datasets("erosion", {"theme": "littoral"}).queryset] == [ds.pk]
    html = client.get("/donnees/").content.decode()
    assert "Littoral et baie de Somme" in html and "theme=LITTORAL" in html
    page = client.get(f"/donnees/{ds.slug}").content.decode()
    assert "Littoral et baie de Somme" in page
    api = client.get("/api/1/datasets?theme=LITTORAL").json()
    assert api["total"] == 1 and api["data"][0]["themes"][0]["label"] == "Littoral et baie de Somme"


def test_theme_address_leads_to_its_datasets(client, littoral):
    response = client.get("/donnees/themes/LITTORAL")
    assert response.status_code == 302 and response["Location"] == "/donnees/?theme=LITTORAL"
    assert client.get("/donnees/themes/ENVI")["Location"] == "/donnees/?theme=ENVI"
    assert client.get("/donnees/themes/INCONNU").status_code == 404


def test_dataset_form_offers_regional_themes(client, agent, amiens, littoral):
    client.force_login(agent)
    html = client.get("/donnees/nouveau").content.decode()
    assert 'value="LITTORAL"' in html and "Littoral et baie de Somme (thème régional)" in html
    response = client.post("/donnees/nouveau", {"title": "Plages", "licence": "lov2", "publisher": amiens.pk,
                                                "themes": ["LITTORAL"], "frequency": "UNKNOWN"})
    assert response.status_code == 302
    assert Dataset.objects.get(title="Plages").themes == ["LITTORAL"]


def test_editable_in_the_admin(client, littoral):
    admin = make_user("admin@region.fr", is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert client.get("/admin/catalog/regionaltheme/").status_code == 200
    response = client.post(f"/admin/catalog/regionaltheme/{littoral.pk}/change/",
                           {"code": "LITTORAL", "label": "Littoral", "eu_theme": "ENVI"})
    assert response.status_code == 302
    assert RegionalTheme.objects.get(pk=littoral.pk).label == "Littoral"
    response = client.post("/admin/catalog/regionaltheme/add/", {"code": "TRAN", "label": "Transports bis", "eu_theme": ""})
    assert response.status_code == 200 and "déjà un code du vocabulaire européen" in response.content.decode()


def test_demo_seeds_two_regional_themes_used_by_datasets():
    load_demo(io.StringIO())
    codes = set(RegionalTheme.objects.values_list("code", flat=True))
    assert codes == {"MOBILITES", "REV3"}
    assert RegionalTheme.objects.get(code="MOBILITES").eu_theme == "TRAN"
    assert Dataset.objects.filter(facet_terms__contains="\ntheme:MOBILITES\n").exists()
