from datetime import timedelta

import pytest
from django.utils import timezone

from regio.accounts.models import ApiToken
from regio.crowdfunding import ledger, services
from regio.crowdfunding.models import Pledge, Project, StatementLine

from .conftest import URBAN_COMMUNE, make_programme, make_project, make_user, pledge_and_confirm

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded_setup(owner, moderator, backers):
    programme = make_programme(name="Ruralité 1:1", slug="ruralite")
    project = make_project(owner, moderator, programme, title="Fromagerie de Wormhout", goal_cents=10_000)
    pledge_and_confirm(backers[0], project, 4_000)
    pledge_and_confirm(backers[1], project, 2_000)
    return programme, project


def test_project_list_search_by_category_and_territory(client, funded_setup, owner, moderator):
    make_project(owner, moderator, title="Librairie d'Amiens", category="culture", commune=URBAN_COMMUNE)
    make_project(owner, moderator, title="Brouillon caché", publish=False)
    page = client.get("/financement-participatif/").content.decode()
    assert "Fromagerie de Wormhout" in page and "Librairie d&#x27;Amiens" in page and "Brouillon caché" not in page
    page = client.get("/financement-participatif/?categorie=culture").content.decode()
    assert "Fromagerie" not in page and "Librairie" in page
    page = client.get("/financement-participatif/?territoire=59663").content.decode()
    assert "Fromagerie" in page and "Librairie" not in page
    page = client.get("/financement-participatif/?territoire=80").content.decode()
    assert "Fromagerie" not in page and "Librairie" in page
    page = client.get("/financement-participatif/?territoire=zzz").content.decode()
    assert "Territoire « zzz » introuvable" in page


def test_project_page_progress_has_text_equivalent(client, funded_setup):
    _, project = funded_setup
    page = client.get(f"/financement-participatif/projets/{project.slug}").content.decode()
    assert "60 € donnés par les citoyens et 60 € d'abondement de la Région, sur un objectif de 100 € (60 % atteint" in page
    assert 'aria-hidden="true"' in page
    assert 'width="60"' in page


def test_unpublished_project_is_hidden(client, owner, moderator):
    project = make_project(owner, moderator, publish=False)
    assert client.get(f"/financement-participatif/projets/{project.slug}").status_code == 404
    client.force_login(owner)
    assert client.get(f"/financement-participatif/projets/{project.slug}").status_code == 200


def test_pledge_form_flow_and_double_submit(client, funded_setup, backers):
    _, project = funded_setup
    client.force_login(backers[3])
    url = f"/financement-participatif/projets/{project.slug}/contribuer"
    assert client.get(url).status_code == 200
    data = {"amount": "25,50", "provider": "bank_transfer", "show_name": "on", "idempotency_key": "form-abc"}
    first = client.post(url, data)
    second = client.post(url, data)  # double click
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    pledge = Pledge.objects.get(idempotency_key="form-abc")
    assert pledge.amount_cents == 2550
    page = client.get(first["Location"]).content.decode()
    assert pledge.payment_reference in page and "25,50 €" in page


@pytest.mark.parametrize(
    "amount, message",
    [
        ("douze", "Montant : Le montant doit être un nombre (par exemple 25 ou 25,50)."),
        ("-10", "Montant : Le montant doit être positif."),
        ("2", "Le don minimum est de 5 €."),
        ("5000", "Un don ne peut pas dépasser 3 000 €."),
    ],
)
def test_pledge_form_bad_amounts(client, funded_setup, backers, amount, message):
    _, project = funded_setup
    client.force_login(backers[3])
    response = client.post(
        f"/financement-participatif/projets/{project.slug}/contribuer", {"amount": amount, "provider": "bank_transfer", "idempotency_key": f"k-{amount}"}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Pledge.objects.filter(backer=backers[3]).exists()


def test_owner_page_shows_consenting_backers_and_posts_updates(client, owner, moderator, backers):
    project = make_project(owner, moderator, goal_cents=10_000)
    a, _ = services.create_pledge(backers[0], project, 1_500, idempotency_key="a", show_name=True, message="Courage !")
    b, _ = services.create_pledge(backers[1], project, 2_000, idempotency_key="b", show_name=False, message="secret")
    services.confirm_pledge(a.pk)
    services.confirm_pledge(b.pk)
    client.force_login(backers[2])
    assert client.get(f"/financement-participatif/projets/{project.slug}/porteur").status_code == 403
    client.force_login(owner)
    page = client.get(f"/financement-participatif/projets/{project.slug}/porteur").content.decode()
    assert backers[0].email in page and "Courage !" in page
    assert backers[1].email not in page and "secret" not in page and "Contributeur anonyme" in page
    response = client.post(f"/financement-participatif/projets/{project.slug}/porteur", {"action": "update", "title": "Merci", "body": "On avance."})
    assert response.status_code == 302 and project.updates.count() == 1


def test_project_creation_form(client, owner, programme):
    client.force_login(owner)
    response = client.post(
        "/financement-participatif/projets/nouveau",
        {
            "title": "Boulangerie paysanne",
            "category": "agriculture",
            "commune": "59663",
            "programme": programme.pk,
            "goal": "4 000",
            "deadline": (timezone.localdate() + timedelta(days=30)).isoformat(),
            "description": "Un four à bois.",
            "budget": "Four ; 3500\nFarine ; 1500,50",
            "counterparts": "20 ; Un pain",
            "other_public_funding": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    project = Project.objects.get(title="Boulangerie paysanne")
    assert project.cost_cents == 500_050 and project.goal_cents == 400_000 and project.counterparts.count() == 1
    assert project.moderation_status == "draft"
    client.post(f"/financement-participatif/projets/{project.slug}/porteur", {"action": "submit"})
    project.refresh_from_db()
    assert project.moderation_status == "submitted"


def test_programme_and_stats_pages(client, funded_setup):
    programme, _ = funded_setup
    page = client.get(f"/financement-participatif/programmes/{programme.slug}").content.decode()
    assert "Ruralité 1:1" in page and "Fromagerie de Wormhout" in page
    page = client.get("/financement-participatif/statistiques").content.decode()
    assert "Nord" in page and "60 €" in page
    assert client.get("/financement-participatif/statistiques?niveau=epci").status_code == 200
    stats = __import__("regio.crowdfunding.selectors", fromlist=["x"]).territory_stats("departement")
    assert stats["urban_rural"]["rural"] == {"citizens_cents": 6_000, "region_cents": 6_000}
    nord = next(r for r in stats["rows"] if r["code"] == "59")
    assert nord["per_inhabitant_cents"] and nord["population"] > 2_000_000


def test_statement_upload_page(client, moderator, owner, funded_setup, backers):
    _, project = funded_setup
    pledge, _ = services.create_pledge(backers[4], project, 1_000, idempotency_key="upload")
    client.force_login(owner)
    assert client.get("/financement-participatif/gestion/releves").status_code == 403
    client.force_login(moderator)
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = f"Date;Libellé;Montant\n01/03/2026;VIR {pledge.payment_reference};10,00\n01/03/2026;VIR INCONNU;7,00\n".encode("cp1252")
    page = client.post("/financement-participatif/gestion/releves", {"file": SimpleUploadedFile("r.csv", csv)}, follow=True).content.decode()
    assert "1 ligne(s) rapprochée(s), 1 à traiter" in page and "Aucune référence de don" in page
    line = StatementLine.objects.get(status="queued")
    client.post(f"/financement-participatif/gestion/releves/lignes/{line.pk}", {"note": "Remboursé"})
    line.refresh_from_db()
    assert line.status == "resolved"


# ---- API ------------------------------------------------------------------------------------


def test_api_lists(client, funded_setup):
    programme, project = funded_setup
    body = client.get("/api/1/crowdfunding/projects?territory=59").json()
    assert body["total"] == 1 and body["data"][0]["citizens_cents"] == 6_000 and body["data"][0]["region_match_cents"] == 6_000
    assert set(body) == {"data", "page", "page_size", "total", "next_page"}
    detail = client.get(f"/api/1/crowdfunding/projects/{project.slug}").json()
    assert detail["budget"] == [{"label": "Matériel", "amount_cents": 10_000}] and detail["backers"] == 2
    assert client.get("/api/1/crowdfunding/programmes").json()["data"][0]["slug"] == programme.slug
    assert client.get(f"/api/1/crowdfunding/programmes/{programme.slug}").json()["committed_cents"] == 6_000
    bad = client.get("/api/1/crowdfunding/projects?category=sport")
    assert bad.status_code == 422 and "Catégorie inconnue" in bad.json()["detail"]


@pytest.fixture
def token_headers(backers):
    _, secret = ApiToken.issue(backers[5], "test")
    return {"Authorization": f"Bearer {secret}"}


def post_pledge(client, project, headers, **body):
    return client.post(f"/api/1/crowdfunding/projects/{project.slug}/pledges", body, content_type="application/json", headers=headers)


def test_api_pledge_is_idempotent(client, funded_setup, token_headers):
    _, project = funded_setup
    first = post_pledge(client, project, token_headers, amount_cents=2_000, idempotency_key="api-1")
    retry = post_pledge(client, project, token_headers, amount_cents=2_000, idempotency_key="api-1")
    assert first.status_code == 201 and retry.status_code == 200
    assert first.json()["reference"] == retry.json()["reference"] and retry.json()["created"] is False
    assert first.json()["payment"]["reference"] == first.json()["reference"]
    header_key = client.post(
        f"/api/1/crowdfunding/projects/{project.slug}/pledges",
        {"amount": "30,00"},
        content_type="application/json",
        headers={**token_headers, "Idempotency-Key": "api-2"},
    )
    assert header_key.status_code == 201 and header_key.json()["amount_cents"] == 3_000
    assert Pledge.objects.filter(idempotency_key__in=["api-1", "api-2"]).count() == 2


def test_api_pledge_requires_auth(client, funded_setup):
    _, project = funded_setup
    response = post_pledge(client, project, {}, amount_cents=2_000, idempotency_key="x")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"amount_cents": "douze"}, 422, "amount_cents : doit être un nombre entier"),
        ({"amount": "douze"}, 422, "Le montant doit être un nombre (par exemple 25 ou 25,50)."),
        ({"amount_cents": -500}, 422, "Le montant doit être positif."),
        ({"amount": "-5"}, 422, "Le montant doit être positif."),
        ({"amount_cents": 499}, 422, "Le don minimum est de 5 €."),
        ({"amount_cents": 300_001}, 422, "Un don ne peut pas dépasser 3 000 €."),
        ({}, 422, "Indiquez le montant du don"),
        ({"amount_cents": 1_000, "idempotency_key": ""}, 422, "Clé d'idempotence manquante"),
    ],
)
def test_api_pledge_bad_input(client, funded_setup, token_headers, body, status, message):
    _, project = funded_setup
    body = {"idempotency_key": "bad", **body}
    response = post_pledge(client, project, token_headers, **body)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert message in response.json()["detail"]
    assert not Pledge.objects.filter(idempotency_key="bad").exists()


def test_api_pledge_after_deadline_and_on_unpublished_project(client, owner, moderator, token_headers):
    late = make_project(owner, moderator)
    Project.objects.filter(pk=late.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    response = post_pledge(client, late, token_headers, amount_cents=1_000, idempotency_key="late")
    assert response.status_code == 409 and response.json()["detail"] == "La collecte de ce projet est terminée : elle ne reçoit plus de dons."
    draft = make_project(owner, moderator, publish=False)
    response = post_pledge(client, draft, token_headers, amount_cents=1_000, idempotency_key="draft")
    assert response.status_code == 409 and response.json()["detail"] == "Ce projet n'est pas publié : il ne peut pas recevoir de dons."
    assert not Pledge.objects.exists() or not Pledge.objects.filter(idempotency_key__in=["late", "draft"]).exists()


def test_no_pledge_lost_or_counted_twice_after_bad_inputs(client, funded_setup, token_headers):
    _, project = funded_setup
    for body in [{"amount_cents": -1}, {"amount": "abc"}, {"amount_cents": 1_000}, {"amount_cents": 1_000}]:
        post_pledge(client, project, token_headers, idempotency_key="mix", **body)
    assert Pledge.objects.filter(idempotency_key="mix").count() == 1
    assert ledger.check().ok


def test_personal_data_export_and_erase(funded_setup, backers):
    from regio.accounts.services import erase_personal_data, export_personal_data

    _, project = funded_setup
    data = export_personal_data(backers[0])
    assert data["financement_participatif"]["dons"][0]["montant_centimes"] == 4_000
    erase_personal_data(backers[0])
    pledge = Pledge.objects.get(backer=backers[0])
    assert pledge.show_name is False and pledge.message == "" and pledge.amount_cents == 4_000
    assert ledger.check().ok
    assert make_user()  # the user row stays usable for other tests


def test_territory_figures_registered(funded_setup):
    from regio.core.registry import platform

    figures = platform.figures_for("commune", "59663")
    labels = {f.label: f.value for f in figures}
    assert labels["Projets en financement participatif"] == 1 and labels["Dons des citoyens"] == 60
    assert [f for f in platform.figures_for("commune", "80021") if "financement participatif" in f.label] == []
