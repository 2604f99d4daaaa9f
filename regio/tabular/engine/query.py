"""Reading one Parquet file: filtered and sorted pages, sandboxed read-only SQL, streamed exports."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from . import sortindex
from .duck import connect, quote_ident, quote_literal, reader_cursor
from .errors import TabularError
from .profile import jsonable
from .sortindex import ROW_NUMBER

OPERATORS = {"exact", "contains", "lt", "gt", "lte", "gte"}
OPERATOR_LABELS = {
    "exact": "égal à",
    "contains": "contient",
    "lt": "inférieur à",
    "gt": "supérieur à",
    "lte": "inférieur ou égal à",
    "gte": "supérieur ou égal à",
}
NUMERIC_TYPES = ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT")


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    value: str


@dataclass
class SandboxLimits:
    memory_limit: str = "256MB"
    threads: int = 1
    timeout_s: float = 5.0
    max_rows: int = 1000


def parquet_reader(parquet: Path) -> str:
    return f"read_parquet({quote_literal(str(parquet))})"


def columns_of(con, parquet: Path) -> dict[str, str]:
    return {name: duck_type for name, duck_type, *_ in con.execute(f"DESCRIBE SELECT * FROM {parquet_reader(parquet)}").fetchall()}


def parse_filters(params, columns: dict[str, str]) -> list[Filter]:
    """Filters from query parameters ``<column>__<op>=<value>`` (``<column>=<value>`` means exact)."""
    filters = []
    for key, value in params:
        if key in ("page", "page_size", "sort", "format", "q"):
            continue
        column, _, op = key.rpartition("__")
        if not column or op not in OPERATORS:
            column, op = key, "exact"
        if column not in columns:
            raise TabularError(f"La colonne « {column} » n'existe pas dans ce fichier.", code="unknown_column")
        filters.append(Filter(column, op, value))
    return filters


def _typed_value(value: str, duck_type: str, column: str):
    """A filter value converted for a typed column (French decimal comma accepted)."""
    if duck_type in NUMERIC_TYPES or duck_type.startswith("DECIMAL"):
        cleaned = re.sub(r"[\s\u00a0\u202f]", "", value).replace(",", ".")
        try:
            return float(cleaned) if duck_type in ("DOUBLE", "FLOAT") or "." in cleaned else int(cleaned)
        except ValueError as exc:
            raise TabularError(f"La valeur « {value} » n'est pas un nombre : la colonne « {column} » contient des nombres.", code="bad_value") from exc
    if duck_type == "DATE":
        match = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", value.strip())
        iso = f"{match.group(3)}-{match.group(2)}-{match.group(1)}" if match else value.strip()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso):
            raise TabularError(f"La valeur « {value} » n'est pas une date (JJ/MM/AAAA ou AAAA-MM-JJ) pour la colonne « {column} ».", code="bad_value")
        return iso
    if duck_type == "BOOLEAN":
        lowered = value.strip().lower()
        if lowered in ("true", "vrai", "oui", "1"):
            return True
        if lowered in ("false", "faux", "non", "0"):
            return False
        raise TabularError(f"La valeur « {value} » n'est pas un booléen (vrai ou faux) pour la colonne « {column} ».", code="bad_value")
    return value


def where_clause(filters: list[Filter], columns: dict[str, str]) -> tuple[str, list]:
    parts: list[str] = []
    params: list = []
    for f in filters:
        col = quote_ident(f.column)
        duck_type = columns[f.column]
        if f.op == "contains":
            parts.append(f"contains(lower(CAST({col} AS VARCHAR)), lower(?))")
            params.append(f.value)
            continue
        value = _typed_value(f.value, duck_type, f.column)
        cast = f"CAST(? AS {duck_type})" if duck_type in ("DATE",) else "?"
        symbol = {"exact": "=", "lt": "<", "gt": ">", "lte": "<=", "gte": ">="}[f.op]
        parts.append(f"{col} {symbol} {cast}")
        params.append(value)
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


def sort_keys(sort: str | None, columns: dict[str, str]) -> list[tuple[str, bool]]:
    """``"-montant,nom"`` → ``[("montant", True), ("nom", False)]`` (column, descending)."""
    keys = []
    for item in (sort or "").split(","):
        item = item.strip()
        if not item:
            continue
        descending = item.startswith("-")
        name = item[1:] if descending else item
        if name not in columns:
            raise TabularError(f"Impossible de trier : la colonne « {name} » n'existe pas dans ce fichier.", code="unknown_column")
        keys.append((name, descending))
    return keys


def order_clause(sort: str | None, columns: dict[str, str]) -> str:
    """ORDER BY the requested columns, nulls last, then file order: equal values never swap between
    two queries (a row cannot show up on two pages, or on none), and the sort index gives the same order."""
    keys = [f"{quote_ident(name)} {'DESC' if descending else 'ASC'} NULLS LAST" for name, descending in sort_keys(sort, columns)]
    if not keys:
        return ""
    if ROW_NUMBER not in columns:
        keys.append(ROW_NUMBER)
    return " ORDER BY " + ", ".join(keys)


def select_source(parquet: Path, columns: dict[str, str], sort: str | None) -> str:
    """``SELECT * FROM <file>``, with the file row number available to a sort's tie-break."""
    if sort and ROW_NUMBER not in columns:
        return f"SELECT * EXCLUDE ({ROW_NUMBER}) FROM read_parquet({quote_literal(str(parquet))}, file_row_number = true)"
    return f"SELECT * FROM {parquet_reader(parquet)}"


def file_version(parquet: Path) -> str:
    """What identifies one written version of a Parquet file: its path, modification time and size.

    A conversion writes a new file (new name) and even a file rewritten in place changes its
    modification time, so anything keyed on this is invalidated by a re-conversion."""
    st = Path(parquet).stat()
    return f"{Path(parquet).resolve()}|{st.st_mtime_ns}|{st.st_size}"


def total_cache_key(parquet: Path, filters: list[Filter], columns: dict[str, str]) -> str:
    """Cache key of the number of rows matching ``filters`` (order of the filters irrelevant: they are ANDed)."""
    normalized = sorted(
        (f.column, f.op, repr(f.value if f.op == "contains" else _typed_value(f.value, columns[f.column], f.column))) for f in filters
    )
    digest = hashlib.sha256(repr((file_version(parquet), normalized)).encode()).hexdigest()
    return f"tabular:total:{digest}"


def read_page(
    parquet: Path, *, filters_params=(), sort: str | None = None, page: int = 1, page_size: int = 20, total_cache=None,
    index_min_rows: int | None = None,
) -> dict:
    """One page of rows as dicts, with the total count of matching rows.

    ``total_cache``: an object with ``get(key)`` / ``set(key, value)`` (a Django cache) where the
    total of a given (file version, filters) is kept, so that paging or re-sorting through the same
    filter does not count again. Page rows themselves are never cached.

    ``index_min_rows``: a sorted page of a file of at least that many rows is read through the sort
    index (:mod:`.sortindex`) instead of a DuckDB top-N; same rows, same order. ``None``: never."""
    con = reader_cursor()
    try:
        columns = columns_of(con, parquet)
        filters = parse_filters(filters_params, columns)
        where, params = where_clause(filters, columns)
        source = parquet_reader(parquet)
        key = total_cache_key(parquet, filters, columns) if total_cache is not None else None
        total = total_cache.get(key) if key else None
        try:
            indexed = None
            keys = sort_keys(sort, columns)
            if keys and index_min_rows is not None and ROW_NUMBER not in columns and page >= 1 and page_size >= 1:
                rows_in_file = con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
                if rows_in_file >= index_min_rows:
                    indexed = _indexed_page(con, parquet, columns, filters, keys, page, page_size)
            if indexed is not None:
                names, fetched, counted = indexed
                if total is None:
                    total = counted
                    if key:
                        total_cache.set(key, total)
            else:
                cursor = con.execute(
                    f"{select_source(parquet, columns, sort)}{where}{order_clause(sort, columns)} "
                    f"LIMIT {int(page_size)} OFFSET {int((page - 1) * page_size)}",
                    params,
                )
                names = [d[0] for d in cursor.description]
                fetched = cursor.fetchall()
                if total is None:
                    if (fetched and len(fetched) < page_size) or (not fetched and page == 1):
                        total = (page - 1) * page_size + len(fetched)  # the last page tells the total without counting
                    else:
                        total = con.execute(f"SELECT count(*) FROM {source}{where}", params).fetchone()[0]
                    if key:
                        total_cache.set(key, total)
        except duckdb.ConversionException as exc:
            raise TabularError("Une valeur de filtre ne correspond pas au type de sa colonne.", code="bad_value") from exc
        rows = [{n: jsonable(v) for n, v in zip(names, row, strict=True)} for row in fetched]
        return {"columns": list(columns), "rows": rows, "total": total, "filters": filters}
    finally:
        con.close()


def _indexed_page(con, parquet: Path, columns: dict[str, str], filters: list[Filter], keys, page: int, page_size: int):
    """(names, rows, total) of a sorted page through the sort index, or None if a column cannot be indexed.

    Without filters the page is a slice of the permutation. With filters, the rows passing them
    (a boolean per row, computed once per filter set and kept in memory) are met while walking the
    permutation — only its part where the first sort column's own filter holds, a contiguous stretch
    —, or, when few rows match, sorted on their own by the same key. Only the page's rows
    are then read from the file."""
    try:
        order = sortindex.permutation(con, parquet, keys)
        selected = (
            sortindex.selection(_selection_key(parquet, filters, columns), lambda: _mask(con, parquet, columns, filters, len(order)))
            if filters else None
        )
        first_column, descending = keys[0]
        start, end = 0, len(order)
        if selected is not None and first_column in selected.passes:
            run = sortindex.passing_run(selected.passes[first_column])
            if run and run[1] < len(selected.passes[first_column]) - 1:  # NULL rows never pass a filter
                start, end = sortindex.column_index(con, parquet, first_column).positions(*run, descending)
    except sortindex.IndexUnavailable:
        return None
    offset = (page - 1) * page_size
    needed = offset + page_size
    if selected is None:
        wanted = np.asarray(order[offset:needed])
        total = len(order)
    else:
        total = selected.count
        wanted = None
        if needed < total and needed * (end - start) <= total * total:  # few rows to read before the page
            wanted = _walk(order[start:end], selected.mask, needed, give_up_after=total)
        if wanted is None:  # few matching rows, or a walk that would read more than them: order those rows
            wanted = sortindex.order_rows(con, parquet, keys, selected.rows)[:needed]
        wanted = wanted[offset:]
    return (*_rows_by_number(con, parquet, columns, wanted), total)


def _selection_key(parquet: Path, filters: list[Filter], columns: dict[str, str]) -> str:
    return total_cache_key(parquet, filters, columns)


def _mask(con, parquet: Path, columns: dict[str, str], filters: list[Filter], rows: int) -> tuple[np.ndarray, dict]:
    """A boolean per row (passes every filter), and per filtered column a boolean per rank.
    Each column's filters are evaluated by DuckDB on its distinct values only."""
    passes, tests = {}, []
    for column in dict.fromkeys(f.column for f in filters):
        index = sortindex.column_index(con, parquet, column)
        where, params = where_clause([f for f in filters if f.column == column], columns)
        passes[column] = sortindex.matching_ranks(con, index, where, params)
        tests.append((index.ranks, passes[column]))
    return sortindex.filter_mask(tests, rows), passes


WALK_FIRST_CHUNK = 16_384


def _walk(order: np.ndarray, mask: np.ndarray, needed: int, *, give_up_after: int) -> np.ndarray | None:
    """The first ``needed`` entries of ``order`` whose row is set in ``mask``; None once more than
    ``give_up_after`` entries were read without finding them (ordering the matching rows is then cheaper)."""
    found = []
    count = 0
    start = 0
    chunk = WALK_FIRST_CHUNK
    while count < needed and start < len(order):
        if start > give_up_after:
            return None
        rows = order[start : start + chunk]
        kept = rows[mask[rows]]
        found.append(kept)
        count += len(kept)
        start += chunk
        chunk *= 2
    return np.concatenate(found)[:needed] if found else np.zeros(0, dtype=np.int64)


def _rows_by_number(con, parquet: Path, columns: dict[str, str], wanted: np.ndarray) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of the given file row numbers, in that order."""
    if not len(wanted):
        cursor = con.execute(f"{select_source(parquet, columns, None)} LIMIT 0")
        return [d[0] for d in cursor.description], []
    cursor = con.execute(
        f"SELECT {ROW_NUMBER}, * EXCLUDE ({ROW_NUMBER}) FROM read_parquet({quote_literal(str(parquet))}, file_row_number = true) "
        f"WHERE {ROW_NUMBER} IN ({', '.join(str(int(n)) for n in wanted)})"
    )
    names = [d[0] for d in cursor.description][1:]
    by_number = {row[0]: row[1:] for row in cursor.fetchall()}
    return names, [by_number[int(n)] for n in wanted]


# --------------------------------------------------------------------------- sandboxed SQL

FORBIDDEN_HINT = (
    "Seules les requêtes de lecture SELECT (ou WITH … SELECT) sur la table « data » sont acceptées."
)


def check_select_only(sql: str) -> None:
    """Refuse anything but one SELECT statement, using DuckDB's own parser."""
    if not sql or not sql.strip():
        raise TabularError("La requête SQL est vide.", code="sql_empty")
    parser = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        statements = parser.extract_statements(sql)
    except duckdb.Error as exc:
        raise TabularError(f"La requête SQL est invalide : {str(exc).splitlines()[0]}", code="sql_syntax") from exc
    finally:
        parser.close()
    if len(statements) != 1:
        raise TabularError(f"Une seule instruction SQL est acceptée ({len(statements)} trouvées). {FORBIDDEN_HINT}", code="sql_forbidden")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        words = re.findall(r"[A-Za-z_]+", re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S))
        label = words[0].upper() if words else str(kind).rsplit(".", 1)[-1]
        raise TabularError(f"Instruction {label} refusée. {FORBIDDEN_HINT}", code="sql_forbidden")


@contextmanager
def sandbox(parquet: Path, limits: SandboxLimits) -> Iterator:
    """An in-memory DuckDB where ``data`` is the one Parquet file and nothing else is reachable."""
    con = connect(memory_limit=limits.memory_limit, threads=limits.threads)
    try:
        con.execute(f"CREATE VIEW data AS SELECT * FROM {parquet_reader(parquet)}")
        con.execute(f"SET allowed_paths = [{quote_literal(str(parquet))}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()


def _translate_sql_error(exc: Exception, limits: SandboxLimits) -> TabularError:
    message = str(exc)
    if isinstance(exc, duckdb.InterruptException) or "INTERRUPT" in message.upper():
        seconds = f"{limits.timeout_s:g}".replace(".", ",")
        return TabularError(f"La requête a dépassé la durée maximale de {seconds} secondes et a été interrompue.", code="sql_timeout")
    if isinstance(exc, duckdb.OutOfMemoryException) or "Out of Memory" in message:
        return TabularError(f"La requête a dépassé la mémoire autorisée ({limits.memory_limit}) : filtrez ou agrégez davantage.", code="sql_memory")
    if isinstance(exc, duckdb.PermissionException) or "disabled by configuration" in message or "locked" in message:
        return TabularError(
            "Accès refusé : la requête ne peut lire que la table « data » de cette ressource (aucun fichier, "
            "réseau, extension ni réglage n'est accessible).",
            code="sql_forbidden",
        )
    if isinstance(exc, duckdb.CatalogException):
        return TabularError(f"Table, colonne ou fonction inconnue : {message.splitlines()[0]}. La table s'appelle « data ».", code="sql_catalog")
    return TabularError(f"La requête SQL a échoué : {message.splitlines()[0]}", code="sql_error")


def run_sql(parquet: Path, sql: str, limits: SandboxLimits | None = None, *, page: int = 1, page_size: int | None = None) -> dict:
    limits = limits or SandboxLimits()
    check_select_only(sql)
    page_size = page_size or limits.max_rows
    inner = sql.strip().rstrip(";")
    check_select_only(f"SELECT * FROM ({inner}) AS q")  # the wrapped query must still be one SELECT
    with sandbox(parquet, limits) as con:
        timer = threading.Timer(limits.timeout_s, con.interrupt)
        timer.start()
        try:
            total = con.execute(f"SELECT count(*) FROM ({inner}) AS q").fetchone()[0]
            cursor = con.execute(f"SELECT * FROM ({inner}) AS q LIMIT {int(page_size)} OFFSET {int((page - 1) * page_size)}")
            names = [d[0] for d in cursor.description]
            rows = [{n: jsonable(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]
        except duckdb.Error as exc:
            raise _translate_sql_error(exc, limits) from exc
        finally:
            timer.cancel()
    return {"columns": names, "rows": rows, "total": total}


# --------------------------------------------------------------------------- exports


def iter_batches(parquet: Path, *, filters_params=(), sort: str | None = None, batch_rows: int = 50_000):
    """(column names, iterator of pyarrow RecordBatch) for the filtered, sorted data."""
    con = reader_cursor()
    columns = columns_of(con, parquet)
    filters = parse_filters(filters_params, columns)
    where, params = where_clause(filters, columns)
    relation = con.sql(f"{select_source(parquet, columns, sort)}{where}{order_clause(sort, columns)}", params=params or None)
    reader = relation.to_arrow_reader(batch_rows)

    def batches():
        try:
            yield from reader
        finally:
            con.close()

    return list(columns), batches()
