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


def read_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """``(columns, iterator of (line number, {column: text}))`` for the CSV at ``path``.

    Raise :class:`TabularError` (French message) if the file is not a readable CSV.
    """
    path = Path(path)
    sample = sniff.read_sample(path)
    if sniff.looks_binary(sample):
        raise TabularError("Le fichier n'est pas un fichier texte CSV : son contenu est binaire.", code="binary")
    encoding = _utf8_check_or_encoding(path, sniff.detect_encoding(sample))
    text = sample.decode(encoding, errors="ignore").lstrip("\ufeff")
    dialect = sniff.sniff_dialect(text, complete=path.stat().st_size <= len(sample))
    columns = list(dialect.columns)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with tempfile.TemporaryDirectory(prefix="regio-finance-") as tmp:
            source = path
            if encoding not in ("utf-8", "utf-8-sig"):
                source = Path(tmp) / f"{uuid.uuid4().hex}.csv"
                transcode(path, encoding, source)
            con = connect(threads=1, temp_directory=str(Path(tmp) / "duck"))
            try:
                cursor = con.execute(f"SELECT * FROM {_read_csv_sql(source, dialect, null_padding=True)}")
                first_line = dialect.skip_rows + (2 if dialect.header else 1)
                n = 0
                while batch := cursor.fetchmany(BATCH):
                    for values in batch:
                        yield first_line + n, {c: (v or "").strip() for c, v in zip(columns, values, strict=False)}
                        n += 1
            finally:
                con.close()

    return columns, rows()
