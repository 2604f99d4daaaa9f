"""DGFiP account balances ("balances comptables des collectivités et des établissements publics
locaux", published yearly by the DGFiP on data.economie.gouv.fr): one line per (collectivité,
budget, account) with the year's debit and credit movements. Each line is turned into
SCDL-budget-like rows (a compte administratif: what was actually executed) so that the budget
import's checks (codes of the nomenclature, amounts, duplicates) and French reasons apply.

Columns read (names compared case-insensitively; the others are ignored): ``exer`` (year, ``2021``
or a date), ``ident`` (SIRET of the budget), ``siren``, ``lbudg`` (name of the budget), ``nomen``
(``M14``, ``M14A``, ``M57``, ``M52``, ``M71``, ``M4``…), ``cbudg`` (1 budget principal, 3 annexe),
``compte`` (account = nature), optional ``fonction``, and the amounts ``obnetdeb`` / ``obnetcre``
(net budgetary operations, debit / credit), decimal point as published, and when present ``oobdeb`` /
``oobcre`` (the part of them that is « opérations d'ordre budgétaires »).

Mapping (the classes of the plans de compte M14/M52/M57/M71):

* class 6 (charges) → fonctionnement, class 7 (produits) → fonctionnement,
  classes 1 (capitaux) and 2 (immobilisations) → investissement;
* ``obnetdeb`` → dépense, ``obnetcre`` → recette (an account may carry both: two rows);
* with ``oobdeb`` / ``oobcre``, each amount is split into its real part (``obnet - oob``, the usual
  analysts' definition of « opérations réelles ») and its ordre part, one row each; without them the
  rows do not say (``BGT_OPBUDG`` empty) and count as real operations on the budget page;
* classes 3, 4, 5 (stocks, tiers, financiers) hold non-budgetary movements: not budget lines,
  counted in the report; lines with both amounts zero are counted too."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from regio.finance.nomenclature import NOMENCLATURES

from .scdl import parse_amount

REQUIRED = ("exer", "compte", "nomen", "obnetdeb", "obnetcre")
SECTIONS = {"1": "investissement", "2": "investissement", "6": "fonctionnement", "7": "fonctionnement"}
FORMAT = "Balance comptable DGFiP"


def looks_like_balance(columns: Iterable[str]) -> bool:
    lowered = {c.strip().lower() for c in columns}
    return {"compte", "obnetdeb", "obnetcre"} <= lowered


def missing_columns(columns: Iterable[str]) -> list[str]:
    lowered = {c.strip().lower() for c in columns}
    missing = [c for c in REQUIRED if c not in lowered]
    if not ({"ident", "siren"} & lowered):
        missing.append("ident ou siren")
    return missing


def nomenclature_of(value: str) -> str:
    """``M14A`` (abridged M14) → ``M14``, ``M57A`` → ``M57``; others (``M4``, ``M49``…) unchanged,
    so that the budget checks refuse them with their name."""
    text = (value or "").strip().upper().replace(" ", "")
    for known in NOMENCLATURES:
        if text.startswith(known):
            return known
    return text


def _year(value: str) -> str:
    match = re.match(r"^\s*(\d{4})", value or "")
    return match.group(1) if match else (value or "").strip()


def _is_zero(value: str) -> bool:
    amount = parse_amount(value or "0")
    return amount is not None and amount == 0  # unreadable: kept, the budget check says why


def _split(net: str, ordre: str | None) -> list[tuple[str, str]]:
    """``[(BGT_OPBUDG, amount text)]`` of one net amount: ``[("", net)]`` when the file has no ordre
    column or either amount is unreadable (the budget check then says why), else the non-zero parts
    among real (net − ordre) and ordre."""
    if ordre is None:
        return [("", net)]
    total, of_order = parse_amount(net or "0"), parse_amount(ordre or "0")
    if total is None or of_order is None:
        return [("", net)]
    return [(op, str(amount)) for op, amount in (("réel", total - of_order), ("ordre", of_order)) if amount != 0]


def _column(columns: list[str], name: str) -> str | None:
    return next((c for c in columns if c.strip().lower() == name), None)


def read_lines(path: Path, columns: list[str], *, siren: str, stats: dict) -> Iterator[tuple[int, dict[str, str]]]:
    """The lines of ``siren`` (every line when empty) as ``(line number, {column: text})``, in file
    order. A national file holds millions of lines: it is loaded into a temporary DuckDB table and
    filtered there (``siren`` or the first 9 digits of ``ident``), so that only one collectivité's
    lines reach Python; ``stats["other_collectivites"]`` counts the others."""
    from regio.tabular.engine.duck import connect, quote_ident

    from .reader import first_line, read_csv_sql, sniff_csv, utf8_source

    encoding, dialect = sniff_csv(path)
    with tempfile.TemporaryDirectory(prefix="regio-finance-balance-") as tmp:
        source = utf8_source(path, encoding, Path(tmp))
        # 1 GB then spill to disk: a national file is over a gigabyte of CSV
        con = connect(threads=2, memory_limit="1GB", temp_directory=str(Path(tmp) / "duck"))
        try:
            # a table keeps the file's order in its rowid (line numbers of the report)
            con.execute(f"CREATE TABLE raw AS SELECT * FROM {read_csv_sql(source, dialect)}")
            total = con.execute("SELECT count(*) FROM raw").fetchone()[0]
            conditions, params = [], []
            if siren:
                if (col := _column(columns, "siren")) is not None:
                    conditions.append(f"regexp_replace(coalesce({quote_ident(col)}, ''), '[^0-9]', '', 'g') = ?")
                    params.append(siren)
                if (col := _column(columns, "ident")) is not None:
                    conditions.append(f"left(regexp_replace(coalesce({quote_ident(col)}, ''), '[^0-9]', '', 'g'), 9) = ?")
                    params.append(siren)
            where = f"WHERE {' OR '.join(conditions)}" if conditions else ""
            cursor = con.execute(f"SELECT rowid, * FROM raw {where} ORDER BY rowid", params)
            start = first_line(dialect)
            kept = 0
            while batch := cursor.fetchmany(10_000):
                for rowid, *values in batch:
                    kept += 1
                    yield start + rowid, {c: (v or "").strip() for c, v in zip(columns, values, strict=False)}
            stats["other_collectivites"] += total - kept
            stats["lines"] += total - kept  # the kept ones are counted by ``translate``
        finally:
            con.close()


def translate(rows: Iterable[tuple[int, dict[str, str]]], *, siren: str = "", stats: dict) -> Iterator[tuple[int, dict[str, str]]]:
    """SCDL budget raw rows ``(line, row)`` of the balance lines of ``siren`` (every collectivité
    when empty). ``stats`` counts lines read, of other collectivités, of non-budgetary classes
    and with zero amounts."""
    for line, raw in rows:
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items()}
        stats["lines"] += 1
        ident = re.sub(r"\D", "", row.get("ident", ""))
        row_siren = re.sub(r"\D", "", row.get("siren", "")) or ident[:9]
        if siren and row_siren != siren and ident[:9] != siren:
            stats["other_collectivites"] += 1
            continue
        compte = row.get("compte", "")
        section = SECTIONS.get(compte[:1], "")
        if compte[:1] in ("3", "4", "5", "8", "9"):
            stats["non_budget_accounts"] += 1
            continue
        debit, credit = row.get("obnetdeb", ""), row.get("obnetcre", "")
        if _is_zero(debit) and _is_zero(credit):
            stats["zero_lines"] += 1
            continue
        base = {
            "BGT_NATDEC": "compte administratif",
            "BGT_ANNEE": _year(row.get("exer", "")),
            # a budget's SIRET; the SIREN alone cannot be checked (the budget check says so)
            "BGT_SIRET": ident if len(ident) == 14 else (row.get("ident") or row_siren),
            "BGT_NOM": row.get("lbudg", ""),
            "BGT_NOMENCLATURE": nomenclature_of(row.get("nomen", "")),
            "BGT_NATURE": compte,
            "BGT_FONCTION": row.get("fonction", ""),
            "BGT_SECTION": section,
            # the budget's number (1 principal, 3 annexe…) keeps two budgets' lines apart
            "BGT_OPERATION": f"DGFiP cbudg={row.get('cbudg', '')}",
        }
        for direction, amount, ordre in (("dépense", debit, row.get("oobdeb")), ("recette", credit, row.get("oobcre"))):
            if _is_zero(amount):
                continue
            for operation, part in _split(amount, ordre):
                yield line, {**base, "BGT_CODRD": direction, "BGT_MTREAL": part, "BGT_OPBUDG": operation}
