"""Vectorised checks of an SCDL subventions file in DuckDB: the same rules and the same French
reasons as :func:`scdl.parse_subsidy`, applied to the whole file at once.

* Columns are read as text (tabular-engine sniffing) into a DuckDB table, values stripped.
* Values with few distinct forms (SIRETs, dates, beneficiary names, percentages, themes) are
  checked once per distinct value by the pure Python functions of :mod:`scdl` and joined back:
  the messages are those of the row-by-row parser.
* Amounts are read in SQL, following :func:`scdl.parse_amount` (tested equal on tricky inputs).
* Duplicates inside the file are a window over the row hash (same hash as the row parser).

The result is the DuckDB table ``checked`` (one row per line: ``reasons`` list, normalised
record) from which the caller imports the valid rows and quarantines the others."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from regio.core.text import normalize_text
from regio.finance import themes

from . import scdl
from .reader import first_line, read_csv_sql, sniff_csv, utf8_source

# Python's str.strip() whitespace, for RE2
WS = r"[\t\n\x{0b}\f\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
SCDL_FIELDS = [
    "nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision", "nomBeneficiaire", "idBeneficiaire",
    "rnaBeneficiaire", "objet", "montant", "nature", "conditionsVersement", "datesPeriodeVersement",
    "pourcentageSubvention",
]
# (beneficiary SIRET, normalised beneficiary name) pairs → {pair: (commune, epci, département)}
PairResolver = Callable[[list[tuple[str, str]]], dict[tuple[str, str], tuple[str, str, str]]]


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def strip_sql(expr: str) -> str:
    return f"regexp_replace(coalesce({expr}, ''), '^{WS}+|{WS}+$', '', 'g')"


def amount_sql(text: str) -> tuple[str, str]:
    """SQL of (decimal value or NULL, cents or NULL) for the stripped text expression ``text``:
    ``137 825,00``, ``2400.0``, ``1.234,56``, ``1,234.56``, ``12 €`` (see :func:`scdl.parse_amount`)."""
    a0 = strip_sql(f"replace({text}, '€', '')")
    a1 = f"regexp_replace({a0}, '[ \\x{{a0}}\\x{{202f}}]', '', 'g')"
    a2 = (f"(CASE WHEN contains({a1}, ',') AND contains({a1}, '.') THEN "
          f"(CASE WHEN regexp_matches({a1}, ',[^.]*$') THEN replace({a1}, '.', '') ELSE replace({a1}, ',', '') END) "
          f"ELSE {a1} END)")
    value = (f"(CASE WHEN regexp_full_match({a2}, '[+-]?[0-9]+(?:[.,][0-9]+)?') "
             f"THEN TRY_CAST(replace({a2}, ',', '.') AS DECIMAL(38,10)) END)")
    return value, f"CAST(round_even({value} * 100, 0) AS BIGINT)"


def _lookup(con, name: str, values: list, fn, schema: pa.Schema) -> None:
    rows = [fn(v) for v in values]
    table = pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in rows], schema=schema)
    con.register(f"_{name}_arrow", table)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _{name}_arrow")
    con.unregister(f"_{name}_arrow")


def _siret_row(v: str):
    g, err_g = scdl.check_siret(v, "Attribuant", required=True)
    b, err_b = scdl.check_siret(v, "Bénéficiaire", required=False)
    return v, g, err_g, b, err_b


def _date_row(v: str):
    d = scdl.parse_date(v)
    return v, d, d.year if d else None


def _percentage_row(v: str):
    p = scdl.parse_amount(v) if v else None
    return v, float(p) if p is not None else None


def load(con, path: Path, folder: Path) -> list[str]:
    """Read the CSV at ``path`` into the table ``raw`` (text columns, file order); the file's columns."""
    encoding, dialect = sniff_csv(path)
    source = utf8_source(path, encoding, folder)
    con.execute(f"CREATE OR REPLACE TABLE raw AS SELECT * FROM {read_csv_sql(source, dialect)}")
    con.execute(f"CREATE OR REPLACE TABLE meta AS SELECT {first_line(dialect)} AS first_line")
    return list(dialect.columns)


def check_subsidies(con, columns: list[str], resolve: PairResolver) -> dict:
    """Build ``checked`` from ``raw``. Returns counts ``{"read", "valid"}``."""
    by_lower = {c.lower(): c for c in columns}  # like scdl.lower_keys: the last spelling wins

    def col(field: str) -> str:
        actual = by_lower.get(field.lower())
        return strip_sql(q(actual)) if actual else "''"

    start = con.execute("SELECT first_line FROM meta").fetchone()[0]
    select = ", ".join(f"{col(f)} AS {q(f)}" for f in SCDL_FIELDS)
    con.execute(f"CREATE OR REPLACE TABLE s AS SELECT rowid AS n, {select} FROM raw")

    sirets = [r[0] for r in con.execute('SELECT "idAttribuant" FROM s UNION SELECT "idBeneficiaire" FROM s').fetchall()]
    _lookup(con, "sirets", sirets, _siret_row, pa.schema([
        ("v", pa.string()), ("g", pa.string()), ("err_g", pa.string()), ("b", pa.string()), ("err_b", pa.string())]))
    dates = [r[0] for r in con.execute('SELECT DISTINCT "dateConvention" FROM s').fetchall()]
    _lookup(con, "dates", dates, _date_row, pa.schema([("v", pa.string()), ("d", pa.date32()), ("y", pa.int32())]))
    names = [r[0] for r in con.execute('SELECT DISTINCT "nomBeneficiaire" FROM s').fetchall()]
    _lookup(con, "names", names, lambda v: (v, normalize_text(v)[:255], themes.classify("", "", v) if v else None),
            pa.schema([("v", pa.string()), ("search", pa.string()), ("theme", pa.string())]))
    pcts = [r[0] for r in con.execute('SELECT DISTINCT "pourcentageSubvention" FROM s').fetchall()]
    _lookup(con, "pcts", pcts, _percentage_row, pa.schema([("v", pa.string()), ("p", pa.float64())]))
    objects = con.execute('SELECT DISTINCT "objet", "nature" FROM s').fetchall()

    def object_theme(pair):
        found = themes.classify(pair[0], pair[1])
        return pair[0], pair[1], None if found == themes.OTHER[0] else found

    _lookup(con, "object_themes", objects, object_theme,
            pa.schema([("o", pa.string()), ("nat", pa.string()), ("theme", pa.string())]))

    value, cents = amount_sql('s."montant"')
    con.execute(f"""
        CREATE OR REPLACE TABLE parsed AS
        SELECT s.*, g.g AS g_siret, g.err_g, b.b AS b_siret, b.err_b, d.d AS decision_date, d.y AS year,
               {value} AS amount_dec, {cents} AS amount_cents, nm.search AS name_search,
               coalesce(ot.theme, nm.theme, 'autre') AS theme, p.p AS percentage
        FROM s
        LEFT JOIN sirets g ON g.v = s."idAttribuant"
        LEFT JOIN sirets b ON b.v = s."idBeneficiaire"
        LEFT JOIN dates d ON d.v = s."dateConvention"
        LEFT JOIN names nm ON nm.v = s."nomBeneficiaire"
        LEFT JOIN pcts p ON p.v = s."pourcentageSubvention"
        LEFT JOIN object_themes ot ON ot.o = s."objet" AND ot.nat = s."nature"
    """)
    reasons = f"""list_filter([
        err_g, err_b,
        CASE WHEN "nomAttribuant" = '' THEN {lit("Nom de l'attribuant manquant.")} END,
        CASE WHEN "nomBeneficiaire" = '' THEN {lit("Nom du bénéficiaire manquant.")} END,
        CASE WHEN "montant" = '' THEN 'Montant manquant.'
             WHEN amount_dec IS NULL THEN 'Montant « ' || "montant" || ' » illisible (nombre attendu, ex. 1234,56 ou 1234.56).'
             WHEN amount_dec < 0 THEN 'Montant négatif (' || "montant" || ') : une subvention attribuée est positive.'
             WHEN amount_dec = 0 THEN 'Montant nul : une subvention attribuée est positive.' END,
        CASE WHEN "dateConvention" = '' THEN 'Date de convention manquante.'
             WHEN decision_date IS NULL THEN 'Date de convention « ' || "dateConvention" || ' » illisible (AAAA-MM-JJ, AAAA/MM/JJ ou JJ/MM/AAAA attendu).' END
    ], lambda x: x IS NOT NULL)"""
    row_hash = ("sha256(concat_ws(chr(31), 'subvention', g_siret, b_siret, \"nomBeneficiaire\", \"objet\", \"montant\", "
                "\"dateConvention\", left(\"referenceDecision\", 255), left(\"nature\", 120)))")
    con.execute(f"CREATE OR REPLACE TABLE hashed AS SELECT *, {reasons} AS reasons0, {row_hash} AS row_hash FROM parsed")
    con.execute("DROP TABLE parsed")
    con.execute(f"""
        CREATE OR REPLACE TABLE checked AS
        SELECT *, {start} + n AS line,
               CASE WHEN len(reasons0) = 0 AND first_n < n
                    THEN ['Ligne en double (identique à la ligne ' || ({start} + first_n) || ').']
                    ELSE reasons0 END AS reasons
        FROM (SELECT *, min(CASE WHEN len(reasons0) = 0 THEN n END) OVER (PARTITION BY row_hash) AS first_n FROM hashed)
    """)
    con.execute("DROP TABLE hashed")

    pairs = con.execute("SELECT DISTINCT b_siret, name_search FROM checked WHERE len(reasons) = 0").fetchall()
    places = resolve([(a or "", b or "") for a, b in pairs])
    _lookup(con, "places", [(a or "", b or "") for a, b in pairs],
            lambda pair: (pair[0], pair[1], *(places.get(pair) or (None, "", ""))),
            pa.schema([("b", pa.string()), ("ns", pa.string()), ("commune", pa.string()), ("epci", pa.string()),
                       ("dep", pa.string())]))
    read, valid = con.execute("SELECT count(*), count(*) FILTER (WHERE len(reasons) = 0) FROM checked").fetchone()
    return {"read": read, "valid": valid}


# columns of the Subsidy model (attnames) → SQL over ``checked`` joined to ``places`` (alias pl)
def record_columns(batch_id: int, organisation_id: int | None, is_demo: bool) -> dict[str, str]:
    return {
        "batch_id": str(int(batch_id)),
        "organisation_id": "NULL" if organisation_id is None else str(int(organisation_id)),
        "row_hash": "c.row_hash",
        "line": "c.line",
        "grantor_name": 'left(c."nomAttribuant", 255)',
        "grantor_siret": "c.g_siret",
        "beneficiary_name": 'left(c."nomBeneficiaire", 255)',
        "beneficiary_name_search": "c.name_search",
        "beneficiary_siret": "c.b_siret",
        "beneficiary_rna": 'left(c."rnaBeneficiaire", 10)',
        "object": 'c."objet"',
        "amount_cents": "c.amount_cents",
        "decision_date": "c.decision_date",
        "decision_reference": 'left(c."referenceDecision", 255)',
        "nature": 'left(c."nature", 120)',
        "conditions": 'c."conditionsVersement"',
        "payment_period": 'left(c."datesPeriodeVersement", 60)',
        "percentage": "c.percentage",
        "year": "c.year",
        "theme": "c.theme",
        "beneficiary_commune_id": "pl.commune",
        "beneficiary_epci_id": "coalesce(pl.epci, '')",
        "beneficiary_departement_id": "coalesce(pl.dep, '')",
        "is_demo": "true" if is_demo else "false",
    }
