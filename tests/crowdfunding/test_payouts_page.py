from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from regio.crowdfunding import ledger, services
from regio.crowdfunding.models import Payout, Project

from .conftest import make_programme, make_project, make_user, pledge_and_confirm

pytestmark = pytest.mark.django_db
URL = "/financement-participatif/gestion/versements"


@pytest.fixture
def funded(owner, moderator, backers):
    project = make_project(owner, moderator, make_programme(), title="Fromagerie", goal_cents=5_000, budget_lines=[("Travaux", 100_000)])
    pledge_and_confirm(backers[0], project, 5_000)
    Project.objects.filter(pk=project.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    services.close_campaign(project)
    return project


def test_staff_pays_out_a_funded_project(client, moderator, funded):
    client.force_login(moderator)
    page = client.get(URL).content.decode()
    assert "Fromagerie" in page and "Verser 100 €" in page
    response = client.post(URL, {"project": funded.pk}, follow=True)
    assert "Versement de 100 € enregistré pour « Fromagerie »." in response.content.decode()
    payout = Payout.objects.get(project=funded)
    assert payout.amount_cents == 10_000 and payout.done_by == moderator
    funded.refresh_from_db()
    assert funded.campaign_state == Project.Campaign.CLOSED
    assert ledger.check().ok
    # a second click is refused with the service's message, nothing paid twice
    response = client.post(URL, {"project": funded.pk}, follow=True)
    assert "Seul un projet financé peut recevoir un versement." in response.content.decode()
    assert Payout.objects.filter(project=funded).count() == 1


def test_open_project_cannot_be_paid(client, moderator, owner):
    project = make_project(owner, moderator)
    client.force_login(moderator)
    response = client.post(URL, {"project": project.pk}, follow=True)
    assert "Seul un projet financé peut recevoir un versement." in response.content.decode()
    assert not Payout.objects.exists()


def test_others_get_403(client, owner, funded):
    client.force_login(owner)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"project": funded.pk}).status_code == 403
    assert not Payout.objects.exists()
    client.force_login(make_user())
    assert client.get(URL).status_code == 403
