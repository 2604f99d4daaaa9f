import pytest

from regio.accounts.models import Organisation
from tests.factories import make_user, member_of


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
