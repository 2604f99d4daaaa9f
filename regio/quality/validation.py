"""Table Schema validation with frictionless, reported in French (row, column, sentence)."""

from __future__ import annotations

import re
from pathlib import Path

from regio.core.text import normalize_text

TYPE_FR = {
    "string": "du texte",
    "number": "un nombre décimal avec un point comme séparateur (ex. 1234.56)",
    "integer": "un nombre entier",
    "boolean": "un booléen",
    "date": "une date au format AAAA-MM-JJ",
    "datetime": "une date et heure au format ISO 8601 (AAAA-MM-JJTHH:MM:SS)",
    "time": "une heure au format HH:MM:SS",
    "year": "une année sur quatre chiffres",
    "yearmonth": "une année et un mois (AAAA-MM)",
    "duration": "une durée ISO 8601",
    "geopoint": "un point géographique « latitude,longitude »",
    "geojson": "un objet GeoJSON",
    "object": "un objet JSON",
    "array": "un tableau JSON",
    "any": "une valeur",
}
CONSTRAINT_FR = {
    "required": "la valeur est obligatoire",
    "pattern": "la valeur « {cell} » ne respecte pas le format attendu (expression régulière {value})",
    "maximum": "la valeur « {cell} » dépasse le maximum autorisé ({value})",
    "minimum": "la valeur « {cell} » est inférieure au minimum autorisé ({value})",
    "maxLength": "le texte fait {length} caractères, au-delà des {value} autorisés",
    "minLength": "le texte fait {length} caractères, en deçà des {value} requis",
    "enum": "la valeur « {cell} » n'est pas dans la liste des valeurs autorisées ({value})",
    "unique": "la valeur « {cell} » doit être unique",
}


def _short(value, limit: int = 80) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field_type(schema, name: str | None) -> tuple[str, str]:
    if not name:
        return "", ""
    try:
        field = schema.get_field(name)
    except Exception:
        return "", ""
    return field.type, getattr(field, "format", "") or ""


def _enum_message(cell: str, raw: str) -> str:
    import ast

    try:
        allowed = [str(v) for v in ast.literal_eval(raw)]
    except (ValueError, SyntaxError):
        allowed = [raw]
    listed = ", ".join(f"« {v} »" for v in allowed[:12]) + (" …" if len(allowed) > 12 else "")
    message = f"La valeur « {cell} » n'est pas dans la liste des valeurs autorisées : {listed}."
    same = [v for v in allowed if v.lower() == cell.lower()]
    if same:
        message += f" Attention aux majuscules : écrivez « {same[0]} »."
    return message


def french_message(error, schema) -> str:
    """A Validata-style French sentence for one frictionless error."""
    kind = error.type
    cell = _short(getattr(error, "cell", None))
    field = getattr(error, "field_name", None) or getattr(error, "label", None) or ""
    note = getattr(error, "note", "") or ""
    if kind == "type-error":
        field_type, fmt = _field_type(schema, field)
        expected = TYPE_FR.get(field_type, field_type)
        if fmt and fmt not in ("default", "any") and field_type in ("date", "datetime", "time"):
            expected = f"{TYPE_FR.get(field_type, field_type).split(' au format')[0]} au format {fmt}"
        hint = ""
        if field_type == "number" and re.search(r"\d,\d", cell):
            hint = " Remplacez la virgule décimale par un point et retirez les espaces entre les milliers."
        elif field_type == "date" and re.fullmatch(r"\d{2}/\d{2}/\d{4}", cell):
            hint = " Écrivez la date sous la forme AAAA-MM-JJ (ex. 2018-01-30)."
        elif field_type == "date" and re.fullmatch(r"\d{4}/\d{2}/\d{2}", cell):
            hint = " Remplacez les barres obliques par des tirets (AAAA-MM-JJ)."
        return f"La valeur « {cell} » n'est pas {expected}.{hint}"
    if kind == "constraint-error":
        match = re.search(r'constraint "(\w+)" is "(.*)"', note, re.S)
        if match:
            name, value = match.groups()
            if name == "enum":
                return _enum_message(cell, value)
            template = CONSTRAINT_FR.get(name)
            if template:
                text = template.format(cell=cell, value=_short(value, 120), length=len(str(getattr(error, "cell", "") or "")))
                return text[0].upper() + text[1:] + "."
        return f"La valeur « {cell} » ne respecte pas une contrainte du schéma ({note})."
    if kind == "missing-label":
        return f"La colonne « {field} » prévue par le schéma est absente du fichier."
    if kind == "extra-label":
        return f"La colonne « {field} » n'est pas prévue par le schéma."
    if kind == "incorrect-label":
        return f"L'en-tête « {getattr(error, 'label', '')} » ne correspond pas au nom attendu « {field} »."
    if kind == "duplicate-label":
        return f"L'en-tête « {field} » apparaît plusieurs fois."
    if kind == "blank-label":
        return "Une colonne n'a pas d'en-tête."
    if kind == "blank-row":
        return "La ligne est entièrement vide : supprimez-la."
    if kind == "missing-cell":
        return f"Il manque la cellule de la colonne « {field} » : la ligne a moins de valeurs que l'en-tête."
    if kind == "extra-cell":
        return f"La ligne contient une valeur en trop (« {cell} ») au-delà des colonnes de l'en-tête."
    if kind in ("unique-error", "primary-key"):
        return f"La valeur « {cell} » est déjà présente sur une autre ligne : elle doit être unique."
    if kind == "foreign-key":
        return f"La valeur « {cell} » ne correspond à aucune référence attendue."
    if kind == "encoding-error":
        return "Le fichier n'a pas pu être décodé : enregistrez-le en UTF-8."
    if kind in ("source-error", "scheme-error", "format-error", "resource-error", "dialect-error"):
        return f"Le fichier n'a pas pu être lu ({note or kind})."
    if kind == "schema-error":
        return f"Le schéma est invalide ({note})."
    return f"Erreur « {kind} » : {note or error.message}"


def validate_file(path: Path, descriptor: dict, *, encoding: str | None = None, delimiter: str | None = None, limit_errors: int = 1000) -> dict:
    """Validate ``path`` against a Table Schema descriptor. Returns a JSON-serialisable report."""
    from frictionless import Dialect, Resource, Schema, formats

    schema = Schema.from_descriptor(descriptor)
    path = Path(path)
    options = {}
    if encoding:
        options["encoding"] = {"utf-8-sig": "utf-8-sig", "windows-1252": "cp1252"}.get(encoding, encoding)
    if delimiter:
        options["dialect"] = Dialect(controls=[formats.CsvControl(delimiter=delimiter)])
    # Columns are matched by name, in any order; every column of the schema must be present
    # (as Validata reports it), extra columns are tolerated.
    schema.fields_match = "subset"
    resource = Resource(path=path.name, basepath=str(path.parent), schema=schema, **options)
    report = resource.validate(limit_errors=limit_errors)
    task = report.tasks[0] if report.tasks else None
    errors = []
    for error in task.errors if task else report.errors:
        errors.append(
            {
                "type": error.type,
                "row": getattr(error, "row_number", None),
                "column": getattr(error, "field_name", None) or getattr(error, "label", None),
                "column_number": getattr(error, "field_number", None),
                "value": _short(getattr(error, "cell", None), 200) if getattr(error, "cell", None) is not None else None,
                "message": french_message(error, schema),
            }
        )
    stats = task.stats if task else {}
    return {
        "valid": bool(report.valid),
        "error_count": len(errors),
        "row_count": stats.get("rows"),
        "errors": errors,
        "truncated": len(errors) >= limit_errors,
    }


def normalise_name(name: str) -> str:
    return normalize_text(name).replace(" ", "")


def header_score(header: list[str], field_names: list[str]) -> int:
    """Overlap of normalised names, 0–100: shared names over the larger of the two sets."""
    h = {normalise_name(x) for x in header if x and x.strip()}
    f = {normalise_name(x) for x in field_names if x}
    if not h or not f:
        return 0
    return round(100 * len(h & f) / max(len(h), len(f)))
