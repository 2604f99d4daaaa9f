import csv
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from regio.datarequests import obligations, services
from regio.datarequests.models import DataRequest, Status

from .conftest import REQUEST, make_user, publish

pytestmark = pytest.mark.django_db


def test_annual_report_command_writes_html_pdf_and_csv(tmp_path, citizen, cdo, amiens):
    year = timezone.localdate().year
    agent = make_user("agent@rapport.test")
    dataset = publish(agent, amiens, "Subventions aux associations 2026", themes=["GOVE"])
    r = services.submit_request(citizen, REQUEST, confirm_new=True)
    services.transition(cdo, r, "qualified")
    services.transition(cdo, r, "assigned", assigned_to=amiens)
    services.transition(cdo, r, "released", dataset=dataset)
    r2 = services.submit_request(citizen, {**REQUEST, "title": "Liste des allocataires"}, confirm_new=True)
    services.transition(cdo, r2, "refused", legal_ground="personal_data", note="Données nominatives.")
    obligations.compute()
    out = StringIO()
    call_command("report", "annual", "--year", str(year), "--output", str(tmp_path), stdout=out)
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert f"Rapport annuel {year}" in html and "Commune de Amiens" in html
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF-")
    requests = dict(csv.reader((tmp_path / "demandes.csv").open(encoding="utf-8")))
    assert requests["demandes reçues"] == "2" and requests["refus"] == "1" and requests["données publiées en réponse"] == "1"
    grounds = list(csv.reader((tmp_path / "refus_par_motif.csv").open(encoding="utf-8")))
    assert grounds[1] == ["Protection de la vie privée / données personnelles", "1"]
    producers = list(csv.reader((tmp_path / "donnees_publiees_par_producteur.csv").open(encoding="utf-8")))
    assert ["Commune de Amiens", "commune", "1"] in producers
    evolution = list(csv.reader((tmp_path / "obligations_evolution.csv").open(encoding="utf-8")))
    assert len(evolution) == 2
    for name in ("donnees_publiees_par_theme", "sources_moissonnees", "jeux_les_plus_consultes", "reutilisations", "obligations_situation"):
        assert (tmp_path / f"{name}.csv").exists()


def test_report_staff_page(cdo, client):
    assert client.get("/demandes-de-donnees/rapport-annuel").status_code == 403
    client.force_login(cdo)
    assert "Rapport annuel" in client.get("/demandes-de-donnees/rapport-annuel?annee=2026").content.decode()
    resp = client.get("/demandes-de-donnees/rapport-annuel?annee=2026&format=pdf")
    assert resp.content.startswith(b"%PDF-")


def test_demo_creates_every_state_and_computes_obligations():
    from regio.accounts.demo import load_demo as accounts_demo
    from regio.catalog.demo import load_demo as catalog_demo
    from regio.datarequests.demo import load_demo

    accounts_demo(StringIO())
    catalog_demo(StringIO())
    load_demo(StringIO())
    load_demo(StringIO())  # idempotent
    states = set(DataRequest.objects.values_list("status", flat=True))
    assert states == set(Status.values)
    assert DataRequest.objects.filter(moderation="pending").count() == 1
    assert any(r.is_overdue() for r in DataRequest.objects.all())
    assert DataRequest.objects.get(status="released").released_dataset is not None
    from regio.datarequests.models import ObligationStatus

    assert ObligationStatus.objects.filter(subject="oui").exists()
    assert any("subventions" in keys for keys in ObligationStatus.objects.values_list("scdl", flat=True))
