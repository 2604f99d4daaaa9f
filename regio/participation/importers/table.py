"""The bulk-upload template (CSV or XLSX): one debate per row, French column names."""

from __future__ import annotations

import csv
import io
from pathlib import Path

COLUMNS = [
    ("identifiant", "identifiant stable de la ligne dans votre fichier (facultatif)"),
    ("titre", "titre du débat (obligatoire)"),
    ("resume", "résumé"),
    ("type", "concertation, consultation, budget, reunion, panel ou petition"),
    ("themes", "thèmes séparés par des points-virgules (ex. mobilite;environnement)"),
    ("adresse", "adresse du lieu (ex. 1 place de l'Hôtel de Ville, 80000 Amiens)"),
    ("commune", "code INSEE, code postal ou nom de la commune"),
    ("latitude", "latitude en degrés décimaux (facultatif)"),
    ("longitude", "longitude en degrés décimaux (facultatif)"),
    ("en_ligne", "oui si le débat se déroule en ligne"),
    ("ouverture", "date d'ouverture AAAA-MM-JJ ou JJ/MM/AAAA"),
    ("cloture", "date de clôture AAAA-MM-JJ ou JJ/MM/AAAA"),
    ("lien", "lien vers la plateforme qui héberge le débat"),
    ("lien_resultats", "lien vers les résultats"),
]
HEADER = [name for name, _ in COLUMNS]


class TableError(ValueError):
    pass


def template_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(HEADER)
    writer.writerow(
        ["budget-2027", "Budget participatif 2027", "Proposez vos projets pour la ville.", "budget", "budget;democratie",
         "Place de l'Hôtel de Ville, 80000 Amiens", "80021", "", "", "non", "2027-01-15", "2027-03-31",
         "https://exemple.fr/budget-participatif", ""]
    )
    return out.getvalue()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError("Encodage du fichier non reconnu : enregistrez-le en UTF-8.")


def read_rows(path: Path) -> list[dict]:
    """Rows as dicts keyed by the template's column names (header matched without accents/case)."""
    from regio.core.text import normalize_text

    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise TableError(f"Classeur XLSX illisible ({exc.__class__.__name__}).")
        sheet = wb.worksheets[0]
        raw = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
        wb.close()
    else:
        text = _decode(path.read_bytes())
        sample = text[:4096]
        delimiter = ";" if sample.count(";") >= sample.count(",") else ","
        raw = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    raw = [r for r in raw if any(str(c).strip() for c in r)]
    if not raw:
        raise TableError("Le fichier est vide.")
    header = [normalize_text(str(h)).replace(" ", "_") for h in raw[0]]
    if "titre" not in header:
        raise TableError(f"Colonne « titre » absente : la première ligne doit reprendre le modèle ({', '.join(HEADER)}).")
    rows = []
    for number, values in enumerate(raw[1:], start=2):
        row = {h: values[i] if i < len(values) else "" for i, h in enumerate(header) if h}
        row["_line"] = number
        rows.append(row)
    return rows
