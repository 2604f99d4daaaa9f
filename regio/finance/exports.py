"""Exports: the consolidated subsidies in the SCDL subventions columns (CSV + Parquet through
DuckDB) and the CSV of each chart's data."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from regio.tabular.engine.duck import connect, quote_literal

from .models import Subsidy

SCDL_COLUMNS = [
    "nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision", "nomBeneficiaire", "idBeneficiaire",
    "rnaBeneficiaire", "objet", "montant", "nature", "conditionsVersement", "datesPeriodeVersement",
    "pourcentageSubvention",
]
FIELDS = [
    "grantor_name", "grantor_siret", "decision_date", "decision_reference", "beneficiary_name", "beneficiary_siret",
    "beneficiary_rna", "object", "amount_cents", "nature", "conditions", "payment_period", "percentage",
]


def write_consolidated(folder: Path) -> tuple[Path, Path]:
    csv_path = folder / "subventions-consolidees.csv"
    parquet_path = folder / "subventions-consolidees.parquet"
    with open(csv_path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SCDL_COLUMNS)
        for row in Subsidy.objects.order_by("id").values_list(*FIELDS).iterator(chunk_size=5000):
            row = list(row)
            row[2] = row[2].isoformat()
            row[8] = f"{row[8] / 100:.2f}"
            row[12] = "" if row[12] is None else row[12]
            writer.writerow(row)
    con = connect(threads=1)
    try:
        columns = ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in SCDL_COLUMNS)
        con.execute(
            f"COPY (SELECT * REPLACE (CAST(montant AS DECIMAL(18,2)) AS montant, CAST(dateConvention AS DATE) AS dateConvention) "
            f"FROM read_csv({quote_literal(str(csv_path))}, header=true, auto_detect=false, columns={{{columns}}})) "
            f"TO {quote_literal(str(parquet_path))} (FORMAT parquet, COMPRESSION zstd)"
        )
    finally:
        con.close()
    return csv_path, parquet_path


def rows_to_csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
