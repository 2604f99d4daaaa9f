import json
import re
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import PermissionDenied

from regio.accounts import permissions, services
from regio.accounts.models import ApiToken, Membership, Organisation, User
from regio.territory.models import EPCI, Commune

pytestmark = pytest.mark.django_db


def confirmed_user(email, **flags):
    return User.objects.create_user(email, "un-mot-de-passe-solide", is_active=True, **flags)


def test_every_collectivite_of_the_region_is_an_organisation():
    assert Organisation.objects.filter(kind="region", region_id="32").count() == 1
    assert Organisation.objects.filter(kind="departement", region_id="32").count() == 5
    assert Organisation.objects.filter(kind="epci").count() == EPCI.objects.filter(region_id="32").count()
    assert Organisation.objects.filter(kind="commune").count() == Commune.objects.filter(region_id="32").count()
    lille = Organisation.objects.get(kind="commune", commune_id="59350")
    assert lille.name == "Commune de Lille" and lille.epci_id == "200093201" and lille.territory_code == "59350"
    counts = services.sync_collectivites("32")
    assert counts == {"created": 0, "updated": 0}  # idempotent


def test_signup_confirm_and_login(client, mailbox):
    r = client.post("/compte/inscription", {"email": "Camille@Example.fr", "password": "pas-si-simple-42", "full_name": "Camille"})
    assert r.status_code == 200 and "Confirmez votre adresse" in r.content.decode()
    user = User.objects.get(email="camille@example.fr")
    assert not user.is_active
    assert client.post("/compte/connexion", {"username": "camille@example.fr", "password": "pas-si-simple-42"}).status_code == 200
    link = re.search(r"http://\S+/compte/confirmer/\S+", mailbox[0].body).group(0)
    r = client.get(urlsplit(link).path)
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.is_active and user.email_confirmed_at
    r = client.post("/compte/connexion", {"username": "camille@example.fr", "password": "pas-si-simple-42"})
    assert r.status_code == 302
    assert "camille@example.fr" in client.get("/compte/").content.decode()


@pytest.mark.parametrize(
    "email, password, message",
    [
        ("a@b.fr", "court", "trop court"),
        ("a@b.fr", "1234567890123", "entièrement numérique"),
    ],
)
def test_signup_rejects_weak_passwords_in_french(client, email, password, message):
    r = client.post("/compte/inscription", {"email": email, "password": password})
    assert message in r.content.decode()
    assert not User.objects.filter(email=email).exists()


def test_signup_duplicate_email(mailbox):
    services.sign_up("dup@example.fr", "pas-si-simple-42")
    with pytest.raises(services.AccountError, match="Un compte existe déjà"):
        services.sign_up("DUP@example.fr", "pas-si-simple-42")


def test_bad_confirmation_token(client):
    r = client.get("/compte/confirmer/nimporte-quoi", follow=True)
    assert "Ce lien de confirmation n&#x27;est pas valide." in r.content.decode()


def test_join_unclaimed_collectivite_is_approved_by_region_staff(mailbox):
    agent = confirmed_user("agent@laon.fr")
    cdo = confirmed_user("agd@region.fr", is_cdo=True)
    other = confirmed_user("curieux@example.fr")
    laon = Organisation.objects.get(kind="commune", commune_id="02408")
    membership = services.request_membership(agent, laon, role="admin", message="Je suis DGS")
    assert membership.status == "pending"
    with pytest.raises(services.AccountError, match="déjà en attente"):
        services.request_membership(agent, laon)
    assert membership in services.pending_requests_for(cdo)
    assert membership not in services.pending_requests_for(other)
    with pytest.raises(PermissionDenied):
        services.decide_membership(other, membership, approve=True)
    services.decide_membership(cdo, membership, approve=True)
    assert permissions.active_role(agent, laon) == "admin" and permissions.is_claimed(laon)
    assert permissions.can_edit_for(agent, laon)
    assert "Vous avez rejoint" in mailbox[-1].subject
    # Once claimed, the collectivité's own admin decides, not the région's staff.
    newcomer = confirmed_user("stagiaire@laon.fr")
    request = services.request_membership(newcomer, laon)
    assert not permissions.can_manage_members(cdo, laon)
    with pytest.raises(PermissionDenied):
        services.decide_membership(cdo, request, approve=True)
    services.decide_membership(agent, request, approve=False)
    assert not permissions.can_edit_for(newcomer, laon)


def test_decision_through_the_page_checks_permissions(client):
    agent = confirmed_user("agent2@example.fr")
    other = confirmed_user("autre@example.fr")
    org = Organisation.objects.get(kind="commune", commune_id="80021")
    membership = services.request_membership(agent, org)
    client.force_login(other)
    r = client.post(f"/organisations/adhesions/{membership.pk}/decision", {"decision": "approve"})
    assert r.status_code == 403
    membership.refresh_from_db()
    assert membership.status == "pending"


def test_register_association(client):
    user = confirmed_user("presidente@asso.fr")
    org = services.register_organisation(user, name="Les Jardins Partagés", kind="association", siren="732829320", commune_code="80021")
    assert org.commune_id == "80021" and org.departement_id == "80" and org.region_id == "32"
    assert permissions.active_role(user, org) == "admin"
    with pytest.raises(services.AccountError, match="SIREN"):
        services.register_organisation(user, name="X", kind="company", siren="123456789")
    with pytest.raises(services.AccountError, match="collectivités existent déjà"):
        services.register_organisation(user, name="Commune pirate", kind="commune")
    with pytest.raises(services.AccountError, match="commune « 99999 » est inconnue"):
        services.register_organisation(user, name="Y", kind="association", commune_code="99999")
    client.force_login(user)
    r = client.post("/organisations/nouvelle", {"name": "Atelier Vélo", "kind": "association"})
    assert r.status_code == 302 and Organisation.objects.filter(name="Atelier Vélo").exists()


def test_personal_data_export_and_erasure(client):
    user = confirmed_user("rgpd@example.fr", full_name="Alex Dupont")
    services.request_membership(user, Organisation.objects.get(kind="commune", commune_id="59350"))
    ApiToken.issue(user, "script")
    client.force_login(user)
    r = client.get("/compte/mes-donnees")
    data = json.loads(r.content)
    assert data["compte"]["email"] == "rgpd@example.fr" and data["compte"]["nom"] == "Alex Dupont"
    assert data["compte"]["adhesions"][0]["organisation"] == "Commune de Lille"
    r = client.post("/compte/supprimer", {"confirm": "SUPPRIMER"})
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.email.endswith("@invalid.regio") and user.full_name == "" and not user.is_active
    assert not Membership.objects.filter(user=user).exists() and not ApiToken.objects.filter(user=user).exists()


def test_api_token_authenticates(rf):
    from regio.accounts.auth import TokenAuth

    user = confirmed_user("api@example.fr")
    _, secret = ApiToken.issue(user, "test")
    request = rf.get("/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert TokenAuth()(request) == user
    request = rf.get("/", HTTP_AUTHORIZATION="Bearer faux")
    assert TokenAuth()(request) is None


def test_organisations_api(client):
    body = client.get("/api/1/organizations", {"kind": "departement"}).json()
    assert body["total"] == 5 and {o["territory_code"] for o in body["data"]} == {"02", "59", "60", "62", "80"}
    body = client.get("/api/1/organizations", {"q": "lille", "kind": "commune"}).json()
    assert any(o["commune"] == "59350" for o in body["data"])
    assert client.get("/api/1/organizations/nexiste-pas").status_code == 404


def test_organisation_pages(client):
    html = client.get("/organisations/", {"kind": "epci", "q": "lille"}).content.decode()
    assert "Métropole Européenne de Lille" in html
    org = Organisation.objects.get(kind="commune", commune_id="02168")
    html = client.get(f"/organisations/{org.slug}").content.decode()
    assert "pas encore gérée" in html and "Connectez-vous" in html
