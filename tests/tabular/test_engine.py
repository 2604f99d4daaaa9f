"""The conversion engine on the real files of ../shared (and files derived from them)."""

from __future__ import annotations

import datetime
import gzip
import zipfile
from pathlib import Path

import duckdb
import pytest

from regio.tabular.engine import sniff
from regio.tabular.engine.convert import Limits, convert_file
from regio.tabular.engine.duck import connect
from regio.tabular.engine.errors import TabularError

from .conftest import DATA, EXEMPLE_VALIDE, HAUTE_GARONNE, SOMME, read_rows, write_csv


def rows_of(parquet: Path) -> list[tuple]:
    con = connect()
    try:
        return con.execute(f"SELECT * FROM read_parquet('{parquet}')").fetchall()
    finally:
        con.close()


def types_of(parquet: Path) -> dict[str, str]:
    con = connect()
    try:
        return {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{parquet}')").fetchall()}
    finally:
        con.close()


def column(result, name):
    return next(c for c in result.columns if c["name"] == name)


def test_somme_windows_1252_semicolon_decimal_comma_and_slash_dates(tmp_path):
    out = tmp_path / "somme.parquet"
    result = convert_file(SOMME, out)
    d = result.dialect
    assert (d["encoding"], d["delimiter"], d["decimal_comma"], d["thousands_separator"]) == ("windows-1252", ";", True, " ")
    assert d["date_formats"] == ["%Y/%m/%d"]
    assert result.row_count == 11
    types = types_of(out)
    assert types["montant"] == "DOUBLE" and types["dateConvention"] == "DATE"
    assert types["idAttribuant"] == "VARCHAR"  # SIRET stays an identifier
    first = dict(zip(types, rows_of(out)[0], strict=True))
    assert first["montant"] == 137825.0  # "137 825,00"
    assert first["dateConvention"] == datetime.date(2018, 1, 30)  # "2018/01/30"
    assert "jusqu’à hauteur de 30%" in first["conditionsVersement"]  # cp1252 ’ decoded
    montant = column(result, "montant")
    assert montant["type_label"] == "nombre décimal" and montant["nulls"] == 0
    assert montant["min"] == 38124.0 and montant["max"] == 853244.0
    assert sum(b["count"] for b in montant["histogram"]) == 11 and len(montant["histogram"]) == 10
    nature = column(result, "nature")
    assert nature["distinct"] == 1 and nature["top_values"] == [{"value": "aide en numéraire", "count": 11}]


def test_utf8_bom_is_recognised_and_stripped(tmp_path):
    result = convert_file(DATA / "observatory" / "oecd_better-life-index_2020.csv", tmp_path / "oecd.parquet")
    assert result.dialect["encoding"] == "utf-8-sig"
    assert result.columns[0]["name"] == "LOCATION"
    names = [c["name"] for c in result.columns]
    assert names[2:4] == ["INDICATOR", "Indicator_2"]  # SQL names are case-insensitive: the clash is resolved


def test_utf8_semicolon_file(tmp_path):
    result = convert_file(HAUTE_GARONNE, tmp_path / "hg.parquet")
    assert (result.dialect["encoding"], result.dialect["delimiter"], result.row_count) == ("utf-8", ";", 69)
    assert column(result, "montant")["type"] == "DOUBLE"
    assert column(result, "dateConvention")["type"] == "DATE"


@pytest.mark.parametrize("delimiter", ["\t", "|", ";", ","])
def test_latin1_with_each_separator(tmp_path, delimiter):
    rows = read_rows(EXEMPLE_VALIDE)
    source = write_csv(tmp_path / "latin1.csv", rows, delimiter=delimiter, encoding="iso-8859-1")
    result = convert_file(source, tmp_path / "out.parquet")
    assert result.dialect["encoding"] == "iso-8859-1"
    assert result.dialect["delimiter"] == delimiter
    assert result.row_count == len(rows) - 1
    assert [c["name"] for c in result.columns] == rows[0]
    assert any("é" in str(v) for row in rows_of(tmp_path / "out.parquet") for v in row)


def test_french_dates_and_thousands_dot(tmp_path):
    rows = read_rows(HAUTE_GARONNE, delimiter=";")
    header, body = rows[0], rows[1:]
    date_i, amount_i = header.index("dateConvention"), header.index("montant")
    for row in body:
        y, m, d = row[date_i].split("-")
        row[date_i] = f"{d}/{m}/{y}"
        whole, _, frac = f"{float(row[amount_i]):.2f}".partition(".")
        groups = f"{int(whole):,}".replace(",", ".")
        row[amount_i] = f"{groups},{frac}"
    source = write_csv(tmp_path / "fr.csv", [header, *body], delimiter=";", encoding="windows-1252")
    result = convert_file(source, tmp_path / "fr.parquet")
    assert column(result, "dateConvention")["type"] == "DATE"
    assert result.dialect["date_formats"] == ["%d/%m/%Y"]
    amount = column(result, "montant")
    assert amount["type"] == "DOUBLE"
    assert amount["max"] == max(float(r[amount_i]) for r in read_rows(HAUTE_GARONNE, delimiter=";")[1:])


def test_classify_value_kinds():
    assert sniff.classify(["1 234,50", "12,5"]).kind == "decimal"
    kind = sniff.classify(["1.234.567", "2.000"])
    assert (kind.kind, kind.thousands) == ("integer", ".")
    assert sniff.classify(["01001", "02168"]).kind == "text"  # leading zeros: codes
    assert sniff.classify(["31/12/2024", "01/01/2023"]).date_format == "%d/%m/%Y"
    assert sniff.classify(["2024-05-01T10:00:00"]).kind == "timestamp"
    assert sniff.classify(["true", "False"]).kind == "boolean"
    assert sniff.classify(["oui", "non"]).kind == "text"


def test_preamble_lines_are_skipped(tmp_path):
    result = convert_file(DATA / "observatory" / "arcep_ftth_locaux-raccordables_communes-32_2017T3-2018T1.csv", tmp_path / "a.parquet")
    assert result.dialect["skip_rows"] == 4
    assert result.columns[0]["name"] == "Code commune"
    assert column(result, "Code commune")["type"] == "VARCHAR"


def test_invalid_utf8_after_the_sample_switches_to_windows_1252(tmp_path):
    """The encoding is checked on the whole file, not only the sniffed sample."""
    lines = HAUTE_GARONNE.read_bytes().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    ascii_body = [line.decode("utf-8").encode("ascii", "ignore") for line in body]  # pure ASCII: valid UTF-8 too
    data = bytearray(header)
    while len(data) < 2 * sniff.SAMPLE_BYTES:
        for line in ascii_body:
            data += line
    data += "COMMUNE DE ROQUES;21310458100011;2017-04-13;DELIB;44137080600016;CAFÉ DES SPORTS;SUBVENTION 2017 – 5 €;2400.0;Aide en numéraire;Unique;2017-01-01_2017-12-31;;non;1.0\r\n".encode("windows-1252")
    source = tmp_path / "late.csv"
    source.write_bytes(bytes(data))
    result = convert_file(source, tmp_path / "late.parquet")
    assert result.dialect["encoding"] == "windows-1252"
    assert rows_of(tmp_path / "late.parquet")[-1][5] == "CAFÉ DES SPORTS"


def test_value_beyond_sample_demotes_column_instead_of_losing_it(tmp_path):
    rows = read_rows(HAUTE_GARONNE, delimiter=";")
    header, body = rows[0], rows[1:]
    big = (body * (sniff.SAMPLE_ROWS // len(body) + 2))[: sniff.SAMPLE_ROWS + 100]
    big = [list(r) for r in big]
    big[-1][header.index("montant")] = "non communiqué"
    source = write_csv(tmp_path / "demote.csv", [header, *big], delimiter=";")
    result = convert_file(source, tmp_path / "demote.parquet")
    assert result.dialect["demoted"] == ["montant"]
    assert column(result, "montant")["type"] == "VARCHAR"
    assert rows_of(tmp_path / "demote.parquet")[-1][header.index("montant")] == "non communiqué"


# --------------------------------------------------------------------------- bad input


def test_ragged_csv_is_rejected_with_line_number(tmp_path):
    rows = read_rows(EXEMPLE_VALIDE)
    rows[5] = rows[5][:4]
    source = write_csv(tmp_path / "ragged.csv", rows)
    with pytest.raises(TabularError) as info:
        convert_file(source, tmp_path / "r.parquet")
    assert info.value.code == "ragged"
    assert str(info.value).startswith("Ligne 6 : 4 colonnes trouvées au lieu de 16 (fichier CSV irrégulier)")
    assert not (tmp_path / "r.parquet").exists()


def test_binary_junk_named_csv(tmp_path):
    junk = tmp_path / "donnees.csv"
    junk.write_bytes(gzip.compress(SOMME.read_bytes()))
    with pytest.raises(TabularError) as info:
        convert_file(junk, tmp_path / "j.parquet")
    assert info.value.code == "binary"
    assert "n'est pas un fichier texte CSV : son contenu est binaire" in str(info.value)


def _fake_xlsx(path: Path, member_bytes: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * member_bytes)
    return path


def test_zip_bomb_ratio_is_refused_before_opening(tmp_path):
    bomb = _fake_xlsx(tmp_path / "bombe.xlsx", 20 * 1024 * 1024)
    with pytest.raises(TabularError) as info:
        convert_file(bomb, tmp_path / "b.parquet")
    assert info.value.code == "zip_bomb"
    assert "bombe de décompression" in str(info.value) and "xl/worksheets/sheet1.xml" in str(info.value)


def test_zip_total_uncompressed_size_is_capped(tmp_path):
    bomb = _fake_xlsx(tmp_path / "gros.xlsx", 2 * 1024 * 1024)
    with pytest.raises(TabularError) as info:
        convert_file(bomb, tmp_path / "b.parquet", limits=Limits(zip_max_uncompressed=1024 * 1024, zip_max_ratio=10_000))
    assert "une fois décompressé, au-delà de la limite de 1,0 Mo" in str(info.value)


def test_file_over_quota(tmp_path):
    with pytest.raises(TabularError) as info:
        convert_file(SOMME, tmp_path / "q.parquet", limits=Limits(max_bytes=4096))
    assert info.value.code == "quota"
    assert str(info.value).startswith("Le fichier pèse 8,1 Ko, au-delà du quota configuré de 4,0 Ko")


def test_old_xls_and_unknown_zip_are_explained(tmp_path):
    xls = tmp_path / "vieux.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(TabularError, match="XLS \\(Excel 97-2003\\) n'est pas pris en charge"):
        convert_file(xls, tmp_path / "x.parquet")
    archive = tmp_path / "archive.csv"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(SOMME, "somme.csv")
    with pytest.raises(TabularError, match="ni un classeur XLSX ni un classeur ODS"):
        convert_file(archive, tmp_path / "z.parquet")


# --------------------------------------------------------------------------- spreadsheets, JSON


def _typed_rows():
    rows = read_rows(HAUTE_GARONNE, delimiter=";")
    header, body = rows[0], rows[1:]
    typed = []
    for row in body:
        values = list(row)
        values[header.index("montant")] = float(values[header.index("montant")])
        values[header.index("dateConvention")] = datetime.date.fromisoformat(values[header.index("dateConvention")])
        typed.append(values)
    return header, typed


def test_xlsx_is_streamed_with_types(tmp_path):
    import openpyxl

    header, typed = _typed_rows()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in typed:
        sheet.append(row)
    source = tmp_path / "subventions.xlsx"
    workbook.save(source)
    result = convert_file(source, tmp_path / "x.parquet")
    assert result.format == "xlsx" and result.row_count == len(typed)
    assert column(result, "montant")["type"] == "DOUBLE"
    assert column(result, "dateConvention")["type"] == "DATE"
    assert column(result, "montant")["max"] == max(r[header.index("montant")] for r in typed)


def test_ods_is_streamed_with_types(tmp_path):
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    header, typed = _typed_rows()
    doc = OpenDocumentSpreadsheet()
    table = Table(name="subventions")
    for values in [header, *typed]:
        tr = TableRow()
        for value in values:
            if isinstance(value, float):
                cell = TableCell(valuetype="float", value=value)
                cell.addElement(P(text=str(value)))
            elif isinstance(value, datetime.date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
                cell.addElement(P(text=value.strftime("%d/%m/%Y")))
            else:
                cell = TableCell(valuetype="string")
                if value:
                    cell.addElement(P(text=value))
            tr.addElement(cell)
        table.addElement(tr)
    # a trailing block of empty rows, as spreadsheet programs write them
    table.addElement(TableRow(numberrowsrepeated=1_000_000))
    doc.spreadsheet.addElement(table)
    source = tmp_path / "subventions.ods"
    doc.save(str(source))
    result = convert_file(source, tmp_path / "o.parquet")
    assert result.format == "ods" and result.row_count == len(typed)
    assert column(result, "montant")["type"] == "DOUBLE"
    assert column(result, "dateConvention")["type"] == "DATE"
    assert [c["name"] for c in result.columns] == header


def test_json_array_with_nested_values(tmp_path):
    result = convert_file(DATA / "places" / "data-inclusion" / "data-inclusion_services_2022-12.json", tmp_path / "j.parquet")
    assert result.format == "json" and result.row_count == 4261
    types = column(result, "types")
    assert types["type"] == "VARCHAR" and types["top_values"][0]["value"].startswith("[")


def test_geojson_properties_and_geometry(tmp_path):
    result = convert_file(DATA / "places" / "fablabs-tiers-lieux" / "maplabbzh_fablabs-tiers-lieux-bretagne.geojson", tmp_path / "g.parquet")
    assert result.format == "geojson" and result.row_count == 121
    names = [c["name"] for c in result.columns]
    assert "geometrie" in names and "ville" in names
    geometry = dict(zip(names, rows_of(tmp_path / "g.parquet")[0], strict=True))["geometrie"]
    assert geometry.startswith('{"type":"Point"')


def test_duckdb_never_autoloads_extensions():
    con = connect()
    try:
        assert con.execute("SELECT current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')").fetchone() == (False, False)
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM read_xlsx('x.xlsx')")
    finally:
        con.close()
