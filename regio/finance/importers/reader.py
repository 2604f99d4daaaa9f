"""Read any uploaded CSV through the tabular engine's sniffing (encoding, separator, header),
every value as text: the SCDL parsers decide per row what is valid (nothing is coerced silently)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from regio.tabular.engine import sniff
from regio.tabular.engine.convert import _read_csv_sql, _utf8_check_or_encoding, transcode
from regio.tabular.engine.duck import connect
from regio.tabular.engine.errors import TabularError

BATCH = 10_000


def sniff_csv(path: Path):
    """``(encoding, dialect)`` of the CSV at ``path``; :class:`TabularError` (French) if it is not one."""
    path = Path(path)
    sample = sniff.read_sample(path)
    if sniff.looks_binary(sample):
        raise TabularError("Le fichier n'est pas un fichier texte CSV : son contenu est binaire.", code="binary")
    encoding = _utf8_check_or_encoding(path, sniff.detect_encoding(sample))
    text = sample.decode(encoding, errors="ignore").lstrip("\ufeff")
    return encoding, sniff.sniff_dialect(text, complete=path.stat().st_size <= len(sample))


def utf8_source(path: Path, encoding: str, folder: Path) -> Path:
    """``path`` itself if UTF-8, else a UTF-8 copy of it in ``folder``."""
    if encoding in ("utf-8", "utf-8-sig"):
        return Path(path)
    target = Path(folder) / f"{uuid.uuid4().hex}.csv"
    transcode(Path(path), encoding, target)
    return target


def read_csv_sql(source: Path, dialect) -> str:
    """DuckDB ``read_csv(...)`` of a UTF-8 file, every column as text."""
    return _read_csv_sql(source, dialect, null_padding=True)


def first_line(dialect) -> int:
    """Line number of the first data row."""
    return dialect.skip_rows + (2 if dialect.header else 1)


def read_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """``(columns, iterator of (line number, {column: text}))`` for the CSV at ``path``.

    Raise :class:`TabularError` (French message) if the file is not a readable CSV.
    """
    path = Path(path)
    encoding, dialect = sniff_csv(path)
    columns = list(dialect.columns)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with tempfile.TemporaryDirectory(prefix="regio-finance-") as tmp:
            source = utf8_source(path, encoding, Path(tmp))
            con = connect(threads=1, temp_directory=str(Path(tmp) / "duck"))
            try:
                cursor = con.execute(f"SELECT * FROM {_read_csv_sql(source, dialect, null_padding=True)}")
                start = first_line(dialect)
                n = 0
                while batch := cursor.fetchmany(BATCH):
                    for values in batch:
                        yield start + n, {c: (v or "").strip() for c, v in zip(columns, values, strict=False)}
                        n += 1
            finally:
                con.close()

    return columns, rows()
