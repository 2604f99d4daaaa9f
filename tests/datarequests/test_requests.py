import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from regio.datarequests import services
from regio.datarequests.models import DataRequest, Status, Transition
from regio.datarequests.workflow import add_one_month

from .conftest import REQUEST, make_user, publish

pytestmark = pytest.mark.django_db


def submit(user, **extra):
    return services.submit_request(user, {**REQUEST, **extra}, confirm_new=True)


def test_add_one_month_like_cada():
    from datetime import date

    assert add_one_month(date(2026, 1, 31)) == date(2026, 2, 28)
    assert add_one_month(date(2026, 12, 15)) == date(2027, 1, 15)


def test_submit_records_history_deadlines_and_emails_requester(citizen, amiens, mailbox):
    r = services.submit_request(citizen, REQUEST, holder=amiens, confirm_new=True)
    assert r.status == Status.SUBMITTED and r.is_public
    assert r.territory_codes == ["80021"]
    assert r.legal_deadline == add_one_month(timezone.localdate())
    assert list(r.transitions.values_list("from_status", "to_status")) == [("", "submitted")]
    assert [m.to for m in mailbox] == [["citoyen@exemple.test"]]
    assert "avant le" in mailbox[0].body


def test_anonymous_request_needs_email_kept_private(client):
    with pytest.raises(ValidationError) as exc:
        services.submit_request(None, REQUEST, confirm_new=True)
    assert "adresse électronique" in str(exc.value)
    r = services.submit_request(None, REQUEST, email="Anonyme@Exemple.test", confirm_new=True)
    assert r.requester_email == "anonyme@exemple.test"
    body = client.get(f"/api/1/datarequests/{r.slug}").content.decode()
    page = client.get(r.get_absolute_url()).content.decode()
    assert "anonyme@exemple.test" not in body and "anonyme@exemple.test" not in page


def test_empty_request_is_refused_with_french_messages(citizen):
    with pytest.raises(ValidationError) as exc:
        services.submit_request(citizen, {"title": "  ", "description": ""}, confirm_new=True)
    assert exc.value.message_dict["title"] == ["Indiquez quelles données vous demandez (le titre est obligatoire)."]
    assert exc.value.message_dict["description"] == ["Décrivez les données demandées (la description est obligatoire)."]


@pytest.mark.parametrize("description, reason", [
    ("des données svp", "Description trop courte"),
    ("Bande d'escrocs, publiez enfin les comptes de la mairie, on veut tout savoir sur vos dépenses.", "Termes injurieux"),
    ("VOUS DEVEZ PUBLIER TOUTES LES DONNÉES DE LA MAIRIE IMMÉDIATEMENT SANS ATTENDRE", "majuscules"),
])
def test_empty_or_abusive_request_goes_to_moderation_queue(citizen, cdo, client, description, reason):
    from regio.datarequests.selectors import moderation_queue, public_requests

    r = services.submit_request(citizen, {"title": "Données de la mairie", "description": description}, confirm_new=True)
    assert r.moderation == "pending" and reason in r.moderation_reason
    assert r in moderation_queue() and r not in public_requests()
    assert client.get(r.get_absolute_url()).status_code == 404
    with pytest.raises(services.TransitionForbidden, match="attend la modération"):
        services.transition(cdo, r, "qualified")
    services.moderate_request(cdo, r, approve=True)
    assert r in public_requests()


def test_request_for_existing_dataset_points_to_it(citizen, amiens, amiens_agent, client):
    dataset = publish(amiens_agent, amiens, "Comptages vélos des pistes cyclables d'Amiens")
    with pytest.raises(services.PossibleDuplicate) as exc:
        services.submit_request(citizen, REQUEST)
    assert dataset in exc.value.datasets
    assert "existent peut-être déjà" in str(exc.value)
    assert not DataRequest.objects.exists()
    # The API answers 409 with the suggestions; confirming records the request.
    resp = client.post("/api/1/datarequests", {**REQUEST, "email": "x@exemple.test"}, content_type="application/json")
    assert resp.status_code == 409 and resp["Content-Type"] == "application/problem+json"
    assert resp.json()["suggestions"][0]["slug"] == dataset.slug
    resp = client.post("/api/1/datarequests", {**REQUEST, "email": "x@exemple.test", "confirm_new": True}, content_type="application/json")
    assert resp.status_code == 201
    # The form shows the suggestions.
    page = client.post("/demandes-de-donnees/nouvelle", {**REQUEST, "email": "y@exemple.test"}).content.decode()
    assert "existent peut-être déjà" in page and dataset.get_absolute_url() in page


def test_full_workflow_to_released_notifies_requester_and_supporters(citizen, cdo, amiens, amiens_agent, mailbox):
    r = submit(citizen)
    supporter = make_user("soutien@exemple.test")
    assert services.support(supporter, r) is True
    assert services.support(supporter, r) is False  # one per person
    assert services.support(None, r, email="autre@exemple.test") is True
    r.refresh_from_db()
    assert r.supporters_count == 2
    mailbox.clear()
    services.transition(cdo, r, "qualified", note="Demande claire.")
    assert sorted(m.to[0] for m in mailbox) == ["autre@exemple.test", "citoyen@exemple.test", "soutien@exemple.test"]
    services.transition(cdo, r, "assigned", assigned_to=amiens)
    with pytest.raises(PermissionDenied):
        services.transition(citizen, r, "in_progress")
    services.transition(amiens_agent, r, "in_progress")
    dataset = publish(amiens_agent, amiens, "Compteurs vélos 2020-2026")
    with pytest.raises(ValidationError, match="jeu de données publié"):
        services.transition(amiens_agent, r, "released")
    mailbox.clear()
    r = services.transition(amiens_agent, r, "released", dataset=dataset)
    assert r.released_dataset == dataset and r.answered_at is not None
    assert dataset.answered_requests.get() == r
    assert "Compteurs vélos 2020-2026" in mailbox[0].body
    assert list(Transition.objects.filter(request=r).values_list("to_status", flat=True)) == [
        "submitted", "qualified", "assigned", "in_progress", "released"]


def test_refusal_requires_legal_ground_and_note(citizen, cdo):
    r = submit(citizen)
    with pytest.raises(ValidationError) as exc:
        services.transition(cdo, r, "refused")
    assert "motif légal" in exc.value.message_dict["legal_ground"][0]
    assert "note est obligatoire" in exc.value.message_dict["note"][0]
    r = services.transition(cdo, r, "refused", legal_ground="personal_data", note="Données nominatives.")
    assert r.refusal_ground == "personal_data"
    assert r.transitions.last().legal_ground == "personal_data"


def test_forbidden_transitions_are_409_with_french_message(citizen, cdo, client):
    r = submit(citizen)
    with pytest.raises(services.TransitionForbidden, match="ne peut pas passer à l'état « données publiées »"):
        services.transition(cdo, r, "released")
    client.force_login(cdo)
    resp = client.post(f"/api/1/datarequests/{r.slug}/transitions", {"status": "in_progress"}, content_type="application/json")
    assert resp.status_code == 409
    assert resp["Content-Type"] == "application/problem+json"
    assert resp.json()["detail"].startswith("Transition interdite : une demande « déposée » ne peut pas passer à l'état « en cours de préparation »")
    services.transition(citizen, r, "withdrawn")
    resp = client.post(f"/api/1/datarequests/{r.slug}/transitions", {"status": "qualified"}, content_type="application/json")
    assert resp.status_code == 409
    assert "Cette demande est close" in resp.json()["detail"]
    # The HTML form answers 409 too.
    resp = client.post(f"/demandes-de-donnees/{r.slug}/transition", {"status": "qualified"})
    assert resp.status_code == 409 and "Cette demande est close" in resp.content.decode()


def test_only_requester_or_cdo_withdraws(citizen, cdo):
    r = submit(citizen)
    with pytest.raises(PermissionDenied):
        services.transition(make_user("autre@exemple.test"), r, "withdrawn")
    assert services.transition(citizen, r, "withdrawn").status == "withdrawn"


def test_overdue_requests_highlighted_on_dashboard(citizen, cdo, client):
    from datetime import timedelta

    from regio.datarequests.workflow import deadlines

    old = submit(citizen, title="Registre des arbres d'alignement")
    submitted = timezone.now() - timedelta(days=40)
    legal, internal = deadlines(timezone.localdate(submitted))
    DataRequest.objects.filter(pk=old.pk).update(submitted_at=submitted, legal_deadline=legal, internal_deadline=internal)
    fresh = submit(citizen, title="Horaires des bibliothèques")
    old.refresh_from_db()
    assert old.is_overdue() and not fresh.is_overdue()
    assert client.get("/demandes-de-donnees/tableau-de-bord").status_code == 403
    client.force_login(cdo)
    page = client.get("/demandes-de-donnees/tableau-de-bord").content.decode()
    overdue_section = page.split("En retard sur le délai légal")[1].split("<h2>")[0]
    assert "Registre des arbres" in overdue_section and "Horaires des bibliothèques" not in overdue_section
    data = client.get("/api/1/datarequests?overdue=true").json()
    assert [d["slug"] for d in data["data"]] == [old.slug]
    assert data["data"][0]["overdue"] is True


def test_api_list_filters_and_envelope(citizen, amiens, client):
    services.submit_request(citizen, REQUEST, holder=amiens, confirm_new=True)
    submit(citizen, title="Horaires des bibliothèques")
    body = client.get("/api/1/datarequests?territory=80021").json()
    assert set(body) == {"data", "page", "page_size", "total", "next_page"}
    assert body["total"] == 1 and body["data"][0]["holder"] == amiens.slug
    assert client.get("/api/1/datarequests?status=bidule").status_code == 422
    detail = client.get(f"/api/1/datarequests/{body['data'][0]['slug']}").json()
    assert detail["history"][0]["to_status"] == "submitted"


def test_api_create_validation_in_french(client):
    resp = client.post("/api/1/datarequests", {"title": "", "description": ""}, content_type="application/json")
    assert resp.status_code == 422
    assert "le titre est obligatoire" in resp.json()["detail"]


def test_pages_list_detail_support_comment(citizen, client):
    r = submit(citizen)
    assert REQUEST["title"] in client.get("/demandes-de-donnees/").content.decode()
    assert client.get("/demandes-de-donnees/?status=submitted&q=vélos").status_code == 200
    resp = client.post(f"/demandes-de-donnees/{r.slug}/soutenir", {"email": "fan@exemple.test"})
    assert resp.status_code == 302
    r.refresh_from_db()
    assert r.supporters_count == 1
    client.force_login(make_user("commentateur@exemple.test", full_name="Jeanne"))
    client.post(f"/demandes-de-donnees/{r.slug}/commenter", {"body": "Très utile pour notre association."})
    page = client.get(r.get_absolute_url()).content.decode()
    assert "Très utile pour notre association." in page and "Historique" in page


def test_personal_data_export_and_erase(citizen):
    r = submit(citizen)
    services.erase_user(citizen)
    r.refresh_from_db()
    assert r.requester is None and DataRequest.objects.filter(pk=r.pk).exists()


def test_abusive_or_spammy_comments_wait_in_the_moderation_queue(citizen, cdo, client, mailbox):
    from regio.datarequests.models import Comment

    r = submit(citizen)
    author = make_user("commentaire@exemple.test", full_name="Paul")
    with pytest.raises(ValidationError) as exc:
        services.comment(author, r, "   ")
    assert exc.value.message_dict["body"] == ["Le commentaire est vide."]
    mailbox.clear()
    held = services.comment(author, r, "Bande d'escrocs, vous cachez tout !")
    spam = services.comment(author, r, "Promo https://a.invalid/1 https://a.invalid/2 https://a.invalid/3")
    shouting = services.comment(author, r, "PUBLIEZ ENFIN CES DONNÉES, C'EST UN SCANDALE ABSOLU")
    assert [c.moderation for c in (held, spam, shouting)] == ["pending"] * 3
    assert held.moderation_reason == "Termes injurieux ou indésirables."
    assert spam.moderation_reason == "Trop de liens (indésirable probable)."
    assert shouting.moderation_reason == "Texte écrit en majuscules."
    assert mailbox == []  # nobody is notified of a held comment
    # Hidden from the public; its author sees it, marked as waiting.
    assert "Bande d'escrocs" not in client.get(r.get_absolute_url()).content.decode()
    client.force_login(author)
    resp = client.post(f"/demandes-de-donnees/{r.slug}/commenter", {"body": "Arnaque, achetez du viagra"}, follow=True)
    page = resp.content.decode()
    assert "sera publié après vérification par un modérateur" in page
    assert "Bande d&#x27;escrocs" in page and "en attente de modération, visible de vous seul" in page
    assert Comment.objects.filter(request=r, moderation="pending").count() == 4
    # The moderation page: moderators and the CDO only.
    assert client.get("/demandes-de-donnees/moderation").status_code == 403
    with pytest.raises(PermissionDenied):
        services.moderate_comment(author, held, approve=True)
    client.force_login(cdo)
    queue = client.get("/demandes-de-donnees/moderation").content.decode()
    assert "Commentaires en attente (4)" in queue and "Trop de liens" in queue
    resp = client.post(f"/demandes-de-donnees/commentaires/{held.pk}/moderer", {"decision": "approve"})
    assert resp.status_code == 302 and resp["Location"] == "/demandes-de-donnees/moderation"
    held.refresh_from_db()
    assert held.moderation == "approved" and held.moderated_by == cdo
    assert sorted(m.to[0] for m in mailbox) == ["citoyen@exemple.test", "commentaire@exemple.test"]
    mailbox.clear()
    client.post(f"/demandes-de-donnees/commentaires/{spam.pk}/moderer", {"decision": "reject", "reason": "Publicité."})
    spam.refresh_from_db()
    assert spam.moderation == "rejected" and spam.moderation_reason == "Publicité."
    assert [m.to for m in mailbox] == [["commentaire@exemple.test"]] and "Publicité." in mailbox[0].body
    with pytest.raises(services.TransitionForbidden, match="n'est pas en attente de modération"):
        services.moderate_comment(cdo, spam, approve=True)
    client.logout()
    public = client.get(r.get_absolute_url()).content.decode()
    assert "Bande d&#x27;escrocs" in public and "Promo" not in public and "SCANDALE" not in public


def test_request_moderation_from_the_queue_page(citizen, cdo, client):
    r = services.submit_request(citizen, {"title": "Données de la mairie", "description": "svp"}, confirm_new=True)
    client.force_login(cdo)
    assert "Données de la mairie" in client.get("/demandes-de-donnees/moderation").content.decode()
    assert "1 demande et 0 commentaires en attente" in client.get("/demandes-de-donnees/tableau-de-bord").content.decode()
    resp = client.post(f"/demandes-de-donnees/{r.slug}/moderer", {"decision": "reject", "reason": "Trop vague."})
    assert resp["Location"] == "/demandes-de-donnees/moderation"
    r.refresh_from_db()
    assert r.moderation == "rejected" and r.moderation_reason == "Trop vague."


def test_transition_form_searches_the_organisation_instead_of_listing_them_all(citizen, cdo, amiens, client):
    from regio.accounts.models import Organisation
    from regio.datarequests.selectors import search_organisations

    r = submit(citizen)
    services.transition(cdo, r, "qualified")
    client.force_login(cdo)
    page = client.get(r.get_absolute_url()).content.decode()
    # No select of the ~4,000 organisations: a search field (combobox enhanced by JS).
    assert 'name="assigned_to_q"' in page and 'role="combobox"' in page and "org-search.js" in page
    assert "<select name=\"assigned_to\"" not in page and "Commune de Lille" not in page
    assert len(page) < 30_000
    # Server side: accents and case ignored, every word; INSEE code and SIREN; exact names first.
    assert search_organisations("AMIÉNS")[0] == amiens
    assert search_organisations("80021") == [amiens]
    epci = Organisation.objects.filter(kind="epci", name__icontains="amiens").first()
    assert search_organisations("amiens metropole")[0] == epci
    assert search_organisations(epci.siren) == [epci]
    assert search_organisations("zzzz") == []
    # Without JavaScript: several matches → the page asks to choose (radio buttons), state kept.
    url = f"/demandes-de-donnees/{r.slug}/transition"
    resp = client.post(url, {"status": "assigned", "assigned_to_q": "amiens", "note": "Transmise."})
    page = resp.content.decode()
    assert resp.status_code == 200 and "organisations correspondent à « amiens »" in page
    assert f'value="{amiens.slug}"' in page and 'type="radio"' in page
    assert '<option value="assigned" selected>' in page
    r.refresh_from_db()
    assert r.status == "qualified"
    resp = client.post(url, {"status": "assigned", "assigned_to": amiens.slug, "assigned_to_q": "amiens"})
    assert resp.status_code == 302
    r.refresh_from_db()
    assert (r.status, r.assigned_to) == ("assigned", amiens)


def test_transition_form_organisation_unique_or_unknown(citizen, cdo, amiens, client):
    client.force_login(cdo)
    r = submit(citizen)
    services.transition(cdo, r, "qualified")
    url = f"/demandes-de-donnees/{r.slug}/transition"
    resp = client.post(url, {"status": "assigned", "assigned_to_q": "zzzz"})
    assert resp.status_code == 422
    assert "Aucune organisation ne correspond à « zzzz » : précisez le nom, le code INSEE ou le SIREN." in resp.content.decode()
    resp = client.post(url, {"status": "assigned", "assigned_to": "pas-une-organisation"}, follow=True)
    assert "Organisation introuvable : « pas-une-organisation »." in resp.content.decode()
    # A unique match (the INSEE code) is used at once.
    assert client.post(url, {"status": "assigned", "assigned_to_q": "80021"}).status_code == 302
    r.refresh_from_db()
    assert r.assigned_to == amiens


@pytest.mark.parametrize("title", [
    "Subvention",
    "subventions versees",
    "Liste des subventions versées par la commune",
    "Subvention versée aux associations sportives",  # relaxed: not every word is in the title
])
def test_duplicate_detection_uses_the_catalogues_french_search(citizen, amiens, amiens_agent, title):
    """Stemmed and accent-insensitive (catalogue search), not raw word overlap."""
    dataset = publish(amiens_agent, amiens, "Subventions versées aux associations 2025")
    other = publish(amiens_agent, amiens, "Horaires des piscines municipales")
    with pytest.raises(services.PossibleDuplicate) as exc:
        services.submit_request(citizen, {**REQUEST, "title": title})
    assert dataset in exc.value.datasets and other not in exc.value.datasets


def test_duplicate_detection_accents_stems_and_holder_first(citizen, amiens, lille, amiens_agent):
    lille_agent = make_user("agent@lille.test")
    deliberations = publish(amiens_agent, amiens, "DELIBERATIONS du conseil municipal")
    lille_deliberations = publish(lille_agent, lille, "Délibérations du conseil municipal de Lille")
    assert services.existing_datasets("Délibération du conseil", holder=lille) == [lille_deliberations]
    assert set(services.existing_datasets("délibération conseil")) == {deliberations, lille_deliberations}
    assert services.existing_datasets("Horaires des piscines") == []
    assert services.existing_datasets("Liste des données de la commune") == []  # only generic words: no search
    assert services.search_words("Liste des arbres d'alignement de la commune") == ["arbres", "alignement"]


def test_request_form_searches_the_holder_instead_of_listing_them_all(client, amiens):
    page = client.get("/demandes-de-donnees/nouvelle").content.decode()
    assert 'name="holder_q"' in page and 'role="combobox"' in page and "Commune de Lille" not in page
    assert len(page) < 30_000
    data = {**REQUEST, "email": "formulaire@exemple.test", "confirm_new": "on"}
    page = client.post("/demandes-de-donnees/nouvelle", {**data, "holder_q": "zzzz"}).content.decode()
    assert "Aucune collectivité ni organisme public ne correspond à « zzzz »" in page
    page = client.post("/demandes-de-donnees/nouvelle", {**data, "holder_q": "Amiens"}).content.decode()
    assert "organisations correspondent à « Amiens » : choisissez-en une." in page
    assert f'value="{amiens.slug}"' in page and 'type="radio"' in page
    assert not DataRequest.objects.exists()
    resp = client.post("/demandes-de-donnees/nouvelle", {**data, "holder": amiens.slug, "holder_q": "Amiens"})
    assert resp.status_code == 302
    r = DataRequest.objects.get()
    assert r.holder == amiens and r.territory_codes == ["80021"]
    resp = client.post("/demandes-de-donnees/nouvelle", {**data, "title": "Horaires des piscines", "holder_q": "80021"})
    assert resp.status_code == 302 and DataRequest.objects.get(title="Horaires des piscines").holder == amiens


def test_transition_form_organisation_only_for_a_transmission(citizen, cdo, client):
    r = submit(citizen)
    url = f"/demandes-de-donnees/{r.slug}/transition"
    client.force_login(make_user("curieux@exemple.test"))
    assert client.post(url, {"status": "assigned", "assigned_to_q": "amiens"}).status_code == 403
    client.force_login(cdo)
    # Text left in the organisation field does not block another transition.
    assert client.post(url, {"status": "qualified", "assigned_to_q": "zzzz"}).status_code == 302
    r.refresh_from_db()
    assert r.status == "qualified" and r.assigned_to is None
