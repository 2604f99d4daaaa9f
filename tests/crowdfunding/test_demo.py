import io

import pytest
from django.core.management import call_command

from regio.catalog.models import Dataset
from regio.crowdfunding import ledger
from regio.crowdfunding.models import MatchReservation, Pledge, Project, StatementLine
from regio.crowdfunding.opendata import DATASET_SLUG

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
    dataset = Dataset.objects.get(slug=DATASET_SLUG)
    with dataset.resources.get().file.open("rb") as handle:
        text = handle.read().decode("utf-8")
    funded_titles = set(Project.objects.filter(campaign_state="funded").values_list("title", flat=True))
    assert funded_titles and all(title in text for title in funded_titles)
    assert "Atelier" not in text  # the failed campaign is not published
    counts = (Project.objects.count(), Pledge.objects.count(), MatchReservation.objects.count())
    call_command("demo", stdout=io.StringIO())
    assert (Project.objects.count(), Pledge.objects.count(), MatchReservation.objects.count()) == counts
    assert ledger.check().ok
