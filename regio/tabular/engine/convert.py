"""File → Parquet conversion with DuckDB, streaming whatever the file size.

CSV: the dialect and column kinds are sniffed on a sample (see :mod:`.sniff`); a non-UTF-8 file
is transcoded chunk by chunk to a temporary UTF-8 file; DuckDB then reads every column as text
with explicit options (no auto-detection) and casts each one with an explicit expression
(French decimal comma, thousands separators, dd/mm/yyyy dates…), writing Parquet in one
streaming pass. A value that does not fit the type sniffed on the sample demotes that column to
text and the conversion is run again: nothing is silently turned into NULL.

XLSX/ODS are streamed row by row into a temporary UTF-8 CSV then follow the same path. JSON and
GeoJSON are read by DuckDB's built-in JSON reader (nested values become JSON text, geometries
GeoJSON text).
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import sniff
from .duck import connect, quote_ident, quote_literal
from .errors import TabularError
from .profile import profile_parquet
from .spreadsheets import cell_to_text, check_zip, iter_ods, iter_xlsx

CHUNK = 1024 * 1024


@dataclass
class Limits:
    max_bytes: int = 10 * 1024**3
    zip_max_uncompressed: int = 4 * 1024**3
    zip_max_ratio: float = 200.0
    json_max_object_bytes: int = 256 * 1024**2
    memory_limit: str = "1GB"
    threads: int = 2


@dataclass
class ConversionResult:
    format: str
    row_count: int
    columns: list[dict] = field(default_factory=list)
    dialect: dict = field(default_factory=dict)


def human_size(n: int) -> str:
    if n >= 1024**3:
        return f"{n / 1024**3:.1f} Go".replace(".", ",")
    if n >= 1024**2:
        return f"{n / 1024**2:.1f} Mo".replace(".", ",")
    return f"{max(n, 0) / 1024:.1f} Ko".replace(".", ",")


def convert_file(path: Path, out_path: Path, *, name: str = "", limits: Limits | None = None, work_dir: Path | None = None) -> ConversionResult:
    """Convert ``path`` to the Parquet file ``out_path`` and profile it. Raise :class:`TabularError`."""
    limits = limits or Limits()
    path = Path(path)
    out_path = Path(out_path)
    work_dir = Path(work_dir or out_path.parent)
    work_dir.mkdir(parents=True, exist_ok=True)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        raise TabularError("Le fichier est introuvable.", code="missing")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise TabularError(
            f"Le fichier pèse {human_size(size)}, au-delà du quota configuré de {human_size(limits.max_bytes)} : "
            "il n'a pas été converti. Découpez-le ou demandez à l'administrateur d'augmenter le quota.",
            code="quota",
        )
    fmt = sniff.detect_format(path, name)
    temporaries: list[Path] = []
    partial = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.part")
    con = connect(memory_limit=limits.memory_limit, threads=limits.threads, temp_directory=str(work_dir / "duckdb-tmp"))
    try:
        if fmt == "csv":
            dialect = _convert_csv(con, path, partial, work_dir, temporaries)
        elif fmt in ("xlsx", "ods"):
            check_zip(path, max_uncompressed=limits.zip_max_uncompressed, max_ratio=limits.zip_max_ratio)
            dialect = _convert_spreadsheet(con, path, fmt, partial, work_dir, temporaries)
        else:
            dialect = _convert_json(con, path, fmt, partial, work_dir, temporaries, limits)
        os.replace(partial, out_path)
        profile = profile_parquet(con, out_path)
        dialect_json = dialect.as_json() if isinstance(dialect, sniff.Dialect) else dialect
        return ConversionResult(format=fmt, row_count=profile["row_count"], columns=profile["columns"], dialect=dialect_json)
    finally:
        con.close()
        partial.unlink(missing_ok=True)
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- CSV


def _utf8_check_or_encoding(path: Path, sample_encoding: str) -> str:
    """Stream the whole file through a UTF-8 decoder; return the encoding to transcode from."""
    if sample_encoding not in ("utf-8", "utf-8-sig"):
        return sample_encoding
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return sniff.legacy_encoding(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "windows-1252"
    return sample_encoding


def transcode(path: Path, encoding: str, target: Path) -> None:
    """Re-encode ``path`` to UTF-8 chunk by chunk (constant memory)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with open(path, "rb") as src, open(target, "wb") as out:
        offset = 0
        while chunk := src.read(CHUNK):
            try:
                out.write(decoder.decode(chunk).encode("utf-8"))
            except UnicodeDecodeError as exc:
                raise TabularError(
                    f"Le fichier contient un octet illisible dans l'encodage {sniff.ENCODING_LABELS.get(encoding, encoding)} "
                    f"(position {offset + exc.start}) : enregistrez-le en UTF-8.",
                    code="encoding",
                ) from exc
            offset += len(chunk)
        out.write(decoder.decode(b"", final=True).encode("utf-8"))


def _convert_csv(con, path: Path, out: Path, work_dir: Path, temporaries: list[Path]) -> sniff.Dialect:
    sample = sniff.read_sample(path)
    if sniff.looks_binary(sample):
        raise TabularError(
            "Le fichier n'est pas un fichier texte CSV : son contenu est binaire (image, archive, exécutable…). "
            "Vérifiez que vous avez joint le bon fichier.",
            code="binary",
        )
    encoding = _utf8_check_or_encoding(path, sniff.detect_encoding(sample))
    complete = path.stat().st_size <= len(sample)
    text = sample.decode(encoding, errors="ignore")
    if encoding == "utf-8-sig":
        text = text.lstrip("\ufeff")
    dialect = sniff.sniff_dialect(text, complete=complete)
    dialect.encoding = encoding
    source = path
    if encoding not in ("utf-8", "utf-8-sig"):
        source = work_dir / f"transcode-{uuid.uuid4().hex}.csv"
        temporaries.append(source)
        transcode(path, encoding, source)
    _csv_to_parquet(con, source, dialect, out)
    return dialect


def _read_csv_sql(source: Path, dialect: sniff.Dialect, *, null_padding: bool = False) -> str:
    columns = ", ".join(f"{quote_literal(name)}: 'VARCHAR'" for name in dialect.columns)
    return (
        f"read_csv({quote_literal(str(source))}, auto_detect=false, header={'true' if dialect.header else 'false'}, "
        f"skip={dialect.skip_rows}, delim={quote_literal(dialect.delimiter)}, quote={quote_literal(dialect.quotechar)}, "
        f"escape={quote_literal(dialect.quotechar)}, columns={{{columns}}}, strict_mode=true, "
        f"null_padding={'true' if null_padding else 'false'}, encoding='utf-8', max_line_size=10000000)"
    )


def _cast_expr(name: str, kind: sniff.ColumnKind, *, safe: bool) -> str:
    col = quote_ident(name)
    if kind.kind in ("integer", "decimal"):
        value = f"trim({col})"
        if kind.thousands == " ":
            value = f"regexp_replace({value}, '[ \u00a0\u202f]', '', 'g')"
        elif kind.thousands:
            value = f"replace({value}, {quote_literal(kind.thousands)}, '')"
        if kind.decimal == ",":
            value = f"replace({value}, ',', '.')"
        target = "BIGINT" if kind.kind == "integer" else "DOUBLE"
        return f"{'TRY_CAST' if safe else 'CAST'}({value} AS {target})"
    if kind.kind in ("date", "timestamp"):
        fn = "try_strptime" if safe else "strptime"
        value = f"{fn}(trim({col}), {quote_literal(kind.date_format)})"
        return f"CAST({value} AS DATE)" if kind.kind == "date" else value
    if kind.kind == "boolean":
        return f"{'TRY_CAST' if safe else 'CAST'}(trim({col}) AS BOOLEAN)"
    return col


def _csv_to_parquet(con, source: Path, dialect: sniff.Dialect, out: Path, *, null_padding: bool = False) -> None:
    reader = _read_csv_sql(source, dialect, null_padding=null_padding)
    for _attempt in range(len(dialect.columns) + 1):
        select = ", ".join(
            f"{_cast_expr(n, k, safe=False)} AS {quote_ident(n)}" for n, k in zip(dialect.columns, dialect.kinds, strict=True)
        )
        try:
            con.execute(f"COPY (SELECT {select} FROM {reader}) TO {quote_literal(str(out))} (FORMAT parquet, COMPRESSION zstd)")
            return
        except (duckdb.ConversionException, duckdb.InvalidInputException) as exc:
            structural = _csv_structural_error(exc, dialect)
            if structural:
                raise structural from exc
            failing = _failing_columns(con, reader, dialect)
            if not failing:
                raise TabularError(f"Le fichier n'a pas pu être converti : {_first_line(exc)}", code="duckdb") from exc
            for index in failing:
                dialect.demoted.append(dialect.columns[index])
                dialect.kinds[index] = sniff.ColumnKind("text")
    raise TabularError("Le fichier n'a pas pu être converti (types de colonnes incohérents).", code="duckdb")


def _failing_columns(con, reader: str, dialect: sniff.Dialect) -> list[int]:
    typed = [i for i, k in enumerate(dialect.kinds) if k.kind != "text"]
    if not typed:
        return []
    checks = ", ".join(
        f"count(*) FILTER (WHERE {quote_ident(dialect.columns[i])} IS NOT NULL AND trim({quote_ident(dialect.columns[i])}) <> '' "
        f"AND {_cast_expr(dialect.columns[i], dialect.kinds[i], safe=True)} IS NULL)"
        for i in typed
    )
    counts = con.execute(f"SELECT {checks} FROM {reader}").fetchone()
    return [i for i, n in zip(typed, counts, strict=True) if n]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def _csv_structural_error(exc: Exception, dialect: sniff.Dialect) -> TabularError | None:
    message = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", message)
    where = f"Ligne {line.group(1)} : " if line else ""
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if columns:
        expected, found = columns.groups()
        return TabularError(
            f"{where}{found} colonnes trouvées au lieu de {expected} (fichier CSV irrégulier). Vérifiez les séparateurs "
            f"({sniff.DELIMITER_NAMES.get(dialect.delimiter, dialect.delimiter)}) et les guillemets de cette ligne, "
            "puis publiez à nouveau le fichier.",
            code="ragged",
        )
    if "unterminated quote" in message.lower() or "quote" in message.lower() and "unterminated" in message.lower():
        return TabularError(f"{where}des guillemets ouverts ne sont jamais fermés.", code="quotes")
    if "Invalid unicode" in message:
        return TabularError(f"{where}le fichier contient des caractères qui ne sont pas en UTF-8.", code="encoding")
    if "Maximum line size" in message or "maximum_line_size" in message:
        return TabularError(f"{where}la ligne dépasse la taille maximale de 10 Mo.", code="line_size")
    if line and "CSV Error" in message:
        return TabularError(f"{where}le fichier CSV est mal formé ({_first_line(exc)}).", code="csv")
    return None


# --------------------------------------------------------------------------- spreadsheets


def _convert_spreadsheet(con, path: Path, fmt: str, out: Path, work_dir: Path, temporaries: list[Path]) -> sniff.Dialect:
    rows = iter_xlsx(path) if fmt == "xlsx" else iter_ods(path)
    target = work_dir / f"sheet-{uuid.uuid4().hex}.csv"
    temporaries.append(target)
    header: list[str] | None = None
    sample: list[list[str]] = []
    width = 0
    with open(target, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=",", quotechar='"', lineterminator="\n")
        for raw in rows:
            values = [cell_to_text(v) for v in raw]
            while values and values[-1] == "":
                values.pop()
            if not values:
                continue  # blank spreadsheet rows carry nothing
            if header is None:
                header = values
            elif len(sample) < sniff.SAMPLE_ROWS:
                sample.append(values)
            width = max(width, len(values))
            writer.writerow(values)
    if header is None:
        raise TabularError("La première feuille du classeur est vide.", code="empty")
    names = sniff.clean_names(header, width)
    dialect = sniff.Dialect(encoding="utf-8", delimiter=",", quotechar='"', columns=names)
    dialect.kinds = sniff.infer_kinds(sample, width, names)
    dialect.date_formats = sorted({k.date_format for k in dialect.kinds if k.date_format})
    _csv_to_parquet(con, target, dialect, out, null_padding=True)
    return dialect


# --------------------------------------------------------------------------- JSON / GeoJSON


def _convert_json(con, path: Path, fmt: str, out: Path, work_dir: Path, temporaries: list[Path], limits: Limits) -> dict:
    sample = sniff.read_sample(path)
    if sniff.looks_binary(sample):
        raise TabularError("Le fichier n'est pas un fichier JSON : son contenu est binaire.", code="binary")
    encoding = _utf8_check_or_encoding(path, sniff.detect_encoding(sample))
    source = path
    if encoding not in ("utf-8", "utf-8-sig"):
        source = work_dir / f"transcode-{uuid.uuid4().hex}.json"
        temporaries.append(source)
        transcode(path, encoding, source)
    # A JSON array or NDJSON is read object by object; a GeoJSON FeatureCollection is one object.
    size = source.stat().st_size
    if fmt == "geojson" and size > limits.json_max_object_bytes:
        raise TabularError(
            f"Le fichier GeoJSON pèse {human_size(size)} : au-delà de {human_size(limits.json_max_object_bytes)}, "
            "publiez-le en GeoJSON ligne par ligne (une entité par ligne) ou en CSV.",
            code="quota",
        )
    max_object = max(16 * 1024**2, size + 1) if fmt == "geojson" else 16 * 1024**2
    reader = f"read_json({quote_literal(str(source))}, maximum_object_size={int(max_object)})"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except duckdb.Error as exc:
        raise TabularError(
            "Le fichier JSON ne peut pas être lu comme un tableau : un tableau d'objets, des objets ligne par ligne "
            f"ou une FeatureCollection GeoJSON sont attendus ({_first_line(exc)}).",
            code="json",
        ) from exc
    expressions = []
    names = []
    for column, column_type, *_ in described:
        col = quote_ident(column)
        upper = column_type.upper()
        if upper.startswith("GEOMETRY"):
            expressions.append(f"ST_AsGeoJSON({col}) AS {quote_ident('geometrie')}")
            names.append("geometrie")
        elif upper.startswith(("STRUCT", "MAP", "UNION")) or upper.endswith("]") or upper == "JSON":
            expressions.append(f"CAST(to_json({col}) AS VARCHAR) AS {col}")
            names.append(column)
        else:
            expressions.append(col)
            names.append(column)
    if not expressions:
        raise TabularError("Le fichier JSON ne contient aucune colonne exploitable.", code="json")
    try:
        con.execute(f"COPY (SELECT {', '.join(expressions)} FROM {reader}) TO {quote_literal(str(out))} (FORMAT parquet, COMPRESSION zstd)")
    except duckdb.Error as exc:
        raise TabularError(f"Le fichier JSON n'a pas pu être converti : {_first_line(exc)}", code="json") from exc
    return {"encoding": encoding, "encoding_label": sniff.ENCODING_LABELS.get(encoding, encoding), "columns": names, "format": fmt}
