"""The vectorised import gives the row parser's records and reasons; the DuckDB aggregates over
the Parquet snapshot give the SQL selectors' figures; themes; the snapshot's life cycle."""

import pytest

from regio.finance import aggregate, analytics, selectors, services, snapshot, themes
from regio.finance.importers import scdl
from regio.finance.importers.reader import read_rows
from regio.finance.models import ImportBatch, Subsidy

pytestmark = pytest.mark.django_db


def run(path, org, **kw):
    kw.setdefault("publish", False)
    return services.run_import("subventions", path, organisation=org, origin=ImportBatch.Origin.CLI, check_permission=False, **kw)


REAL = ["real/DEP_Somme_TB_20180330_DONNEES_CONVENTIONS.csv", "real/SCDL_DEP_Haute_Garonne_datalocale-subvention.csv",
        "exemple_valide.csv", "exemple_invalide_erreurs_cellules.csv"]


@pytest.mark.parametrize("name", REAL)
def test_vectorised_import_equals_the_row_parser(scdl_dir, dep80, name):
    batch = run(scdl_dir / name, dep80)
    imported = {s.line: s for s in Subsidy.objects.filter(batch=batch)}
    quarantined = {q.line: q for q in batch.quarantine.all()}
    _, rows = read_rows(scdl_dir / name)
    seen = {}
    n = 0
    for line, raw in rows:
        n += 1
        parsed = scdl.parse_subsidy(raw)
        if not parsed.reasons and parsed.record["row_hash"] in seen:
            parsed.reasons.append(f"Ligne en double (identique à la ligne {seen[parsed.record['row_hash']]}).")
        if parsed.reasons:
            q = quarantined[line]
            assert q.reasons == parsed.reasons
            assert (q.amount_cents, q.year) == (parsed.amount_cents, parsed.year)
            assert q.raw == raw
            continue
        seen[parsed.record["row_hash"]] = line
        row = imported[line]
        for key, value in parsed.record.items():
            assert getattr(row, key) == value, (line, key)
        assert row.theme == themes.classify(raw.get("objet", ""), raw.get("nature", ""), raw.get("nomBeneficiaire", ""))
    assert n == batch.rows_read == len(imported) + len(quarantined)


def test_sql_amounts_equal_parse_amount():
    import duckdb

    from regio.finance.importers.vector import amount_sql

    texts = ["137 825,00", "2400.0", "1.234,56", "1,234.56", "12 €", "-3", "+7", "0", "-0,00", "sept cents", "12 abc",
             "1\u00a0000,5", "1\u202f000", "0,125", "2,345", "1.2.3", "", "5,", ",5", "99786.57", " 42 "]
    con = duckdb.connect()
    value, cents = amount_sql("t")
    for text in texts:
        got_value, got_cents = con.execute(f"SELECT {value}, {cents} FROM (SELECT ?::VARCHAR AS t)", [text]).fetchone()
        expected = scdl.parse_amount(text.strip())
        if expected is None:
            assert got_value is None, text
        else:
            assert got_value == expected and got_cents == scdl.to_cents(expected), text


def test_reimport_of_a_file_with_more_lines_counts_the_unchanged(somme, dep80, tmp_path):
    from .conftest import somme_variant

    run(somme, dep80)
    more = somme_variant(somme, tmp_path / "plus.csv", lambda ls: ls + [ls[-1].replace(";40 000,00;", ";45 000,00;")])
    batch = run(more, dep80)
    assert (batch.rows_imported, batch.rows_unchanged, batch.rows_quarantined) == (1, 11, 0)


@pytest.fixture
def samples(scdl_dir, dep80):
    """The three real files (one partly invalid), beneficiaries placed by the demo resolver."""
    from regio.finance.demo import territory_resolver

    resolver = territory_resolver(dep80)
    for name in REAL:
        run(scdl_dir / name, dep80, resolver=resolver)
    return Subsidy.objects.all()


FILTERS = [
    selectors.SubsidyFilters(),
    selectors.SubsidyFilters(year=2017),
    selectors.SubsidyFilters(beneficiary="roques"),
    selectors.SubsidyFilters(beneficiary="327743"),
    selectors.SubsidyFilters(q="festival"),
    selectors.SubsidyFilters(min_eur=1000, max_eur=50_000),
    selectors.SubsidyFilters(territory="80"),
    selectors.SubsidyFilters(theme="sport"),
    selectors.SubsidyFilters(grantor="22800001400016"),
    selectors.SubsidyFilters(nature="AIDE EN NUMéRAIRE"),  # SQLite folds ASCII case only
    selectors.SubsidyFilters(year=2018, territory="80", theme="amenagement"),
    selectors.SubsidyFilters(beneficiary="roques", year=2017),
    selectors.SubsidyFilters(grantor="21310458100011", territory="200037059"),
]


@pytest.mark.parametrize("use_aggregate", [True, False], ids=["rollups", "lines"])
@pytest.mark.parametrize("f", FILTERS, ids=lambda f: repr({k: v for k, v in vars(f).items() if v not in ("", None)}))
def test_duckdb_aggregates_equal_the_sql_selectors(samples, f, use_aggregate):
    qs = selectors.subsidies(f)
    ex = analytics.Explorer(f, use_aggregate=use_aggregate)
    assert ex.totals() == selectors.totals(qs)
    assert ex.totals()["count"] > 0 or f.theme
    assert ex.by_year() == selectors.by_year(qs)
    assert ex.top_beneficiaries(10) == selectors.top_beneficiaries(qs, 10)
    assert sorted(ex.beneficiary_totals()) == sorted(selectors.beneficiary_totals(qs))
    assert ex.by_commune_cents() == selectors.by_commune_cents(qs)
    for level in ("commune", "epci"):
        mine, theirs = ex.territory_per_inhabitant(level), selectors.territory_per_inhabitant(qs, level)
        assert [(r["code"], r["population"]) for r in mine] == [(r["code"], r["population"]) for r in theirs]
        assert [r["total"] for r in mine] == pytest.approx([r["total"] for r in theirs])
    assert ex.urban_rural() == pytest.approx(selectors.urban_rural(qs))
    assert ex.decree_completeness() == selectors.decree_completeness()
    assert ex.by_grantor(filtered=False) == selectors.by_grantor(Subsidy.objects.all())
    assert ex.has_demo() == Subsidy.objects.filter(is_demo=True).exists()
    # the rollups answer every filter but amounts and object words (those read the lines)
    if not use_aggregate:
        assert set(ex.sources) == {"lines"}
    elif f.q or f.min_eur is not None:
        assert "lines" in ex.sources and "grantor" in ex.sources  # unfiltered queries still use a rollup
    else:
        assert "lines" not in ex.sources
        if not (f.grantor or f.territory or f.nature or f.theme):
            assert "beneficiary" in ex.sources  # beneficiary totals grouped on the integer key


def test_rollups_are_smaller_and_keyed_on_the_snapshot(samples, snapshot_dir):
    import duckdb

    con = duckdb.connect()
    ex = analytics.Explorer()
    files = ex.aggregate.files
    lines = con.execute(f"SELECT count(*) FROM {ex.source}").fetchone()[0]
    assert lines == Subsidy.objects.count()
    sizes = {name: con.execute(f"SELECT count(*), sum(n) FROM read_parquet('{path}')").fetchone() for name, path in files.items()
             if name != aggregate.DICTIONARY}
    assert all(total == lines for _, total in sizes.values())
    assert sizes["grantor"][0] < lines and sizes["beneficiary"][0] < lines
    beneficiaries = con.execute(f"SELECT count(*) FROM read_parquet('{files[aggregate.DICTIONARY]}')").fetchone()[0]
    assert beneficiaries == Subsidy.objects.values("beneficiary_siret", "beneficiary_name", "beneficiary_name_search").distinct().count()
    assert not list(snapshot_dir.glob(".staging-aggregate-*"))
    # new lines → new snapshot files → a new aggregate set (the previous one is kept for readers)
    first = Subsidy.objects.order_by("pk").first()
    snapshot.forget_batch(first.batch_id)
    again = analytics.Explorer()
    assert again.aggregate.files != files
    assert again.totals() == selectors.totals(Subsidy.objects.all())


def test_pages_and_api_give_the_sql_figures(client, samples):
    f = selectors.SubsidyFilters(year=2017)
    qs = selectors.subsidies(f)
    page = client.get("/subventions/", {"annee": "2017"})
    assert page.context["total"] == selectors.totals(qs)
    csv_rows = client.get("/subventions/", {"annee": "2017", "export": "beneficiaires.csv"}).content.decode().splitlines()[1:]
    top = selectors.top_beneficiaries(qs, 10)
    assert [line.split(",")[2] for line in csv_rows] == [f"{r['total'] / 100:.2f}" for r in top]
    agg = client.get("/api/1/finance/subsidies/aggregates", {"year": 2017}).json()
    assert (agg["total_cents"], agg["count"]) == (selectors.totals(qs)["total_cents"], selectors.totals(qs)["count"])
    _, gini = selectors.lorenz(selectors.beneficiary_totals(qs))
    assert agg["gini"] == pytest.approx(gini)


def test_themes_of_the_real_samples(samples, client):
    def theme_of(obj_start):
        return Subsidy.objects.filter(object__startswith=obj_start).values_list("theme", flat=True).first()

    assert theme_of("Installation d'une unité de méthanisation") == "environnement"
    assert theme_of("Réalisation de la phase 2 du programme de rénovation") == "amenagement"
    assert theme_of("Organisation du festival Scientilivre") == "culture"
    assert theme_of("Soutien aux projets d'entreprises de l'incubateur") == "economie"
    assert theme_of("Prévention des violences intra-familiales") == "social"
    # « SUBVENTION 2017 » says nothing: the beneficiary's name does
    assert Subsidy.objects.get(beneficiary_name="HANDBALL CLUB DE ROQUES", year=2017).theme == "sport"
    assert Subsidy.objects.filter(beneficiary_name="CONSERVATOIRE d'ESPACES NATURELS DE PICARDIE").get().theme == "environnement"
    assert themes.classify("Fonctionnement", "aide en numéraire", "") == "autre"
    assert themes.classify("artisanat et commerce", "", "") == "economie"  # « art » only as a whole word
    # filter on the page and in the API
    sport = Subsidy.objects.filter(theme="sport").count()
    assert sport >= 10
    assert client.get("/subventions/", {"theme": "sport"}).context["total"]["count"] == sport
    data = client.get("/api/1/finance/subsidies", {"theme": "sport", "page_size": 100}).json()
    assert data["total"] == sport and {r["theme"] for r in data["data"]} == {"sport"}
    bad = client.get("/api/1/finance/subsidies", {"theme": "jardinage"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("Thème « jardinage » inconnu (attendu : culture, sport")
    by_theme = client.get("/api/1/finance/subsidies/aggregates").json()["by_theme"]
    assert sum(r["count"] for r in by_theme) == Subsidy.objects.count()


def test_snapshot_written_at_commit_and_rebuilt_when_missing(somme, dep80, snapshot_dir, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        batch = run(somme, dep80)
    files = list(snapshot_dir.glob("batch-*.parquet"))
    assert [p.name for p in files] == [snapshot.file_name(batch.pk, 11, batch.created_at)]
    assert not list(snapshot_dir.glob(".staging-*"))
    assert analytics.Explorer().totals() == selectors.totals(Subsidy.objects.all())
    files[0].unlink()  # lost (or lines changed): rebuilt from the database on the next read
    assert analytics.Explorer().totals() == selectors.totals(Subsidy.objects.all())
    assert len(list(snapshot_dir.glob("batch-*.parquet"))) == 1
    batch.delete()  # a batch that no longer exists: its file is dropped
    assert analytics.Explorer().totals() == {"total_cents": 0, "count": 0}
    assert not list(snapshot_dir.glob("batch-*.parquet"))


def test_result_cache_never_serves_figures_of_other_files(somme, haute_garonne, dep80, settings,
                                                          django_capture_on_commit_callbacks):
    analytics.results.clear()
    with django_capture_on_commit_callbacks(execute=True):
        first = run(somme, dep80)
    reference = selectors.top_beneficiaries(Subsidy.objects.all(), 10)
    assert analytics.Explorer().top_beneficiaries(10) == reference
    assert analytics.results.misses == 1 and analytics.results.hits == 0
    assert analytics.Explorer().top_beneficiaries(10) == reference  # same files: served from the cache
    assert analytics.results.hits == 1
    # a new import adds a file: new key, fresh figures
    with django_capture_on_commit_callbacks(execute=True):
        run(haute_garonne, dep80)
    assert analytics.Explorer().totals() == selectors.totals(Subsidy.objects.all())
    assert analytics.Explorer().top_beneficiaries(10) == selectors.top_beneficiaries(Subsidy.objects.all(), 10)
    # lines deleted outside an import, the batch's file rebuilt under the same name: not the old figures
    Subsidy.objects.filter(batch=first).order_by("-amount_cents")[:1].get().delete()
    snapshot.forget_batch(first.pk)
    assert analytics.Explorer().totals() == selectors.totals(Subsidy.objects.all())
    # bounded by rows: with room for nothing, nothing is kept
    settings.FINANCE_RESULT_CACHE_ROWS = 1
    analytics.results.clear()
    analytics.Explorer().by_year()
    analytics.Explorer().by_year()
    assert analytics.results.hits == 0


def _subsidy_indexes() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        return {name for name, info in connection.introspection.get_constraints(cursor, Subsidy._meta.db_table).items()
                if info["index"] or info["unique"]}


def test_bulk_load_with_deferred_indexes_imports_the_same_rows(scdl_dir, somme, dep80, monkeypatch):
    before = _subsidy_indexes()
    monkeypatch.setattr(services, "BULK_LOAD_MIN_ROWS", 1)  # the real samples are small: take the bulk path
    batch = run(somme, dep80)
    assert _subsidy_indexes() == before  # every index is back
    assert (batch.rows_imported, batch.rows_quarantined) == (11, 0)
    _, rows = read_rows(somme)
    expected = {scdl.parse_subsidy(raw).record["row_hash"] for _, raw in rows}
    assert set(Subsidy.objects.values_list("row_hash", flat=True)) == expected
    # the unique row hash still guards idempotence
    from django.db import IntegrityError, transaction

    first = Subsidy.objects.first()
    first.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        first.save()


def test_deferred_indexes_come_back_when_the_import_fails(monkeypatch):
    from django.db import connection, transaction

    if connection.vendor != "sqlite":
        pytest.skip("indexes are deferred on SQLite only (COPY on PostgreSQL)")
    before = _subsidy_indexes()
    with pytest.raises(RuntimeError):
        with transaction.atomic(), connection.cursor() as cursor:
            with services._secondary_indexes_deferred(cursor, Subsidy._meta.db_table, 10**6):
                assert _subsidy_indexes() < before  # dropped during the load
                raise RuntimeError("échec au milieu du chargement")
    assert _subsidy_indexes() == before


def test_commune_map_rendered_once_per_content(client, samples, monkeypatch):
    from regio.finance import views

    views._maps.clear()
    calls = []
    real = views.contours
    monkeypatch.setattr(views, "contours", lambda codes: calls.append(len(codes)) or real(codes))

    def map_of(params):
        page = client.get("/subventions/", params)
        return next(c["svg"] for c in page.context["charts"] if c["name"] == "communes")

    first = map_of({})
    assert first.startswith("<svg") and len(calls) == 1
    assert map_of({}) == first and len(calls) == 1  # same figures: the rendered map
    other = map_of({"annee": "2017"})  # other figures: drawn again
    assert other != first and len(calls) == 2
    monkeypatch.setattr(views._maps, "ttl_s", 0)  # contours may have been reloaded: drawn again
    assert map_of({}) == first and len(calls) == 3


def test_beneficiaries_merged_when_a_name_has_several_keys(samples, monkeypatch):
    """The general path (a (SIRET, name) with several normalised names, hence keys) gives the same
    figures as the usual one (one key each, names looked up for the top N only)."""
    real = analytics._dictionary
    monkeypatch.setattr(analytics, "_dictionary", lambda path: (real(path)[0], False))
    qs = selectors.subsidies(selectors.SubsidyFilters())
    ex = analytics.Explorer()
    assert ex._one_key_each() is None
    assert ex.top_beneficiaries(10) == selectors.top_beneficiaries(qs, 10)
    assert sorted(ex.beneficiary_totals()) == sorted(selectors.beneficiary_totals(qs))
    assert "beneficiary" in ex.sources
