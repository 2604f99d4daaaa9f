"""Column profile of a Parquet file: type, nulls, distinct values, min/max, top values, histogram."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from .duck import quote_ident, quote_literal

EXACT_LIMIT = 2_000_000  # above this many rows, distinct counts are approximate and top values sampled
TOP_VALUES = 5
HISTOGRAM_BINS = 10
TYPE_LABELS = {
    "BIGINT": "entier",
    "INTEGER": "entier",
    "HUGEINT": "entier",
    "SMALLINT": "entier",
    "TINYINT": "entier",
    "UBIGINT": "entier",
    "DOUBLE": "nombre décimal",
    "FLOAT": "nombre décimal",
    "DATE": "date",
    "TIMESTAMP": "date et heure",
    "TIMESTAMP WITH TIME ZONE": "date et heure",
    "BOOLEAN": "booléen",
    "VARCHAR": "texte",
}
NUMERIC = {"BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT", "DOUBLE", "FLOAT"}


def type_label(duck_type: str) -> str:
    if duck_type.startswith("DECIMAL"):
        return "nombre décimal"
    return TYPE_LABELS.get(duck_type, duck_type.lower())


def is_numeric(duck_type: str) -> bool:
    return duck_type in NUMERIC or duck_type.startswith("DECIMAL")


def jsonable(value):
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    return value


def profile_parquet(con, parquet: Path) -> dict:
    source = f"read_parquet({quote_literal(str(parquet))})"
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    row_count = con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
    exact = row_count <= EXACT_LIMIT
    columns = []
    if described:
        parts = []
        for name, duck_type, *_ in described:
            col = quote_ident(name)
            distinct = f"count(DISTINCT {col})" if exact else f"approx_count_distinct({col})"
            comparable = duck_type in NUMERIC or duck_type in ("DATE", "TIMESTAMP", "VARCHAR", "BOOLEAN") or duck_type.startswith("DECIMAL")
            bounds = f"min({col}), max({col})" if comparable else "NULL, NULL"
            parts.append(f"count({col}), {distinct}, {bounds}")
        stats = con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchone()
        sample = "" if exact else " USING SAMPLE 1000000 ROWS"
        for index, (name, duck_type, *_) in enumerate(described):
            non_null, distinct, low, high = stats[index * 4 : index * 4 + 4]
            col = quote_ident(name)
            top = con.execute(
                f"SELECT {col}, count(*) AS n FROM (SELECT {col} FROM {source}{sample}) WHERE {col} IS NOT NULL "
                f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT {TOP_VALUES}"
            ).fetchall()
            column = {
                "name": name,
                "type": duck_type,
                "type_label": type_label(duck_type),
                "numeric": is_numeric(duck_type),
                "nulls": row_count - non_null,
                "distinct": distinct,
                "distinct_exact": exact,
                "min": jsonable(low),
                "max": jsonable(high),
                "top_values": [{"value": jsonable(v), "count": n} for v, n in top],
                "top_values_sampled": not exact,
            }
            if column["numeric"] and low is not None and high is not None:
                column["histogram"] = histogram(con, source, name, float(low), float(high))
            columns.append(column)
    return {"row_count": row_count, "columns": columns}


def histogram(con, source: str, name: str, low: float, high: float, bins: int = HISTOGRAM_BINS) -> list[dict]:
    col = quote_ident(name)
    if high == low:
        count = con.execute(f"SELECT count({col}) FROM {source}").fetchone()[0]
        return [{"low": low, "high": high, "count": count}]
    width = (high - low) / bins
    rows = con.execute(
        f"SELECT least(CAST(floor((CAST({col} AS DOUBLE) - ?) / ?) AS INTEGER), {bins - 1}) AS b, count(*) "
        f"FROM {source} WHERE {col} IS NOT NULL AND isfinite(CAST({col} AS DOUBLE)) GROUP BY 1",
        [low, width],
    ).fetchall()
    counts = dict(rows)
    return [{"low": low + i * width, "high": low + (i + 1) * width, "count": counts.get(i, 0)} for i in range(bins)]
