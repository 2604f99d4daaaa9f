"""Reuses (réutilisations) in HTML: list, detail, declaration form for members of an organisation."""

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from regio.catalog import services
from regio.catalog.models import Reuse
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def reuse(agent, amiens, dataset):
    return services.create_reuse(
        agent, {"title": "Carte des associations subventionnées", "url": "https://carto.example.fr/asso",
                "kind": "visualization", "description": "Une carte des montants."}, [dataset], amiens,
    )


def test_list_and_detail_pages(client, reuse, dataset):
    html = client.get("/donnees/reutilisations/").content.decode()
    assert "<h1>Réutilisations des données</h1>" in html
    assert "Carte des associations subventionnées" in html and f"/donnees/reutilisations/{reuse.slug}" in html
    assert "1 réutilisation." in html
    assert "Aucune réutilisation" in client.get("/donnees/reutilisations/?type=article").content.decode()
    detail = client.get(f"/donnees/reutilisations/{reuse.slug}").content.decode()
    assert "https://carto.example.fr/asso" in detail and "Visualisation" in detail
    assert f'href="/donnees/{dataset.slug}"' in detail and "Amiens" in detail
    assert client.get("/donnees/reutilisations/inconnue").status_code == 404


def test_dataset_page_still_lists_its_reuses(client, reuse, dataset):
    html = client.get(f"/donnees/{dataset.slug}").content.decode()
    assert "Carte des associations subventionnées" in html
    assert f"/donnees/reutilisations/{reuse.slug}" in html
    assert f"/donnees/reutilisations/nouvelle?jeu={dataset.slug}" in html


def test_draft_reuse_is_not_shown(client, reuse):
    Reuse.objects.filter(pk=reuse.pk).update(status="draft")
    assert client.get(f"/donnees/reutilisations/{reuse.slug}").status_code == 404
    assert "Carte des associations" not in client.get("/donnees/reutilisations/").content.decode()


def test_member_declares_a_reuse(client, agent, amiens, dataset):
    client.force_login(agent)
    form = client.get(f"/donnees/reutilisations/nouvelle?jeu={dataset.slug}").content.decode()
    assert f'value="{dataset.slug}"' in form and "Jeux de données réutilisés" in form
    response = client.post("/donnees/reutilisations/nouvelle", {
        "title": "Tableau de bord des subventions", "url": "https://tableau.example.fr", "kind": "application",
        "owner": amiens.pk, "datasets": f"{dataset.slug}", "description": "Suivi annuel.",
    })
    reuse = Reuse.objects.get(title="Tableau de bord des subventions")
    assert response.status_code == 302 and response["Location"] == f"/donnees/reutilisations/{reuse.slug}"
    assert reuse.owner == amiens and reuse.created_by == agent and list(reuse.datasets.all()) == [dataset]
    assert reuse.status == "published"


def test_dataset_given_by_its_page_address(client, agent, amiens, dataset):
    client.force_login(agent)
    client.post("/donnees/reutilisations/nouvelle", {
        "title": "Article", "url": "https://blog.example.fr/article", "kind": "article", "owner": amiens.pk,
        "datasets": f"https://regio.example.fr/donnees/{dataset.slug}",
    })
    assert list(Reuse.objects.get(title="Article").datasets.all()) == [dataset]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "url": "https://x.example.fr"}, "Le titre est obligatoire."),
        ({"title": "Sans adresse", "url": ""}, "L&#x27;adresse de la réutilisation est obligatoire."),
        ({"title": "Jeu inconnu", "url": "https://x.example.fr", "datasets": "nexiste-pas"}, "Jeu de données inconnu : nexiste-pas."),
        ({"title": "Sans jeu", "url": "https://x.example.fr", "datasets": ""}, "Indiquez au moins un jeu de données réutilisé."),
        ({"title": "Adresse invalide", "url": "pas une adresse"}, "Saisissez une URL valide."),
    ],
)
def test_bad_input_is_refused_in_french(client, agent, amiens, dataset, data, message):
    client.force_login(agent)
    payload = {"kind": "application", "owner": amiens.pk, "datasets": dataset.slug, **data}
    response = client.post("/donnees/reutilisations/nouvelle", payload)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Reuse.objects.exists()


def test_only_members_of_an_organisation_may_declare(client, dataset, lille, agent):
    outsider = make_user("citoyen@example.fr")
    client.force_login(outsider)
    response = client.get("/donnees/reutilisations/nouvelle")
    assert response.status_code == 302 and response["Location"] == reverse("accounts:organisations")
    client.force_login(agent)
    # Amiens' agent may not declare on behalf of Lille: the organisation is not among the choices.
    response = client.post("/donnees/reutilisations/nouvelle", {
        "title": "Au nom de Lille", "url": "https://x.example.fr", "kind": "application", "owner": lille.pk,
        "datasets": dataset.slug,
    })
    assert response.status_code == 200 and not Reuse.objects.exists()
    assert "Sélectionnez un choix valide" in response.content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/donnees/reutilisations/nouvelle")
    assert response.status_code == 302
    assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))
