"""A catalogue file following the SCDL "catalogue" schema (CSV, ``,`` or ``;``, UTF-8 or Windows-1252)."""

from __future__ import annotations

import csv
import io

from regio.core.ingest.registry import IngestError, IngestItemError, Page, Record, RecordError

from .base import HarvestBackend, parse_items

REQUIRED = ("ID", "TITRE")
MAILLES = {"communale": "commune", "departementale": "departement", "départementale": "departement", "regionale": "region", "régionale": "region"}


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def parse_row(row: dict) -> dict:
    def get(name):
        return (row.get(name) or "").strip()

    split = lambda v: [x.strip() for x in v.replace(",", ";").split(";") if x.strip()]  # noqa: E731
    return {
        "title": get("TITRE"),
        "description": get("DESCRIPTION"),
        "identifier": get("URL") if get("URL").startswith("http") else "",
        "landing_page": get("URL"),
        "publisher": get("PRODUCTEUR_NOM") or get("COLL_NOM"),
        "publisher_siren": (get("PRODUCTEUR_SIRET") or get("COLL_SIRET"))[:9],
        "licence": get("LICENCE"),
        "themes": split(get("THEME")),
        "keywords": split(get("MOTS_CLES")),
        "frequency": get("FREQ_MAJ"),
        "insee": split(get("COUV_SPAT_CODE")) if get("COUV_SPAT_CODE") else [],
        "spatial_names": split(get("COUV_SPAT_NOM")),
        "spatial_level": MAILLES.get(get("COUV_SPAT_MAILLE").lower(), ""),
        "temporal_start": get("COUV_TEMP_DEBUT") or None,
        "temporal_end": get("COUV_TEMP_FIN") or None,
        "resources": [],
        "formats": split(get("FORMAT_RESSOURCES")),
        "modified": get("DATE_MAJ"),
    }


def parse_csv(data: bytes) -> tuple[list[Record], list[RecordError]]:
    text = decode(data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise IngestError(f"Fichier catalogue non conforme au schéma SCDL : colonne(s) absente(s) {', '.join(missing)}.")

    def parse(numbered):
        line, row = numbered
        if not (row.get("ID") or "").strip():
            raise IngestItemError(f"Ligne {line} : identifiant (ID) vide.", field="ID")
        return parse_row(row)

    return parse_items(
        enumerate(reader, start=2), parse,
        lambda numbered, _index: (numbered[1].get("ID") or "").strip() or f"ligne {numbered[0]}", unreadable="Ligne illisible",
    )


class ScdlCatalogBackend(HarvestBackend):
    label = "Catalogue SCDL (CSV)"

    def read(self, source, cursor, fetch):
        result = fetch.document()
        data = result.path.read_bytes() if result.path else result.content
        records, errors = parse_csv(data)
        for record in records:  # spatial coverage given by name: resolve communes of the territory
            payload = record.payload
            if not payload["insee"] and payload.get("spatial_level") == "commune" and payload.get("spatial_names"):
                payload["insee"] = _codes_for_names(payload["spatial_names"])
        yield Page(records, cursor="done", errors=errors)


def _codes_for_names(names: list[str]) -> list[str]:
    from regio.core.text import normalize_text
    from regio.territory.selectors import communes

    codes = []
    for name in names:
        commune = communes().filter(name_search=normalize_text(name)).order_by("-population").first()
        if commune is not None:
            codes.append(commune.code)
    return codes
