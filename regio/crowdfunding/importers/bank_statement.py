"""Parse a bank statement exported as CSV by a French bank (pure functions, no database).

Real exports vary: UTF-8 or Windows-1252, ``;`` (most French banks), ``,`` or tab separators,
decimal commas with spaces or dots as thousands separators (``1 234,56`` / ``1.234,56``), a few
preamble lines (account number, period) before the header, one signed "Montant" column or
separate "Débit" / "Crédit" columns, dates as ``JJ/MM/AAAA``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from regio.core.text import normalize_text

REFERENCE_RE = re.compile(r"RGCF[A-HJ-NP-Z2-9]{8}")

DATE_HEADERS = {"date", "date operation", "date de l operation", "date comptable", "date de valeur", "date valeur"}
LABEL_HEADERS = {"libelle", "libelle operation", "libelle de l operation", "description", "intitule", "motif", "details"}
AMOUNT_HEADERS = {"montant", "montant eur", "montant en euros", "montant euros", "amount"}
CREDIT_HEADERS = {"credit", "credit eur", "credit euros", "credits"}
DEBIT_HEADERS = {"debit", "debit eur", "debit euros", "debits"}


class StatementError(ValueError):
    """The file cannot be read as a bank statement; the message is in French."""


@dataclass
class StatementRow:
    line_number: int
    booked_on: date | None
    label: str
    amount_cents: int | None
    raw: str
    error: str = ""

    @property
    def reference(self) -> str:
        found = REFERENCE_RE.search(re.sub(r"\s+", "", self.label.upper()))
        return found.group(0) if found else ""


@dataclass
class ParsedStatement:
    encoding: str
    delimiter: str
    rows: list[StatementRow] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "windows-1252"


def parse_amount(text: str) -> int:
    """``"1 234,56"``, ``"-25,00 €"``, ``"1.234,56"``, ``"25.5"`` → cents. Raise ValueError."""
    value = re.sub(r"[\s\u00a0\u202f€]|EUR", "", text or "", flags=re.IGNORECASE)
    if value.startswith("(") and value.endswith(")"):
        value = "-" + value[1:-1]
    if value.endswith("-"):
        value = "-" + value[:-1]
    if "," in value:
        value = value.replace(".", "").replace(",", ".")
    elif value.count(".") > 1:
        value = value.replace(".", "")
    if not re.fullmatch(r"[+-]?\d+(\.\d{1,2})?", value):
        raise ValueError(f"montant illisible « {text} »")
    try:
        return int((Decimal(value) * 100).to_integral_exact())
    except InvalidOperation as exc:
        raise ValueError(f"montant illisible « {text} »") from exc


def parse_date(text: str) -> date | None:
    text = (text or "").strip()
    for fmt in ("%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _find_column(header: list[str], names: set[str]) -> int | None:
    for i, cell in enumerate(header):
        if normalize_text(cell) in names:
            return i
    return None


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (";", "\t", ",")}
    return max(counts, key=lambda d: (counts[d], d == ";"))


def parse_statement(data: bytes) -> ParsedStatement:
    if not data.strip():
        raise StatementError("Le fichier est vide.")
    text, encoding = decode(data)
    lines = text.splitlines()
    for header_index, line in enumerate(lines[:30]):  # noqa: B007 — used after the loop
        delimiter = _sniff_delimiter(line)
        header = next(csv.reader([line], delimiter=delimiter))
        date_col = _find_column(header, DATE_HEADERS)
        label_col = _find_column(header, LABEL_HEADERS)
        amount_col = _find_column(header, AMOUNT_HEADERS)
        credit_col = _find_column(header, CREDIT_HEADERS)
        debit_col = _find_column(header, DEBIT_HEADERS)
        if label_col is not None and (amount_col is not None or credit_col is not None):
            break
    else:
        raise StatementError(
            "En-tête introuvable : le relevé doit contenir une colonne « Libellé » et une colonne « Montant » "
            "(ou « Crédit »)."
        )
    parsed = ParsedStatement(encoding=encoding, delimiter=delimiter)
    reader = csv.reader(io.StringIO("\n".join(lines[header_index + 1 :])), delimiter=delimiter)
    for offset, cells in enumerate(reader):
        line_number = header_index + 2 + offset
        if not any(c.strip() for c in cells):
            continue
        raw = delimiter.join(cells)

        def cell(i, cells=cells):
            return cells[i].strip() if i is not None and i < len(cells) else ""

        label = " ".join(cell(label_col).split())
        booked_on = parse_date(cell(date_col)) if date_col is not None else None
        amount = None
        error = ""
        try:
            if amount_col is not None:
                amount = parse_amount(cell(amount_col))
            else:
                credit, debit = cell(credit_col), cell(debit_col)
                if credit:
                    amount = abs(parse_amount(credit))
                elif debit:
                    amount = -abs(parse_amount(debit))
                else:
                    raise ValueError("ni débit ni crédit")
        except ValueError as exc:
            error = f"Ligne {line_number} : {exc}."
        parsed.rows.append(StatementRow(line_number, booked_on, label, amount, raw, error))
    return parsed
