"""Sorted pages through the sort index (engine/sortindex.py) equal DuckDB's ORDER BY/LIMIT/OFFSET, row for row.

Real SCDL samples, rewritten with repeated rows (ties), blanked cells (nulls), accents, SIRET
codes kept as text and French decimal commas; every page of every sort is compared."""

from __future__ import annotations

import os
import time

import pyarrow.parquet as pq
import pytest

from regio.tabular import selectors, services
from regio.tabular.engine import sortindex
from regio.tabular.engine.convert import convert_file
from regio.tabular.engine.errors import TabularError
from regio.tabular.engine.profile import jsonable
from regio.tabular.engine.query import read_page
from regio.tabular.models import TabularResource

from .conftest import HAUTE_GARONNE, SOMME, read_rows, write_csv


def french_haute_garonne(path, *, copies: int = 3):
    """The Haute-Garonne sample ×``copies`` (ties), French numbers and dates, some cells blanked (nulls)."""
    header, *rows = read_rows(HAUTE_GARONNE, delimiter=";")
    amount, day, name, percent = (header.index(c) for c in ("montant", "dateConvention", "nomBeneficiaire", "pourcentageSubvention"))
    out = []
    for copy in range(copies):
        for i, row in enumerate(rows):
            row = list(row)
            row[amount] = f"{float(row[amount]):.2f}".replace(".", ",")
            row[percent] = row[percent].replace(".", ",")
            y, m, d = row[day].split("-")
            row[day] = f"{d}/{m}/{y}"
            if (i + copy) % 7 == 0:
                row[amount] = ""
            if (i + copy) % 11 == 0:
                row[name] = ""
            if (i + copy) % 13 == 0:
                row[day] = ""
            out.append(row)
    return write_csv(path, [header, *out], delimiter=";")


def somme_repeated(path):
    """The Somme sample (Windows-1252, accents, « 137 825,00 » amounts) ×4 with blanked cells."""
    header, *rows = read_rows(SOMME, encoding="windows-1252", delimiter=";")
    out = []
    for copy in range(4):
        for i, row in enumerate(rows):
            row = list(row)
            if (i + copy) % 5 == 0:
                row[header.index("montant")] = ""
            if (i + copy) % 6 == 0:
                row[header.index("nomBeneficiaire")] = ""
            out.append(row)
    return write_csv(path, [header, *out], delimiter=";", encoding="windows-1252")


@pytest.fixture
def haute_garonne(tmp_path):
    parquet = tmp_path / "hg.parquet"
    convert_file(french_haute_garonne(tmp_path / "hg.csv"), parquet, name="hg.csv")
    return parquet


@pytest.fixture
def somme(tmp_path):
    parquet = tmp_path / "somme.parquet"
    convert_file(somme_repeated(tmp_path / "somme.csv"), parquet, name="somme.csv")
    return parquet


def all_pages(parquet, *, sort, filters=(), page_size=7, indexed: bool):
    """Every page (and one past the end), rows and totals, through one path."""
    pages = []
    page = 1
    while True:
        result = read_page(parquet, filters_params=filters, sort=sort, page=page, page_size=page_size, index_min_rows=0 if indexed else None)
        pages.append((result["total"], result["rows"]))
        if not result["rows"]:
            return pages
        page += 1


def python_order(parquet, column: str, descending: bool) -> list[dict]:
    """Rows sorted in Python (stable: ties keep the file order; nulls last both ways), independently of DuckDB."""
    rows = pq.read_table(parquet).to_pylist()
    present = sorted((r for r in rows if r[column] is not None), key=lambda r: r[column], reverse=descending)  # reverse stays stable
    return present + [r for r in rows if r[column] is None]


SORTS_HG = ["montant", "-montant", "dateConvention", "-dateConvention", "nomBeneficiaire", "-nomBeneficiaire",
            "idBeneficiaire", "-idBeneficiaire", "-montant,nomBeneficiaire", "conditionsVersement,-dateConvention,montant"]
FILTERS_HG = [
    [],
    [("montant__gt", "5000")],
    [("montant__gte", "1 500,5")],
    [("montant__lt", "2000"), ("dateConvention__gte", "01/07/2016")],
    [("conditionsVersement__exact", "Echelonné")],
    [("nomBeneficiaire__contains", "é")],
    [("nomBeneficiaire__contains", "ASSOCIATION"), ("montant__gt", "1000")],
    [("idBeneficiaire", "00000000000000")],  # no match
]


@pytest.mark.parametrize("sort", SORTS_HG)
def test_indexed_pages_equal_duckdb_order_by_on_haute_garonne(haute_garonne, sort):
    for filters in FILTERS_HG:
        assert all_pages(haute_garonne, sort=sort, filters=filters, indexed=True) == all_pages(
            haute_garonne, sort=sort, filters=filters, indexed=False
        ), (sort, filters)


@pytest.mark.parametrize("sort", ["montant", "-montant", "nomBeneficiaire", "-nomBeneficiaire", "idBeneficiaire", "-type,montant", "objet"])
def test_indexed_pages_equal_duckdb_order_by_on_somme(somme, sort):
    for filters in ([], [("montant__gt", "100 000,00")], [("type", "investissement")], [("objet__contains", "réalisation")]):
        assert all_pages(somme, sort=sort, filters=filters, indexed=True) == all_pages(somme, sort=sort, filters=filters, indexed=False)


@pytest.mark.parametrize("column", ["montant", "nomBeneficiaire", "dateConvention", "idBeneficiaire"])
@pytest.mark.parametrize("descending", [False, True])
def test_both_paths_follow_the_stable_python_order_ties_in_file_order_nulls_last(haute_garonne, column, descending):
    expected = python_order(haute_garonne, column, descending)
    for indexed in (True, False):
        pages = all_pages(haute_garonne, sort=("-" if descending else "") + column, page_size=10, indexed=indexed)
        got = [row for _total, rows in pages for row in rows]
        assert got == [{k: jsonable(v) for k, v in r.items()} for r in expected]
    ties = [r[column] for r in expected]
    assert len(set(ties)) < len(ties) and ties[-1] is None  # the sample really has ties and nulls


def test_the_filtered_total_is_the_duckdb_count(haute_garonne):
    filters = [("montant__gt", "5000"), ("conditionsVersement__exact", "Unique")]
    indexed = read_page(haute_garonne, filters_params=filters, sort="-montant", page=2, page_size=3, index_min_rows=0)
    plain = read_page(haute_garonne, filters_params=filters, sort="-montant", page=2, page_size=3)
    assert indexed["total"] == plain["total"] > 6 and indexed["rows"] == plain["rows"]


def test_bad_filter_values_give_the_same_french_errors(haute_garonne):
    for filters, message in (([("montant__gt", "beaucoup")], "n'est pas un nombre"), ([("dateConvention__gte", "31/02/2016")], "ne correspond pas au type")):
        with pytest.raises(TabularError, match=message):
            read_page(haute_garonne, filters_params=filters, sort="montant", index_min_rows=0)


def test_small_files_keep_the_plain_query_and_write_no_index(haute_garonne):
    read_page(haute_garonne, sort="montant", index_min_rows=10_000)
    assert not sortindex.index_root(haute_garonne).exists()
    read_page(haute_garonne, sort="montant", index_min_rows=0)
    assert any(sortindex.index_dir(haute_garonne).iterdir())


def test_the_index_is_rebuilt_when_the_parquet_file_changes(tmp_path):
    header, *rows = read_rows(SOMME, encoding="windows-1252", delimiter=";")
    parquet = tmp_path / "somme.parquet"
    convert_file(write_csv(tmp_path / "a.csv", [header, *rows], delimiter=";"), parquet, name="a.csv")
    before = read_page(parquet, sort="-montant", page_size=3, index_min_rows=0)
    first_dir = sortindex.index_dir(parquet)
    assert first_dir.is_dir()
    # the same file name rewritten with other data (amounts multiplied by 1000 for the first row only)
    changed = [list(r) for r in rows]
    changed[-1][header.index("montant")] = "99 999 999,00"
    time.sleep(0.01)
    convert_file(write_csv(tmp_path / "b.csv", [header, *changed], delimiter=";"), parquet, name="b.csv")
    os.utime(parquet, ns=(time.time_ns(), time.time_ns()))
    after = read_page(parquet, sort="-montant", page_size=3, index_min_rows=0)
    assert after["rows"][0]["montant"] == 99_999_999 and after["rows"] != before["rows"]
    assert after["rows"] == read_page(parquet, sort="-montant", page_size=3)["rows"]
    assert sortindex.index_dir(parquet) != first_dir and not first_dir.exists()  # the old version's arrays are gone


@pytest.mark.django_db
def test_a_reconversion_or_a_deletion_drops_the_index(tabular_root, tmp_path):
    source = french_haute_garonne(tmp_path / "hg.csv")
    resource = services.convert_resource(TabularResource.objects.create(resource_key="test:index", source=str(source), source_name="hg.csv"))
    first = resource.parquet_path
    read_page(first, sort="nomBeneficiaire", index_min_rows=0)
    assert sortindex.index_root(first).is_dir()
    resource = services.convert_resource(resource)
    assert resource.parquet_path != first and not sortindex.index_root(first).exists()
    read_page(resource.parquet_path, sort="nomBeneficiaire", index_min_rows=0)
    services.delete_resource("test:index")
    assert not sortindex.index_root(resource.parquet_path).exists()


def test_a_column_named_file_row_number_uses_the_plain_query(tmp_path):
    source = write_csv(tmp_path / "frn.csv", [["file_row_number", "nom"], ["3", "b"], ["1", "a"], ["2", "a"]])
    parquet = tmp_path / "frn.parquet"
    convert_file(source, parquet, name="frn.csv")
    result = read_page(parquet, sort="nom", index_min_rows=0)
    assert [r["nom"] for r in result["rows"]] == ["a", "a", "b"] and not sortindex.index_root(parquet).exists()


@pytest.mark.django_db
def test_a_large_file_is_ranked_at_conversion_and_pages_read_it(tabular_root, tmp_path, settings):
    settings.TABULAR_SORT_INDEX_MIN_ROWS = 100  # the sample ×3 has 207 rows
    source = french_haute_garonne(tmp_path / "hg.csv")
    resource = services.convert_resource(TabularResource.objects.create(resource_key="test:ranked", source=str(source), source_name="hg.csv"))
    built = sorted(p.name.split("-")[0] for p in sortindex.index_dir(resource.parquet_path).iterdir())
    assert built.count("ranks") == len(resource.columns) and "perm" not in built  # permutations are built on first sort
    page = selectors.page(resource, [("montant__gt", "1000")], sort="-nomBeneficiaire", page=2, page_size=5)
    assert page["rows"] == read_page(resource.parquet_path, filters_params=[("montant__gt", "1000")], sort="-nomBeneficiaire", page=2, page_size=5)["rows"]
    assert any(p.name.startswith("perm-") for p in sortindex.index_dir(resource.parquet_path).iterdir())
    settings.TABULAR_SORT_INDEX_MIN_ROWS = 1000  # a small file is neither ranked nor indexed
    other = services.convert_resource(TabularResource.objects.create(resource_key="test:small", source=str(source), source_name="hg.csv"))
    selectors.page(other, [], sort="montant")
    assert not sortindex.index_root(other.parquet_path).exists()


@pytest.mark.django_db
def test_columns_of_very_many_distinct_values_are_ranked_only_when_used(tabular_root, tmp_path, settings, monkeypatch):
    settings.TABULAR_SORT_INDEX_MIN_ROWS = 100
    monkeypatch.setattr(services, "RANK_AT_CONVERSION_MAX_DISTINCT", 30)  # the sample: ~70 distinct objects, 3 conditions
    source = french_haute_garonne(tmp_path / "hg.csv")
    resource = services.convert_resource(TabularResource.objects.create(resource_key="test:many", source=str(source), source_name="hg.csv"))
    ranked = {c["name"] for c in resource.columns if c["distinct"] <= 30}
    assert "objet" not in ranked and "conditionsVersement" in ranked
    folder = sortindex.index_dir(resource.parquet_path)
    assert sum(p.name.startswith("ranks-") for p in folder.iterdir()) == len(ranked)
    page = selectors.page(resource, [], sort="objet", page=3, page_size=5)  # ranked now, on first use
    assert page["rows"] == read_page(resource.parquet_path, sort="objet", page=3, page_size=5)["rows"]
    assert sum(p.name.startswith("ranks-") for p in folder.iterdir()) == len(ranked) + 1
