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


def test_report_harvest_section_per_source(amiens, lille):
    from datetime import timedelta

    from regio.core.ingest.models import Run
    from regio.datarequests import report
    from regio.harvest.models import DatasetOrigin, HarvestSource

    year = timezone.localdate().year
    start, end = report._year_bounds(year)
    before, during = start - timedelta(days=30), start + timedelta(days=40)
    agent = make_user("moisson@rapport.test")
    ckan = HarvestSource.objects.create(kind="ckan", name="Portail open data d'Amiens", url="https://amiens.invalid", owner=amiens)
    quiet = HarvestSource.objects.create(kind="udata", name="Portail de Lille", url="https://lille.invalid", owner=lille)
    datasets = [publish(agent, amiens, f"Jeu moissonné {i}") for i in range(4)]
    for i, (first, last, archived) in enumerate([
        (during, during, None),  # new this year
        (before, during, None),  # older, still harvested this year
        (before, before, None),  # not seen this year
        (before, during, during),  # removed at the source this year
    ]):
        DatasetOrigin.objects.create(dataset=datasets[i], source=ckan, remote_id=str(i), first_seen_at=first,
                                     last_seen_at=last, archived_at=archived)
    for status, complete, dry, created in [
        ("succeeded", True, False, during), ("succeeded", True, False, during + timedelta(days=1)),
        ("failed", False, False, during + timedelta(days=2)), ("dead", False, False, during + timedelta(days=3)),
        ("cancelled", False, False, during + timedelta(days=4)), ("succeeded", True, True, during + timedelta(days=5)),
        ("succeeded", True, False, before), ("failed", False, False, during + timedelta(days=6)),
    ]:
        Run.objects.create(source=ckan, status=status, complete=complete, dry_run=dry, created_at=created, finished_at=created)
    table = report.harvest_table(year, start, end)
    rows = {row[0]: dict(zip(table["columns"], row, strict=True)) for row in table["rows"]}
    amiens_row = rows["Portail open data d'Amiens"]
    assert amiens_row["type"].startswith("CKAN") and amiens_row["proprietaire"] == "Commune de Amiens"
    assert (amiens_row[f"jeux_moissonnes_en_{year}"], amiens_row["nouveaux_jeux"], amiens_row["supprimes_a_la_source"]) == (3, 1, 1)
    assert (amiens_row["passages"], amiens_row["passages_complets"], amiens_row["passages_echoues"],
            amiens_row["passages_partiels_ou_annules"]) == (6, 2, 3, 1)
    assert amiens_row["dernier_statut"] == "Échoué"
    lille_row = rows["Portail de Lille"]
    assert lille_row["passages"] == 0 and lille_row["dernier_statut"] == "aucun passage"
    assert table["rows"][0][0] == "Portail open data d'Amiens"  # most harvested first
    assert quiet.pk in {s.pk for s in HarvestSource.objects.all()}
    # In the full report (HTML and CSV).
    data = report.collect(year)
    assert data["tables"]["sources_moissonnees"]["rows"] == table["rows"]
    assert "Portail open data d&#x27;Amiens" in report.render_html(data)
