import io

import pytest
from django.core.management import call_command

from regio.crowdfunding import ledger
from regio.crowdfunding.models import MatchReservation, Pledge, Project, StatementLine

pytestmark = pytest.mark.django_db


def test_demo_is_idempotent_and_goes_through_the_ledger():
    call_command("demo", stdout=io.StringIO())
    states = dict(Project.objects.values_list("slug", "campaign_state"))
    assert states["fromagerie-paysanne-wormhout"] == "open"
    assert states["cafe-associatif-le-quesnoy"] == "funded"
    assert states["atelier-vannerie-anor"] == "failed"
    assert set(Pledge.objects.filter(project__slug="cafe-associatif-le-quesnoy").values_list("status", flat=True)) == {"captured"}
    assert set(Pledge.objects.filter(project__slug="atelier-vannerie-anor").values_list("status", flat=True)) == {"refunded"}
    assert MatchReservation.objects.filter(status="released").exists()
    assert MatchReservation.objects.filter(status="cancelled").exists()
    # Amiens is urban (density class 1): no match from the rural programme
    assert not MatchReservation.objects.filter(project__slug="recyclerie-solidaire-amiens").exists()
    assert StatementLine.objects.filter(status="matched").count() == Pledge.objects.count()
    assert ledger.check().ok
    counts = (Project.objects.count(), Pledge.objects.count(), MatchReservation.objects.count())
    call_command("demo", stdout=io.StringIO())
    assert (Project.objects.count(), Pledge.objects.count(), MatchReservation.objects.count()) == counts
    assert ledger.check().ok
