import pytest

from regio.accounts.models import Membership
from tests.factories import make_user


@pytest.fixture
def cdo():
    return make_user("agd@region.test", full_name="AGD", is_cdo=True)


@pytest.fixture
def citizen():
    return make_user("citoyen@exemple.test", full_name="Citoyen")


@pytest.fixture
def amiens_agent(amiens):
    user = make_user("agent@amiens.test")
    Membership.objects.create(user=user, organisation=amiens, role="editor", status="active")
    return user


def publish(user, org, title, **data):
    from regio.catalog import services

    if not Membership.objects.filter(user=user, organisation=org).exists():
        Membership.objects.create(user=user, organisation=org, role="editor", status="active")
    return services.create_dataset(user, org, {"title": title, "licence": "lov2", **data}, publish=True)


REQUEST = {
    "title": "Comptages des vélos sur les pistes cyclables",
    "description": "Données horaires de tous les compteurs de vélos installés depuis 2020, avec leur position.",
    "purpose": "Étude de fréquentation.",
}
