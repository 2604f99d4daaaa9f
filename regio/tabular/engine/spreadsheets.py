"""XLSX and ODS readers that stream rows (constant memory), and the zip-bomb guard they share.

XLSX is read with openpyxl in ``read_only`` mode; ODS with the standard library only (``zipfile``
+ ``xml.etree.ElementTree.iterparse`` over ``content.xml``), so neither ever holds a whole sheet in
memory. Both yield lists of Python values (str, int, float, bool, date, datetime, None).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from xml.etree import ElementTree

from .errors import TabularError


def check_zip(path: Path, *, max_uncompressed: int, max_ratio: float, max_members: int = 10_000) -> None:
    """Refuse archives whose declared uncompressed size or compression ratio is abnormal.

    Python's ``zipfile`` never inflates a member past its declared size, so checking the central
    directory before opening anything bounds the work that reading the archive can cost.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise TabularError("Le classeur est une archive ZIP endommagée : il ne peut pas être lu.", code="bad_zip") from exc
    if len(members) > max_members:
        raise TabularError(
            f"Le classeur contient {len(members)} fichiers internes (au plus {max_members} acceptés) : archive suspecte, refusée.",
            code="zip_bomb",
        )
    total = sum(m.file_size for m in members)
    if total > max_uncompressed:
        raise TabularError(
            f"Le classeur occuperait {_size(total)} une fois décompressé, au-delà de la limite de {_size(max_uncompressed)} : "
            "archive suspecte (bombe de décompression), refusée.",
            code="zip_bomb",
        )
    for member in members:
        if member.file_size > 1024 * 1024 and member.file_size > max_ratio * max(member.compress_size, 1):
            ratio = member.file_size / max(member.compress_size, 1)
            raise TabularError(
                f"Le fichier interne « {member.filename} » du classeur est compressé {ratio:.0f} fois "
                f"(au plus {max_ratio:.0f} fois accepté) : archive suspecte (bombe de décompression), refusée.",
                code="zip_bomb",
            )


def _size(n: int) -> str:
    if n >= 1024**3:
        return f"{n / 1024**3:.1f} Go".replace(".", ",")
    return f"{n / 1024**2:.1f} Mo".replace(".", ",")


# --------------------------------------------------------------------------- XLSX


def iter_xlsx(path: Path) -> Iterator[list]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of errors on broken files
        raise TabularError(f"Le classeur XLSX ne peut pas être lu ({exc.__class__.__name__}).", code="bad_xlsx") from exc
    try:
        sheet = next((ws for ws in workbook.worksheets if ws.max_row and ws.max_row > 0), None)
        if sheet is None:
            return
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


# --------------------------------------------------------------------------- ODS

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
T_TABLE = f"{{{_TABLE}}}table"
T_ROW = f"{{{_TABLE}}}table-row"
T_CELL = f"{{{_TABLE}}}table-cell"
T_COVERED = f"{{{_TABLE}}}covered-table-cell"
A_COLS_REPEATED = f"{{{_TABLE}}}number-columns-repeated"
A_ROWS_REPEATED = f"{{{_TABLE}}}number-rows-repeated"
A_VALUE_TYPE = f"{{{_OFFICE}}}value-type"
A_VALUE = f"{{{_OFFICE}}}value"
A_DATE = f"{{{_OFFICE}}}date-value"
A_TIME = f"{{{_OFFICE}}}time-value"
A_BOOL = f"{{{_OFFICE}}}boolean-value"
T_P = f"{{{_TEXT}}}p"
T_S = f"{{{_TEXT}}}s"
T_TAB = f"{{{_TEXT}}}tab"
T_LINE_BREAK = f"{{{_TEXT}}}line-break"
MAX_REPEAT = 10_000  # a non-empty row or cell repeated more than this is refused


def _cell_text(cell) -> str:
    paragraphs = []
    for p in cell.iter(T_P):
        parts = [p.text or ""]
        for child in p.iter():
            if child is p:
                continue
            if child.tag == T_S:
                parts.append(" " * int(child.get(f"{{{_TEXT}}}c", "1")))
            elif child.tag == T_TAB:
                parts.append("\t")
            elif child.tag == T_LINE_BREAK:
                parts.append("\n")
            elif child.text:
                parts.append(child.text)
            if child.tail:
                parts.append(child.tail)
        paragraphs.append("".join(parts))
    return "\n".join(paragraphs)


def _cell_value(cell):
    kind = cell.get(A_VALUE_TYPE)
    if kind in ("float", "percentage", "currency"):
        raw = cell.get(A_VALUE, "")
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    if kind == "date":
        raw = cell.get(A_DATE, "")
        try:
            return datetime.fromisoformat(raw) if "T" in raw else date.fromisoformat(raw)
        except ValueError:
            return raw
    if kind == "time":
        return cell.get(A_TIME, "")
    if kind == "boolean":
        return cell.get(A_BOOL, "").lower() == "true"
    text = _cell_text(cell)
    return text if text != "" else None


def iter_ods(path: Path) -> Iterator[list]:
    """Rows of the first sheet; empty rows are skipped, trailing empty cells trimmed."""
    try:
        archive = zipfile.ZipFile(path)
        stream = archive.open("content.xml")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise TabularError("Le classeur ODS ne peut pas être lu (content.xml absent ou archive endommagée).", code="bad_ods") from exc
    depth_tables = 0
    stack: list = []
    try:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            if event == "start":
                stack.append(element)
            else:
                stack.pop()
            if element.tag == T_TABLE:
                if event == "start":
                    depth_tables += 1
                else:
                    return  # only the first sheet
                continue
            if event != "end" or element.tag != T_ROW or depth_tables != 1:
                continue
            row: list = []
            for cell in element:
                if cell.tag not in (T_CELL, T_COVERED):
                    continue
                repeat = int(cell.get(A_COLS_REPEATED, "1"))
                value = _cell_value(cell) if cell.tag == T_CELL else None
                if value is not None and repeat > MAX_REPEAT:
                    raise TabularError("Le classeur ODS répète une cellule un nombre anormal de fois : refusé.", code="zip_bomb")
                if value is None:
                    row.append(("empty", repeat))
                else:
                    row.extend([("value", value)] * repeat)
            values = _expand(row)
            rows_repeat = int(element.get(A_ROWS_REPEATED, "1"))
            element.clear()
            if stack:
                stack[-1].remove(element)  # keep memory flat: drop each row once read
            if not values:
                continue
            if rows_repeat > MAX_REPEAT:
                raise TabularError("Le classeur ODS répète une ligne un nombre anormal de fois : refusé.", code="zip_bomb")
            for _ in range(rows_repeat):
                yield list(values)
    except ElementTree.ParseError as exc:
        raise TabularError(f"Le classeur ODS est mal formé ({exc}).", code="bad_ods") from exc
    finally:
        stream.close()
        archive.close()


def _expand(row: list) -> list:
    while row and row[-1][0] == "empty":
        row.pop()
    values: list = []
    for tag, payload in row:
        if tag == "empty":
            if payload > MAX_REPEAT:
                raise TabularError("Le classeur ODS répète une cellule vide un nombre anormal de fois : refusé.", code="zip_bomb")
            values.extend([None] * payload)
        else:
            values.append(payload)
    return values


# --------------------------------------------------------------------------- to CSV


def cell_to_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep="T", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)
