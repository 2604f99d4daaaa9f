import pytest

from regio.accounts.models import Membership, Organisation, User


def make_user(email, **extra):
    return User.objects.create_user(email, "mot-de-passe-solide-123", is_active=True, **extra)


def member_of(user, org, role="editor"):
    Membership.objects.create(user=user, organisation=org, role=role, status="active")
    return user


@pytest.fixture
def amiens():
    return Organisation.objects.get(kind="commune", commune_id="80021")


@pytest.fixture
def lille():
    return Organisation.objects.get(kind="commune", commune_id="59350")


@pytest.fixture
def region_org():
    return Organisation.objects.get(kind="region", region_id="32")


@pytest.fixture
def agent(amiens):
    return member_of(make_user("agent@amiens.fr", full_name="Agent Amiens"), amiens)


@pytest.fixture
def lille_agent(lille):
    return member_of(make_user("agent@lille.fr"), lille)


@pytest.fixture
def moderator():
    return make_user("moderation@region.fr", is_moderator=True)


@pytest.fixture
def association():
    return Organisation.objects.create(name="Les Amis des Données", slug="amis-des-donnees", kind="association")


@pytest.fixture
def asso_member(association):
    return member_of(make_user("benevole@asso.fr"), association)


@pytest.fixture
def dataset(agent, amiens):
    from regio.catalog import services

    ds = services.create_dataset(
        agent, amiens,
        {"title": "Subventions versées aux associations", "description": "Montants attribués en 2024.",
         "licence": "lov2", "themes": ["ECON"], "keywords": "subventions, associations"},
        publish=True,
    )
    services.add_resource(agent, ds, title="Subventions 2024", url="https://data.amiens.fr/subventions-2024.csv")
    return ds
