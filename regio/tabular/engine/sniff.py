"""Sniffing: file format, text encoding, CSV dialect and column kinds, from a bounded sample.

Only the first :data:`SAMPLE_BYTES` of a file are read here, so sniffing costs the same for a
1 KB file and a 10 GB one. The full-file checks (UTF-8 validity, ragged rows, values that do not
fit the sniffed type) happen while converting.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from .errors import TabularError

SAMPLE_BYTES = 1024 * 1024
SAMPLE_ROWS = 5000
DELIMITERS = [";", ",", "\t", "|"]
DELIMITER_NAMES = {";": "point-virgule", ",": "virgule", "\t": "tabulation", "|": "barre verticale"}
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 avec BOM",
    "windows-1252": "Windows-1252",
    "iso-8859-1": "ISO-8859-1 (Latin-1)",
}


# --------------------------------------------------------------------------- format


def detect_format(path: Path, name: str = "") -> str:
    """Return ``csv``, ``xlsx``, ``ods``, ``json`` or ``geojson`` from the content (and the name)."""
    name = (name or path.name).lower()
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head:
        raise TabularError("Le fichier est vide.", code="empty")
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                if "xl/workbook.xml" in names:
                    return "xlsx"
                if "mimetype" in names and archive.getinfo("mimetype").file_size < 200:
                    mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
                    if mimetype == "application/vnd.oasis.opendocument.spreadsheet":
                        return "ods"
        except zipfile.BadZipFile as exc:
            raise TabularError("Le fichier est une archive ZIP endommagée : il ne peut pas être lu.", code="bad_zip") from exc
        raise TabularError(
            "Le fichier est une archive ZIP qui n'est ni un classeur XLSX ni un classeur ODS : "
            "publiez plutôt le fichier CSV, XLSX ou ODS qu'elle contient.",
            code="unsupported_zip",
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise TabularError(
            "Le format XLS (Excel 97-2003) n'est pas pris en charge : enregistrez le classeur au format XLSX, ODS ou CSV.",
            code="xls",
        )
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        if name.endswith(".geojson") or re.search(rb'"type"\s*:\s*"FeatureCollection"', head):
            return "geojson"
        return "json"
    return "csv"


# --------------------------------------------------------------------------- encoding


def looks_binary(sample: bytes) -> bool:
    """True for content that is not text: NUL bytes or many control characters."""
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls / len(sample) > 0.01


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def detect_encoding(sample: bytes) -> str:
    """One of ``utf-8``, ``utf-8-sig``, ``windows-1252``, ``iso-8859-1`` for a text sample."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TabularError(
            "Le fichier est encodé en UTF-16, qui n'est pas pris en charge : enregistrez-le en UTF-8.", code="encoding"
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)  # a multi-byte character cut by the sample end is fine
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return legacy_encoding(sample)


def legacy_encoding(data: bytes) -> str:
    """Windows-1252 when the bytes 0x80–0x9F (€, ’, œ…) are used as cp1252 letters, else Latin-1."""
    if re.search(rb"[\x80-\x9f]", data):
        try:
            data.decode("windows-1252")
            return "windows-1252"
        except UnicodeDecodeError:
            pass
    return "iso-8859-1"


# --------------------------------------------------------------------------- dialect


@dataclass
class ColumnKind:
    """How a text column's values are turned into typed values."""

    kind: str = "text"  # text | integer | decimal | date | timestamp | boolean
    decimal: str = "."
    thousands: str = ""
    date_format: str = ""


@dataclass
class Dialect:
    encoding: str = "utf-8"
    delimiter: str = ","
    quotechar: str = '"'
    skip_rows: int = 0
    header: bool = True
    columns: list[str] = field(default_factory=list)
    kinds: list[ColumnKind] = field(default_factory=list)
    decimal_comma: bool = False
    thousands_separator: str = ""
    date_formats: list[str] = field(default_factory=list)
    demoted: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        data = asdict(self)
        data["encoding_label"] = ENCODING_LABELS.get(self.encoding, self.encoding)
        data["delimiter_label"] = DELIMITER_NAMES.get(self.delimiter, self.delimiter)
        return data


def _parse(text: str, delimiter: str, quotechar: str, limit: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quotechar, strict=False)
    rows = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows


def _trim_partial_line(text: str, complete: bool) -> str:
    if complete:
        return text
    cut = max(text.rfind("\n"), 0)
    return text[:cut]


def sniff_dialect(text: str, *, complete: bool = True) -> Dialect:
    """Delimiter, quote character, preamble rows and header names from a decoded sample."""
    text = _trim_partial_line(text, complete)
    if not text.strip():
        raise TabularError("Le fichier ne contient aucune ligne de données.", code="empty")
    best = None
    for delimiter in DELIMITERS:
        for quotechar in ('"', "'"):
            rows = [r for r in _parse(text, delimiter, quotechar, 200) if any(c.strip() for c in r)]
            if not rows:
                continue
            widths = [len(r) for r in rows]
            modal = max(set(widths), key=widths.count)
            consistency = widths.count(modal) / len(widths)
            score = (modal > 1, round(consistency, 2), modal, quotechar == '"', -DELIMITERS.index(delimiter))
            if best is None or score > best[0]:
                best = (score, delimiter, quotechar, rows)
    _score, delimiter, quotechar, _rows = best
    if not _score[0]:
        delimiter = ","  # a single column: any delimiter reads it the same
    rows = _parse(text, delimiter, quotechar, SAMPLE_ROWS + 30)
    skip = _header_index(rows)
    header_row = rows[skip] if skip < len(rows) else []
    body_widths = [len(r) for r in rows[skip:] if any(c.strip() for c in r)] or [len(header_row)]
    modal = max(set(body_widths), key=body_widths.count)
    # The header defines the table; a ragged row is then reported by DuckDB with its line number.
    width = len(header_row) if header_row and any(c.strip() for c in header_row) else modal
    header = not all(_is_number(c) for c in header_row if c.strip()) or not any(c.strip() for c in header_row)
    names = clean_names(header_row if header else [], width)
    data_rows = rows[skip + 1 :] if header else rows[skip:]
    if not complete and data_rows:
        data_rows = data_rows[:-1]  # the last parsed row may be cut by the sample end
    dialect = Dialect(delimiter=delimiter, quotechar=quotechar, skip_rows=skip, header=header, columns=names)
    dialect.kinds = infer_kinds(data_rows, len(names), names)
    dialect.decimal_comma = any(k.kind == "decimal" and k.decimal == "," for k in dialect.kinds)
    dialect.thousands_separator = next((k.thousands for k in dialect.kinds if k.thousands), "")
    dialect.date_formats = sorted({k.date_format for k in dialect.kinds if k.date_format})
    return dialect


def _header_index(rows: list[list[str]]) -> int:
    """Skip title lines above the header (rows much narrower than the table)."""
    filled = [sum(1 for c in r if c.strip()) for r in rows[:60]]
    if not filled:
        return 0
    widest = max(filled)
    for index, count in enumerate(filled[:30]):
        if count >= max(1, 0.8 * widest):
            return index
    return 0


def clean_names(header: list[str], width: int) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for index in range(width):
        raw = header[index].strip() if index < len(header) else ""
        name = re.sub(r"\s+", " ", raw) or f"colonne_{index + 1}"
        base = name
        # SQL identifiers are case-insensitive: "Indicator" and "INDICATOR" would clash.
        while name.lower() in seen:
            seen[base.lower()] += 1
            name = f"{base}_{seen[base.lower()]}"
        seen.setdefault(name.lower(), 1)
        names.append(name)
    return names


# --------------------------------------------------------------------------- column kinds

NUMBER_FORMATS = [(".", ""), (",", ""), (",", " "), (",", "."), (".", ",")]
SPACES = " \u00a0\u202f"
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y", "%d.%m.%Y", "%m/%d/%Y"]
TIMESTAMP_FORMATS = [
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
]
_NUMBER_RE: dict[tuple[str, str], re.Pattern] = {}


def _number_re(decimal: str, thousands: str) -> re.Pattern:
    key = (decimal, thousands)
    if key not in _NUMBER_RE:
        d = re.escape(decimal)
        if thousands == " ":
            t = f"[{SPACES}]"
        else:
            t = re.escape(thousands) if thousands else None
        integer = rf"(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)" if t else r"\d+"
        exponent = r"(?:[eE][+-]?\d+)?" if decimal == "." and not thousands else ""
        _NUMBER_RE[key] = re.compile(rf"^[+-]?(?:{integer}(?:{d}\d+)?|{d}\d+){exponent}$")
    return _NUMBER_RE[key]


def _is_number(value: str) -> bool:
    value = value.strip()
    return any(_number_re(d, t).match(value) for d, t in NUMBER_FORMATS)


_LEADING_ZERO = re.compile(r"^[+-]?0\d")


def classify(values: list[str]) -> ColumnKind:
    """The narrowest kind that reads every non-empty sample value."""
    values = [v.strip() for v in values if v is not None and v.strip() != ""]
    if not values:
        return ColumnKind("text")
    lowered = {v.lower() for v in values}
    if lowered <= {"true", "false"}:
        return ColumnKind("boolean")
    if not any(_LEADING_ZERO.match(v) for v in values):
        for decimal, thousands in NUMBER_FORMATS:
            pattern = _number_re(decimal, thousands)
            if all(pattern.match(v) for v in values):
                has_fraction = any(decimal in v or (decimal == "." and "e" in v.lower()) for v in values)
                digits = max(len(re.sub(r"\D", "", v)) for v in values)
                if not has_fraction and digits > 15:
                    break  # identifiers longer than a 64-bit integer stays text
                used_thousands = thousands if any(_uses_thousands(v, thousands) for v in values) else ""
                return ColumnKind("decimal" if has_fraction else "integer", decimal=decimal, thousands=used_thousands)
    for fmt in TIMESTAMP_FORMATS:
        if _all_parse(values, fmt):
            return ColumnKind("timestamp", date_format=fmt)
    for fmt in DATE_FORMATS:
        if _all_parse(values, fmt):
            return ColumnKind("date", date_format=fmt)
    return ColumnKind("text")


def _uses_thousands(value: str, thousands: str) -> bool:
    if not thousands:
        return False
    if thousands == " ":
        return any(s in value for s in SPACES)
    return thousands in value


def _all_parse(values: list[str], fmt: str) -> bool:
    for value in values:
        try:
            datetime.strptime(value, fmt)
        except ValueError:
            return False
    return True


# Integer-looking identifiers (SIRET, INSEE codes, postal codes, phone numbers) stay text.
IDENTIFIER_NAME = re.compile(r"(^id|siret|siren|^code|_code|code_|insee|postal|^cp$|^tel|phone|t[ée]l[ée]phone|^num)", re.I)


def infer_kinds(rows: list[list[str]], width: int, names: list[str] | None = None) -> list[ColumnKind]:
    kinds = [classify([r[i] for r in rows if i < len(r)]) for i in range(width)]
    for index, name in enumerate(names or []):
        if index < len(kinds) and kinds[index].kind == "integer" and IDENTIFIER_NAME.search(name.strip()):
            kinds[index] = ColumnKind("text")
    return kinds
