"""Explorer pages, chart exports, API, agent upload, demo and catalogue integration."""

import csv
import io
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from regio.finance import selectors, services
from regio.finance.models import BudgetLine, ImportBatch, Subsidy

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(media, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
    from regio.finance.demo import load_demo

    out = StringIO()
    load_demo(out)
    return out.getvalue()


def test_demo_is_idempotent_and_real(demo):
    assert "DEP_Somme" in demo
    somme = ImportBatch.objects.get(file_name__startswith="DEP_Somme")
    assert somme.organisation.departement_id == "80"  # the Somme file really is from région 32
    counts = (Subsidy.objects.count(), BudgetLine.objects.count(), ImportBatch.objects.count())
    from regio.finance.demo import load_demo

    load_demo(StringIO())
    assert (Subsidy.objects.count(), BudgetLine.objects.count(), ImportBatch.objects.count()) == counts
    assert Subsidy.objects.filter(beneficiary_commune__isnull=False).count() == Subsidy.objects.count()


def test_demo_budgets_flag_the_virement_as_ordre_and_replace_older_demo_lines(demo):
    from regio.finance.demo import load_demo

    virements = BudgetLine.objects.filter(nature_code__in=("023", "021"))
    assert virements.count() == 24 and set(virements.values_list("operation", flat=True)) == {"ordre"}
    assert set(BudgetLine.objects.exclude(nature_code__in=("023", "021")).exclude(collectivite_siret="21590350100017")
               .values_list("operation", flat=True)) == {"réel"}
    # lines of the demo as loaded before the virement was flagged (a different file line, so another row)
    old = [BudgetLine(**{**{f.attname: getattr(v, f.attname) for f in BudgetLine._meta.concrete_fields if f.attname != "id"},
                         "operation": "réel", "row_hash": "old-" + v.row_hash[4:]}) for v in virements]
    BudgetLine.objects.bulk_create(old)
    load_demo(StringIO())
    assert virements.count() == 24 and set(virements.values_list("operation", flat=True)) == {"ordre"}


def test_demo_imports_a_dgfip_balance_for_lille(demo, client):
    assert "balance comptable DGFiP de démonstration : Commune de Lille 2021" in demo
    batch = ImportBatch.objects.get(report__format="Balance comptable DGFiP")
    assert batch.organisation.commune_id == "59350" and batch.is_demo
    assert batch.rows_quarantined == 0 and batch.report["balance_dgfip"]["non_budget_accounts"] == 2
    lines = BudgetLine.objects.filter(batch=batch)
    assert {(x.collectivite_siret, x.nomenclature, x.budget_type) for x in lines} == {
        ("21590350100017", "M14", "compte administratif")}
    response = client.get("/budgets/", {"collectivite": "21590350100017", "annee": "2021", "type": "compte administratif"})
    assert "Données de démonstration" in response.content.decode()
    rows = {c["name"]: c for c in response.context["charts"]}["anneaux"]["rows"]
    first = {r[1]: r[2] for r in rows if r[0] == 1}
    assert first["0"] == "Services généraux des administrations publiques locales" and first["2"] == "Enseignement - formation"
    assert {r[1] for r in rows if r[0] == 2 and r[3] == "2"} == {"21", "25"}


def test_consolidated_dataset_published_in_catalogue(demo):
    from regio.catalog.models import Dataset

    dataset = Dataset.objects.get(slug=services.CONSOLIDATED_SLUG)
    assert dataset.publisher.kind == "region" and dataset.status == "published"
    formats = sorted(r.format for r in dataset.resources.all())
    assert formats == ["csv", "parquet"]
    resource = dataset.resources.get(format="csv")
    with resource.file.open("rb") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read().decode("utf-8"))))
    assert len(rows) == Subsidy.objects.count()
    assert list(rows[0])[:3] == ["nomAttribuant", "idAttribuant", "dateConvention"]
    assert any(r["montant"] == "137825.00" for r in rows)
    from regio.tabular.engine.duck import connect, quote_literal

    parquet = dataset.resources.get(format="parquet")
    con = connect()
    total = con.execute(f"SELECT sum(montant) FROM read_parquet({quote_literal(parquet.file.path)})").fetchone()[0]
    con.close()
    assert round(float(total) * 100) == sum(Subsidy.objects.values_list("amount_cents", flat=True))
    # refreshed at each import: the same two resources, one more line
    services.publish_consolidated()
    assert dataset.resources.count() == 2


def test_subsidies_page_filters_and_equality_views(client, demo):
    response = client.get("/subventions/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Données de démonstration" in html
    assert "CHEMIN DE FER BAIE DE SOMME" in html
    assert "courbe de Lorenz" in html and "indice de Gini" in html
    assert 'role="img"' in html and "<desc" in html
    response = client.get("/subventions/", {"beneficiaire": "chemin de fer baie", "annee": "2018"})
    assert response.context["total"] == {"total_cents": 13_782_500 + 75_628_300, "count": 2}
    response = client.get("/subventions/", {"min": "100000", "max": "200 000"})
    assert all(10_000_000 <= s.amount_cents <= 20_000_000 for s in response.context["page"].object_list)


def test_chart_exports_csv_and_svg(client, demo):
    response = client.get("/subventions/", {"export": "beneficiaires.csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["beneficiaire", "siret", "montant_eur", "nombre"]
    top = selectors.top_beneficiaries(Subsidy.objects.all(), 1)[0]
    assert rows[1][0] == top["beneficiary_name"] and rows[1][2] == f"{top['total'] / 100:.2f}"
    svg = client.get("/subventions/", {"export": "lorenz.svg"})
    assert svg["Content-Type"].startswith("image/svg+xml") and svg.content.startswith(b"<svg")
    assert client.get("/subventions/", {"export": "inconnu.csv"}).status_code == 404
    communes = client.get("/subventions/", {"export": "communes.csv"}).content.decode()
    assert communes.splitlines()[0] == "code_insee,commune,montant_eur,population,eur_par_habitant"


def test_lorenz_table_shows_the_curve_points_and_the_csv_every_beneficiary(client, demo, monkeypatch):
    from regio.finance import views

    monkeypatch.setattr(views, "LORENZ_STEPS", 4)
    totals = selectors.beneficiary_totals(Subsidy.objects.all())
    points, _ = selectors.lorenz(totals)
    assert len(points) - 1 == len([t for t in totals if t > 0]) > 4
    chart = {c["name"]: c for c in client.get("/subventions/").context["charts"]}["lorenz"]
    n = len(points) - 1
    assert chart["shown"] == [[f"{x:.4f}", f"{y:.4f}"] for x, y in (points[round(k * n / 4)] for k in range(5))]
    assert chart["shown"][0] == ["0.0000", "0.0000"] and chart["shown"][-1] == ["1.0000", "1.0000"]
    assert f"le CSV donne un point par bénéficiaire ({n})" in chart["note"]
    rows = list(csv.reader(io.StringIO(client.get("/subventions/", {"export": "lorenz.csv"}).content.decode())))
    assert rows[0] == ["part_beneficiaires", "part_montants"] and len(rows) == n + 2
    assert rows[1:] == [[f"{x:.4f}", f"{y:.4f}"] for x, y in points]


def test_lorenz_and_gini():
    points, gini = selectors.lorenz([100, 100, 100, 100])
    assert gini == pytest.approx(0.0) and points[-1] == (1.0, 1.0)
    _, gini = selectors.lorenz([0, 0, 0, 1000])
    assert gini == pytest.approx(0.0)  # only positive totals count: one beneficiary
    _, gini = selectors.lorenz([1, 1, 1, 97])
    assert gini == pytest.approx(0.72)


def test_budgets_page_drill_down_and_comparison(client, demo):
    siret = BudgetLine.objects.values_list("collectivite_siret", flat=True).first()
    response = client.get("/budgets/", {"collectivite": siret, "annee": "2023", "par": "fonction"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "équilibrée" in html and "non équilibrée" not in html
    assert "Données de démonstration" in html
    parts = response.context["charts"][0]["rows"]
    codes = [p[0] for p in parts]
    assert "5" in codes  # M52 function 5 "Action sociale" at the top level
    response = client.get("/budgets/", {"collectivite": siret, "annee": "2023", "par": "fonction", "code": "5"})
    sub = [p[0] for p in response.context["charts"][0]["rows"]]
    assert set(sub) == {"51", "56"}
    assert "Remonter d'un niveau" in response.content.decode()
    nature = client.get("/budgets/", {"collectivite": siret, "annee": "2023", "par": "nature", "export": "repartition.csv"})
    assert nature.content.decode().splitlines()[0] == "code,libelle,montant_eur"
    evo = client.get("/budgets/", {"collectivite": siret, "export": "evolution.csv"}).content.decode().splitlines()
    assert [line.split(",")[0] for line in evo[1:]] == ["2021", "2021", "2022", "2022", "2023", "2023"]
    charts = {c["name"]: c for c in client.get("/budgets/", {"collectivite": siret, "annee": "2023"}).context["charts"]}
    comparison = charts["comparaison"]["rows"]
    assert len(comparison) >= 2


def test_api_list_and_aggregates(client, demo):
    data = client.get("/api/1/finance/subsidies", {"year": 2018, "page_size": 5}).json()
    assert set(data) >= {"data", "page", "page_size", "total", "next_page"}
    assert data["total"] == Subsidy.objects.filter(year=2018).count() and len(data["data"]) == 5
    agg = client.get("/api/1/finance/subsidies/aggregates").json()
    assert agg["count"] == Subsidy.objects.count()
    assert sum(r["total_cents"] for r in agg["by_year"]) == agg["total_cents"]
    assert 0 < agg["gini"] < 1
    bad = client.get("/api/1/finance/subsidies", {"min_eur": 10, "max_eur": 1})
    assert bad.status_code == 400 and bad.json()["detail"] == "Le montant minimum dépasse le montant maximum."
    budgets = client.get("/api/1/finance/budgets").json()
    first = next(b for b in budgets if b["siret"] != "21590350100017")  # Lille's demo balance is a compte administratif (a result, not balanced)
    detail = client.get(f"/api/1/finance/budgets/{first['siret']}/{first['years'][-1]}").json()
    assert detail["sections"]["fonctionnement"]["dépense"] == detail["sections"]["fonctionnement"]["recette"]
    assert client.get(f"/api/1/finance/budgets/{first['siret']}/1990").status_code == 404


def test_agent_upload_and_permissions(client, agent, somme, dep80, media):
    from regio.accounts.models import Organisation

    client.force_login(agent)
    with open(somme, "rb") as handle:
        response = client.post("/budgets/importer", {
            "organisation": dep80.slug, "kind": "subventions",
            "file": SimpleUploadedFile("somme.csv", handle.read(), content_type="text/csv"),
        })
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert (batch.origin, batch.created_by, batch.rows_imported) == ("upload", agent, 11)
    report = client.get(response["Location"]).content.decode()
    assert "importées : 11" in report
    other = Organisation.objects.filter(kind="departement").exclude(pk=dep80.pk).first()
    with pytest.raises(Exception) as exc:
        services.import_upload(agent, other, "subventions", SimpleUploadedFile("x.csv", b"a;b\n1;2\n"))
    assert "il faut en être éditeur ou administrateur" in str(exc.value)
    response = client.post("/budgets/importer", {"organisation": dep80.slug, "kind": "subventions",
                                                  "file": SimpleUploadedFile("x.csv", b"a;b\n1;2\n")})
    assert response.status_code == 422
    assert "Colonnes obligatoires absentes du fichier : nomAttribuant" in response.content.decode()


def test_api_upload_quarantine_report(client, agent, scdl_dir, dep80, media):
    anonymous = client.post("/api/1/finance/imports", {"organisation": dep80.slug, "kind": "subventions"})
    assert anonymous.status_code == 401
    client.force_login(agent)
    with open(scdl_dir / "exemple_invalide_erreurs_cellules.csv", "rb") as handle:
        response = client.post("/api/1/finance/imports", {
            "organisation": dep80.slug, "kind": "subventions", "file": SimpleUploadedFile("invalide.csv", handle.read()),
        })
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["rows_quarantined"] == 29 and body["rows_imported"] == 0
    assert body["quarantine"][0] == {
        "line": 2, "reasons": ["Attribuant : SIRET « 21860194600000 » invalide (clé de contrôle de Luhn incorrecte)."]
    }


def test_cli_import(somme, dep80, media, settings):
    from django.core.management import call_command

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    out = StringIO()
    call_command("finance", "import", "subventions", str(somme), "--organisation", dep80.slug, stdout=out)
    assert "11 lignes lues, 11 importées, 0 déjà présentes, 0 en quarantaine" in out.getvalue()
    out = StringIO()
    call_command("finance", "import", "subventions", str(somme), "--organisation", dep80.slug, stdout=out)
    assert "Ce fichier a déjà été importé : rien n'a changé." in out.getvalue()


def test_catalogue_resource_with_scdl_schema_is_imported(somme, dep80, media, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
    from regio.accounts.models import User
    from regio.catalog import services as catalog

    admin = User.objects.create_superuser("cdo@region.example", "motdepasse-solide-123")
    dataset = catalog.create_dataset(admin, dep80, {"title": "Subventions du Département", "licence": "lov2"}, publish=True)
    with django_capture_on_commit_callbacks(execute=True):
        with open(somme, "rb") as handle:
            catalog.add_resource(
                admin, dataset, title="Conventions 2018", upload=SimpleUploadedFile("somme.csv", handle.read()),
                schema="https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json",
            )
    batch = ImportBatch.objects.get(origin="catalog")
    assert batch.organisation == dep80 and batch.rows_imported == 11
    assert batch.source_key.startswith("catalog.resource:")


def test_scdl_resource_written_in_bulk_by_the_harvester_is_imported(
    somme, dep80, media, settings, shared_http_server, allow_private_http, django_capture_on_commit_callbacks,
):
    """Harvested pages are written with bulk_create (no post_save): the bulk signal queues the import."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
    from regio.accounts.models import User
    from regio.catalog import services as catalog
    from regio.catalog.models import Dataset, Resource
    from regio.catalog.signals import datasets_bulk_saved

    admin = User.objects.create_superuser("cdo@region.example", "motdepasse-solide-123")
    dataset = catalog.create_dataset(admin, dep80, {"title": "Subventions moissonnées", "licence": "lov2"}, publish=True)
    url = f"{shared_http_server}/standards/schemas/scdl-subventions/real/{somme.name}"
    schema = "https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json"
    for _ in range(2):  # the same page written twice: imported once
        with django_capture_on_commit_callbacks(execute=True):
            if not Resource.objects.filter(dataset=dataset).exists():
                Resource.objects.bulk_create([Resource(dataset=dataset, title="Conventions", url=url, format="csv", schema=schema)])
            datasets_bulk_saved.send(sender=Dataset, dataset_ids=[dataset.pk])
    batch = ImportBatch.objects.get(origin="catalog")
    assert batch.organisation == dep80 and batch.rows_imported == 11


def test_per_inhabitant_matches_the_territory_lens(demo):
    from regio.territory.selectors import per_inhabitant

    qs = Subsidy.objects.all()
    amounts = {code: cents / 100 for code, cents in selectors.by_commune_cents(qs).items()}
    for level in ("commune", "epci"):
        expected = per_inhabitant(amounts, level)
        mine = {r["code"]: r for r in selectors.territory_per_inhabitant(qs, level)}
        assert set(mine) == set(expected) and mine
        for code, values in expected.items():
            assert mine[code]["total"] == pytest.approx(values["total"])
            assert mine[code]["population"] == values["population"]
