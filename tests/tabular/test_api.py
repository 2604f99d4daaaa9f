"""Service, background task, query API, sandboxed SQL, downloads and preview page."""

from __future__ import annotations

import io
import json

import pytest

from regio.tabular import services
from regio.tabular.engine.errors import TabularError
from regio.tabular.engine.query import SandboxLimits, run_sql
from regio.tabular.models import Status, TabularResource

from .conftest import EXEMPLE_VALIDE, SOMME, read_rows, write_csv

pytestmark = pytest.mark.django_db
KEY = "catalog.resource:42"
BASE = f"/api/1/resources/{KEY}"


@pytest.fixture
def somme(tabular_root, immediate_tasks):
    return services.submit_file(KEY, SOMME, title="Subventions de la Somme")


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_submit_file_converts_in_the_background_task(somme):
    resource = TabularResource.objects.get(resource_key=KEY)
    assert resource.status == Status.READY and resource.row_count == 11
    assert resource.parquet_path.startswith(str(services.conf.tabular_root()))
    assert resource.dialect["encoding"] == "windows-1252"
    assert {c["name"] for c in resource.columns} >= {"montant", "dateConvention"}


def test_queued_resource_explains_why_there_is_no_preview(client, tabular_root, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    services.submit_file(KEY, SOMME)  # the database backend only queues it
    resource = TabularResource.objects.get(resource_key=KEY)
    assert resource.status == Status.QUEUED
    response = client.get(f"{BASE}/data/")
    assert response.status_code == 409
    assert "la conversion du fichier est en cours" in response.json()["detail"]


def test_failed_conversion_keeps_other_resources_and_previous_data(client, tabular_root, immediate_tasks, tmp_path):
    good = services.submit_file("catalog.resource:1", SOMME)
    rows = read_rows(EXEMPLE_VALIDE)
    rows[3] = rows[3] + ["en trop"]
    ragged = write_csv(tmp_path / "ragged.csv", rows)
    bad = services.submit_file("catalog.resource:2", ragged)
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.status == Status.FAILED
    assert bad.error.startswith("Ligne 4 : 17 colonnes trouvées au lieu de 16")
    assert good.status == Status.READY and client.get("/api/1/resources/1/data/").status_code == 200
    detail = client.get("/api/1/resources/catalog.resource:2/data/").json()["detail"]
    assert "la conversion a échoué" in detail and "Ligne 4" in detail
    # a later bad version of the good resource keeps its last good Parquet file
    previous = good.parquet_path
    services.submit_file("catalog.resource:1", ragged)
    good.refresh_from_db()
    assert good.status == Status.FAILED and good.parquet_path == previous
    assert client.get("/api/1/resources/1/data/").json()["total"] == 11


def test_data_envelope_filters_sort_and_pages(client, somme):
    response = client.get(f"{BASE}/data/", {"montant__gt": "100000", "sort": "-montant", "page_size": 2})
    data = response.json()
    assert response.status_code == 200
    assert set(data) >= {"data", "page", "page_size", "total", "next_page"}
    assert data["total"] == 6 and len(data["data"]) == 2
    assert [r["montant"] for r in data["data"]] == [853244.0, 756283.0]
    assert "page=2" in data["next_page"]
    last = client.get(f"{BASE}/data/", {"montant__gt": "100000", "sort": "-montant", "page_size": 2, "page": 3}).json()
    assert [r["montant"] for r in last["data"]] == [137825.0, 130434.0] and last["next_page"] is None
    assert client.get(f"{BASE}/data/", {"montant__lt": "100 000,00"}).json()["total"] == 4  # French number accepted
    assert client.get(f"{BASE}/data/", {"type__exact": "investissement"}).json()["total"] == 6
    assert client.get(f"{BASE}/data/", {"nomBeneficiaire__contains": "vignacourt"}).json()["total"] == 1
    assert client.get(f"{BASE}/data/", {"dateConvention__gt": "01/03/2018"}).json()["total"] == 3


def test_data_errors_are_problem_json_in_french(client, somme):
    response = client.get(f"{BASE}/data/", {"inconnue__exact": "x"})
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "La colonne « inconnue » n'existe pas dans ce fichier."
    response = client.get(f"{BASE}/data/", {"montant__gt": "beaucoup"})
    assert "n'est pas un nombre" in response.json()["detail"]
    assert client.get("/api/1/resources/catalog.resource:999/data/").status_code == 404


def test_sql_select_and_with(client, somme):
    response = client.get(f"{BASE}/sql", {"q": "SELECT type, count(*) AS n, sum(montant) AS total FROM data GROUP BY type ORDER BY n DESC"})
    assert response.status_code == 200
    assert response.json()["data"][0] == {"type": "investissement", "n": 6, "total": pytest.approx(1130064.0)}
    response = client.get(f"{BASE}/sql", {"q": "WITH gros AS (SELECT * FROM data WHERE montant > 500000) SELECT count(*) AS n FROM gros"})
    assert response.json()["data"] == [{"n": 2}]


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "Accès refusé : la requête ne peut lire que la table « data »"),
        ("SELECT * FROM read_text('/etc/hostname')", "Accès refusé"),
        ("SELECT * FROM read_parquet('/tmp/*.parquet')", "Accès refusé"),
        ("COPY data TO '/tmp/vol.csv'", "Instruction COPY refusée"),
        ("ATTACH '/tmp/autre.duckdb' AS autre", "Instruction ATTACH refusée"),
        ("INSTALL httpfs", "Instruction INSTALL refusée"),
        ("LOAD httpfs", "Instruction LOAD refusée"),
        ("PRAGMA database_list", "Instruction PRAGMA refusée"),
        ("SET memory_limit='10GB'", "Instruction SET refusée"),
        ("DROP VIEW data", "Instruction DROP refusée"),
        ("CREATE TABLE t AS SELECT 1", "Instruction CREATE refusée"),
        ("SELECT 1; SELECT 2", "Une seule instruction SQL est acceptée (2 trouvées)"),
        ("SELECT * FROM data) AS q; DROP VIEW data; --", "La requête SQL est invalide"),
        ("", "La requête SQL est vide."),
        ("SELECT * FROM autre", "Table, colonne ou fonction inconnue"),
    ],
)
def test_sql_refusals_are_400_problem_json(client, somme, sql, expected):
    response = client.get(f"{BASE}/sql", {"q": sql})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert expected in response.json()["detail"]


def test_sql_time_and_memory_limits(somme):
    parquet = TabularResource.objects.get(resource_key=KEY).parquet_path
    with pytest.raises(TabularError) as info:
        run_sql(parquet, "SELECT count(*) FROM range(100000000000)", SandboxLimits(timeout_s=0.2))
    assert str(info.value) == "La requête a dépassé la durée maximale de 0,2 secondes et a été interrompue."
    with pytest.raises(TabularError) as info:
        run_sql(parquet, "SELECT list(range) FROM range(300000000)", SandboxLimits(memory_limit="64MB"))
    assert str(info.value).startswith("La requête a dépassé la mémoire autorisée (64MB)")


def test_sql_timeout_through_the_api(client, somme, settings):
    settings.TABULAR_SQL_TIMEOUT_S = 0.2
    response = client.get(f"{BASE}/sql", {"q": "SELECT count(*) FROM range(100000000000)"})
    assert response.status_code == 400 and "durée maximale" in response.json()["detail"]


def test_downloads_in_four_formats(client, somme):
    import openpyxl
    import pyarrow.parquet as pq

    response = client.get(f"{BASE}/download", {"format": "csv", "montant__gt": "500000", "sort": "-montant"})
    lines = body(response).decode().splitlines()
    assert response.status_code == 200 and len(lines) == 3 and lines[0].startswith('"nomAttribuant"')
    assert "853244" in lines[1]
    data = json.loads(body(client.get(f"{BASE}/download", {"format": "json"})))
    assert len(data) == 11 and data[0]["dateConvention"] == "2018-01-30"
    table = pq.read_table(io.BytesIO(body(client.get(f"{BASE}/download", {"format": "parquet"}))))
    assert table.num_rows == 11
    filtered = pq.read_table(io.BytesIO(body(client.get(f"{BASE}/download", {"format": "parquet", "type": "fonctionnement"}))))
    assert filtered.num_rows == 5
    sheet = openpyxl.load_workbook(io.BytesIO(body(client.get(f"{BASE}/download", {"format": "xlsx"})))).active
    assert sheet.max_row == 12 and sheet.cell(1, 8).value == "montant"
    assert client.get(f"{BASE}/download", {"format": "docx"}).status_code == 400


def test_status_endpoint(client, somme):
    data = client.get(f"{BASE}/tabular/").json()
    assert data["status"] == "ready" and data["status_label"] == "Prêt" and data["row_count"] == 11


def test_preview_page_table_sort_filter_profile_histogram(client, somme):
    response = client.get(f"/donnees/tableaux/{KEY}/", {"sort": "-montant", "filtre_colonne": "type", "filtre_operateur": "exact", "filtre_valeur": "investissement"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "6 lignes correspondant aux filtres" in html
    assert 'aria-sort="descending"' in html
    assert "Profil des colonnes" in html and "nombre décimal" in html
    assert 'svg class="histogram"' in html and "Tableau des valeurs de l'histogramme « montant »" in html
    assert "Windows-1252" in html and "point-virgule" in html
    assert client.get("/donnees/tableaux/").status_code == 200


def test_submit_url_downloads_through_the_safe_client(client, tabular_root, immediate_tasks, shared_http_server, allow_private_http):
    url = f"{shared_http_server}/standards/schemas/scdl-subventions/real/SCDL_DEP_Haute_Garonne_datalocale-subvention.csv"
    resource = services.submit_url("catalog.resource:7", url)
    resource.refresh_from_db()
    assert resource.status == Status.READY and resource.row_count == 69
    assert client.get("/api/1/resources/7/data/", {"page_size": 1}).json()["total"] == 69


def test_submit_url_failure_is_explained(tabular_root, immediate_tasks, shared_http_server):
    resource = services.submit_url("catalog.resource:8", f"{shared_http_server}/standards/absent.csv")
    resource.refresh_from_db()
    assert resource.status == Status.FAILED
    assert resource.error.startswith("Le fichier n'a pas pu être téléchargé : Adresse refusée")
