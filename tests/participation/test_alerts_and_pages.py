"""E-mail alerts without an account (double opt-in, digest, unsubscribe, erasure) and the HTML pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from regio.core.registry import platform
from regio.participation import services
from regio.participation.importers.table import template_csv
from regio.participation.models import Debate, Subscription

pytestmark = pytest.mark.django_db


def link_in(message, path):
    return re.search(rf"https?://[^/\s]+(/debats/{path}/[^\s>]+)", message.body).group(1)


def new_debate(title, commune, themes, *, created=None):
    debate = Debate(moderation=Debate.Moderation.APPROVED)
    services._apply(debate, {"title": title, "commune_code": commune, "themes": themes,
                             "opens_on": timezone.localdate(), "closes_on": timezone.localdate() + timedelta(days=20)})
    debate.save()
    if created:
        Debate.objects.filter(pk=debate.pk).update(created_at=created)
    return debate


def test_double_opt_in_then_already_subscribed(client, mailbox):
    response = client.post("/debats/alertes", {"email": "Camille@Exemple.fr", "themes": ["mobilite"], "commune": "80000",
                                               "radius_km": 20, "frequency": "daily"})
    assert response.status_code == 200 and "Vérifiez votre messagerie" in response.content.decode()
    sub = Subscription.objects.get(email="camille@exemple.fr")
    assert sub.confirmed_at is None and sub.commune_id == "80021"
    confirm = link_in(mailbox[0], "alertes/confirmer")
    assert "Alerte confirmée" in client.get(confirm).content.decode()
    sub.refresh_from_db()
    assert sub.confirmed_at is not None
    response = client.post("/debats/alertes", {"email": "camille@exemple.fr", "themes": ["sante"], "radius_km": 10, "frequency": "weekly"})
    assert "Cette adresse est déjà abonnée aux alertes." in response.content.decode()
    assert len(mailbox) == 1


def test_subscription_bad_inputs_in_french(mailbox):
    with pytest.raises(services.SubscriptionError) as exc:
        services.subscribe("pas-une-adresse", themes=["mobilite"])
    assert exc.value.message_dict["email"][0].startswith("Adresse électronique invalide")
    with pytest.raises(services.SubscriptionError, match="Choisissez au moins un thème ou une commune"):
        services.subscribe("a@exemple.fr")
    with pytest.raises(services.SubscriptionError, match="Commune introuvable : « Atlantide »"):
        services.subscribe("a@exemple.fr", commune_code="Atlantide")
    assert mailbox == []


def test_tampered_or_wrong_tokens_are_refused(client, mailbox):
    sub = services.subscribe("b@exemple.fr", themes=["sante"])
    response = client.get(f"/debats/alertes/confirmer/{services.make_token(sub, 'confirm')}x")
    assert response.status_code == 400 and "Ce lien n&#x27;est pas valide" in response.content.decode()
    response = client.get(f"/debats/alertes/desabonner/{services.make_token(sub, 'confirm')}")
    assert response.status_code == 400 and Subscription.objects.filter(pk=sub.pk).exists()


def test_digest_matches_themes_and_radius_and_unsubscribe_in_one_click(client, mailbox, settings):
    now = timezone.now()
    near = services.subscribe("pres@exemple.fr", themes=["mobilite"], commune_code="80021", radius_km=15, frequency="daily")
    theme_only = services.subscribe("theme@exemple.fr", themes=["sante"], frequency="daily")
    weekly = services.subscribe("hebdo@exemple.fr", themes=["mobilite"], frequency="weekly")
    for sub in (near, theme_only, weekly):
        services.confirm_subscription(services.make_token(sub, "confirm"))
    Subscription.objects.update(last_sent_at=now - timedelta(days=2))
    mailbox.clear()
    new_debate("Tramway d'Amiens", "80021", ["mobilite"])
    new_debate("Gare de Longueau", "80489", ["mobilite", "sante"])
    new_debate("Navettes d'Abbeville", "80001", ["mobilite"])  # 40 km away
    new_debate("Vieux débat", "80021", ["mobilite"], created=now - timedelta(days=3))
    assert services.send_digests("daily") == 2
    bodies = {m.to[0]: m.body for m in mailbox}
    assert set(bodies) == {"pres@exemple.fr", "theme@exemple.fr"}
    assert bodies["pres@exemple.fr"].index("Tramway d'Amiens") < bodies["pres@exemple.fr"].index("Gare de Longueau")
    assert "Abbeville" not in bodies["pres@exemple.fr"] and "Vieux débat" not in bodies["pres@exemple.fr"]
    assert "à 0.0 km" in bodies["pres@exemple.fr"]
    assert "Gare de Longueau" in bodies["theme@exemple.fr"] and "Tramway" not in bodies["theme@exemple.fr"]
    assert services.send_digests("daily") == 0  # nothing new since the last digest
    unsubscribe = link_in(next(m for m in mailbox if m.to == ["pres@exemple.fr"]), "alertes/desabonner")
    assert "Vous êtes désabonné" in client.get(unsubscribe).content.decode()
    assert not Subscription.objects.filter(email="pres@exemple.fr").exists()


def test_digest_task_runs_in_the_background(settings, mailbox):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    from regio.participation.tasks import send_digests_task

    sub = services.subscribe("t@exemple.fr", themes=["budget"], frequency="weekly")
    services.confirm_subscription(services.make_token(sub, "confirm"))
    Subscription.objects.update(last_sent_at=timezone.now() - timedelta(days=1))
    new_debate("Budget participatif", "80021", ["budget"])
    assert send_digests_task.enqueue("weekly").return_value == 1


def test_delete_my_data_page(client, mailbox):
    sub = services.subscribe("efface@exemple.fr", themes=["sante"])
    mailbox.clear()
    response = client.post("/debats/mes-donnees", {"email": "efface@exemple.fr"})
    assert "Si une alerte existe pour cette adresse" in response.content.decode()
    client.post("/debats/mes-donnees", {"email": "inconnu@exemple.fr"})  # same answer, no e-mail
    assert len(mailbox) == 1
    erase = link_in(mailbox[0], "mes-donnees/effacer")
    assert "Confirmer l" in client.get(erase).content.decode()
    assert Subscription.objects.filter(pk=sub.pk).exists()
    assert "Données effacées" in client.post(erase).content.decode()
    assert not Subscription.objects.filter(pk=sub.pk).exists()


def test_personal_data_export_and_erase(agent, amiens):
    entry = next(p for p in platform.personal_data if p.name == "participation")
    services.subscribe(agent.email, themes=["sante"])
    debate = services.submit_debate(agent, amiens, {"title": "Mon débat"})
    exported = entry.export(agent)
    assert exported["alerte_debats"]["themes"] == ["sante"] and exported["debats_declares"][0]["title"] == "Mon débat"
    entry.erase(agent)
    assert not Subscription.objects.filter(email=agent.email).exists()
    debate.refresh_from_db()
    assert debate.submitted_by is None


def test_public_pages_render(client):
    d = new_debate("Tramway d'Amiens", "80021", ["mobilite"])
    for path in ["/debats/", "/debats/?near=Amiens&radius_km=10&theme=mobilite", "/debats/carte?near=80000",
                 "/debats/carte", "/debats/calendrier", f"/debats/{d.pk}", "/debats/alertes", "/debats/mes-donnees"]:
        response = client.get(path)
        assert response.status_code == 200, path
    page = client.get("/debats/?near=Amiens&radius_km=10").content.decode()
    assert "Tramway d&#x27;Amiens" in page and "à 0,0 km" in page
    assert "map-point" in client.get("/debats/carte?near=80000").content.decode()
    assert "Commune introuvable" in client.get("/debats/?near=Atlantide").content.decode()
    assert "Mois illisible" in client.get("/debats/calendrier?mois=xx").content.decode()


def test_agent_submits_through_the_form_and_sees_flagged_address(client, agent, amiens):
    client.force_login(agent)
    response = client.post("/debats/declarer", {"organisation": amiens.pk, "title": "Dates inversées", "kind": "concertation",
                                                "opens_on": "2027-03-01", "closes_on": "2027-02-01"})
    assert "La date de clôture (01/02/2027) est antérieure" in response.content.decode()
    response = client.post("/debats/declarer", {"organisation": amiens.pk, "title": "Atelier", "kind": "concertation",
                                                "address": "Salle des Tilleuls"}, follow=True)
    assert "Adresse non reconnue" in response.content.decode()
    agent_page = client.get("/debats/espace-agent").content.decode()
    assert "Adresses à préciser" in agent_page and "Salle des Tilleuls" in agent_page


def test_agent_uploads_the_template(client, agent, amiens, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.INGEST_FILE_ROOTS = [tmp_path]
    client.force_login(agent)
    upload = SimpleUploadedFile("debats.csv", template_csv().encode())
    response = client.post("/debats/import", {"organisation": amiens.pk, "file": upload})
    assert "Réussi : 1 créé(s)" in response.content.decode()
    assert Debate.objects.get(title="Budget participatif 2027").moderation == Debate.Moderation.PENDING
    assert "Réussi" in client.get("/debats/espace-agent").content.decode()


def test_moderation_page(client, agent, amiens, moderator):
    debate = services.submit_debate(agent, amiens, {"title": "À modérer"})
    client.force_login(agent)
    assert client.get("/debats/moderation").status_code == 403
    client.force_login(moderator)
    assert "À modérer" in client.get("/debats/moderation").content.decode()
    client.post("/debats/moderation", {"debate": debate.pk, "decision": "approve"})
    debate.refresh_from_db()
    assert debate.moderation == Debate.Moderation.APPROVED


def test_command_sends_digests_and_refreshes_statuses(mailbox, capsys):
    from django.core.management import call_command

    sub = services.subscribe("cmd@exemple.fr", themes=["culture"], frequency="weekly")
    services.confirm_subscription(services.make_token(sub, "confirm"))
    Subscription.objects.update(last_sent_at=timezone.now() - timedelta(days=1))
    debate = new_debate("Festival", "80021", ["culture"])
    call_command("debats", "alertes", "weekly")
    assert "1 courriel(s) envoyé(s)." in capsys.readouterr().out
    Debate.objects.filter(pk=debate.pk).update(status="upcoming")
    call_command("debats", "statuts")
    debate.refresh_from_db()
    assert debate.status == "open"


def test_agent_adds_a_source_runs_and_cancels(client, agent, amiens, settings):
    from regio.core.ingest.models import Run, Source

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    client.force_login(agent)
    response = client.post("/debats/sources/ajouter", {"organisation": amiens.pk, "name": "Agenda", "kind": "icalendar",
                                                        "url": "http://127.0.0.1/agenda.ics"})
    assert "Adresse refusée" in response.content.decode()  # SSRF guard: loopback refused
    response = client.post("/debats/sources/ajouter", {"organisation": amiens.pk, "name": "Agenda", "kind": "icalendar",
                                                        "url": "https://93.184.215.14/agenda.ics", "debate_title": "Réunions"})
    source = Source.objects.get(name="Agenda")
    assert response.status_code == 302 and source.owner == amiens and source.filters == {"debate": {"title": "Réunions"}}
    run = Run.objects.create(source=source, status=Run.Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now())
    client.post(f"/debats/sources/{source.pk}", {"action": "cancel"})
    run.refresh_from_db()
    assert run.cancel_requested
    from regio.accounts.models import User

    stranger = User.objects.create_user("x@exemple.fr", "motdepasse-solide-123", is_active=True)
    client.force_login(stranger)
    assert client.get(f"/debats/sources/{source.pk}").status_code == 403
