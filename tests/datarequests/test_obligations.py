import csv
import io
import json
import re

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied

from regio.datarequests import obligations
from regio.datarequests.models import AgentCount, ObligationStatus

from .conftest import make_user, publish

pytestmark = pytest.mark.django_db

SCHEMAS = settings.SHARED_DIR / "standards" / "schemas"


def schema_path(folder):
    return json.loads((SCHEMAS / folder / "schema.json").read_text(encoding="utf-8"))["path"]


@pytest.mark.parametrize("population, agents, expected", [
    (None, 100, "a_verifier"), (None, None, "a_verifier"), (1200, None, "non"), (3499, 500, "non"),
    (3500, None, "a_verifier"), (3500, 49, "non"), (3500, 50, "oui"), (130000, 2000, "oui"),
])
def test_subject_rule(population, agents, expected):
    assert obligations.subject_to_obligation(population, agents)[0] == expected


def test_scdl_matching_on_real_schema_urls_and_keywords():
    assert obligations.match_schema(schema_path("scdl-budget")) == "budget"
    assert obligations.match_schema(schema_path("scdl-subventions")) == "subventions"
    assert obligations.match_schema(schema_path("scdl-deliberations")) == "deliberations"
    assert obligations.match_schema("https://schema.data.gouv.fr/scdl/equipements/0.1.5/schema.json") == "equipements"
    assert obligations.match_schema("https://example.org/autre/schema.json") is None
    assert obligations.match_title("Délibérations du conseil municipal 2025") == "deliberations"
    assert obligations.match_title("Données essentielles des marchés publics") == "marches_publics"
    assert obligations.match_title("Horaires des piscines") is None


def test_compute_snapshot(amiens, lille, cdo, region_org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agent = make_user("agent@obligations.test")
    publish(agent, amiens, "Budget primitif 2026", conforms_to=schema_path("scdl-budget"), description="Le budget.",
            keywords=["budget"], themes=["ECON"], frequency="ANNUAL", contact_email="donnees@amiens.test")
    publish(agent, amiens, "Délibérations du conseil municipal")
    obligations.set_agents(cdo, amiens, 2500)
    obligations.set_agents(cdo, lille, 20)
    with CaptureQueriesContext(connection) as ctx:
        run = obligations.compute()
    # A fixed number of reads whatever the number of collectivités (the inserts are batched: SQLite
    # caps the parameters of one statement, so it needs more batches than PostgreSQL).
    reads = [q for q in ctx.captured_queries if not q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(reads) <= 15
    row = ObligationStatus.objects.get(organisation=amiens)
    assert row.population > 100000 and row.agents == 2500
    assert (row.subject, row.status, row.publishes, row.datasets_count, row.local_count) == ("oui", "conforme", True, 2, 2)
    assert row.scdl == ["budget", "deliberations"]
    assert row.next_to_publish == ["subventions", "marches_publics", "equipements"]
    assert row.freshness_days == 0
    assert row.slug == amiens.slug and row.name_folded == "commune de amiens" and row.population_sort == row.population
    lille_row = ObligationStatus.objects.get(organisation=lille)
    assert (lille_row.subject, lille_row.status, lille_row.subject_reason) == ("non", "non_soumise", "moins de 50 agents")
    # Agents unknown → "à vérifier", never guessed.
    region_row = ObligationStatus.objects.get(organisation=region_org)
    assert region_row.subject == "a_verifier" and region_row.agents is None
    assert run.collectivites == ObligationStatus.objects.count() > 3000
    assert run.subject == 1 and run.subject_publishing == 1


def test_average_quality_is_the_quality_apps_score(amiens, lille, client):
    """The monitor averages regio.quality's stored score (0–100) of the datasets that have one."""
    from regio.quality.catalog_link import refresh_dataset_quality
    from regio.quality.models import DatasetQuality

    agent = make_user("qualite@obligations.test")
    good = publish(agent, amiens, "Budget primitif 2026", description="Le budget voté.", keywords=["budget"], themes=["ECON"],
                   frequency="ANNUAL", contact_email="donnees@amiens.test")
    poor = publish(agent, amiens, "Délibérations")
    unscored = publish(agent, amiens, "Équipements sportifs")
    lille_ds = publish(agent, lille, "Subventions 2025")
    for dataset in (good, poor, lille_ds):
        refresh_dataset_quality(dataset)
    DatasetQuality.objects.filter(dataset=unscored).delete()
    real = DatasetQuality.objects.get(dataset=good).score
    assert real > DatasetQuality.objects.get(dataset=poor).score  # the real scoring ranks them
    obligations.compute()
    row = ObligationStatus.objects.get(organisation=amiens)
    expected = round((DatasetQuality.objects.get(dataset=good).score + DatasetQuality.objects.get(dataset=poor).score) / 2, 1)
    assert (row.quality_avg, row.quality_scored, row.datasets_count) == (expected, 2, 3)
    # Known scores: the average is theirs, and the table sorts on it.
    DatasetQuality.objects.filter(dataset=good).update(score=90)
    DatasetQuality.objects.filter(dataset=poor).update(score=40)
    DatasetQuality.objects.filter(dataset=lille_ds).update(score=70)
    obligations.compute()
    assert ObligationStatus.objects.get(organisation=amiens).quality_avg == 65.0
    assert ObligationStatus.objects.get(organisation=lille).quality_avg == 70.0
    nobody = ObligationStatus.objects.exclude(organisation__in=[amiens, lille]).filter(kind="commune").first()
    assert nobody.quality_avg is None and nobody.quality_scored == 0
    body = client.get("/api/1/obligations?sort=-qualite&page_size=2").json()
    assert [d["organisation"] for d in body["data"]] == [lille.slug, amiens.slug]
    assert body["data"][1]["quality_avg"] == 65.0 and body["data"][1]["quality_scored"] == 2
    line = next(csv.DictReader(io.StringIO(client.get("/api/1/obligations?format=csv&q=80021").content.decode())))
    assert line["qualite_moyenne_sur_100"] == "65.0" and line["jeux_notes"] == "2"
    page = client.get("/obligations/?sort=-qualite").content.decode()
    assert page.index("Commune de Lille") < page.index("Commune de Amiens") and "65,0" in page
    assert "2 jeux notés" in page


def test_table_page_sorts_filters_and_pages_in_sql(amiens, lille, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agent = make_user("tri@obligations.test")
    publish(agent, amiens, "Budget primitif 2026")
    run = obligations.compute()
    total = run.collectivites
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/obligations/").content.decode()
    # The latest run (its total) and one narrow read of 50 rows: no count, no join.
    table_reads = [q["sql"] for q in ctx.captured_queries if "datarequests_obligationstatus" in q["sql"]]
    assert len(table_reads) == 1 and "JOIN" not in table_reads[0] and "LIMIT 50" in table_reads[0]
    assert "subject_reason" not in table_reads[0]
    assert int(re.sub(r"\D", "", re.search(r"<caption>(.*?) collectivité", page).group(1))) == total
    assert f"Page 1 sur {-(-total // 50)}" in page
    # One filter: the count stored with the run (no COUNT query), equal to the real one.
    n_communes = ObligationStatus.objects.filter(kind="commune").count()
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/obligations/?kind=commune").content.decode()
    assert len([q for q in ctx.captured_queries if "datarequests_obligationstatus" in q["sql"]]) == 1
    assert run.filter_counts["kind:commune"] == n_communes
    caption = re.search(r"<caption>(.*?) collectivité", page).group(1)
    assert int(re.sub(r"\D", "", caption)) == n_communes
    # Two filters: one COUNT, then cached for this snapshot.
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/obligations/?kind=commune&subject=a_verifier").content.decode()
    assert any("COUNT(" in q["sql"] for q in ctx.captured_queries)
    with CaptureQueriesContext(connection) as ctx:
        client.get("/obligations/?kind=commune&subject=a_verifier&page=2")
    assert not any("COUNT(" in q["sql"] for q in ctx.captured_queries)
    # Default order: largest population first (Lille before Amiens), unknown populations last.
    assert page.index("Commune de Lille") < page.index("Commune de Amiens")
    asc = client.get("/obligations/?kind=commune&sort=population").content.decode()
    desc = client.get("/obligations/?kind=commune&sort=-population").content.decode()
    assert 'aria-sort="ascending"' in asc and 'aria-sort="descending"' in desc
    assert "Commune de Lille" not in asc and "Commune de Lille" in desc
    # Filters: folded name (accents, case), code; the scdl keys shown with their labels.
    found = client.get("/obligations/?q=AMIÉNS").content.decode()
    assert "Commune de Amiens" in found and "Budget" in found and "Commune de Lille" not in found
    by_code = client.get("/obligations/?q=80021").content.decode()
    assert "Commune de Amiens" in by_code and "1 collectivité " in by_code
    # Out-of-range or invalid pages and sorts fall back to a valid page.
    assert client.get("/obligations/?page=99999").status_code == 200
    assert client.get("/obligations/?page=abc&sort=pif").status_code == 200
    assert "Commune de Amiens" in client.get("/obligations/?sort=-jeux").content.decode()


def test_harvested_datasets_count(amiens):
    from regio.catalog.models import Dataset

    agent = make_user("moissonneur@obligations.test")
    ds = publish(agent, amiens, "Points d'apport volontaire")
    Dataset.objects.filter(pk=ds.pk).update(origin="harvested", harvest_source="ckan-amiens")
    obligations.compute()
    row = ObligationStatus.objects.get(organisation=amiens)
    assert (row.harvested_count, row.local_count, row.datasets_count) == (1, 0, 1)


def test_collectivite_without_population_data(amiens, cdo, client):
    from regio.territory.models import Commune

    Commune.objects.filter(code="80021").update(population=None)
    obligations.set_agents(cdo, amiens, 2500)
    obligations.compute()
    row = ObligationStatus.objects.get(organisation=amiens)
    assert row.population is None and row.subject == "a_verifier"
    assert row.subject_reason == "population inconnue dans le référentiel territorial"
    page = client.get(f"/obligations/{amiens.slug}").content.decode()
    assert "inconnue dans le référentiel territorial" in page
    assert "inconnue" in client.get("/obligations/?q=Amiens").content.decode()
    line = next(r for r in csv.DictReader(io.StringIO(client.get("/api/1/obligations?format=csv&q=80021").content.decode())))
    assert line["population"] == "" and line["soumise"] == "a_verifier"


def test_agents_csv_import(cdo, amiens, lille):
    text = "code;agents\n80021;2 500\n59350;\n99999;12\n80021x;abc\n"
    with pytest.raises(PermissionDenied):
        obligations.import_agents_csv(make_user("x@exemple.test"), text)
    result = obligations.import_agents_csv(cdo, text)
    assert result["imported"] == 1
    assert AgentCount.objects.get(organisation=amiens).agents == 2500
    assert not AgentCount.objects.filter(organisation=lille).exists()
    assert any("nombre d'agents vide" in e for e in result["errors"])
    assert any("collectivité inconnue pour le code « 99999 »" in e for e in result["errors"])
    assert obligations.import_agents_csv(cdo, "nom,valeur\na,1\n")["errors"] == ["Colonnes attendues : « code » (INSEE ou SIREN) et « agents »."]


def test_api_json_csv_sort_and_errors(amiens, cdo, client):
    obligations.set_agents(cdo, amiens, 2500)
    obligations.compute()
    body = client.get("/api/1/obligations?kind=commune&sort=-population&page_size=2").json()
    assert {"data", "page", "page_size", "total", "next_page", "computed_at"} <= set(body)
    assert body["data"][0]["code"] == "59350" and body["data"][1]["code"] == "80021"
    assert body["data"][1]["subject"] == "oui"
    resp = client.get("/api/1/obligations?format=csv&subject=oui")
    assert resp["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode())))
    assert [r["code"] for r in rows] == ["80021"] and rows[0]["a_publier_ensuite"].startswith("budget|")
    assert client.get("/api/1/obligations?format=xml").status_code == 422
    assert client.get("/api/1/obligations?sort=pif").json()["detail"].startswith("sort : valeurs possibles")


def test_pages_map_table_and_open_dataset(amiens, cdo, client, region_org):
    from regio.catalog.models import Dataset

    run = obligations.compute()
    dataset = obligations.publish_open_dataset(run)
    assert dataset.is_public and dataset.publisher == region_org
    assert dataset.resources.get().url.endswith("/api/1/obligations?format=csv")
    before = Dataset.objects.get(pk=dataset.pk).metadata_modified_at
    obligations.publish_open_dataset(obligations.compute())
    assert Dataset.objects.filter(slug=dataset.slug).count() == 1
    assert Dataset.objects.get(pk=dataset.pk).metadata_modified_at > before
    page = client.get("/obligations/").content.decode()
    assert "/obligations/carte.svg" in page and "aria-sort" in page
    svg = client.get("/obligations/carte.svg")
    assert svg["Content-Type"].startswith("image/svg+xml")
    assert svg.content.startswith(b"<svg") and b'class="ob-' in svg.content and b'fill="#' in svg.content
    assert client.get("/obligations/?sort=-jeux&kind=commune&page=2").status_code == 200
    assert client.get("/obligations/?format=csv").content.decode().startswith("nom,type,code")
    detail = client.get(f"/obligations/{amiens.slug}").content.decode()
    assert "À publier ensuite" in detail and "Budget" in detail
    assert client.post(f"/obligations/{amiens.slug}", {"agents": "10"}).status_code == 403
    client.force_login(cdo)
    client.post(f"/obligations/{amiens.slug}", {"agents": "4000"})
    assert ObligationStatus.objects.get(organisation=amiens).subject == "oui"


def test_territory_page_shows_obligation_status(amiens, client):
    obligations.compute()
    page = client.get("/territoire/80021").content.decode()
    assert f"/obligations/{amiens.slug}" in page and "À vérifier (ne publie pas)" in page
